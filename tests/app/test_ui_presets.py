"""sim.ui's host-profile and policy pickers, against the preset files and the loader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sim import ScenarioError, ui
from sim.engine import simulate
from sim.qemu import profile
from sim.scenario import load_scenario, preset_names, validate
from sim.units import parse_rate

DATA = Path(__file__).resolve().parents[2] / "data"


def _file(kind: str, name: str) -> dict[str, Any]:
    """A preset file read here, independently of sim.ui (a host's ``values:`` unwrapped)."""
    data = yaml.safe_load((DATA / kind / f"{name}.yaml").read_text(encoding="utf-8"))
    return data.get("values", data) if kind == "hosts" else data


@pytest.mark.parametrize("kind", ["hosts", "policies"])
def test_preset_choices_are_custom_then_the_shipped_files(kind: str) -> None:
    """The pickers offer 'custom' and every data/<kind>/*.yaml by name, sorted."""
    shipped = sorted(p.stem for p in (DATA / kind).glob("*.yaml"))
    assert shipped
    assert ui.preset_choices(kind) == ["custom", *shipped]  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["hosts", "policies"])
def test_preset_choices_are_what_the_scenario_loader_accepts(kind: str) -> None:
    """The pickers list presets with the loader's own lister, every choice loads, and a
    name the pickers do not offer is refused by the loader too."""
    offered = ui.preset_choices(kind)[1:]  # type: ignore[arg-type]
    assert offered == preset_names(kind)
    sc = ui.default_scenario()
    for name in offered:
        report = validate(ui.apply_preset(sc, kind, name))  # type: ignore[arg-type]
        assert report.valid, (name, report.problems)
    unknown = {"hosts": {"host": {"profile": "not-shipped"}},
               "policies": {"control": {"policy": {"kind": "nova", "file": "not-shipped"}}}}
    assert not validate({**sc, **unknown[kind]}).valid


@pytest.mark.parametrize("name", sorted(p.stem for p in (DATA / "hosts").glob("*.yaml")))
def test_host_preset_replaces_exactly_the_keys_its_file_sets(name: str) -> None:
    """Picking a host profile names it, drops the inline keys the file sets (so the file's
    values apply) and keeps the inline keys it does not set; the loaded host equals the
    file's values written inline."""
    values = _file("hosts", name)
    sc = ui.default_scenario()
    sc["host"]["link-failure-rate"] = 0.5
    new = ui.apply_preset(sc, "hosts", name)
    kept = {k: v for k, v in sc["host"].items() if k not in values}
    assert new["host"] == {"profile": name, **kept}
    assert ui.preset_of(new, "hosts") == name
    meta = ("description", "source", "calibrated")
    inline = {**sc, "host": {**kept, **{k: v for k, v in values.items() if k not in meta}}}
    assert load_scenario(new).host.model_copy(update={"profile": None}) == \
        load_scenario(inline).host
    assert sc["host"]["link-failure-rate"] == 0.5  # the input is not changed


def test_host_form_shows_the_profiles_values_and_an_edit_overrides_them() -> None:
    """With a profile, the host fields show the file's values; typing one writes an inline
    override, as a scenario file would."""
    name = ui.preset_choices("hosts")[1]
    values = _file("hosts", name)
    sc = ui.apply_preset(ui.default_scenario(), "hosts", name)
    fields = [f for f in ui.form_fields(profile("8.2")) if f.path.startswith("host.")]
    shown = ui.initial_values(fields, ui.form_view(sc))
    assert parse_rate(str(shown["host.link"])) == parse_rate(values["link"])
    assert parse_rate(str(shown["host.channel-rate"])) == parse_rate(values["channel-rate"])
    edited, problems = ui.apply_form(sc, fields, {"host.link": "1Gbit/s"})
    assert not problems
    assert edited["host"] == {"profile": name, "link": "1Gbit/s"}
    assert load_scenario(edited).host.link_Bps == parse_rate("1Gbit/s")


@pytest.mark.parametrize("name", sorted(p.stem for p in (DATA / "policies").glob("*.yaml")))
def test_policy_preset_names_its_file_and_custom_writes_it_out(name: str) -> None:
    """A policy preset becomes {kind, file}; 'custom' then writes the file's options inline,
    which simulates to the same result."""
    values = _file("policies", name)
    sc = ui.default_scenario()
    new = ui.apply_preset(sc, "policies", name)
    assert new["control"] == {**sc["control"], "policy": {"kind": values["kind"], "file": name}}
    assert ui.preset_of(new, "policies") == name
    own = ui.apply_preset(new, "policies", ui.CUSTOM)
    assert own["control"]["policy"] == values
    assert ui.preset_of(own, "policies") == ui.CUSTOM
    assert simulate(load_scenario(own)).to_dict() == simulate(load_scenario(new)).to_dict()


def test_custom_host_writes_the_profile_out_without_its_description() -> None:
    """'custom' after a host profile keeps the profile's values as plain host keys."""
    name = ui.preset_choices("hosts")[1]
    values = _file("hosts", name)
    sc = ui.apply_preset(ui.default_scenario(), "hosts", name)
    own = ui.apply_preset(sc, "hosts", ui.CUSTOM)
    assert own["host"] == {k: v for k, v in values.items()
                           if k not in ("description", "source", "calibrated")}
    assert ui.preset_of(own, "hosts") == ui.CUSTOM


def test_scenarios_without_a_shipped_preset_are_custom() -> None:
    """No profile, an unknown profile, or a preset policy with inline overrides: 'custom';
    picking 'custom' then changes nothing."""
    sc = ui.default_scenario()
    assert ui.preset_of(sc, "hosts") == ui.CUSTOM
    assert ui.preset_of(sc, "policies") == ui.CUSTOM
    assert ui.apply_preset(sc, "hosts", ui.CUSTOM) == sc
    unknown = {**sc, "host": {"profile": "no-such-host"}}
    assert ui.preset_of(unknown, "hosts") == ui.CUSTOM
    name = ui.preset_choices("policies")[1]
    tuned = ui.apply_preset(sc, "policies", name)
    tuned["control"]["policy"]["poll-s"] = 5
    assert ui.preset_of(tuned, "policies") == ui.CUSTOM
    assert ui.apply_preset(tuned, "policies", ui.CUSTOM) == tuned


def test_unknown_preset_names_are_refused() -> None:
    """Only shipped names (or 'custom') are accepted; the error lists the shipped ones."""
    shipped = ", ".join(sorted(p.stem for p in (DATA / "hosts").glob("*.yaml")))
    with pytest.raises(ScenarioError, match=f"available: {shipped}$"):
        ui.apply_preset(ui.default_scenario(), "hosts", "../../etc/passwd")


def test_preset_descriptions_come_from_the_files() -> None:
    """A host profile's description, a policy file's leading comment."""
    host = ui.preset_choices("hosts")[1]
    assert " ".join(str(_file("hosts", host)["description"]).split()) \
        in ui.preset_description("hosts", host)
    text = (DATA / "policies" / "nova-default.yaml").read_text().splitlines()[0].lstrip("# ")
    assert ui.preset_description("policies", "nova-default").startswith(text)

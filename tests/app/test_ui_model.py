"""sim.ui_model: the form model behind the dashboard, tested without Streamlit."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim import ScenarioError, ui_model
from sim.qemu import profile
from sim.scenario import load_scenario, preset_names, validate
from sim.units import parse_rate


def test_link_token_round_trips_a_scenario() -> None:
    """encode_scenario then decode_scenario gives the same dict back."""
    sc = ui_model.default_scenario()
    assert ui_model.decode_scenario(ui_model.encode_scenario(sc)) == sc


@pytest.mark.parametrize("token", [
    "%%%",                                                            # not base64url
    base64.urlsafe_b64encode(b"plain text").decode(),                  # not zlib
    base64.urlsafe_b64encode(zlib.compress(b"[1, 2]")).decode(),       # not an object
    base64.urlsafe_b64encode(zlib.compress(b" " * (1 << 20))).decode(),  # unpacks too large
    "A" * (ui_model.MAX_TOKEN_CHARS + 1),                             # too long
])
def test_bad_link_tokens_are_refused(token: str) -> None:
    """Corrupt, oversized or non-object tokens raise ScenarioError, never anything else."""
    with pytest.raises(ScenarioError):
        ui_model.decode_scenario(token)


def test_upload_never_constructs_python_objects() -> None:
    """A YAML tag asking for a Python object is refused by the safe loader."""
    evil = b"!!python/object/apply:os.system ['echo hi']\n"
    with pytest.raises(ScenarioError, match="not valid YAML"):
        ui_model.parse_upload(evil, "evil.yaml")


def test_upload_size_is_limited() -> None:
    """An upload over MAX_UPLOAD_BYTES is refused before parsing."""
    with pytest.raises(ScenarioError, match="larger than"):
        ui_model.parse_upload(b"#" * (ui_model.MAX_UPLOAD_BYTES + 1), "big.yaml")


def test_structure_check_rejects_unknown_sections() -> None:
    """A mapping with keys a scenario does not have is refused as a whole."""
    with pytest.raises(ScenarioError, match="unknown key 'foo'"):
        ui_model.check_structure({"vm": {"memory": "1G"}, "foo": 1})


@pytest.mark.parametrize(("text", "expected"), [
    ('{"return": {"status": "measured", "dirty-rate": 120}}', {"dirty-rate": "120MiB/s"}),
    ("dirtyrate.calc_status=2\ndirtyrate.megabytes_per_second=64\n", {"dirty-rate": "64MiB/s"}),
    ("t,frac\n1,0.01\n10,0.05\n", {"dirty-curve": [[1.0, 0.01], [10.0, 0.05]]}),
    ("1 512MiB\n2 1GiB\n", {"dirty-curve": [[1.0, 0.0625], [2.0, 0.125]]}),
])
def test_dirty_measurements_in_every_accepted_form(text: str, expected: dict[str, object]) -> None:
    """query-dirty-rate JSON, virsh domstats and two-column curves become workload fields."""
    assert ui_model.parse_dirty_measurement(text, 8 << 30) == expected


def test_unreadable_measurement_names_the_line() -> None:
    """A curve line with a bad value is refused naming its line."""
    with pytest.raises(ScenarioError, match="line 2"):
        ui_model.parse_dirty_measurement("1,0.1\n2,lots\n", 8 << 30)


@pytest.mark.parametrize(("path", "text", "value"), [
    ("parameters.max-bandwidth", "128MiB/s", 134217728),
    ("parameters.max-bandwidth", "10Gbit/s", 1250000000),
    ("parameters.downtime-limit", "300", 300),
    ("parameters.downtime-limit", "2s", 2000),
    ("parameters.xbzrle-cache-size", "64MiB", 67108864),
    ("parameters.multifd-channels", "8", 8),
])
def test_parameter_text_is_read_as_qmp_values(path: str, text: str, value: int) -> None:
    """Human-form text becomes the integer migrate-set-parameters takes."""
    field = next(f for f in ui_model.form_fields(profile("8.2")) if f.path == path)
    assert ui_model.parse_param_text(field, text) == (value, None)


def test_form_round_trip_keeps_the_scenario() -> None:
    """Showing a scenario in the form and reading it back changes nothing."""
    fields = ui_model.form_fields(profile("8.2"))
    sc = ui_model.default_scenario()
    new, problems = ui_model.apply_form(sc, fields, ui_model.initial_values(fields, sc))
    assert new == sc
    assert problems == []


def test_form_has_the_zero_layout_and_contention_fields() -> None:
    """``workload.zero-layout``, ``host.running-channel-rate`` and ``host.migration-cpus``
    have widgets; typing into them writes the scenario, clearing them drops the keys."""
    paths = {f.path for f in ui_model.form_fields(profile("8.2"))}
    for key in ("workload.zero-layout", "host.running-channel-rate", "host.migration-cpus",
                "host.link", "host.channel-rate", "workload.zero-fraction"):
        assert key in paths
    fields = ui_model.form_fields(profile("8.2"))
    sc = ui_model.default_scenario()
    values = {**ui_model.initial_values(fields, sc), "workload.zero-layout": "end",
              "host.running-channel-rate": "500MB/s", "host.migration-cpus": "1.5"}
    new, problems = ui_model.apply_form(sc, fields, values)
    assert problems == []
    loaded = load_scenario(new)
    assert loaded.workload.zero_layout == "end"
    assert loaded.host.running_channel_rate_Bps == 500e6
    assert loaded.host.migration_cpus == 1.5
    cleared, _ = ui_model.apply_form(new, fields, {**values, "host.running-channel-rate": "",
                                                   "host.migration-cpus": ""})
    assert "running-channel-rate" not in cleared["host"]
    assert "migration-cpus" not in cleared["host"]


def test_human_text_reads_back_exactly() -> None:
    """human_rate/human_size/human_ms give text that parses to the same number."""
    assert ui_model.human_rate(134217728) == "128MiB/s"
    assert ui_model.human_size(4097) == "4097"
    assert ui_model.human_ms(600000) == "10min"
    assert ui_model.human_ms(0.2) == "200us"


def test_sweep_points_switch_multifd_on_for_channel_axes() -> None:
    """A multifd-channels axis turns the multifd capability on in every point."""
    axes = [("parameters.multifd-channels", ui_model.axis_values(
        "parameters.multifd-channels", "1, 8")),
        ("parameters.downtime-limit", ui_model.axis_values("parameters.downtime-limit",
                                                           "100ms, 1s"))]
    points = ui_model.sweep_points(axes)
    assert len(points) == 4
    assert all(p["capabilities.multifd"] for p in points)
    assert points[1]["parameters.downtime-limit"] == 1000


def test_inventory_yaml_becomes_rows_and_back() -> None:
    """A YAML inventory's host links and overrides land in editable rows, then a mapping."""
    text = json.dumps({"defaults": {"qemu": "8.2"}, "hosts": {"h1": {"link": "25Gbit/s"}},
                       "vms": [{"name": "a", "host": "h1", "memory": "8GiB",
                                "overrides": {"parameters.downtime-limit": 500}}]})
    rows, defaults = ui_model.parse_inventory_upload(text.encode(), "fleet.yaml")
    assert rows == [{"name": "a", "host": "h1", "memory": "8GiB",
                     "parameters.downtime-limit": "500", "link": "25Gbit/s"}]
    mapping = ui_model.inventory_mapping(rows, defaults)
    assert mapping["vms"][0]["parameters.downtime-limit"] == 500
    assert mapping["defaults"] == {"qemu": "8.2"}


def test_enum_drop_downs_offer_exactly_what_the_release_accepts() -> None:
    """The form's choices for an enum parameter are the QAPI visitor's: 10.1's `mode` has
    cpr-transfer (added in 10.0), 8.2's does not, and multifd-compression follows the release."""
    def choices(version: str, name: str) -> tuple[str, ...]:
        fields = {f.path: f for f in ui_model.form_fields(profile(version))}
        return tuple(fields[f"parameters.{name}"].choices)

    assert choices("10.1", "mode") == ("normal", "cpr-reboot", "cpr-transfer")
    assert choices("8.2", "mode") == ("normal", "cpr-reboot")
    assert "qatzip" in choices("10.1", "multifd-compression")
    assert "qatzip" not in choices("8.2", "multifd-compression")


# ----------------------------------------------------------------- host and policy presets

DATA = Path(__file__).resolve().parents[2] / "data"


def _file(kind: str, name: str) -> dict[str, Any]:
    """A preset file read here, independently of ui_model (a host's ``values:`` unwrapped)."""
    data = yaml.safe_load((DATA / kind / f"{name}.yaml").read_text(encoding="utf-8"))
    return data.get("values", data) if kind == "hosts" else data


@pytest.mark.parametrize("kind", ["hosts", "policies"])
def test_preset_choices_are_custom_then_the_shipped_files(kind: str) -> None:
    """The pickers offer 'custom' and every data/<kind>/*.yaml by name, sorted."""
    shipped = sorted(p.stem for p in (DATA / kind).glob("*.yaml"))
    assert shipped
    assert ui_model.preset_choices(kind) == ["custom", *shipped]  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["hosts", "policies"])
def test_preset_choices_are_what_the_scenario_loader_accepts(kind: str) -> None:
    """The pickers list presets with the loader's own lister, every choice loads, and a
    name the pickers do not offer is refused by the loader too."""
    offered = ui_model.preset_choices(kind)[1:]  # type: ignore[arg-type]
    assert offered == preset_names(kind)
    sc = ui_model.default_scenario()
    for name in offered:
        report = validate(ui_model.apply_preset(sc, kind, name))  # type: ignore[arg-type]
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
    sc = ui_model.default_scenario()
    sc["host"]["link-failure-rate"] = 0.5
    new = ui_model.apply_preset(sc, "hosts", name)
    kept = {k: v for k, v in sc["host"].items() if k not in values}
    assert new["host"] == {"profile": name, **kept}
    assert ui_model.preset_of(new, "hosts") == name
    meta = ("description", "source", "calibrated")
    inline = {**sc, "host": {**kept, **{k: v for k, v in values.items() if k not in meta}}}
    assert load_scenario(new).host.model_copy(update={"profile": None}) == \
        load_scenario(inline).host
    assert sc["host"]["link-failure-rate"] == 0.5  # the input is not changed


def test_host_form_shows_the_profiles_values_and_an_edit_overrides_them() -> None:
    """With a profile, the host fields show the file's values; typing one writes an inline
    override, as a scenario file would."""
    name = ui_model.preset_choices("hosts")[1]
    values = _file("hosts", name)
    sc = ui_model.apply_preset(ui_model.default_scenario(), "hosts", name)
    fields = [f for f in ui_model.form_fields(profile("8.2")) if f.path.startswith("host.")]
    shown = ui_model.initial_values(fields, ui_model.form_view(sc))
    assert parse_rate(str(shown["host.link"])) == parse_rate(values["link"])
    assert parse_rate(str(shown["host.channel-rate"])) == parse_rate(values["channel-rate"])
    edited, problems = ui_model.apply_form(sc, fields, {"host.link": "1Gbit/s"})
    assert not problems
    assert edited["host"] == {"profile": name, "link": "1Gbit/s"}
    assert load_scenario(edited).host.link_Bps == parse_rate("1Gbit/s")


@pytest.mark.parametrize("name", sorted(p.stem for p in (DATA / "policies").glob("*.yaml")))
def test_policy_preset_names_its_file_and_custom_writes_it_out(name: str) -> None:
    """A policy preset becomes {kind, file}; 'custom' then writes the file's options inline,
    which simulates to the same result."""
    values = _file("policies", name)
    sc = ui_model.default_scenario()
    new = ui_model.apply_preset(sc, "policies", name)
    assert new["control"] == {**sc["control"], "policy": {"kind": values["kind"], "file": name}}
    assert ui_model.preset_of(new, "policies") == name
    own = ui_model.apply_preset(new, "policies", ui_model.CUSTOM)
    assert own["control"]["policy"] == values
    assert ui_model.preset_of(own, "policies") == ui_model.CUSTOM
    if ui_model.module_available("sim.engine"):
        from sim.engine import simulate

        assert simulate(load_scenario(own)).to_dict() == simulate(load_scenario(new)).to_dict()


def test_custom_host_writes_the_profile_out_without_its_description() -> None:
    """'custom' after a host profile keeps the profile's values as plain host keys."""
    name = ui_model.preset_choices("hosts")[1]
    values = _file("hosts", name)
    sc = ui_model.apply_preset(ui_model.default_scenario(), "hosts", name)
    own = ui_model.apply_preset(sc, "hosts", ui_model.CUSTOM)
    assert own["host"] == {k: v for k, v in values.items()
                           if k not in ("description", "source", "calibrated")}
    assert ui_model.preset_of(own, "hosts") == ui_model.CUSTOM


def test_scenarios_without_a_shipped_preset_are_custom() -> None:
    """No profile, an unknown profile, or a preset policy with inline overrides: 'custom';
    picking 'custom' then changes nothing."""
    sc = ui_model.default_scenario()
    assert ui_model.preset_of(sc, "hosts") == ui_model.CUSTOM
    assert ui_model.preset_of(sc, "policies") == ui_model.CUSTOM
    assert ui_model.apply_preset(sc, "hosts", ui_model.CUSTOM) == sc
    unknown = {**sc, "host": {"profile": "no-such-host"}}
    assert ui_model.preset_of(unknown, "hosts") == ui_model.CUSTOM
    name = ui_model.preset_choices("policies")[1]
    tuned = ui_model.apply_preset(sc, "policies", name)
    tuned["control"]["policy"]["poll-s"] = 5
    assert ui_model.preset_of(tuned, "policies") == ui_model.CUSTOM
    assert ui_model.apply_preset(tuned, "policies", ui_model.CUSTOM) == tuned


def test_unknown_preset_names_are_refused() -> None:
    """Only shipped names (or 'custom') are accepted; the error lists the shipped ones."""
    with pytest.raises(ScenarioError, match="available: lab-tcg"):
        ui_model.apply_preset(ui_model.default_scenario(), "hosts", "../../etc/passwd")


def test_preset_descriptions_come_from_the_files() -> None:
    """A host profile's description, a policy file's leading comment."""
    host = ui_model.preset_choices("hosts")[1]
    assert " ".join(str(_file("hosts", host)["description"]).split()) \
        in ui_model.preset_description("hosts", host)
    text = (DATA / "policies" / "nova-default.yaml").read_text().splitlines()[0].lstrip("# ")
    assert ui_model.preset_description("policies", "nova-default").startswith(text)

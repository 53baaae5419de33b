"""The Scenario page: QEMU's parameters in human form, QEMU's own errors, links and versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import open_app, texts

from sim import ui
from sim.qemu import profile
from sim.scenario import load_scenario
from sim.units import parse_rate

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "examples"


def test_default_scenario_is_accepted() -> None:
    """The dashboard opens on the default scenario, which QEMU would accept."""
    at = open_app()
    assert not at.exception
    assert at.title[0].value == "Scenario"
    assert any("QEMU would accept" in s for s in texts(at.success))
    assert not at.error
    assert at.session_state["scenario"]["vm"]["memory"] == "8GiB"


def test_every_parameter_and_capability_of_the_release_has_a_widget() -> None:
    """Each parameter and capability of QEMU 8.2 appears with its QEMU default shown."""
    at = open_app()
    prof = profile("8.2")
    keys = {w.key for w in [*at.text_input, *at.checkbox, *at.selectbox]}
    for p in prof.parameters:
        assert f"w.parameters.{p.name}" in keys, p.name
    for c in prof.capabilities:
        assert f"w.capabilities.{c.name}" in keys, c.name
    bw = at.text_input(key="w.parameters.max-bandwidth")
    assert bw.value == "128MiB/s"
    assert "QEMU's default: 128MiB/s" in bw.help


def test_out_of_range_downtime_shows_qemus_message_under_the_field() -> None:
    """An out-of-range downtime-limit shows QEMU's exact text and the 'QEMU would reply' box."""
    at = open_app()
    at.text_input(key="w.parameters.downtime-limit").set_value("5000000").run()
    expected = "Parameter 'downtime_limit' expects an integer in the range of 0 to (2000 * 1000) ms"
    errors = texts(at.error)
    assert any(e == f"QEMU: {expected}" for e in errors)
    assert any(e.startswith("**QEMU would reply:**") and expected in e for e in errors)
    assert not at.success


def test_human_units_are_accepted_and_stored_as_qmp_integers() -> None:
    """'1GiB/s' and '2s' become QMP's 1073741824 bytes/s and 2000 ms in the scenario and link."""
    at = open_app()
    at.text_input(key="w.parameters.max-bandwidth").set_value("1GiB/s")
    at.text_input(key="w.parameters.downtime-limit").set_value("2s").run()
    params = at.session_state["scenario"]["parameters"]
    assert params["max-bandwidth"] == 1073741824
    assert params["downtime-limit"] == 2000
    assert ui.decode_scenario(str(at.query_params["s"]))["parameters"] == params


def test_unreadable_unit_text_gets_both_miglabs_and_qemus_message() -> None:
    """Text that is not a rate is named as such, and QEMU's type error is shown too."""
    at = open_app()
    at.text_input(key="w.parameters.max-bandwidth").set_value("fast").run()
    errors = texts(at.error)
    assert "QEMU: Parameter 'max-bandwidth' expects uint64" in errors
    assert any(e.startswith("miglab: cannot read this") for e in errors)


def test_incompatible_capabilities_show_qemus_refusal() -> None:
    """multifd with xbzrle on QEMU 8.2 gives QEMU's 'Multifd is not compatible with xbzrle'."""
    at = open_app()
    at.checkbox(key="w.capabilities.multifd").check()
    at.checkbox(key="w.capabilities.xbzrle").check().run()
    assert any("Multifd is not compatible with xbzrle" in e for e in texts(at.error))


@pytest.mark.parametrize(("version", "present", "absent"), [
    ("7.2", "compress-threads", "avail-switchover-bandwidth"),   # 8.2 added the latter
    ("10.1", "multifd-qatzip-level", "compress-threads"),        # 9.1 removed legacy compress
])
def test_version_picker_shows_that_releases_parameters(version: str, present: str,
                                                       absent: str) -> None:
    """Picking a release shows exactly the parameters that release has."""
    at = open_app()
    at.selectbox(key="w.qemu").set_value(version).run()
    keys = {w.key for w in at.text_input}
    assert f"w.parameters.{present}" in keys
    assert f"w.parameters.{absent}" not in keys
    assert at.session_state["scenario"]["qemu"] == version
    assert not at.exception


def test_link_reproduces_the_scenario() -> None:
    """Opening a link with ?s= shows that scenario's values in the form."""
    sc = ui.default_scenario()
    sc["vm"]["memory"] = "16GiB"
    sc["parameters"]["downtime-limit"] = 500
    at = open_app({"s": ui.encode_scenario(sc)})
    assert at.text_input(key="w.vm.memory").value == "16GiB"
    assert at.text_input(key="w.parameters.downtime-limit").value == "500ms"


def test_broken_link_falls_back_to_the_default_with_a_message() -> None:
    """A corrupted ?s= token is reported and the default scenario is shown instead."""
    at = open_app({"s": "not-a-scenario!!"})
    assert not at.exception
    assert any("link's scenario was not loaded" in w for w in texts(at.warning))
    assert at.session_state["scenario"] == ui.default_scenario()


def test_invalid_example_file_shows_each_qemu_error_next_to_its_field() -> None:
    """data/examples/invalid.yaml shows QEMU's multifd-channels and downtime-limit refusals."""
    sc = yaml.safe_load((EXAMPLES / "invalid.yaml").read_text())
    at = open_app({"s": ui.encode_scenario(sc)})
    errors = texts(at.error)
    assert "QEMU: Parameter 'multifd_channels' expects a value between 1 and 255" in errors
    assert any("downtime_limit" in e for e in errors)


def test_every_workload_template_applies_without_error() -> None:
    """Applying each workload template in turn keeps the scenario valid and error-free."""
    at = open_app()
    for template, values in ui.WORKLOAD_TEMPLATES.items():
        at.selectbox(key="workload_pick").set_value(f"template: {template}").run()
        at.button(key="apply_workload").click().run()
        assert not at.exception, template
        assert at.session_state["scenario"]["workload"]["dirty-rate"] == values["dirty-rate"]
        assert not at.error, template


def test_pasted_measurement_becomes_a_dirty_curve() -> None:
    """Pasting 'seconds,fraction' lines replaces the rate with a measured dirty curve."""
    at = open_app()
    at.text_area(key="measure_text").set_value("seconds,fraction\n1,0.01\n10,0.05\n60,0.1")
    at.button(key="use_measure").click().run()
    wl = at.session_state["scenario"]["workload"]
    assert wl["dirty-curve"] == [[1.0, 0.01], [10.0, 0.05], [60.0, 0.1]]
    assert "dirty-rate" not in wl
    assert not at.error


def test_bad_measurement_leaves_the_workload_unchanged() -> None:
    """A measurement that cannot be read gives a message and keeps the current workload."""
    at = open_app()
    before = dict(at.session_state["scenario"]["workload"])
    at.text_area(key="measure_text").set_value("hello world, this is not a measurement")
    at.button(key="use_measure").click().run()
    assert any("Not used; the workload is unchanged" in e for e in texts(at.error))
    assert at.session_state["scenario"]["workload"] == before


# ----------------------------------------------------------------- host and policy presets

DATA = Path(__file__).resolve().parents[2] / "data"
HOSTS = sorted(p.stem for p in (DATA / "hosts").glob("*.yaml"))
POLICIES = sorted(p.stem for p in (DATA / "policies").glob("*.yaml"))
HOST_META = ("description", "source", "calibrated")


def _file(kind: str, name: str) -> dict[str, Any]:
    """A preset file read here, independently of the dashboard (a host's values: unwrapped)."""
    data = yaml.safe_load((DATA / kind / f"{name}.yaml").read_text(encoding="utf-8"))
    return data.get("values", data) if kind == "hosts" else data


def _metrics_for(sc: dict[str, Any]) -> list[str]:
    """The Simulate page's six headline values for `sc`, computed without the dashboard."""
    from sim.engine import simulate

    model = load_scenario(sc)
    return [m.value for m in ui.result_metrics(simulate(model), model.vm.vcpus)]


def _simulate_page_metrics(at: Any) -> list[str]:
    at.switch_page("app_pages/simulate.py").run()
    assert not at.exception
    return [m.value for m in at.metric]


def test_preset_pickers_list_the_shipped_files() -> None:
    """The host and policy pickers offer 'custom' and every shipped file, and show 'custom'
    for the default scenario."""
    at = open_app()
    hosts, policies = at.selectbox(key="w.preset.hosts"), at.selectbox(key="w.preset.policies")
    assert list(hosts.options) == ["custom", *HOSTS]
    assert list(policies.options) == ["custom", *POLICIES]
    assert hosts.value == policies.value == "custom"


@pytest.mark.parametrize("name", HOSTS)
def test_picking_a_host_profile_applies_its_file(name: str) -> None:
    """Picking a host profile puts it in the scenario and the link, the host fields show the
    file's values, and the simulation is the one of the file's values written inline."""
    values = _file("hosts", name)
    at = open_app()
    before = at.session_state["scenario"]
    at.selectbox(key="w.preset.hosts").set_value(name).run()
    assert not at.exception
    sc = at.session_state["scenario"]
    assert sc["host"]["profile"] == name
    assert ui.decode_scenario(str(at.query_params["s"])) == sc
    assert parse_rate(at.text_input(key="w.host.link").value) == parse_rate(values["link"])
    assert parse_rate(at.text_input(key="w.host.channel-rate").value) \
        == parse_rate(values["channel-rate"])
    assert any(str(values["description"]).split()[0] in c for c in texts(at.caption))
    assert any("QEMU would accept" in s for s in texts(at.success))
    inline = {**before, "host": {**{k: v for k, v in before["host"].items() if k not in values},
                                 **{k: v for k, v in values.items() if k not in HOST_META}}}
    expected = _metrics_for(inline)
    assert expected != _metrics_for(before)
    assert _simulate_page_metrics(at) == expected


@pytest.mark.parametrize("name", POLICIES)
def test_picking_a_policy_preset_applies_its_file(name: str) -> None:
    """Picking a policy preset names the file and its kind, the policy drop-down shows that
    kind, and the simulation is the one of the file's options written inline."""
    values = _file("policies", name)
    at = open_app()
    before = at.session_state["scenario"]
    at.selectbox(key="w.preset.policies").set_value(name).run()
    assert not at.exception
    sc = at.session_state["scenario"]
    assert sc["control"]["policy"] == {"kind": values["kind"], "file": name}
    assert at.selectbox(key="w.control.policy").value == values["kind"]
    assert at.selectbox(key="w.preset.policies").value == name
    assert any("QEMU would accept" in s for s in texts(at.success))
    inline = {**before, "control": {**before["control"], "policy": values}}
    expected = _metrics_for(inline)
    assert expected != _metrics_for(before)
    assert _simulate_page_metrics(at) == expected


def test_custom_keeps_the_presets_values_and_editing_a_host_field_overrides_it() -> None:
    """After a host profile, editing the link writes an override; 'custom' then writes the
    profile out (no profile key) and the result stays the same."""
    name = HOSTS[0]
    at = open_app()
    at.selectbox(key="w.preset.hosts").set_value(name).run()
    at.text_input(key="w.host.link").set_value("1Gbit/s").run()
    sc = at.session_state["scenario"]
    assert sc["host"] == {"profile": name, "link": "1Gbit/s"}
    with_profile = _simulate_page_metrics(at)
    at.switch_page("app_pages/scenario.py").run()
    at.selectbox(key="w.preset.hosts").set_value("custom").run()
    own = at.session_state["scenario"]["host"]
    assert "profile" not in own
    assert own["link"] == "1Gbit/s"
    assert at.selectbox(key="w.preset.hosts").value == "custom"
    assert _simulate_page_metrics(at) == with_profile


def test_changing_the_policy_kind_leaves_the_preset() -> None:
    """Choosing another policy kind after a preset gives that kind's defaults: 'custom'."""
    at = open_app()
    at.selectbox(key="w.preset.policies").set_value("nova-default").run()
    at.selectbox(key="w.control.policy").set_value("proxmox").run()
    assert at.session_state["scenario"]["control"]["policy"] == {"kind": "proxmox"}
    assert at.selectbox(key="w.preset.policies").value == "custom"


def test_page_classes_have_their_own_box_and_edits_reach_the_scenario() -> None:
    """A scenario written as page classes (issue 16) shows them, not empty rate fields.

    The box reads one ``size rate`` line per class; an edit is stored as written, a line
    that is not two values is refused with its line number and the classes stay.
    """
    sc = ui.default_scenario()
    sc["workload"] = {"classes": [{"size": "32MiB", "rate": "90MiB/s"},
                                  {"size": "480MiB", "rate": "10MiB/s"}]}
    at = open_app({"s": ui.encode_scenario(sc)})
    assert not at.exception
    keys = {w.key for w in at.text_input}
    assert "w.workload.dirty-rate" not in keys
    assert "w.workload.working-set" not in keys
    box = at.text_area(key="w.workload.classes")
    assert box.value == "32MiB 90MiB/s\n480MiB 10MiB/s"
    assert not at.error
    box.set_value("64MiB 200MiB/s\n1GiB 1MiB/s").run()
    assert at.session_state["scenario"]["workload"]["classes"] == [
        {"size": "64MiB", "rate": "200MiB/s"}, {"size": "1GiB", "rate": "1MiB/s"}]
    at.text_area(key="w.workload.classes").set_value("64MiB\n1GiB 1MiB/s").run()
    assert any("line 1" in e and "expected a size and a rate" in e for e in texts(at.error))
    assert at.session_state["scenario"]["workload"]["classes"][0]["size"] == "64MiB"
    at.text_area(key="w.workload.classes").set_value("9TiB 1MiB/s").run()
    assert any("workload.classes" in e or "vm.memory" in e for e in texts(at.error))

"""control.postcopy-after and the policy's options on the Scenario page; their notes on Simulate."""

from __future__ import annotations

from conftest import open_app, texts

from sim import ui
from sim.policies import KINDS


def _scenario_page(scenario: dict[str, object]):  # type: ignore[no-untyped-def]
    return open_app({"s": ui.encode_scenario(scenario)})


def test_postcopy_after_box_writes_the_scenario_key() -> None:
    sc = ui.apply_changes(ui.default_scenario(), {"capabilities.postcopy-ram": True})
    at = _scenario_page(sc)
    box = at.text_input(key="w.postcopy-after")
    assert box.value == ""
    box.set_value("2 syncs").run()
    assert at.session_state["scenario"]["control"]["postcopy-after"] == {"passes": 2}
    at.text_input(key="w.postcopy-after").set_value("45s").run()
    assert at.session_state["scenario"]["control"]["postcopy-after"] == {"seconds": "45s"}
    at.text_input(key="w.postcopy-after").set_value("").run()
    assert "postcopy-after" not in at.session_state["scenario"]["control"]


def test_unreadable_postcopy_after_changes_nothing_and_says_so() -> None:
    at = _scenario_page(ui.default_scenario())
    before = at.session_state["scenario"]
    at.text_input(key="w.postcopy-after").set_value("banana").run()
    assert at.session_state["scenario"] == before
    assert any("banana" in t and "syncs" in t for t in texts(at.error))


def test_every_option_of_the_chosen_kind_has_a_widget_with_its_default() -> None:
    sc = ui.apply_changes(ui.default_scenario(), {"control.policy": {"kind": "nova"}})
    at = _scenario_page(sc)
    options = KINDS["nova"][1]
    assert options is not None
    for name, opt in options.items():
        key = f"w.policyopt.nova.{name}"
        widget = next(w for w in (*at.text_input, *at.checkbox, *at.selectbox) if w.key == key)
        assert "default" in (widget.help or "")
        if isinstance(opt.default, bool):
            assert widget.value is opt.default
        elif widget.type == "selectbox":
            assert widget.value == opt.default
        else:
            assert widget.placeholder == str(opt.default)


def test_a_policy_option_is_written_and_checked_by_the_policy() -> None:
    sc = ui.apply_changes(ui.default_scenario(),
                          {"control.policy": {"kind": "kubevirt"}})
    at = _scenario_page(sc)
    at.text_input(key="w.policyopt.kubevirt.bandwidthPerMigration").set_value("64Mi").run()
    assert at.session_state["scenario"]["control"]["policy"] == {
        "kind": "kubevirt", "bandwidthPerMigration": "64Mi"}
    at.text_input(key="w.policyopt.kubevirt.progressTimeout").set_value("-3").run()
    errors = texts(at.error)
    assert any("whole number" in t for t in errors), errors


def test_kubevirt_bandwidth_override_is_hinted_and_noted() -> None:
    sc = ui.apply_changes(ui.default_scenario(),
                          {"control.policy": {"kind": "kubevirt"}})
    at = _scenario_page(sc)
    assert any("overrides the bandwidth" in t for t in texts(at.info))
    sim = at.switch_page("app_pages/simulate.py").run()
    assert any("kubevirt sets max-bandwidth to unlimited" in t for t in texts(sim.info))


def test_low_cap_hint_on_a_fast_link() -> None:
    sc = ui.apply_changes(ui.default_scenario(), {"host.link": "25Gbit/s"})
    at = _scenario_page(sc)
    assert any("of the" in t and "link" in t for t in texts(at.info))
    uncapped = ui.apply_changes(sc, {"parameters.max-bandwidth": 0})
    assert not any("link" in t for t in texts(_scenario_page(uncapped).info))


def test_postcopy_armed_but_never_started_is_said() -> None:
    sc = ui.apply_changes(ui.default_scenario(), {
        "capabilities.postcopy-ram": True, "control.postcopy-after": {"passes": 50}})
    at = _scenario_page(sc).switch_page("app_pages/simulate.py").run()
    assert any("never started" in t for t in texts(at.info))
    early = ui.apply_changes(sc, {"control.postcopy-after": {"passes": 1}})
    at = _scenario_page(early).switch_page("app_pages/simulate.py").run()
    assert not any("never started" in t for t in texts(at.info))
    assert any("switched to postcopy at" in t for t in texts(at.info))


def test_option_fields_cover_every_kind_with_options() -> None:
    for kind, (_, options) in KINDS.items():
        fields = ui.policy_option_fields(kind)
        assert [f.name for f in fields] == list(options or {})


def test_a_cancelled_run_has_no_downtime_chart() -> None:
    """No pause, no "Where the downtime goes: 0 ms"."""
    sc = ui.apply_changes(ui.default_scenario(), {
        "capabilities.auto-converge": False, "workload.dirty-rate": "3GiB/s",
        "control.timeout": "20s"})
    at = _scenario_page(sc).switch_page("app_pages/simulate.py").run()
    assert not at.exception
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert len(specs) == 3
    assert not any("Where the downtime goes" in s for s in specs)


def test_timeline_table_reads_in_units() -> None:
    at = _scenario_page(ui.default_scenario()).switch_page("app_pages/simulate.py").run()
    at.session_state["keep.simulate_details"] = True  # opened, as the browser reports it
    at.run()
    frames = [d.value for d in at.dataframe if "remaining" in d.value.columns]
    assert frames, [d.value.columns for d in at.dataframe]
    cells = [str(c) for c in frames[0]["remaining"]]
    assert all(c.endswith(("B", "KiB", "MiB", "GiB")) for c in cells)


def test_an_opened_section_stays_open_across_pages_and_when_a_box_is_ticked() -> None:
    at = _scenario_page(ui.default_scenario())
    at.session_state["keep.group_open.postcopy"] = True  # the person opened it
    at.run()
    at.checkbox(key="w.capabilities.postcopy-ram").check().run()
    assert at.session_state["group_open.postcopy"] is True
    at.switch_page("app_pages/simulate.py").run()
    at.switch_page("app_pages/scenario.py").run()
    assert at.session_state["group_open.postcopy"] is True
    assert at.session_state["group_open.xbzrle"] is False

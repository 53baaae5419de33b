"""Compare, Trade-offs, Drain planner, Recommend & export and Lab pages, driven by AppTest."""

from __future__ import annotations

import json

import pytest
from conftest import open_app, texts
from streamlit.testing.v1 import AppTest

from sim import ui


def open_page(name: str, scenario: dict[str, object] | None = None) -> AppTest:
    """Page `name` of a fresh session (with `scenario` carried by the link)."""
    at = open_app({"s": ui.encode_scenario(scenario)} if scenario else None)
    return at.switch_page(f"app_pages/{name}.py").run()


def invalid_scenario() -> dict[str, object]:
    """The default scenario with a downtime-limit QEMU refuses."""
    sc = ui.default_scenario()
    sc["parameters"]["downtime-limit"] = 3_000_000  # type: ignore[index]
    return sc


@pytest.mark.parametrize("page", ["compare", "tradeoffs", "recommend"])
def test_pages_refuse_an_invalid_scenario_with_qemus_message(page: str) -> None:
    """Pages that run the engine show QEMU's reply instead of running an invalid scenario."""
    at = open_page(page, invalid_scenario())
    assert not at.exception
    assert any("Parameter 'downtime_limit' expects an integer in the range" in e
               for e in texts(at.error))
    assert not at.metric
    assert not at.get("plotly_chart")


def _compare_table(at: AppTest):  # type: ignore[no-untyped-def]
    tables = [d.value for d in at.dataframe if "converged" in d.value.index]
    assert len(tables) == 1
    return tables[0]


def _edit_compare(at: AppTest, delta: dict[str, object]) -> None:
    """Send one data-editor edit, as the browser does, and rerun."""
    key = f"compare_rows_{at.session_state['keep.compare_rows.version']}"
    at.session_state[key] = {"edited_rows": {}, "added_rows": [], "deleted_rows": [], **delta}
    at.run()


def test_compare_shows_each_setting_side_by_side_and_overlaid() -> None:
    """One column per setting, one row per outcome, the best marked; one overlaid figure."""
    at = open_page("compare")
    assert not at.exception
    table = _compare_table(at)
    assert list(table.columns) == ["1. as set", "2. 1 s downtime, unlimited",
                                   "3. multifd 8, auto-converge"]
    assert list(table.loc["converged"]) == ["yes", "yes", "yes"]
    for row in ("total time", "downtime", "data sent"):
        marked = [c for c in table.loc[row] if c.startswith(ui.BEST)]
        assert len(marked) >= 1, row
    assert "guest cost: throttled vCPU time" in table.index
    assert all("vCPU·s" in c for c in table.loc["guest cost: throttled vCPU time"])
    assert not any("None" in str(c) for c in table.to_numpy().ravel())
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    assert "compared" in charts[0].proto.spec


def test_compare_row_that_qemu_refuses_is_reported() -> None:
    """A compare row with 300 multifd channels (over uint8) is shown with QEMU's message."""
    at = open_page("compare")
    _edit_compare(at, {"edited_rows": {1: {"multifd-channels": "300"}}})
    assert not at.exception
    assert "**QEMU would reply:** Parameter 'multifd-channels' expects uint8_t" in texts(at.error)
    assert list(_compare_table(at).loc["converged"]) == ["yes", "yes"]


def test_compare_rows_survive_another_page() -> None:
    """The kept rows are what the page starts from after a visit elsewhere (the browser's
    edit callback is tests/e2e's; AppTest does not fire it, so it is applied here)."""
    at = open_page("compare")
    kept = ui.apply_editor_delta(at.session_state["keep.compare_rows"], {
        "edited_rows": {0: {"label": "mine", "downtime-limit": "2s"}}, "deleted_rows": [2]})
    at.session_state["keep.compare_rows"] = kept
    at.session_state["keep.compare_rows.version"] += 1
    at.switch_page("app_pages/simulate.py").run()
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception
    assert list(_compare_table(at).columns) == ["1. mine", "2. 1 s downtime, unlimited"]
    assert at.session_state["keep.compare_rows"].loc[0, "downtime-limit"] == "2s"


def test_compare_table_marks_the_lowest_downtime_among_converged_runs() -> None:
    from sim.engine import simulate
    from sim.scenario import load_scenario

    sc = ui.default_scenario()
    quick = simulate(load_scenario(ui.apply_changes(sc, {"parameters.max-bandwidth": 0})))
    slow = simulate(load_scenario(sc))
    stopped = simulate(load_scenario(ui.apply_changes(sc, {
        "capabilities.auto-converge": False, "workload.dirty-rate": "3GiB/s",
        "control.timeout": "20s"})))
    assert not stopped.converged
    table = ui.compare_table({"a": quick, "b": slow, "c": stopped})
    best = "a" if quick.downtime_ms < slow.downtime_ms else "b"
    assert table.loc["downtime", best].startswith(ui.BEST)
    assert table.loc["downtime", "c"] == "— (no switchover)"
    assert not table.loc["total time", "c"].startswith(ui.BEST)


def test_tradeoff_sweep_draws_heatmaps_and_pareto_front() -> None:
    """Running the default 4×4 sweep draws three heatmaps and the Pareto front."""
    at = open_page("tradeoffs")
    at.button(key="run_sweep").click().run()
    assert not at.exception
    charts = at.get("plotly_chart")
    assert len(charts) == 4
    kinds = [json.loads(c.proto.spec)["data"][0]["type"] for c in charts]
    assert kinds[:3] == ["heatmap", "heatmap", "heatmap"]
    assert "Pareto front" in charts[3].proto.spec
    assert len(at.session_state["sweep"]["table"]) == 16


def test_tradeoff_axis_with_unreadable_value_is_refused() -> None:
    """An axis value that is not a duration is refused at once and the sweep cannot run."""
    at = open_page("tradeoffs")
    at.text_input(key="values_x_downtime-limit").set_value("100ms, soon").run()
    assert any("cannot read this" in e for e in texts(at.error))
    assert at.button(key="run_sweep").disabled
    assert "sweep" not in at.session_state


def test_tradeoff_results_are_cleared_when_an_input_changes_or_fails() -> None:
    """Charts belong to the inputs that made them: an edit, or "banana", removes them."""
    at = open_page("tradeoffs")
    at.button(key="run_sweep").click().run()
    assert len(at.get("plotly_chart")) == 4
    at.text_input(key="values_y_max-bandwidth").set_value("0, 1GiB/s").run()
    assert not at.get("plotly_chart")
    assert "sweep" not in at.session_state
    at.button(key="run_sweep").click().run()
    assert len(at.get("plotly_chart")) == 4
    at.text_input(key="values_y_max-bandwidth").set_value("banana").run()
    assert not at.get("plotly_chart")
    assert at.button(key="run_sweep").disabled


def test_tradeoff_inputs_and_results_survive_another_page() -> None:
    at = open_page("tradeoffs")
    at.text_input(key="values_x_downtime-limit").set_value("100ms, 2s").run()
    at.button(key="run_sweep").click().run()
    at.switch_page("app_pages/compare.py").run()
    at.switch_page("app_pages/tradeoffs.py").run()
    assert at.text_input(key="values_x_downtime-limit").value == "100ms, 2s"
    assert len(at.get("plotly_chart")) == 4


def test_tradeoff_non_converged_cells_are_their_own_category() -> None:
    """A run that did not converge is a grey "did not converge" cell, not 0 ms or a time."""
    sc = ui.default_scenario()
    sc["capabilities"] = {"auto-converge": False}  # type: ignore[index]
    sc["control"] = {"timeout": "60s"}
    at = open_page("tradeoffs", sc)
    at.selectbox(key="axis_y").set_value("dirty rate").run()
    at.text_input(key="values_y_dirty rate").set_value("50MiB/s, 2GiB/s").run()
    at.button(key="run_sweep").click().run()
    assert not at.exception
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")[:3]]
    for spec in specs[:2]:  # total time, downtime
        names = [t.get("name") for t in spec["data"]]
        assert ui.NOT_CONVERGED in names
        first = spec["data"][0]
        row = first["y"].index("2 GiB/s")
        assert all(v is None for v in first["z"][row])  # no number for these cells
        assert set(spec["data"][1]["text"][row]) == {ui.NOT_CONVERGED}
    converged = specs[2]["data"][0]
    assert converged["colorbar"]["ticktext"] == ["no", "yes"]
    assert set(converged["text"][converged["y"].index("2 GiB/s")]) == {"no"}
    hover = " ".join(str(c) for row in converged["customdata"] for c in row)
    assert "dirty-rate: 2 GiB/s" in hover
    assert "downtime-limit: 100 ms" in hover
    assert "did not converge: cancelled after 1 min 0 s" in hover


def test_drain_planner_plans_the_sample_fleet() -> None:
    """The sample two-rack inventory drains with a Gantt chart and a drain time."""
    at = open_page("drain")
    assert not at.exception
    assert at.metric[0].label == "drain time"
    assert at.metric[1].value == "20 of 20"
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    assert "Host drain" in charts[0].proto.spec


def test_drain_limits_change_the_plan() -> None:
    """Allowing more migrations per host at once shortens or keeps the drain time."""
    at = open_page("drain")
    serial = at.metric[0].value
    at.number_input(key="drain_per_node").set_value(4).run()
    assert not at.exception
    assert at.metric[3].label == "peak at once"
    assert int(at.metric[3].value) >= 4
    assert at.metric[0].value != serial


def test_drain_chosen_hosts_or_prefix_only_and_the_worst_vms_named() -> None:
    at = open_page("drain")
    at.multiselect(key="drain_hosts_0").set_value(["r2-h1"]).run()
    assert not at.exception
    assert at.metric[1].value == "3 of 3"
    assert any(m.startswith("**Worst:**") and "downtime" in m for m in texts(at.markdown))
    at.multiselect(key="drain_hosts_0").set_value([]).run()
    at.text_input(key="drain_prefix").set_value("r1-").run()
    assert at.metric[1].value == "10 of 10"
    at.text_input(key="drain_prefix").set_value("r9-").run()
    assert any("matches no host" in e for e in texts(at.error))


def test_drain_colour_by_downtime_and_choices_survive_another_page() -> None:
    at = open_page("drain")
    at.radio(key="drain_colour").set_value("downtime").run()
    at.selectbox(key="drain_policy").set_value("kubevirt").run()
    at.multiselect(key="drain_hosts_0").set_value(["r1-h1", "r1-h2"]).run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["data"][0]["marker"]["colorbar"]["title"]["text"] == "downtime (ms)"
    at.switch_page("app_pages/compare.py").run()
    at.switch_page("app_pages/drain.py").run()
    assert at.radio(key="drain_colour").value == "downtime"
    assert at.selectbox(key="drain_policy").value == "kubevirt"
    assert at.multiselect(key="drain_hosts_0").value == ["r1-h1", "r1-h2"]
    assert at.metric[1].value == "6 of 6"


def test_drain_host_edited_out_of_the_inventory_leaves_the_choice() -> None:
    at = open_page("drain")
    at.multiselect(key="drain_hosts_0").set_value(["r2-h1", "r1-h1"]).run()
    rows = at.session_state["inventory"][0]
    edits = {i: {"host": "r9-h9"} for i, r in enumerate(rows) if r["host"] == "r2-h1"}
    at.session_state["inventory_editor_0"] = {
        "edited_rows": edits, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception
    assert at.multiselect(key="drain_hosts_0").value == ["r1-h1"]
    assert at.metric[1].value == "3 of 3"


def test_drain_with_a_broken_row_reports_it() -> None:
    """A VM row without memory makes the planner say so, naming the VM."""
    at = open_page("drain")
    at.session_state["inventory_editor_0"] = {
        "edited_rows": {0: {"memory": ""}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception
    assert any("memory is required" in e for e in texts(at.error))


def test_recommend_gives_settings_reasons_and_every_export() -> None:
    """Without a recommendation every format of the scenario can be downloaded; once one is
    made, the download is exactly the recommended setting's export, and the reasons show."""
    from sim.export import FORMATS

    at = open_page("recommend")
    labels = [b.proto.label for b in at.get("download_button")]
    for fmt in FORMATS:  # every format downloads as named files (a zip when several)
        assert any(f".{fmt}." in label or label.endswith((f"-{fmt}.zip", f"{fmt}.conf"))
                   for label in labels), fmt
    assert {"source.qmp.jsonl", "destination.qmp.jsonl"} <= set(labels)
    at.button[0].click().run()
    assert not at.exception
    assert any("meets every constraint" in s for s in texts(at.success))
    assert any("Margins" in m for m in texts(at.markdown))
    rec = at.session_state["recommendation"]
    assert rec.target == "qemu"  # the default scenario has no platform policy
    labels = [b.proto.label for b in at.get("download_button")]
    assert "source.qmp.jsonl" in labels
    assert "HTML report" in labels
    assert any("`parameters.downtime-limit`" in m for m in texts(at.markdown))
    assert any(rec.export().text.strip() == c.value.strip() for c in at.code)


def test_recommend_for_a_platform_downloads_its_own_files() -> None:
    """A KubeVirt scenario is recommended for KubeVirt by default: the settings are
    KubeVirt fields, and the download holds the MigrationPolicy that was simulated."""
    sc = ui.default_scenario()
    sc["control"] = {"policy": {"kind": "kubevirt"}}
    at = open_page("recommend", sc)
    assert at.selectbox(key="c_target").value == "kubevirt"
    at.button[0].click().run()
    assert not at.exception
    rec = at.session_state["recommendation"]
    assert rec.target == "kubevirt"
    assert any("bandwidthPerMigration:" in c.value for c in at.code)
    downloads = {b.proto.label for b in at.get("download_button")}
    assert {"migration-policy.kubevirt.yaml", "kubevirt-cr.yaml"} <= downloads
    assert any(d.endswith("-kubevirt.zip") for d in downloads)
    assert not any(".qmp." in d for d in downloads)
    assert any("kind: MigrationPolicy" in c.value and c.value.strip() == rec.export().text.strip()
               for c in at.code)


def test_every_export_file_is_valid_for_its_own_format() -> None:
    """No headers glued in: JSON Lines parse line by line, JSON and YAML parse whole, and
    the zip holds exactly the single files."""
    import io
    import zipfile

    import yaml

    from sim.export import FORMATS, export
    from sim.scenario import load_scenario

    model = load_scenario(ui.default_scenario())
    for fmt in FORMATS:
        out = ui.export_downloads(fmt, export(model, fmt).files, "web")
        singles = [d for d in out if not d.file_name.endswith(".zip")]
        for d in singles:
            text = d.data.decode("utf-8")
            assert "==>" not in text, d.file_name
            if d.file_name.endswith(".jsonl"):
                assert all(isinstance(json.loads(line), dict)
                           for line in text.splitlines() if line.strip())
            elif d.file_name.endswith(".json"):
                json.loads(text)
            elif d.file_name.endswith(".yaml"):
                assert yaml.safe_load(text) is not None
        zips = [d for d in out if d.file_name.endswith(".zip")]
        if len(singles) > 1:
            with zipfile.ZipFile(io.BytesIO(zips[0].data)) as zf:
                assert sorted(zf.namelist()) == sorted(d.file_name for d in singles)


def test_recommend_refuses_unreadable_constraints() -> None:
    """A max downtime that is not a duration is reported and nothing is searched."""
    at = open_page("recommend")
    at.text_input(key="c_downtime").set_value("short")
    at.button[0].click().run()
    assert any("Cannot read the constraints" in e for e in texts(at.error))
    assert "recommendation" not in at.session_state


def test_lab_page_shows_error_table_and_overlay() -> None:
    """The Lab page shows the recorded runs' error table, its summary and an overlay plot."""
    from sim.scenario import data_path

    if not data_path("lab").exists():
        pytest.skip("no lab corpus recorded")
    at = open_page("lab")
    assert not at.exception
    assert at.metric[0].label == "runs"
    assert int(at.metric[0].value) > 0
    assert len(at.dataframe) == 1
    table = at.dataframe[0].value
    assert "total err" in table.columns
    assert all(str(c).endswith(" %") for c in table["total err"] if c)
    assert at.selectbox(key="lab_run").value.split(": ")[1] != "idle"
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.spec)
    assert [t["name"].split(" (")[0] for t in spec["data"]] == ["real QEMU",
                                                                 "miglab prediction"]

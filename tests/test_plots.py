"""The shared figures draw what the Result holds, with titles and units on the axes."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.plots import (
    axis_label,
    bandwidth_figure,
    comparison_figure,
    downtime_breakdown_figure,
    gantt_figure,
    heatmap_figure,
    pareto_figure,
    pareto_front,
    throttle_figure,
    timeline_figure,
)
from sim.result import Action, RamStats, Result
from sim.units import GiB, MiB


def _row(t: float, remaining: float, event: str = "", throttle: float = 0.0,
         sync: int = 1) -> dict[str, object]:
    return {"time_s": t, "phase": "precopy", "remaining_bytes": remaining,
            "transferred_bytes": 0.0, "bandwidth_Bps": 100 * MiB, "throttle_pct": throttle,
            "dirty_sync_count": sync, "dirty_rate_Bps": 50 * MiB, "expected_downtime_ms": 0.0,
            "event": event}


@pytest.fixture
def result() -> Result:
    """A hand-made run: two syncs, a throttle step, a policy action and a switchover."""
    timeline = [_row(0.0, 4 * GiB, "sync"), _row(10.0, 1 * GiB),
                _row(10.1, 2 * GiB, "sync", sync=2), _row(15.0, 0.5 * GiB, "throttle", 20.0, 2),
                _row(20.0, 0.01 * GiB, "switchover", 20.0, 2)]
    return Result(status="completed", converged=True, total_time_ms=20_050.0,
                  downtime_ms=42.0, setup_time_ms=10.0, expected_downtime_ms=40.0,
                  ram=RamStats(total=4 * GiB), timeline=timeline,
                  downtime_breakdown_ms={"stop": 5.0, "ram": 30.0, "device-state": 7.0},
                  actions=[Action(12.0, "nova", "set-downtime-limit", 150.0, "step 1")])


def test_timeline_plots_remaining_in_gib_with_syncs_events_and_actions(result: Result) -> None:
    """The line is remaining/GiB; each kind of event is its own legend entry with hovers in
    units; actions are vlines with a legend entry."""
    fig = timeline_figure(result)
    line, syncs, throttle, switchover, _ = fig.data
    assert list(line.y) == [4.0, 1.0, 2.0, 0.5, 0.01]
    assert [t.name for t in fig.data[1:]] == ["bitmap sync", "throttle step", "switchover",
                                              "policy action"]
    assert list(syncs.x) == [0.0, 10.1]
    assert list(throttle.x) == [15.0]
    assert list(switchover.x) == [20.0]
    assert "throttle 20 %" in throttle.customdata[0]
    assert syncs.customdata[1] == "bitmap sync at 10.1 s<br>2 GiB still to send<br>sync 2"
    assert line.customdata[0] == "0 ms: 4 GiB still to send"
    assert [s.x0 for s in fig.layout.shapes] == [12.0]
    assert "nova: set-downtime-limit 150" in fig.layout.annotations[0].text
    assert fig.layout.xaxis.title.text == "time since migrate (s)"
    assert fig.layout.yaxis.title.text == "remaining (GiB)"
    assert fig.layout.title.text


def test_bandwidth_and_throttle_figures(result: Result) -> None:
    """Rates are in MiB/s; the throttle is a percentage on a 0-100 axis."""
    bw = bandwidth_figure(result)
    assert list(bw.data[0].y) == [100.0] * 5
    assert list(bw.data[1].y) == [50.0] * 5
    assert bw.layout.yaxis.title.text == "rate (MiB/s)"
    th = throttle_figure(result)
    assert max(th.data[0].y) == 20.0
    assert tuple(th.layout.yaxis.range) == (0, 100)


def test_downtime_breakdown_stacks_the_parts(result: Result) -> None:
    """One bar per part, summing to the parts' total, titled with the downtime."""
    fig = downtime_breakdown_figure(result)
    assert {t.name: t.x[0] for t in fig.data} == {"stop": 5.0, "ram": 30.0, "device-state": 7.0}
    assert fig.layout.barmode == "stack"
    assert "42 ms" in fig.layout.title.text


def test_comparison_overlays_one_line_per_run(result: Result) -> None:
    """Each labelled run is one trace, its legend naming verdict and downtime."""
    fig = comparison_figure({"a": result, "b": result})
    assert [t.name for t in fig.data] == ["a (converged, downtime 42 ms)",
                                          "b (converged, downtime 42 ms)"]
    assert fig.data[0].line.dash != fig.data[1].line.dash  # overlapping lines stay apart


def test_heatmap_pivots_the_sweep() -> None:
    """z is laid out with y as rows and x as columns; axis titles carry the units."""
    df = pd.DataFrame({"downtime_limit_ms": [100, 300, 100, 300],
                       "link_gbps": [1, 1, 10, 10], "total_time_s": [9.0, 7.0, 2.0, 1.0]})
    fig = heatmap_figure(df, "downtime_limit_ms", "link_gbps", "total_time_s")
    assert fig.data[0].z.tolist() == [[9.0, 7.0], [2.0, 1.0]]
    assert fig.layout.xaxis.title.text == "downtime limit (ms)"
    assert fig.layout.yaxis.title.text == "link (Gbit/s)"


def test_pareto_front_keeps_only_undominated_points() -> None:
    """A point beaten on both costs by another is not on the front."""
    df = pd.DataFrame({"total_time_s": [1, 2, 3, 4], "downtime_ms": [500, 100, 200, 50],
                       "policy": ["a", "b", "c", "d"]})
    assert list(pareto_front(df, "total_time_s", "downtime_ms")["policy"]) == ["a", "b", "d"]
    fig = pareto_figure(df, "total_time_s", "downtime_ms", label="policy")
    assert list(fig.data[1].text) == ["a", "b", "d"]
    assert fig.layout.xaxis.title.text == "total time (s)"


def test_gantt_bars_start_and_last_as_the_drain_says() -> None:
    """Each VM is a bar from start_s lasting end_s - start_s, grouped by outcome."""
    df = pd.DataFrame({"vm": ["a", "b", "c"], "host": ["h1", "h1", "h2"],
                       "start_s": [0.0, 10.0, 0.0], "end_s": [10.0, 25.0, 5.0],
                       "outcome": ["completed", "completed", "failed"]})
    fig = gantt_figure(df)
    bars = {t.name: t for t in fig.data}
    assert list(bars["completed"].base) == [0.0, 10.0]
    assert list(bars["completed"].x) == [10.0, 15.0]
    assert list(bars["failed"].y) == ["h2 / c"]


def test_axis_labels_from_unit_suffixes() -> None:
    """Column names with unit suffixes become "name (unit)" axis titles."""
    assert axis_label("downtime_ms") == "downtime (ms)"
    assert axis_label("link_Bps") == "link (bytes/s)"
    assert axis_label("policy") == "policy"


def test_figures_of_a_real_simulation() -> None:
    """A simulated run's timeline figure has as many points as its timeline rows."""
    engine = pytest.importorskip("sim.engine")
    from sim.scenario import DATA_DIR, load_scenario

    res = engine.simulate(load_scenario(DATA_DIR / "examples" / "web-8g.yaml"))
    fig = timeline_figure(res)
    assert len(fig.data[0].x) == len(res.timeline)
    assert fig.data[0].y[0] == pytest.approx(res.timeline[0]["remaining_bytes"] / GiB)


def test_gantt_by_downtime_colours_completed_vms_on_a_scale_and_keeps_the_others() -> None:
    df = pd.DataFrame({"vm": ["a", "b", "c"], "host": ["h1", "h1", "h2"],
                       "start_s": [0.0, 5.0, 0.0], "end_s": [5.0, 9.0, 60.0],
                       "outcome": ["completed", "completed", "cancelled"],
                       "downtime_ms": [20.0, 900.0, float("nan")]})
    fig = gantt_figure(df, colour="downtime")
    done, stopped = fig.data
    assert list(done.marker.color) == [20.0, 900.0]
    assert done.marker.colorbar.title.text == "downtime (ms)"
    assert stopped.name == "cancelled"
    assert "downtime 900 ms" in done.customdata[1]
    assert "takes 1 min 0 s" in stopped.customdata[0]


def test_pareto_hover_names_axes_with_units_and_rounds() -> None:
    df = pd.DataFrame({"total_time_s": [69.22387, 80.0], "downtime_ms": [220.7909, 100.0],
                       "point": [7, 8], "hover": ["max-bandwidth: unlimited", "b"]})
    plain = pareto_figure(df, "total_time_s", "downtime_ms", label="point")
    assert plain.data[0].hovertemplate.startswith("point %{text}<br>total time (s): %{x:.3g}")
    given = pareto_figure(df, "total_time_s", "downtime_ms", label="point", hover="hover")
    assert list(given.data[0].customdata) == ["max-bandwidth: unlimited", "b"]


def test_timeline_svg_is_a_static_picture_with_human_units(result: Result) -> None:
    import xml.etree.ElementTree as ET

    from sim.plots import timeline_svg

    svg = timeline_svg(result)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    points = root.find(f"{ns}polyline").get("points").split()  # type: ignore[union-attr]
    assert len(points) == len(result.timeline)
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert "4 GiB" in texts
    assert "20 s (switchover)" in texts
    assert "<script" not in svg
    assert timeline_svg(Result(status="cancelled", converged=False, total_time_ms=0.0,
                               downtime_ms=0.0, setup_time_ms=0.0, expected_downtime_ms=0.0,
                               ram=RamStats())) == ""

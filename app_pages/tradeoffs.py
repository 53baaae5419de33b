"""Trade-offs: sweep two axes into heatmaps and a Pareto front; click a point to load it.

The axes and their values are kept across pages; the sweep's results are shown only while
the axes, their values and the scenario are those that produced them, and a value that
cannot be read stops the sweep before anything runs.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app_pages._common import (
    kept,
    plot,
    require_valid,
    scenario,
    set_scenario,
)
from sim import ScenarioError, plots, sweep, ui

st.title("Trade-offs")
st.caption("Sweep two settings of the current scenario and see where it converges, how long "
           "it takes and how long the guest pauses.")
sc = scenario()
if require_valid(sc) is not None:
    labels = list(ui.SWEEP_AXES)
    c1, c2 = st.columns(2)
    axes: list[tuple[str, str]] = []
    read: list[tuple[str, list[object]]] = []
    problems: list[str] = []
    for col, name, default in ((c1, "x", 0), (c2, "y", 1)):
        with col:
            label = st.selectbox(f"{name} axis", labels,
                                 **kept(f"axis_{name}", labels[default]))
            path, values = ui.SWEEP_AXES[label]
            text = st.text_input(f"{label} values", help="comma-separated, human units",
                                 **kept(f"values_{name}_{label}", values))
            axes.append((path, text))
            try:
                read.append((path, ui.axis_values(path, text)))
            except ScenarioError as err:
                st.error(str(err))
                problems.append(str(err))
    if axes[0][0] == axes[1][0]:
        problems.append("pick two different axes")
        st.error("Pick two different axes.")
    inputs = (ui.scenario_json(sc), tuple(axes))
    run: dict[str, Any] | None = st.session_state.get("sweep")
    if run is not None and run["inputs"] != inputs:
        st.session_state.pop("sweep")  # its inputs changed: its charts would mislead
        run = None
    if st.button("Run the sweep", type="primary", key="run_sweep", disabled=bool(problems)) \
            and not problems:
        try:
            points = ui.sweep_points(read)
        except ScenarioError as err:
            st.error(str(err))
        else:
            bar = st.progress(0.0, text=f"0 of {len(points)} runs")

            def progress(done: int, total: int) -> None:
                bar.progress(done / total, text=f"{done} of {total} runs")

            table = sweep.run_points(sc, points, workers=1, progress=progress)
            bar.empty()
            run = {"table": table, "x": read[0][0], "y": read[1][0], "points": points,
                   "inputs": inputs}
            st.session_state["sweep"] = run
    if run is not None:
        view = ui.sweep_view(run["table"], run["x"], run["y"])
        x_name, y_name = ui.setting_name(run["x"]), ui.setting_name(run["y"])
        bad = view[view["outcome"] == ui.REFUSED]
        if len(bad):
            st.warning(f"{len(bad)} point(s) QEMU or miglab would refuse, e.g. "
                       f"{run['table']['error'][~run['table']['valid']].iloc[0]}")
        stopped = int((view["outcome"] == ui.NOT_CONVERGED).sum())
        if stopped:
            st.caption(f"{stopped} of {len(view)} runs did not converge: their cells are grey "
                       "and have no time or downtime.")
        tabs = st.tabs(["total time", "downtime", "converged"])
        for tab, z in zip(tabs, ("total_time_s", "downtime_ms", "converged"), strict=True):
            with tab:
                plot(plots.outcome_heatmap_figure(view, z, x_name, y_name), key=f"heat_{z}")
        done = view[view["converged"]]
        if len(done):
            st.subheader("Pareto front: total time vs downtime")
            st.caption("Click a point, then load it into the scenario.")
            event = plot(plots.pareto_figure(done, "total_time_s", "downtime_ms",
                                             label="point", hover="hover"),
                         key="pareto", on_select="rerun", selection_mode="points")
            picked = [p for p in (event.selection.points if event else [])
                      if p.get("text") is not None]
            if picked:
                point = int(picked[0]["text"])
                changes = run["points"][point]
                st.write(f"Point {point}: {ui.describe_changes(changes)}")
                if st.button("Load this setting", key="load_point"):
                    set_scenario(ui.apply_changes(sc, changes))
                    st.switch_page("app_pages/simulate.py")
        else:
            st.info("No point converged; widen the axes.")
        every = st.expander("All runs", **kept("tradeoffs_all_runs", False))
        if every.open:
            with every:
                st.dataframe(ui.readable_frame(run["table"]), hide_index=True)

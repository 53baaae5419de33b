"""Trade-offs: sweep two axes into heatmaps and a Pareto front; click a point to load it."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app_pages._common import module, not_available, plot, require_valid, scenario, set_scenario
from sim import ScenarioError, ui_model

st.title("Trade-offs")
st.caption("Sweep two settings of the current scenario and see where it converges, how long "
           "it takes and how long the guest pauses.")
sc = scenario()
if require_valid(sc) is not None and not not_available("sim.sweep", "Sweeps"):
    labels = list(ui_model.SWEEP_AXES)
    c1, c2 = st.columns(2)
    axes: list[tuple[str, str]] = []
    for col, name, default in ((c1, "x", 0), (c2, "y", 1)):
        with col:
            label = st.selectbox(f"{name} axis", labels, index=default, key=f"axis_{name}")
            path, values = ui_model.SWEEP_AXES[label]
            text = st.text_input(f"{label} values", values, key=f"values_{name}_{label}",
                                 help="comma-separated, human units")
            axes.append((path, text))
    if st.button("Run the sweep", type="primary", key="run_sweep"):
        try:
            if axes[0][0] == axes[1][0]:
                raise ScenarioError("pick two different axes")
            read = [(path, ui_model.axis_values(path, text)) for path, text in axes]
            points = ui_model.sweep_points(read)
        except ScenarioError as err:
            st.error(str(err))
        else:
            bar = st.progress(0.0, text=f"0 of {len(points)} runs")

            def progress(done: int, total: int) -> None:
                bar.progress(done / total, text=f"{done} of {total} runs")

            table = module("sim.sweep").run_points(sc, points, workers=1, progress=progress)
            bar.empty()
            st.session_state["sweep"] = {"table": table, "x": read[0][0], "y": read[1][0],
                                         "points": points}
    run: dict[str, Any] | None = st.session_state.get("sweep")
    if run is not None and not not_available("sim.plots", "Plotting"):
        plots = module("sim.plots")
        table, x = ui_model.axis_column(run["table"], run["x"])
        table, y = ui_model.axis_column(table, run["y"])
        bad = table[~table["valid"]]
        if len(bad):
            st.warning(f"{len(bad)} point(s) QEMU or miglab would refuse, e.g. "
                       f"{bad['error'].iloc[0]}")
        tabs = st.tabs(["total time", "downtime", "converged"])
        for tab, z in zip(tabs, ("total_time_s", "downtime_ms", "converged"), strict=True):
            with tab:
                frame = table.assign(converged=table["converged"].astype(float))
                plot(plots.heatmap_figure(frame, x, y, z), key=f"heat_{z}")
        done = table[table["valid"] & table["converged"]]
        if len(done):
            st.subheader("Pareto front: total time vs downtime")
            st.caption("Click a point, then load it into the scenario.")
            event = plot(plots.pareto_figure(done, "total_time_s", "downtime_ms",
                                             label="point"),
                         key="pareto", on_select="rerun", selection_mode="points")
            picked = [p for p in (event.selection.points if event else [])
                      if p.get("text") is not None]
            if picked:
                point = int(picked[0]["text"])
                changes = run["points"][point]
                st.write(f"Point {point}: " + ", ".join(f"`{k}` = {v}"
                                                         for k, v in changes.items()))
                if st.button("Load this setting", key="load_point"):
                    set_scenario(ui_model.apply_changes(sc, changes))
                    st.switch_page("app_pages/simulate.py")
        else:
            st.info("No point converged; widen the axes.")
        with st.expander("All runs"):
            st.dataframe(table, hide_index=True)

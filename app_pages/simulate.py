"""Simulate: the verdict at a glance and the migration's timeline, bandwidth, throttle, downtime."""

from __future__ import annotations

import streamlit as st

from app_pages._common import module, not_available, plot, require_valid, scenario, simulate_json
from sim import ui_model
from sim.summary import describe, verdict

st.title("Simulate")
sc = scenario()
report = require_valid(sc)
if report is not None and report.scenario is not None \
        and not not_available("sim.engine", "The simulation engine"):
    result = simulate_json(ui_model.scenario_json(sc))
    model = report.scenario
    good = result.converged
    (st.success if good else st.error)(
        f"**{model.name}** on QEMU {model.qemu.name}: {verdict(result)}",
        icon=":material/check_circle:" if good else ":material/block:")
    metrics = ui_model.result_metrics(result, model.vm.vcpus)
    for row in (metrics[:3], metrics[3:]):
        for col, m in zip(st.columns(3), row, strict=True):
            col.metric(m.label, m.value, help=m.help, border=True)

    if not not_available("sim.plots", "Plotting"):
        plots = module("sim.plots")
        plot(plots.timeline_figure(result), key="timeline")
        left, right = st.columns(2)
        with left:
            plot(plots.bandwidth_figure(result), key="bandwidth")
        with right:
            plot(plots.throttle_figure(result), key="throttle")
        plot(plots.downtime_breakdown_figure(result), key="downtime")

    if result.actions:
        st.subheader("Policy actions")
        st.dataframe([{"time (s)": round(a.time_s, 2), "actor": a.actor, "action": a.action,
                       "value": a.value, "reason": a.reason} for a in result.actions],
                     hide_index=True)
    with st.expander("Summary, timeline and query-migrate JSON"):
        st.code(describe(model, result), language=None)
        st.dataframe(result.timeline_frame(), hide_index=True)
        st.json(result.to_dict(timeline=False), expanded=False)

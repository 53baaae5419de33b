"""Simulate: the verdict at a glance and the migration's timeline, bandwidth, throttle, downtime.

The verdict and the headline figures come first, then the charts; the summary, timeline table
and JSON are built only when their expander is opened (their widgets' browser code is large
and would compete with the charts for the page's first seconds). A run that does not converge
gets, under its verdict, the text of :func:`sim.diagnosis.diagnose`: the mechanism with its
numbers and the smallest change of each lever that converges, as ``miglab simulate`` prints it.
"""

from __future__ import annotations

import json

import streamlit as st

from app_pages._common import (
    kept,
    plot,
    require_valid,
    scenario,
    simulate_json,
    simulation_figures,
)
from sim import ui
from sim.diagnosis import Diagnosis, diagnose
from sim.scenario import load_scenario
from sim.summary import describe, verdict


@st.cache_data(max_entries=64, show_spinner="Finding why, and the fix…")
def diagnosis_json(text: str) -> Diagnosis:
    """:func:`sim.diagnosis.diagnose` for a scenario's canonical JSON (cached per scenario)."""
    return diagnose(load_scenario(json.loads(text)), simulate_json(text))


@st.cache_data(max_entries=64, show_spinner=False)
def timeline_glance(text: str) -> str:
    """:func:`sim.plots.timeline_svg` for a scenario's canonical JSON (cached per scenario)."""
    from sim.plots import timeline_svg

    return timeline_svg(simulate_json(text), height=120)


st.title("Simulate")
sc = scenario()
report = require_valid(sc)
if report is not None and report.scenario is not None:
    text = ui.scenario_json(sc)
    result = simulate_json(text)
    model = report.scenario
    good = result.converged
    (st.success if good else st.error)(
        f"**{model.name}** on QEMU {model.qemu.name}: {verdict(result)}",
        icon=":material/check_circle:" if good else ":material/block:")
    notes = ui.policy_setup_notes(model)
    postcopy = ui.postcopy_note(model, result)
    if postcopy:
        notes.append(postcopy)
    if notes:
        st.info("\n".join(f"- {n}" for n in notes), icon=":material/info:")
    diagnosis = None if good else diagnosis_json(text)
    if diagnosis is not None:
        st.code(diagnosis.text(), language=None, wrap_lines=True)
    glance = timeline_glance(text)
    if glance:  # drawn by the server, inline: shows before any chart's or metric's code loads
        st.markdown(f'<div style="max-width:100%;overflow:hidden">{glance}</div>',
                    unsafe_allow_html=True)
    metrics = ui.result_metrics(result, model.vm.vcpus)
    for row in (metrics[:3], metrics[3:]):
        for col, m in zip(st.columns(3), row, strict=True):
            col.metric(m.label, m.value, help=m.help, border=True)

    figures = simulation_figures(text)
    plot(figures["timeline"], key="timeline")
    left, right = st.columns(2)
    with left:
        plot(figures["bandwidth"], key="bandwidth")
    with right:
        plot(figures["throttle"], key="throttle")
    if result.downtime_ms > 0:  # no pause, no chart of where it went
        plot(figures["downtime"], key="downtime")

    if result.actions:
        st.subheader("Policy actions")
        st.dataframe(ui.actions_frame(result), hide_index=True)
    details = st.expander("Summary, timeline and query-migrate JSON",
                          **kept("simulate_details", False))
    if details.open:
        with details:
            st.code(describe(model, result), language=None)
            st.dataframe(ui.readable_frame(result.timeline_frame()), hide_index=True)
            st.json(result.to_dict(timeline=False), expanded=False)

"""Drain planner: an inventory, limits and a policy in; a Gantt chart and the drain time out."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._common import module, not_available, plot
from sim import MiglabError, ScenarioError, ui_model
from sim.scenario import data_path
from sim.units import format_duration

st.title("Drain planner")
st.caption("Every VM leaves its source host; migrations on one host share its link.")
if not not_available("sim.fleet", "The drain planner"):
    fleet = module("sim.fleet")
    if "inventory" not in st.session_state:
        sample = data_path("fleets", "two-racks.csv")
        rows, defaults = ui_model.parse_inventory_upload(sample.read_bytes(), sample.name) \
            if sample.exists() else ([{"name": "vm-1", "host": "h1", "memory": "8GiB",
                                       "dirty-rate": "100MiB/s"}], {})
        st.session_state["inventory"] = (rows, defaults, 0)
    up = st.file_uploader("Upload an inventory (CSV or YAML, ≤ 1 MiB)",
                          type=["csv", "yaml", "yml"], key="upload_inventory",
                          max_upload_size=1)
    if up is not None and st.session_state.get("inventory_file") != up.file_id:
        st.session_state["inventory_file"] = up.file_id
        try:
            rows, defaults = ui_model.parse_inventory_upload(up.getvalue(), up.name)
        except ScenarioError as err:
            st.error(f"Not loaded; the inventory is unchanged. {err}")
        else:
            st.session_state["inventory"] = (rows, defaults,
                                             st.session_state["inventory"][2] + 1)
    rows, defaults, version = st.session_state["inventory"]
    edited = st.data_editor(pd.DataFrame(rows).fillna(""), num_rows="dynamic",
                            hide_index=True, key=f"inventory_editor_{version}",
                            width="stretch")
    c1, c2, c3, c4 = st.columns(4)
    policy = c1.selectbox("policy", ["none", *fleet.PLATFORM_LIMITS, "proxmox",
                                     "downtime-ramp"], key="drain_policy")
    order = c2.selectbox("order", fleet.ORDERS, key="drain_order")
    per_node = c3.number_input("per host at once (0 = platform default)", 0, 64, 0,
                               key="drain_per_node")
    per_cluster = c4.number_input("in total at once (0 = platform default)", 0, 1000, 0,
                                  key="drain_per_cluster")
    mapping = ui_model.inventory_mapping(edited.to_dict("records"), defaults)
    try:
        plan = fleet.plan_drain(mapping, policy=policy, order=order,
                                per_node=per_node or None, per_cluster=per_cluster or None)
    except MiglabError as err:
        st.error(f"Cannot plan this drain: {err}")
    else:
        s = plan.summary()
        m = st.columns(4)
        m[0].metric("drain time", format_duration(plan.drain_time_s))
        m[1].metric("completed", f"{s['completed']} of {s['vms']}")
        m[2].metric("worst downtime", f"{s['max_downtime_ms']:.0f} ms")
        m[3].metric("peak at once", str(s["peak_active"]))
        if not not_available("sim.plots", "Plotting"):
            gantt = plan.vms.rename(columns={"name": "vm"})
            plot(module("sim.plots").gantt_figure(gantt), key="gantt")
        bad = plan.vms[plan.vms["error"] != ""]
        for _, row in bad.iterrows():
            st.warning(f"{row['name']} is not moved: {row['error']}")
        with st.expander("Per-VM plan"):
            st.dataframe(plan.vms, hide_index=True)

"""Drain planner: an inventory, the hosts to empty, limits and a policy in; a Gantt chart, the
drain time and the worst VMs out. Every choice is kept when another page is visited."""

from __future__ import annotations

from typing import Any, cast

import pandas as pd
import streamlit as st

from app_pages._common import kept, plot
from sim import MiglabError, ScenarioError, fleet, plots, ui
from sim.scenario import PRESET_POLICY_KINDS, data_path
from sim.units import format_duration

st.title("Drain planner")
st.caption("The chosen hosts are emptied; migrations on one host share its link.")
if "inventory" not in st.session_state:
    sample = data_path("fleets", "two-racks.csv")
    rows, defaults = ui.parse_inventory_upload(sample.read_bytes(), sample.name) \
        if sample.exists() else ([{"name": "vm-1", "host": "h1", "memory": "8GiB",
                                   "dirty-rate": "100MiB/s"}], {})
    st.session_state["inventory"] = (rows, defaults, 0)
up = st.file_uploader("Upload an inventory (CSV or YAML, ≤ 1 MiB)",
                      type=["csv", "yaml", "yml"], key="upload_inventory",
                      max_upload_size=1)
if up is not None and st.session_state.get("inventory_file") != up.file_id:
    st.session_state["inventory_file"] = up.file_id
    try:
        rows, defaults = ui.parse_inventory_upload(up.getvalue(), up.name)
    except ScenarioError as err:
        st.error(f"Not loaded; the inventory is unchanged. {err}")
    else:
        st.session_state["inventory"] = (rows, defaults,
                                         st.session_state["inventory"][2] + 1)
rows, defaults, version = st.session_state["inventory"]
with st.expander(f"Inventory ({len(rows)} VMs)", **kept("drain_inventory_open", False)):
    edited = st.data_editor(pd.DataFrame(rows).fillna(""), num_rows="dynamic",
                            hide_index=True, key=f"inventory_editor_{version}",
                            width="stretch")
records = cast(list[dict[str, Any]], edited.to_dict("records"))
all_hosts = list(dict.fromkeys(str(r.get("host", "")) for r in records if r.get("host")))

h1, h2 = st.columns([3, 1])
hosts_key = f"drain_hosts_{version}"
if f"keep.{hosts_key}" in st.session_state:  # a host edited out of the inventory
    st.session_state[f"keep.{hosts_key}"] = [
        h for h in st.session_state[f"keep.{hosts_key}"] if h in all_hosts]
chosen = h1.multiselect("hosts to empty", all_hosts,
                        help="the hosts going into maintenance; none chosen = every host",
                        **kept(hosts_key, []))
prefix = h2.text_input("or a name prefix", placeholder="e.g. r1-",
                       help="every host whose name starts with this",
                       **kept("drain_prefix", ""))
c1, c2, c3, c4, c5 = st.columns(5)
# custom policies need rules per VM (the inventory's own policy column)
policy_choices = ["none", *PRESET_POLICY_KINDS]
policy = c1.selectbox("policy", policy_choices, **kept("drain_policy", "none"))
order = c2.selectbox("order", fleet.ORDERS, **kept("drain_order", fleet.ORDERS[0]))
per_node = c3.number_input("per host at once (0 = platform default)", 0, 64,
                           **kept("drain_per_node", 0))
per_cluster = c4.number_input("in total at once (0 = platform default)", 0, 1000,
                              **kept("drain_per_cluster", 0))
colour = c5.radio("colour by", ["outcome", "downtime"], horizontal=True,
                  **kept("drain_colour", "outcome"))
wanted = [*chosen, *([f"{prefix.strip()}*"] if prefix.strip() else [])] or None
mapping = ui.inventory_mapping(records, defaults)
try:
    plan = fleet.plan_drain(mapping, policy=policy, order=order,
                            per_node=per_node or None, per_cluster=per_cluster or None,
                            hosts=wanted)
except MiglabError as err:
    st.error(f"Cannot plan this drain: {err}")
else:
    s = plan.summary()
    hosts = list(dict.fromkeys(plan.vms["host"]))
    m = st.columns(4)
    m[0].metric("drain time", format_duration(plan.drain_time_s),
                help=f"emptying {len(hosts)} of {len(all_hosts)} hosts: "
                     + ", ".join(hosts))
    m[1].metric("completed", f"{s['completed']} of {s['vms']}")
    m[2].metric("worst downtime", "—" if s["max_downtime_ms"] != s["max_downtime_ms"]
                else format_duration(s["max_downtime_ms"] / 1000))
    m[3].metric("peak at once", str(s["peak_active"]))
    worst = fleet.worst_vms(plan)
    if worst:
        st.markdown("**Worst:** " + ", ".join(worst))
    gantt = plan.vms.rename(columns={"name": "vm"})
    plot(plots.gantt_figure(gantt, colour=colour), key="gantt")
    bad = plan.vms[plan.vms["error"] != ""]
    for _, row in bad.iterrows():
        st.warning(f"{row['name']} is not moved: {row['error']}")
    per_vm = st.expander("Per-VM plan", **kept("drain_per_vm_open", False))
    if per_vm.open:
        with per_vm:
            st.dataframe(ui.readable_frame(plan.vms), hide_index=True)

"""Compare: two to four policies or parameter sets on the same guest, side by side, overlaid."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._common import (
    module,
    not_available,
    plot,
    require_valid,
    scenario,
    show_reply,
    simulate_json,
    validate_json,
)
from sim import ui_model
from sim.scenario import POLICY_KINDS

st.title("Compare")
st.caption("Each row changes the current scenario's settings; the guest, workload and link "
           "stay the same. Empty cells keep the scenario's value.")
sc = scenario()
if require_valid(sc) is not None and not not_available("sim.engine", "The simulation engine"):
    default = pd.DataFrame([
        {"label": "as set", "downtime-limit": "", "max-bandwidth": "", "auto-converge": None,
         "multifd-channels": "", "postcopy-after-passes": "", "policy": ""},
        {"label": "1 s downtime, unlimited", "downtime-limit": "1s", "max-bandwidth": "0",
         "auto-converge": None, "multifd-channels": "", "postcopy-after-passes": "",
         "policy": ""},
        {"label": "multifd 8, auto-converge", "downtime-limit": "", "max-bandwidth": "0",
         "auto-converge": True, "multifd-channels": "8", "postcopy-after-passes": "",
         "policy": ""},
    ])
    table = st.data_editor(
        default, key="compare_rows", num_rows="dynamic", hide_index=True, width="stretch",
        column_config={
            "label": st.column_config.TextColumn("label", required=True),
            "downtime-limit": st.column_config.TextColumn("downtime-limit",
                                                          help="e.g. 300ms, 1s"),
            "max-bandwidth": st.column_config.TextColumn("max-bandwidth",
                                                         help="e.g. 128MiB/s; 0 = unlimited"),
            "auto-converge": st.column_config.CheckboxColumn("auto-converge"),
            "multifd-channels": st.column_config.TextColumn("multifd-channels",
                                                            help="0 = multifd off"),
            "postcopy-after-passes": st.column_config.TextColumn(
                "postcopy after N syncs", help="empty = no postcopy"),
            "policy": st.column_config.SelectboxColumn(
                "policy", options=["", "none", *POLICY_KINDS[:-1]]),
        })
    rows = [r for r in table.to_dict("records")
            if isinstance(r.get("label"), str) and r["label"].strip()]
    if not 2 <= len(rows) <= 4:
        st.warning(f"Compare two to four rows; there are {len(rows)}.")
    else:
        results = {}
        summary = []
        for i, row in enumerate(rows):
            label = f"{i + 1}. {row['label']}"
            changes, problems = ui_model.variant_changes(row)
            variant = ui_model.apply_changes(sc, changes)
            report = validate_json(ui_model.scenario_json(variant))
            if problems or report.scenario is None:
                st.markdown(f"**{label}** cannot run:")
                show_reply(report, problems)
                continue
            result = simulate_json(ui_model.scenario_json(variant))
            results[label] = result
            metrics = ui_model.result_metrics(result, report.scenario.vm.vcpus)
            summary.append({"setting": label, **{m.label: m.value for m in metrics}})
        if summary:
            cols = st.columns(len(summary))
            for col, row in zip(cols, summary, strict=True):
                with col:
                    st.markdown(f"**{row['setting']}**")
                    for key, value in list(row.items())[1:]:
                        st.metric(key, value)
            if not not_available("sim.plots", "Plotting"):
                plot(module("sim.plots").comparison_figure(results), key="compare_fig")

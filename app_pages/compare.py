"""Compare: two to four policies or parameter sets on the same guest, side by side, overlaid."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._common import (
    kept_editor,
    plot,
    require_valid,
    scenario,
    show_reply,
    simulate_json,
    validate_json,
)
from sim import plots, ui
from sim.scenario import PRESET_POLICY_KINDS

KEEP = "as set"  # the policy cell that keeps the scenario's own policy

st.title("Compare")
st.caption("Each row changes the current scenario's settings; the guest, workload and link "
           "stay the same. Empty cells keep the scenario's value.")
sc = scenario()
if require_valid(sc) is not None:
    default = pd.DataFrame([
        {"label": "as set", "downtime-limit": "", "max-bandwidth": "", "auto-converge": None,
         "multifd-channels": "", "postcopy-after-passes": "", "policy": KEEP},
        {"label": "1 s downtime, unlimited", "downtime-limit": "1s", "max-bandwidth": "0",
         "auto-converge": None, "multifd-channels": "", "postcopy-after-passes": "",
         "policy": KEEP},
        {"label": "multifd 8, auto-converge", "downtime-limit": "", "max-bandwidth": "0",
         "auto-converge": True, "multifd-channels": "8", "postcopy-after-passes": "",
         "policy": KEEP},
    ])
    table = kept_editor(
        "compare_rows", default, num_rows="dynamic", hide_index=True, width="stretch",
        text_columns=("label", "downtime-limit", "max-bandwidth", "multifd-channels",
                      "postcopy-after-passes"),
        column_config={
            "label": st.column_config.TextColumn("label", required=True, width=140),
            "downtime-limit": st.column_config.TextColumn("downtime-limit", width=135,
                                                          help="e.g. 300ms, 1s"),
            "max-bandwidth": st.column_config.TextColumn("max-bandwidth", width=135,
                                                         help="e.g. 128MiB/s; 0 = unlimited"),
            "auto-converge": st.column_config.CheckboxColumn("auto-converge", width=125),
            "multifd-channels": st.column_config.TextColumn("multifd", width=80,
                                                            help="channels; 0 = multifd off"),
            "postcopy-after-passes": st.column_config.TextColumn(
                "postcopy", width=95,
                help="after N dirty-bitmap syncs; empty = no postcopy"),
            "policy": st.column_config.SelectboxColumn(
                "policy", width=75, options=[KEEP, "none", *PRESET_POLICY_KINDS],
                help=f"{KEEP} = the scenario's"),
        })
    rows = [r for r in table.to_dict("records")
            if isinstance(r.get("label"), str) and r["label"].strip()]
    if not 2 <= len(rows) <= 4:
        st.warning(f"Compare two to four rows; there are {len(rows)}.")
    else:
        results = {}
        for i, row in enumerate(rows):
            label = f"{i + 1}. {row['label']}"
            changes, problems = ui.variant_changes(
                {**row, "policy": "" if row.get("policy") in (KEEP, None) else row["policy"]})
            variant = ui.apply_changes(sc, changes)
            report = validate_json(ui.scenario_json(variant))
            if problems or report.scenario is None:
                st.markdown(f"**{label}** cannot run:")
                show_reply(report, problems)
                continue
            results[label] = simulate_json(ui.scenario_json(variant))
        if results:
            st.dataframe(ui.compare_table(results), width="stretch", key="compare_table")
            st.caption(f"{ui.BEST.strip()} the best of the settings that converged, "
                       "where they differ; times and costs of runs that did not converge do "
                       "not compete.")
            plot(plots.comparison_figure(results), key="compare_fig")

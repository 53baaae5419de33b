"""Lab: recorded real QEMU migrations next to the engine's predictions, with the error table."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pandas as pd
import streamlit as st

from app_pages._common import kept, plot
from sim import plots, ui
from sim.engine import simulate
from sim.lab import compare as lab
from sim.lab.corpus import load_corpus
from sim.report import result_from_dict
from sim.scenario import data_path

HOST = {"profile": "lab-tcg"}

st.title("Lab")
st.caption("Real QEMU migrations recorded on this kind of machine (`miglab lab run`), each "
           "laid beside what the engine predicts for the same guest, with the host "
           "calibrated as `data/hosts/lab-tcg.yaml`.")


@st.cache_data(show_spinner="Simulating every recorded run…")
def corpus() -> tuple[list[dict[str, Any]], pd.DataFrame, dict[str, Any]]:
    """The recorded runs, the per-run error table and its summary."""
    records = load_corpus(data_path("lab"))
    rows = lab.compare_corpus(records, host=HOST)
    return records, pd.DataFrame([asdict(r) for r in rows]), lab.summarize(rows)


if not data_path("lab").exists():
    st.info("No recorded runs yet: record some with `miglab lab run`.")
else:
    records, table, summary = corpus()
    met = summary["met"]
    m = st.columns(5)
    m[0].metric("runs", summary["runs"])
    m[1].metric("verdict right", f"{summary['verdict_pct']:.0f} %",
                help=f"target met: {met['verdict_pct']}")
    m[2].metric("total time, median error", f"{summary['total_time_median_pct']:.1f} %",
                help=f"p90 {summary['total_time_p90_pct']:.1f} %; target met: "
                     f"{met['total_time_median_pct']}")
    m[3].metric("downtime within tolerance", f"{summary['downtime_ok_pct']:.0f} %",
                help=f"target met: {met['downtime_ok_pct']}")
    m[4].metric("bytes within 10 %", f"{summary['bytes_ok_pct']:.0f} %",
                help=f"median error {summary['bytes_median_pct']:.1f} %; target met: "
                     f"{met['bytes_ok_pct']}")
    st.subheader("Error table")
    st.dataframe(ui.readable_frame(table), hide_index=True, height=280)
    names = [f"{i}: {r['scenario'].get('name', i)}" for i, r in enumerate(records)]
    # open on a run that moves: an idle guest's flat line looks like a broken chart
    busy = [n for n in names if "idle" not in n] or names
    pick = st.selectbox("Run to overlay", names, **kept("lab_run", busy[0]))
    record = records[int(pick.split(":")[0])]
    measured = result_from_dict(lab.lab_result(record))
    measured.timeline = list(record.get("timeline") or [])
    predicted = simulate(lab.prediction_scenario(record, HOST))
    plot(plots.comparison_figure(
        {"real QEMU": measured, "miglab prediction": predicted},
        title="Remaining dirty memory: recorded vs predicted"), key="lab_overlay")

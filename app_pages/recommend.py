"""Recommend & export: constraints and a target platform in; that platform's settings, the
outcome predicted for exactly them, the reasons and their export out."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from app_pages._common import (
    kept,
    plot,
    require_valid,
    scenario,
    set_scenario,
    simulate_json,
)
from sim import MiglabError, UnitError, plots, targets, ui
from sim import export as exp
from sim import recommend as rec_mod
from sim import report as rep
from sim.scenario import Scenario, load_scenario
from sim.units import parse_duration


def downloads(fmt: str, files: dict[str, str], gaps: Any, name: str) -> None:
    """One format's files as download buttons (and a zip when several); notes folded below."""
    st.markdown(f"**{fmt}**")
    for d in ui.export_downloads(fmt, files, name):
        st.download_button(d.file_name, d.data, file_name=d.file_name, mime=d.mime,
                           key=f"dl_{fmt}_{d.file_name}", icon=":material/download:",
                           on_click="ignore", width="stretch")
    if gaps:
        with st.expander(f"{len(gaps)} note{'s' if len(gaps) > 1 else ''}"):
            st.markdown("\n".join(f"- {g}" for g in gaps))


st.title("Recommend & export")
sc = scenario()
report = require_valid(sc)
if report is not None:
    names = list(targets.TARGETS)
    implied = targets.default_target(sc.get("control", {}).get("policy")
                                     if isinstance(sc.get("control"), dict) else None)
    with st.form("constraints_form"):
        target = st.selectbox(
            "recommend for", names, index=names.index(implied), key="c_target",
            format_func=lambda n: f"{targets.TARGETS[n].title} ({n})",
            help="the platform whose own knobs are searched; every candidate is simulated "
                 "through its policy. Default: the scenario's policy. Knobs: " + "; ".join(
                     f"{t.title}: {', '.join(k.name for k in t.knobs)}"
                     for t in targets.TARGETS.values()))
        st.markdown("**Constraints** (empty = no limit)")
        c1, c2, c3 = st.columns(3)
        downtime = c1.text_input("max downtime", "500ms", key="c_downtime")
        total = c2.text_input("max total time", "2min", key="c_total")
        throttle = c3.text_input("max throttle (%)", "", key="c_throttle")
        d1, d2, d3 = st.columns(3)
        share = d1.slider("max share of the link", 0.05, 1.0, 1.0, 0.05, key="c_share")
        postcopy = d2.checkbox("allow postcopy", key="c_postcopy")
        objective = d3.selectbox("minimise", list(rec_mod.OBJECTIVES), key="c_objective")
        submitted = st.form_submit_button("Recommend", type="primary")
    if submitted:
        try:
            constraints = rec_mod.Constraints(
                max_downtime_ms=parse_duration(downtime, field="max downtime") * 1000
                if downtime.strip() else None,
                max_total_s=parse_duration(total, field="max total time")
                if total.strip() else None,
                max_throttle_pct=float(throttle) if throttle.strip() else None,
                allow_postcopy=postcopy, max_bandwidth_share=share)
        except (UnitError, ValueError) as err:
            st.error(f"Cannot read the constraints: {err}")
        else:
            bar = st.progress(0.0, text="searching…")

            def progress(done: int, n: int) -> None:
                bar.progress(done / n, text=f"{done} of {n} settings tried")

            found: rec_mod.Recommendation | None
            try:
                found = rec_mod.recommend(sc, constraints, target=target, objective=objective,
                                          workers=1, progress=progress)
            except MiglabError as err:
                st.error(f"Cannot search: {err}")
                found = None
            bar.empty()
            if found is not None:
                st.session_state["recommendation"] = found
    rec: Any = st.session_state.get("recommendation")
    chosen: Scenario = report.scenario  # type: ignore[assignment]
    exported: Any = None
    if rec is not None:
        tgt = targets.TARGETS[rec.target]
        (st.success if rec.feasible else st.error)(
            f"A {tgt.title} setting meets every constraint." if rec.feasible
            else f"Nothing on {tgt.title} meets every constraint; the closest setting is "
                 "shown.")
        row = rec.chosen
        st.markdown(f"**{'Recommended' if rec.feasible else 'Closest'} {tgt.title} "
                    f"settings**, predicted by simulating exactly these"
                    + (f" through the {tgt.policy_kind} policy" if tgt.policy_kind else "")
                    + ":")
        st.code("\n".join(targets.setting_lines(tgt, rec.settings)), language=None)
        m1, m2, m3 = st.columns(3)
        m1.metric("downtime", rec_mod.format_metric(row["downtime_ms"], "ms"))
        m2.metric("total time", rec_mod.format_metric(row["total_time_s"], "s"))
        m3.metric("guest cost", rec_mod.format_metric(row["guest_cost_s"], "vCPU·s"))
        st.markdown("\n".join(f"- {r}" for r in rec.reasons))
        st.markdown("**Changes:** " + ", ".join(f"`{k}` = {v}" for k, v in rec.changes.items()))
        if len(rec.pareto):
            plot(plots.pareto_figure(rec.table[rec.table["converged"]],
                                                   "total_time_s", "downtime_ms"),
                 key="rec_pareto")
        try:
            chosen = rec.scenario()
            exported = rec.export()
        except MiglabError as err:
            st.error(f"The recommended settings cannot be exported: {err}")
        if st.button("Load the recommended settings into the scenario", key="load_rec"):
            set_scenario(chosen.to_dict())
            st.session_state.pop("recommendation")
            st.switch_page("app_pages/scenario.py")

    st.subheader("Export" + (" the recommended settings" if rec is not None else ""))
    if exported is not None:
        # exactly what was recommended and simulated: the target's own files
        st.caption(f"{targets.TARGETS[rec.target].title}: the files below are the "
                   "settings above; importing them back gives the same prediction.")
        with st.columns(3)[0]:
            downloads(exported.format, exported.files, exported.gaps, chosen.name)
        preview = st.expander("Preview", **kept("export_preview_rec", True))
        if preview.open:
            with preview:
                st.code(exported.text, language=None)
    else:
        cols = st.columns(2)  # wide enough for the file names
        for i, fmt in enumerate(exp.FORMATS):
            out = exp.export(chosen, fmt)
            with cols[i % 2]:
                downloads(fmt, out.files, out.gaps, chosen.name)
        preview = st.expander("Preview", **kept("export_preview", False))
        if preview.open:
            with preview:
                fmt = st.selectbox("format", exp.FORMATS, **kept("preview_fmt", "qmp"))
                st.code(exp.export(chosen, fmt).text, language=None)
    result = simulate_json(ui.scenario_json(sc))

    def html() -> str:
        text: str = rep.render_html(
            load_scenario(sc), result,
            recommendation=chosen if rec is not None else None,
            reasons=rec.reasons if rec is not None else ())
        return text

    def pdf() -> bytes:
        with tempfile.TemporaryDirectory(prefix="miglab-report-") as tmp:
            src = Path(tmp) / "report.html"
            src.write_text(html(), encoding="utf-8")
            return rep.write_pdf(src, Path(tmp) / "report.pdf").read_bytes()

    r1, r2 = st.columns(2)
    r1.download_button("HTML report", html, file_name=f"{chosen.name}-report.html",
                       mime="text/html", on_click="ignore", key="dl_html",
                       width="stretch")
    if rep.find_chromium() is not None:
        r2.download_button("PDF report", pdf, file_name=f"{chosen.name}-report.pdf",
                           mime="application/pdf", on_click="ignore", key="dl_pdf",
                           width="stretch")
    else:
        r2.info(f"PDF reports need Chromium: {rep.INSTALL_HINT}")

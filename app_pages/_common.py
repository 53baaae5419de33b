"""Helpers shared by the pages: the scenario in session state, validation, cached runs."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from sim import plots, ui
from sim.engine import simulate
from sim.result import Result
from sim.scenario import ValidationReport, load_scenario, validate


def scenario() -> dict[str, Any]:
    """The scenario dict every page shares."""
    if "scenario" not in st.session_state:
        st.session_state["scenario"] = ui.default_scenario()
    value: dict[str, Any] = st.session_state["scenario"]
    return value


def set_scenario(new: dict[str, Any]) -> None:
    """Replace the shared scenario and reset the form widgets so they show it."""
    st.session_state["scenario"] = new
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith("w.")]:
        del st.session_state[key]


@st.cache_data(max_entries=256, show_spinner=False)
def validate_json(text: str) -> ValidationReport:
    """`sim.validate` on a scenario's canonical JSON (cached)."""
    return validate(json.loads(text))


@st.cache_data(max_entries=128, show_spinner="Simulating…")
def simulate_json(text: str) -> Result:
    """The engine's result for a scenario's canonical JSON (cached per scenario)."""
    return simulate(load_scenario(json.loads(text)))


@st.cache_resource(max_entries=64, show_spinner=False)
def simulation_figures(text: str) -> dict[str, Any]:
    """The Simulate page's plotly figures for a scenario's canonical JSON.

    Cached as objects (not copies): building them costs ~30 ms each in plotly's validators,
    and ``st.plotly_chart`` only reads them.
    """
    result = simulate_json(text)
    return {"timeline": plots.timeline_figure(result),
            "bandwidth": plots.bandwidth_figure(result),
            "throttle": plots.throttle_figure(result),
            "downtime": plots.downtime_breakdown_figure(result)}


def require_valid(sc: dict[str, Any]) -> ValidationReport | None:
    """Validate; on problems show QEMU's reply and a link back, and return None."""
    report = validate_json(ui.scenario_json(sc))
    if report.scenario is not None:
        return report
    show_reply(report)
    st.page_link("app_pages/scenario.py", label="Fix the scenario", icon=":material/tune:")
    return None


def show_reply(report: ValidationReport, extra: list[Any] | None = None) -> None:
    """The 'QEMU would reply' box, then miglab's own problems; nothing runs meanwhile."""
    problems = list(extra or []) + list(report.problems)
    if not problems:
        return
    qemu = report.qemu_error
    if qemu is not None:
        st.error(f"**QEMU would reply:** {qemu.message}", icon=":material/block:")
    others = [p for p in problems if p is not qemu]
    if others:
        st.warning("Nothing runs until these are fixed:\n\n"
                   + "\n".join(f"- `{p.field}`: {p.message}" for p in others))


def plot(fig: Any, key: str | None = None, **kwargs: Any) -> Any:
    """Render a plotly figure full width."""
    return st.plotly_chart(fig, width="stretch", key=key, **kwargs)


def preload_result_code() -> None:
    """A hidden empty chart and metric, so that the browser fetches and compiles their code now.

    The browser loads the code of an element type only when a page first shows one; plotly's
    is ~4.7 MB and takes seconds to compile on a small machine. On the Scenario page, where
    people spend time editing, this moves that load ahead of the Simulate page's verdict
    figures and charts. Call it last, after everything the page shows.
    """
    with st.container(key="preload-result-code"):
        st.metric("preload", "0")
        st.plotly_chart({"data": [{"type": "scatter", "x": [], "y": []}]}, height=40,
                        config={"staticPlot": True, "displayModeBar": False})
    st.html("<style>.st-key-preload-result-code {display: none;}</style>")


# ---------------------------------------------------------------- state that survives pages
# Streamlit forgets a widget's value when its page is left. Each kept widget's value is
# mirrored under "keep.<key>" (not a widget key, so it stays) and written back on return.


def kept(key: str, default: Any) -> dict[str, Any]:
    """Widget arguments (``key``, ``on_change``) that keep the value across pages."""
    store = f"keep.{key}"
    if store not in st.session_state:
        st.session_state[store] = default
    st.session_state[key] = st.session_state[store]
    return {"key": key, "on_change": _keep, "args": (key,)}


def _keep(key: str) -> None:
    st.session_state[f"keep.{key}"] = st.session_state[key]


def kept_value(key: str, default: Any = None) -> Any:
    """The kept value of widget ``key`` (``default`` before it was first shown)."""
    return st.session_state.get(f"keep.{key}", default)


def kept_editor(key: str, default: Any, *, text_columns: tuple[str, ...] = (),
                **kwargs: Any) -> Any:
    """``st.data_editor`` whose rows survive a visit to another page.

    The edited table is kept under ``keep.<key>``; each edit is applied to it and the
    editor restarts from it (a new widget key), so no edit is applied twice. A cleared cell
    of one of ``text_columns`` is kept empty, not ``None`` (which the grid prints).
    """
    store, version = f"keep.{key}", f"keep.{key}.version"
    if store not in st.session_state:
        st.session_state[store] = default.copy()
        st.session_state[version] = 0
    widget = f"{key}_{st.session_state[version]}"

    def apply() -> None:
        frame = ui.apply_editor_delta(st.session_state[store], st.session_state[widget])
        for column in text_columns:
            frame[column] = frame[column].where(frame[column].notna(), "")
        st.session_state[store] = frame
        st.session_state[version] += 1

    return st.data_editor(st.session_state[store], key=widget, on_change=apply, **kwargs)

"""Reports: one self-contained HTML page per migration study, and its PDF.

A report is the flight dossier handed over after planning: the plan (the scenario), the
forecast (verdict and timeline plots), the alternatives weighed (comparison, sweep,
Pareto plots), the chosen settings and why, and those settings written out for every
management layer with what each one cannot express. The page embeds plotly.js once, so
it opens offline from a USB stick; :func:`write_pdf` prints it with headless Chromium.

    >>> html = render_html(scenario, simulate(scenario))     # doctest: +SKIP
    >>> Path("report.html").write_text(html)                  # doctest: +SKIP
    >>> write_pdf(Path("report.html"), Path("report.pdf"))    # doctest: +SKIP

Figures come from :mod:`sim.plots`, exports from :mod:`sim.export`; this module only lays
them out.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pandas as pd
import plotly.graph_objects as go
import yaml
from plotly.offline import get_plotlyjs
from pydantic import ValidationError

from sim._exceptions import ReportError
from sim._modelkit import problems_from
from sim.export import FORMATS, export
from sim.plots import (
    comparison_figure,
    figures_for,
    gantt_figure,
    heatmap_figure,
    pareto_figure,
)
from sim.result import Result
from sim.scenario import Scenario
from sim.summary import describe, verdict

__all__ = ["ReportError", "Sweep", "find_chromium", "render_html", "result_from_dict",
           "write_pdf"]

FIGURE_WIDTH_PX: Final = 760
"""Figures are drawn at a fixed width so the printed page matches the screen."""
PDF_BUDGET_MS: Final = 8000
CHROMIUM_NAMES: Final = ("chromium", "chromium-browser", "google-chrome")
INSTALL_HINT: Final = ("install Debian's chromium (apt-get install chromium) or set "
                       "BROWSER_PATH to a Chromium/Chrome binary")


@dataclass(frozen=True)
class Sweep:
    """A sweep to show: a heatmap of ``z`` over (``x``, ``y``) and a Pareto plot.

    Attributes:
        df: one row per run.
        x, y: the swept columns.
        z: the outcome shown in the heatmap.
        cost_x, cost_y: the two costs of the Pareto plot (smaller is better).
        label: a column naming each run, shown on hover.
    """

    df: pd.DataFrame
    x: str
    y: str
    z: str
    cost_x: str = "total_time_s"
    cost_y: str = "downtime_ms"
    label: str | None = None


_CSS: Final = """
body { font-family: system-ui, sans-serif; max-width: 820px; margin: 1.5em auto; color: #222;
       line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.1em; } h2 { border-bottom: 1px solid #ccc;
       margin-top: 1.6em; } h3 { margin-bottom: 0.3em; }
.meta { color: #666; font-size: 0.9em; }
.verdict { font-size: 1.2em; padding: 0.6em 0.8em; border-left: 5px solid #2ca02c;
           background: #f3faf3; }
.verdict.bad { border-color: #d62728; background: #fdf3f3; }
pre { background: #f6f6f6; padding: 0.6em; font-size: 0.78em; white-space: pre-wrap;
      word-break: break-all; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { border: 1px solid #ddd;
        padding: 0.2em 0.5em; text-align: left; }
.gaps li { font-size: 0.85em; } .figure { page-break-inside: avoid; break-inside: avoid; }
.export { page-break-inside: auto; }
@media print { body { margin: 0; max-width: none; } h2 { page-break-after: avoid; } }
"""


def _esc(text: object) -> str:
    return html.escape(str(text))


def _figure_html(fig: go.Figure, height_px: int | None = None) -> str:
    """A figure as a ``<div>``; plotly.js itself is embedded once in the page head."""
    copy = go.Figure(fig)
    copy.update_layout(width=FIGURE_WIDTH_PX, autosize=False)
    if height_px is not None:
        copy.update_layout(height=height_px)
    elif copy.layout.height is None:
        copy.update_layout(height=380)
    body = copy.to_html(full_html=False, include_plotlyjs=False,
                        config={"displayModeBar": False, "responsive": False})
    return f'<div class="figure">{body}</div>'


def _scenario_section(sc: Scenario) -> str:
    params = {k: sc.parameters[k] for k in sorted(sc.parameters.given)}
    rows = [("QEMU release", sc.qemu.name), ("seed", sc.seed),
            ("capabilities on", ", ".join(sorted(sc.capabilities.enabled)) or "none"),
            *((f"parameter {k}", v) for k, v in params.items())]
    table = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in rows)
    source = yaml.safe_dump(sc.to_dict(), sort_keys=False)
    return (f"<h2>Scenario</h2><table>{table}</table>"
            f"<h3>Scenario file</h3><pre>{_esc(source)}</pre>")


def _verdict_section(sc: Scenario | None, result: Result) -> str:
    """The verdict, the summary and, for a run that did not converge, why and the fixes
    (:func:`sim.diagnosis.diagnose`, the same text ``miglab simulate`` prints)."""
    cls = "verdict" if result.converged else "verdict bad"
    details = describe(sc, result) if sc is not None else ""
    why = ""
    if sc is not None and not result.converged:
        from sim.diagnosis import diagnose  # runs the engine: only for a stuck migration

        why = diagnose(sc, result).text()
    return (f"<h2>Verdict</h2><p class=\"{cls}\">{_esc(verdict(result))}</p>"
            + (f"<pre class=\"diagnosis\">{_esc(why)}</pre>" if why else "")
            + (f"<pre>{_esc(details)}</pre>" if details else ""))


def _plots_section(result: Result) -> str:
    return "<h2>Timeline</h2>" + "".join(_figure_html(f) for f in figures_for(result))


def _comparison_section(results: Mapping[str, Result]) -> str:
    rows = "".join(
        f"<tr><td>{_esc(k)}</td><td>{_esc(verdict(r))}</td>"
        f"<td>{r.total_time_ms / 1000:.1f}</td><td>{r.downtime_ms:.0f}</td></tr>"
        for k, r in results.items())
    table = ("<table><tr><th>policy</th><th>verdict</th><th>total time (s)</th>"
             f"<th>downtime (ms)</th></tr>{rows}</table>")
    return "<h2>Comparison</h2>" + table + _figure_html(comparison_figure(results))


def _sweep_section(sweep: Sweep) -> str:
    parts = [_figure_html(heatmap_figure(sweep.df, sweep.x, sweep.y, sweep.z))]
    if sweep.cost_x in sweep.df and sweep.cost_y in sweep.df:
        parts.append(_figure_html(pareto_figure(sweep.df, sweep.cost_x, sweep.cost_y,
                                                label=sweep.label)))
    return "<h2>Sweep</h2>" + "".join(parts)


def _recommendation_section(rec: Scenario, reasons: Sequence[str]) -> str:
    items = "".join(f"<li>{_esc(r)}</li>" for r in reasons) or "<li>(no reasons given)</li>"
    params = {k: rec.parameters[k] for k in sorted(rec.parameters.given)}
    caps = ", ".join(sorted(rec.capabilities.enabled)) or "none"
    return (f"<h2>Recommendation</h2><p>Parameters: <code>{_esc(params)}</code>; "
            f"capabilities on: <code>{_esc(caps)}</code></p><ul>{items}</ul>")


def _exports_section(sc: Scenario, formats: Sequence[str]) -> str:
    parts = ["<h2>Exports</h2><p>The settings above written for each target, in its own "
             "units. Gaps list what the target cannot express and the closest value used.</p>"]
    for fmt in formats:
        out = export(sc, fmt)
        gaps = "".join(f"<li>{_esc(g)}</li>" for g in out.gaps) or "<li>none</li>"
        files = "".join(f"<h4>{_esc(name)}</h4><pre>{_esc(body)}</pre>"
                        for name, body in out.files.items())
        parts.append(f'<div class="export" id="export-{_esc(fmt)}"><h3>{_esc(fmt)}</h3>'
                     f'<p>Gaps:</p><ul class="gaps">{gaps}</ul>{files}</div>')
    return "".join(parts)


def render_html(scenario: Scenario | None, result: Result | None = None, *,
                title: str | None = None,
                comparison: Mapping[str, Result] | None = None,
                sweep: Sweep | None = None,
                drain: pd.DataFrame | None = None,
                recommendation: Scenario | None = None,
                reasons: Sequence[str] = (),
                formats: Sequence[str] = FORMATS) -> str:
    """The whole report as one HTML page with plotly.js embedded once (works offline).

    Args:
        scenario: the scenario studied (``None`` when only a saved result is at hand).
        result: its simulated or measured migration.
        title: the page title; from the scenario's name when ``None``.
        comparison: other runs to overlay, by label.
        sweep: a sweep to show as a heatmap and a Pareto plot.
        drain: a host drain (columns ``vm, host, start_s, end_s, outcome``) as a Gantt chart.
        recommendation: the recommended scenario; its settings are the ones exported.
        reasons: why it was recommended, one sentence each.
        formats: the export targets to include.

    Returns:
        The HTML text.
    """
    name = scenario.name if scenario is not None else "migration"
    title = title or f"miglab report: {name}"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body: list[str] = [f"<h1>{_esc(title)}</h1><p class=\"meta\">generated by miglab on "
                       f"{stamp}</p>"]
    if result is not None:
        body.append(_verdict_section(scenario, result))
    if scenario is not None:
        body.append(_scenario_section(scenario))
    if result is not None:
        body.append(_plots_section(result))
    if comparison:
        body.append(_comparison_section(comparison))
    if sweep is not None:
        body.append(_sweep_section(sweep))
    if drain is not None:
        body.append("<h2>Host drain</h2>" + _figure_html(gantt_figure(drain)))
    if recommendation is not None:
        body.append(_recommendation_section(recommendation, reasons))
    exported = recommendation or scenario
    if exported is not None and formats:
        body.append(_exports_section(exported, formats))
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_esc(title)}</title><style>{_CSS}</style>"
            f"<script type=\"text/javascript\">{get_plotlyjs()}</script></head>"
            f"<body>{''.join(body)}</body></html>\n")


# ------------------------------------------------------------------------- PDF


def find_chromium() -> str | None:
    """The Chromium binary: ``$BROWSER_PATH``, then ``chromium`` and friends on ``PATH``."""
    env = os.environ.get("BROWSER_PATH")
    if env:
        return env if Path(env).exists() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def write_pdf(html_path: Path, pdf_path: Path, *, chromium: str | None = None,
              budget_ms: int = PDF_BUDGET_MS, timeout_s: float = 120.0) -> Path:
    """Print an HTML report to PDF with headless Chromium (figures render as on screen).

    Args:
        html_path: the report written by :func:`render_html`.
        pdf_path: where the PDF goes.
        chromium: the browser binary; found with :func:`find_chromium` when ``None``.
        budget_ms: virtual time Chromium gives the page's scripts before printing.
        timeout_s: wall-clock cap on the browser run.

    Returns:
        ``pdf_path``.

    Raises:
        ReportError: no Chromium (the message says how to install it), or it failed.
    """
    browser = chromium or find_chromium()
    if browser is None or (not Path(browser).exists() and shutil.which(browser) is None):
        raise ReportError(f"PDF output needs a Chromium browser and none was found: "
                          f"{INSTALL_HINT}")
    pdf_path = pdf_path.resolve()
    pdf_path.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="miglab-chromium-") as profile_dir:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", f"--user-data-dir={profile_dir}",
               "--no-pdf-header-footer", f"--virtual-time-budget={budget_ms}",
               f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise ReportError(f"chromium could not print {html_path}: {err}") from err
    if not pdf_path.exists() or pdf_path.stat().st_size == 0:
        tail = (proc.stderr or "").strip().splitlines()[-3:]
        raise ReportError(f"chromium did not write {pdf_path} (exit {proc.returncode}): "
                          + " | ".join(tail))
    return pdf_path


# ------------------------------------------------------------------------- saved results


def result_from_dict(data: Mapping[str, Any]) -> Result:
    """A :class:`Result` from ``Result.to_dict()`` output (``miglab simulate --json``),
    read by the :class:`~sim.result.Result` model; times left out count as 0.

    Raises:
        ReportError: the mapping is not a result, naming the first field that is wrong.
    """
    status = data.get("status")
    given = {"converged": status == "completed", "total-time": 0, "downtime": 0,
             "setup-time": 0, "expected-downtime": 0, "ram": {}, **data}
    try:
        return Result.model_validate(given)
    except ValidationError as err:
        first = problems_from(err, "result", Result)[0]
        raise ReportError(f"not a miglab result: {first}") from None

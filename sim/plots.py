"""Plotly figures of migrations, shared by the dashboard, the notebooks and the reports.

These are the instrument panels of a migration: a fuel gauge (dirty memory still to send,
draining as the stream runs and refilled by the guest), a speedometer (achieved bandwidth
against the guest's dirty rate), the brake (auto-converge's throttle), and the stopwatch
of the pause split into its parts. Each function is pure: it reads a :class:`~sim.Result`
or a DataFrame and returns a new ``plotly.graph_objects.Figure`` with a title and units on
both axes, so every view of miglab draws the same picture.

    >>> from sim.engine import simulate                    # doctest: +SKIP
    >>> fig = timeline_figure(simulate(load_scenario("web.yaml")))  # doctest: +SKIP
    >>> fig.write_html("timeline.html")                     # doctest: +SKIP

Column names carry their units (``time_s``, ``downtime_ms``, ``remaining_bytes``) and
:func:`axis_label` turns them into axis titles such as ``"downtime (ms)"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import pandas as pd
import plotly.graph_objects as go

from sim.result import Result
from sim.units import GiB, MiB, format_action_value, format_duration, format_size

__all__ = [
    "axis_label",
    "bandwidth_figure",
    "comparison_figure",
    "downtime_breakdown_figure",
    "figures_for",
    "gantt_figure",
    "heatmap_figure",
    "outcome_heatmap_figure",
    "pareto_figure",
    "pareto_front",
    "throttle_figure",
    "timeline_figure",
    "timeline_svg",
]

_UNITS: Final = {"_s": "s", "_ms": "ms", "_bytes": "bytes", "_Bps": "bytes/s", "_pct": "%",
                 "_gib": "GiB", "_mib": "MiB", "_gbps": "Gbit/s", "_mibps": "MiB/s"}
_TEMPLATE: Final = "plotly_white"
_OUTCOME_COLOURS: Final = {"completed": "#2ca02c", "converged": "#2ca02c", "failed": "#d62728",
                           "cancelled": "#ff7f0e", "postcopy": "#9467bd"}


def axis_label(column: str) -> str:
    """``"downtime_ms"`` → ``"downtime (ms)"``; a name without a unit suffix is kept.

    >>> axis_label("link_Bps"), axis_label("multifd-channels")
    ('link (bytes/s)', 'multifd-channels')
    """
    for suffix, unit in _UNITS.items():
        if column.endswith(suffix) and len(column) > len(suffix):
            return f"{column[: -len(suffix)].replace('_', ' ')} ({unit})"
    return column


def _layout(fig: go.Figure, title: str, x: str, y: str, **extra: Any) -> go.Figure:
    fig.update_layout(title={"text": title}, xaxis_title=x, yaxis_title=y, template=_TEMPLATE,
                      margin={"l": 60, "r": 20, "t": 60, "b": 50}, **extra)
    return fig


def _frame(result: Result) -> pd.DataFrame:
    return result.timeline_frame()


def _empty(fig: go.Figure, df: pd.DataFrame, what: str) -> None:
    if df.empty:
        fig.add_annotation(text=f"no {what} recorded", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper")


def _action_marks(fig: go.Figure, result: Result) -> None:
    """Vertical lines for each policy/operator action, one legend entry ("policy action")."""
    for i, action in enumerate(result.actions):
        value = format_action_value(action.action, action.value)
        value = f" {value}" if value else ""
        fig.add_vline(x=action.time_s, line={"dash": "dot", "color": "#7f7f7f", "width": 1},
                      annotation_text=f"{action.actor}: {action.action}{value}",
                      annotation_position="top left", annotation_font_size=10)
        if i == 0:  # the legend explains the dotted lines
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name="policy action",
                                     line={"dash": "dot", "color": "#7f7f7f", "width": 1}))


_EVENTS: Final = (  # (legend label, events, marker)
    ("bitmap sync", ("sync", "sync (periodic)"), {"symbol": "circle", "size": 7}),
    ("throttle step", ("throttle",), {"symbol": "triangle-up", "size": 10,
                                      "color": "#ff7f0e"}),
    ("postcopy starts", ("postcopy",), {"symbol": "star", "size": 13, "color": "#9467bd"}),
    ("switchover", ("switchover",), {"symbol": "diamond", "size": 10, "color": "#d62728"}),
)


def _event_hover(df: pd.DataFrame, what: str) -> list[str]:
    return [f"{what} at {format_duration(t)}<br>{format_size(r)} still to send"
            + (f"<br>sync {int(n)}" if what == "bitmap sync" else "")
            + (f"<br>throttle {p:g} %" if what == "throttle step" else "")
            for t, r, n, p in zip(df["time_s"], df["remaining_bytes"], df["dirty_sync_count"],
                                  df["throttle_pct"], strict=True)]


def timeline_figure(result: Result, title: str = "Dirty memory still to send") -> go.Figure:
    """Remaining dirty memory over time, with bitmap syncs, switchover and policy actions.

    Args:
        result: a simulated or measured migration.
        title: the figure title.

    Returns:
        A line of ``remaining`` (GiB) against time (s); each kind of event (bitmap sync,
        throttle step, postcopy start, switchover) has its own marker and legend entry,
        policy actions are dotted vertical lines; hovers give times and sizes with units.
    """
    df = _frame(result)
    fig = go.Figure()
    _empty(fig, df, "timeline")
    if not df.empty:
        fig.add_trace(go.Scatter(
            x=df["time_s"], y=df["remaining_bytes"] / GiB, mode="lines", name="remaining",
            line={"width": 2},
            customdata=[f"{format_duration(t)}: {format_size(r)} still to send"
                        for t, r in zip(df["time_s"], df["remaining_bytes"], strict=True)],
            hovertemplate="%{customdata}<extra></extra>"))
        for label, events, marker in _EVENTS:
            rows = df[df["event"].isin(events)]
            if rows.empty:
                continue
            fig.add_trace(go.Scatter(x=rows["time_s"], y=rows["remaining_bytes"] / GiB,
                                     mode="markers", name=label, marker=marker,
                                     customdata=_event_hover(rows, label),
                                     hovertemplate="%{customdata}<extra></extra>"))
    _action_marks(fig, result)
    return _layout(fig, title, "time since migrate (s)", "remaining (GiB)")


def bandwidth_figure(result: Result, title: str = "Bandwidth and dirty rate") -> go.Figure:
    """Achieved migration bandwidth against the guest's (throttled) dirty rate, in MiB/s."""
    df = _frame(result)
    fig = go.Figure()
    _empty(fig, df, "timeline")
    if not df.empty:
        fig.add_trace(go.Scatter(x=df["time_s"], y=df["bandwidth_Bps"] / MiB, mode="lines",
                                 name="sent", line={"shape": "vh"},
                                 hovertemplate="sent %{y:.3g} MiB/s at %{x:.3g} s"
                                               "<extra></extra>"))
        fig.add_trace(go.Scatter(x=df["time_s"], y=df["dirty_rate_Bps"] / MiB, mode="lines",
                                 name="dirtied", line={"shape": "hv", "dash": "dash"},
                                 hovertemplate="dirtied %{y:.3g} MiB/s at %{x:.3g} s"
                                               "<extra></extra>"))
    _action_marks(fig, result)
    return _layout(fig, title, "time since migrate (s)", "rate (MiB/s)")


def throttle_figure(result: Result, title: str = "Auto-converge CPU throttle") -> go.Figure:
    """The vCPU throttle in force over time (%), as a step line."""
    df = _frame(result)
    fig = go.Figure()
    _empty(fig, df, "timeline")
    if not df.empty:
        fig.add_trace(go.Scatter(x=df["time_s"], y=df["throttle_pct"], mode="lines",
                                 name="throttle", line={"shape": "hv"}, fill="tozeroy",
                                 hovertemplate="throttle %{y:.3g} % at %{x:.3g} s"
                                               "<extra></extra>"))
    fig.update_yaxes(range=[0, 100])
    return _layout(fig, title, "time since migrate (s)", "throttle (%)")


def downtime_breakdown_figure(result: Result, title: str = "Where the downtime goes"
                              ) -> go.Figure:
    """The guest's pause split into its parts (stop, final sync, RAM, device state, …), ms."""
    parts = {k: v for k, v in result.downtime_breakdown_ms.items() if v > 0}
    fig = go.Figure()
    for name, ms in parts.items():
        fig.add_trace(go.Bar(y=["downtime"], x=[ms], name=name, orientation="h",
                             text=[format_duration(ms / 1000)], textposition="inside",
                             hovertemplate=f"{name}: {format_duration(ms / 1000)}"
                                           "<extra></extra>"))
    if not parts:
        fig.add_annotation(text=f"downtime {result.downtime_ms:.0f} ms (no breakdown)",
                           showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return _layout(fig, f"{title}: {format_duration(result.downtime_ms / 1000)}", "time (ms)", "",
                   barmode="stack", height=260)


_DASHES: Final = ("solid", "dash", "dot", "dashdot")


def comparison_figure(results: Mapping[str, Result],
                      title: str = "Remaining dirty memory, compared") -> go.Figure:
    """Several migrations' remaining memory overlaid on one time axis, one line each.

    Each line has its own dash so that overlapping lines stay apart; a star marks where a
    run switched to postcopy.
    """
    fig = go.Figure()
    for i, (label, result) in enumerate(results.items()):
        df = _frame(result)
        verdict = (f"converged, downtime {format_duration(result.downtime_ms / 1000)}"
                   if result.converged else f"did not converge: {result.status}")
        fig.add_trace(go.Scatter(
            x=df["time_s"], y=df["remaining_bytes"] / GiB, mode="lines",
            name=f"{label} ({verdict})", legendgroup=label,
            line={"dash": _DASHES[i % len(_DASHES)], "width": 2},
            hovertemplate=f"{label}<br>%{{x:.3g}} s: %{{y:.3g}} GiB left<extra></extra>"))
        post = df[df["event"] == "postcopy"]
        if not post.empty:
            fig.add_trace(go.Scatter(
                x=post["time_s"].iloc[:1], y=post["remaining_bytes"].iloc[:1] / GiB,
                mode="markers", name=f"{label}: postcopy starts", legendgroup=label,
                marker={"symbol": "star", "size": 13},
                hovertemplate=f"{label}<br>postcopy starts at %{{x:.3g}} s<extra></extra>"))
    return _layout(fig, title, "time since migrate (s)", "remaining (GiB)",
                   legend={"orientation": "h", "y": -0.25})


def heatmap_figure(df: pd.DataFrame, x: str, y: str, z: str, title: str | None = None
                   ) -> go.Figure:
    """A sweep as a heatmap: ``z`` for each (``x``, ``y``) pair (mean when repeated).

    Args:
        df: one row per run, e.g. from a sweep.
        x, y: the swept columns (e.g. ``downtime_limit_ms``, ``link_Bps``).
        z: the outcome column (e.g. ``total_time_s``); missing cells stay blank.
        title: the figure title; built from the column names when ``None``.
    """
    grid = df.pivot_table(index=y, columns=x, values=z, aggfunc="mean")
    fig = go.Figure(go.Heatmap(x=[str(c) for c in grid.columns], y=[str(i) for i in grid.index],
                               z=grid.to_numpy(), colorbar={"title": {"text": axis_label(z)}},
                               hovertemplate=f"{x}=%{{x}}<br>{y}=%{{y}}<br>{z}=%{{z}}"
                                             "<extra></extra>"))
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category")
    return _layout(fig, title or f"{axis_label(z)} by {x} and {y}", axis_label(x), axis_label(y))


_GREY: Final = "#b0b0b0"
_CATEGORY_COLOURS: Final = {"did not converge": _GREY, "refused": "#e0e0e0"}
_YES_NO: Final = [[0.0, _GREY], [0.5, _GREY], [0.5, "#2ca02c"], [1.0, "#2ca02c"]]


def outcome_heatmap_figure(view: pd.DataFrame, z: str, x_title: str, y_title: str,
                           title: str | None = None) -> go.Figure:
    """A sweep's outcome by two settings, with runs that did not converge as their own cells.

    Args:
        view: one row per point with ``x``, ``y`` (setting text), ``x_rank``, ``y_rank``,
            ``outcome`` (``converged``, ``did not converge``, ``refused``), ``hover`` and
            the ``z`` column (:func:`sim.ui.sweep_view`).
        z: ``total_time_s``, ``downtime_ms`` or ``converged`` (drawn as yes/no).
        x_title, y_title: the axes' setting names.
        title: the figure title; built from ``z`` when ``None``.

    Cells that did not converge are grey and say so, never a number: a cancelled run has
    no downtime, and its time is the moment it was stopped, not a migration's length.
    """
    xs = list(view.sort_values("x_rank")["x"].drop_duplicates())
    ys = list(view.sort_values("y_rank")["y"].drop_duplicates())

    def grid(values: pd.Series) -> list[list[Any]]:
        cells: dict[tuple[str, str], Any] = {}
        for x, y, v in zip(view["x"], view["y"], values, strict=True):
            cells[(x, y)] = v
        return [[cells.get((x, y)) for x in xs] for y in ys]

    hover = grid(view["hover"])
    fig = go.Figure()
    if z == "converged":
        yes = view["outcome"].map({"converged": 1.0, "did not converge": 0.0})
        fig.add_trace(go.Heatmap(
            x=xs, y=ys, z=grid(yes), zmin=0, zmax=1, colorscale=_YES_NO,
            text=grid(yes.map({1.0: "yes", 0.0: "no"})), texttemplate="%{text}",
            customdata=hover, hovertemplate="%{customdata}<extra></extra>",
            colorbar={"title": {"text": "converged"}, "tickvals": [0.25, 0.75],
                      "ticktext": ["no", "yes"]}))
    else:
        values = view[z].where(view["outcome"] == "converged")
        fig.add_trace(go.Heatmap(
            x=xs, y=ys, z=grid(values), customdata=hover,
            hovertemplate="%{customdata}<extra></extra>", colorscale="Viridis",
            colorbar={"title": {"text": axis_label(z)}}))
    for outcome, colour in _CATEGORY_COLOURS.items():
        if z == "converged" and outcome != "refused":
            continue
        mask = view["outcome"] == outcome
        if not mask.any():
            continue
        fig.add_trace(go.Heatmap(
            x=xs, y=ys, z=grid(mask.map({True: 1.0, False: None})), showscale=False,
            colorscale=[[0, colour], [1, colour]], customdata=hover,
            text=grid(mask.map({True: outcome, False: ""})), texttemplate="%{text}",
            hovertemplate="%{customdata}<extra></extra>", name=outcome))
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=outcome,
                                 marker={"symbol": "square", "size": 12, "color": colour,
                                         "line": {"color": "#666", "width": 1}}))
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=xs)
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=ys)
    name = "converged" if z == "converged" else axis_label(z)
    return _layout(fig, title or f"{name} by {x_title} and {y_title}", x_title, y_title,
                   showlegend=True, legend={"orientation": "h", "y": -0.2})


def pareto_front(df: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """The rows no other row beats on both ``x`` and ``y`` (smaller is better), by ``x``."""
    ordered = df.sort_values([x, y])
    best = float("inf")
    keep = []
    for idx, value in zip(ordered.index, ordered[y], strict=True):
        if value < best:
            keep.append(idx)
            best = value
    return ordered.loc[keep]


def pareto_figure(df: pd.DataFrame, x: str, y: str, *, label: str | None = None,
                  title: str | None = None, hover: str | None = None) -> go.Figure:
    """Candidates as points and their Pareto front (both axes: smaller is better).

    Args:
        df: one row per candidate policy.
        x, y: the two costs, e.g. ``total_time_s`` and ``downtime_ms``.
        label: a column shown on hover (e.g. the policy name).
        title: the figure title.
        hover: a column of ready-made hover text (settings and outcome in human units);
            it replaces the default hover.
    """
    text = df[label].astype(str) if label else None
    front = pareto_front(df, x, y)
    named = f"{label} %{{text}}<br>" if label else ""
    extra: dict[str, Any] = {"hovertemplate": f"{named}{axis_label(x)}: %{{x:.3g}}<br>"
                                              f"{axis_label(y)}: %{{y:.3g}}<extra></extra>"}
    if hover:
        extra = {"customdata": df[hover], "hovertemplate": "%{customdata}<extra></extra>"}
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=df[x], y=df[y], mode="markers", name="candidates", text=text,
                             marker={"size": 8, "opacity": 0.6}, **extra))
    if hover:
        extra = {"customdata": front[hover], "hovertemplate": "%{customdata}<extra></extra>"}
    fig.add_trace(go.Scatter(x=front[x], y=front[y], mode="lines+markers", name="Pareto front",
                             text=front[label].astype(str) if label else None,
                             line={"shape": "hv"}, marker={"size": 10}, **extra))
    return _layout(fig, title or f"Trade-off: {axis_label(x)} vs {axis_label(y)}",
                   axis_label(x), axis_label(y))


def _gantt_hover(group: pd.DataFrame) -> list[str]:
    out = []
    for _, r in group.iterrows():
        ms = r.get("downtime_ms")
        downtime = (f"downtime {format_duration(float(ms) / 1000)}"
                    if r["outcome"] == "completed" and ms is not None else str(r["outcome"]))
        out.append(f"{r['vm']} on {r['host']}<br>starts at {format_duration(r['start_s'])}, "
                   f"takes {format_duration(r['end_s'] - r['start_s'])}<br>{downtime}")
    return out


def gantt_figure(df: pd.DataFrame, title: str = "Host drain", *,
                 colour: str = "outcome") -> go.Figure:
    """A host drain as a Gantt chart: one bar per VM from ``start_s`` to ``end_s``.

    Args:
        df: columns ``vm``, ``host``, ``start_s``, ``end_s``, ``outcome`` (and
            ``downtime_ms`` for ``colour="downtime"``); bars are grouped by host.
        title: the figure title.
        colour: ``outcome`` (one colour per outcome) or ``downtime`` (a scale over the
            completed VMs' downtimes; VMs that did not complete keep their outcome's
            colour and legend entry).
    """
    fig = go.Figure()
    rows = df.sort_values(["host", "start_s"])
    if colour == "downtime":
        done = rows[rows["outcome"] == "completed"]
        fig.add_trace(go.Bar(
            y=[f"{h} / {v}" for h, v in zip(done["host"], done["vm"], strict=True)],
            x=done["end_s"] - done["start_s"], base=done["start_s"], orientation="h",
            name="completed",
            marker={"color": done["downtime_ms"], "colorscale": "Viridis",
                    "colorbar": {"title": {"text": "downtime (ms)"}}, "showscale": True},
            customdata=_gantt_hover(done), hovertemplate="%{customdata}<extra></extra>"))
        rows = rows[rows["outcome"] != "completed"]
    for outcome, group in rows.groupby("outcome", sort=False):
        fig.add_trace(go.Bar(
            y=[f"{h} / {v}" for h, v in zip(group["host"], group["vm"], strict=True)],
            x=group["end_s"] - group["start_s"], base=group["start_s"], orientation="h",
            name=str(outcome), marker={"color": _OUTCOME_COLOURS.get(str(outcome), _GREY)},
            customdata=_gantt_hover(group), hovertemplate="%{customdata}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, "time since the drain started (s)", "host / VM",
                   barmode="overlay", legend={"orientation": "h", "y": -0.15})


def timeline_svg(result: Result, *, width: int = 900, height: int = 150) -> str:
    """Remaining dirty memory over time as a small static SVG (no JavaScript needed).

    A first glance that a page can show at once, before an interactive chart's code has
    loaded: the line, the switchover (or where the run stopped), and the axes' end values
    in human units. It scales to the width it is given (``width``×``height`` are its
    proportions). Empty string when the run recorded no timeline.
    """
    from html import escape

    df = _frame(result)
    if df.empty:
        return ""
    t_end = max(float(df["time_s"].max()), 1e-9)
    top = max(float(df["remaining_bytes"].max()), 1.0)
    left, right, upper, lower = 70, 10, 10, 28
    w, h = width - left - right, height - upper - lower

    def xy(t: float, r: float) -> str:
        return f"{left + w * t / t_end:.1f},{upper + h * (1 - r / top):.1f}"

    points = " ".join(xy(float(t), float(r))
                      for t, r in zip(df["time_s"], df["remaining_bytes"], strict=True))
    end = ("switchover" if result.converged else f"stopped: {result.status}")
    label = escape(f"{format_duration(t_end)} ({end})")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" '
        f'role="img" aria-label="Dirty memory still to send over time">'
        f'<line x1="{left}" y1="{upper + h}" x2="{left + w}" y2="{upper + h}" '
        f'stroke="#999"/><line x1="{left}" y1="{upper}" x2="{left}" y2="{upper + h}" '
        f'stroke="#999"/>'
        f'<polyline points="{points}" fill="none" stroke="#1f77b4" stroke-width="2"/>'
        f'<text x="{left - 6}" y="{upper + 10}" text-anchor="end">'
        f'{escape(format_size(top))}</text>'
        f'<text x="{left - 6}" y="{upper + h}" text-anchor="end">0</text>'
        f'<text x="{left}" y="{height - 8}">0 s</text>'
        f'<text x="{left + w}" y="{height - 8}" text-anchor="end">{label}</text>'
        f'<text x="{left + w / 2}" y="{height - 8}" text-anchor="middle" fill="#666">'
        "dirty memory still to send, over time (interactive charts below)</text></svg>")


def figures_for(result: Result) -> Sequence[go.Figure]:
    """The standard figures of one migration, in report order."""
    return (timeline_figure(result), bandwidth_figure(result), throttle_figure(result),
            downtime_breakdown_figure(result))

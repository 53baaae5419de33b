"""The Trade-offs page's sweeps: axes typed by people, points to run, a table to draw.

A sweep is a grid of what-ifs: the operator picks two axes (:data:`SWEEP_AXES`: a label, the
scenario path, default values) and types their values as people write them
(:func:`axis_values` reads ``100ms, 1s`` as QMP's 100 and 1000); :func:`sweep_points` makes
every combination a change dict, at most :data:`MAX_SWEEP_POINTS`; :func:`sweep_view` turns
:func:`sim.sweep.run_sweep`'s table into what the charts draw.

    >>> sweep_points([("parameters.downtime-limit", axis_values("parameters.downtime-limit",
    ...                                                           "100ms, 1s"))])
    [{'parameters.downtime-limit': 100}, {'parameters.downtime-limit': 1000}]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

from sim._exceptions import ScenarioError
from sim.ui._shared import int_or_text
from sim.ui.form import field_for, parse_param_text
from sim.ui.formatting import format_setting, setting_name
from sim.units import format_duration

__all__ = [
    "MAX_SWEEP_POINTS",
    "NOT_CONVERGED",
    "REFUSED",
    "SWEEP_AXES",
    "axis_values",
    "sweep_points",
    "sweep_view",
]

SWEEP_AXES: Final[dict[str, tuple[str, str]]] = {
    "downtime-limit": ("parameters.downtime-limit", "100ms, 300ms, 1s, 2s"),
    "max-bandwidth": ("parameters.max-bandwidth", "64MiB/s, 128MiB/s, 512MiB/s, 1GiB/s"),
    "dirty rate": ("workload.dirty-rate", "50MiB/s, 200MiB/s, 500MiB/s, 1GiB/s"),
    "multifd-channels": ("parameters.multifd-channels", "1, 2, 4, 8"),
    "link": ("host.link", "1Gbit/s, 10Gbit/s, 25Gbit/s"),
    "working set": ("workload.working-set", "512MiB, 1GiB, 2GiB, 4GiB"),
    "cpu-throttle-increment": ("parameters.cpu-throttle-increment", "5, 10, 20, 40"),
}
"""Trade-off axes offered by the dashboard: label → (scenario path, default values)."""

MAX_SWEEP_POINTS: Final = 400
"""Most points one dashboard sweep may run."""


def axis_values(path: str, text: str) -> list[object]:
    """Read a comma-separated list of axis values; parameters become QMP values.

    Raises:
        ScenarioError: an empty list or a value that cannot be read.
    """
    cells = [c.strip() for c in text.split(",") if c.strip()]
    if not cells:
        raise ScenarioError(f"{path}: give at least one value, separated by commas")
    f = field_for(path)
    out: list[object] = []
    for cell in cells:
        if path.startswith("parameters."):
            value, problem = parse_param_text(f, cell)
            if problem is not None:
                raise ScenarioError(f"{path}: {problem.message} (got {cell!r})")
            out.append(value)
        else:
            out.append(int_or_text(cell))
    return out


def sweep_points(axes: Sequence[tuple[str, Sequence[object]]]) -> list[dict[str, Any]]:
    """Every combination of the axes as change dicts (multifd switched on for its channels).

    Raises:
        ScenarioError: more than :data:`MAX_SWEEP_POINTS` combinations.
    """
    total = math.prod(len(values) for _, values in axes)
    if total > MAX_SWEEP_POINTS:
        raise ScenarioError(f"{total} combinations; at most {MAX_SWEEP_POINTS} at once")
    points: list[dict[str, Any]] = [{}]
    for path, values in axes:
        points = [{**p, path: v} for p in points for v in values]
    for p in points:
        if "parameters.multifd-channels" in p:
            p["capabilities.multifd"] = True
    return points


NOT_CONVERGED: Final = "did not converge"
"""The Trade-offs charts' own category for runs that stopped without converging."""

REFUSED: Final = "refused"
"""... and for points QEMU or miglab would refuse."""


def sweep_view(table: Any, x_path: str, y_path: str) -> Any:
    """A sweep's table as the Trade-offs page draws it: one row per point.

    Columns: ``point``, ``x``/``y`` (the settings as text, e.g. ``unlimited``), ``x_rank``/
    ``y_rank`` (their order on the axes: the swept order), ``outcome`` (``converged``,
    :data:`NOT_CONVERGED` or :data:`REFUSED`), ``total_time_s`` and ``downtime_ms`` (missing
    unless converged: a cancelled run has no downtime and its time is not a migration's),
    ``hover`` (the settings by name and the outcome in human units).
    """
    import pandas as pd

    def ranks(path: str) -> dict[str, int]:
        seen: dict[str, int] = {}
        for v in table[path]:
            seen.setdefault(format_setting(path, v), len(seen))
        return seen

    xr, yr = ranks(x_path), ranks(y_path)
    rows = []
    for _, r in table.iterrows():
        x = format_setting(x_path, r[x_path])
        y = format_setting(y_path, r[y_path])
        if not r["valid"]:
            outcome, detail = REFUSED, str(r.get("error", ""))
        elif r["converged"]:
            outcome = "converged"
            detail = (f"total time {format_duration(float(r['total_time_s']))}, downtime "
                      f"{format_duration(float(r['downtime_ms']) / 1000.0)}")
        else:
            outcome = NOT_CONVERGED
            detail = f"{r['status']} after {format_duration(float(r['total_time_s']))}"
        ok = outcome == "converged"
        rows.append({
            "point": int(r["point"]), "x": x, "y": y, "x_rank": xr[x], "y_rank": yr[y],
            "outcome": outcome, "converged": ok,
            "total_time_s": float(r["total_time_s"]) if ok else math.nan,
            "downtime_ms": float(r["downtime_ms"]) if ok else math.nan,
            "hover": (f"{setting_name(x_path)}: {x}<br>{setting_name(y_path)}: {y}<br>"
                      f"{outcome}" + (f": {detail}" if detail else "")),
        })
    return pd.DataFrame(rows)

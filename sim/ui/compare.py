"""The Compare page: variants of one scenario as table rows, their outcomes side by side.

Comparing is a taste test: each row of the Compare editor is one variant (downtime-limit,
max-bandwidth, auto-converge, multifd channels, postcopy, policy), turned into scenario
changes by :func:`variant_changes`; once simulated, :func:`compare_table` lays the results
out one column per variant, one row per outcome, the best value of each row marked
:data:`BEST` (among the runs that converged).

    >>> variant_changes({"downtime-limit": "1s", "policy": "none"})[0]
    {'parameters.downtime-limit': 1000, 'control.policy': None}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sim._exceptions import Problem
from sim.result import Result
from sim.ui._shared import cell_text, int_or_text, is_nan
from sim.ui.form import field_for, parse_param_text
from sim.units import format_duration, format_number, format_size

__all__ = ["BEST", "apply_editor_delta", "compare_table", "variant_changes"]


def variant_changes(row: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The scenario changes of one Compare row.

    Row keys (all optional): ``downtime-limit`` and ``max-bandwidth`` (human text),
    ``auto-converge`` (bool), ``multifd-channels`` (0 = multifd off),
    ``postcopy-after-passes`` (empty = no postcopy), ``policy`` (``none`` or a kind).
    """
    changes: dict[str, Any] = {}
    problems: list[Problem] = []
    for name in ("downtime-limit", "max-bandwidth"):
        text = cell_text(row.get(name))
        if text:
            value, problem = parse_param_text(field_for(f"parameters.{name}"), text)
            changes[f"parameters.{name}"] = value
            if problem is not None:
                problems.append(problem)
    if row.get("auto-converge") is not None and not is_nan(row.get("auto-converge")):
        changes["capabilities.auto-converge"] = bool(row["auto-converge"])
    channels = cell_text(row.get("multifd-channels"))
    if channels:
        n = int_or_text(channels)
        on = n != 0
        changes["capabilities.multifd"] = on
        if on:
            changes["parameters.multifd-channels"] = n
    passes = cell_text(row.get("postcopy-after-passes"))
    if passes:
        changes["capabilities.postcopy-ram"] = True
        changes["control.postcopy-after"] = {"passes": int_or_text(passes)}
    policy = cell_text(row.get("policy"))
    if policy:
        changes["control.policy"] = None if policy == "none" else {"kind": policy}
    return changes, problems


_COMPARE_ROWS: Final = (
    # (row label, value of a result, formatter, smaller is better; None: no winner)
    ("converged", lambda r: 1.0 if r.converged else 0.0, lambda v: "yes" if v else "no",
     None),
    ("total time", lambda r: r.total_time_ms / 1000.0, format_duration, True),
    ("downtime", lambda r: r.downtime_ms, lambda v: format_duration(v / 1000.0), True),
    ("data sent", lambda r: float(r.ram.transferred), format_size, True),
    ("dirty-bitmap syncs", lambda r: float(r.ram.dirty_sync_count), format_number, None),
    ("peak throttle", lambda r: r.guest.throttle_peak_pct, lambda v: f"{v:.3g} %", True),
    ("guest cost: throttled vCPU time", lambda r: r.guest.throttle_cpu_s,
     lambda v: f"{format_number(round(v, 1))} vCPU·s", True),
    ("guest cost: postcopy blocktime", lambda r: r.guest.postcopy_blocktime_ms,
     lambda v: format_duration(v / 1000.0), True),
    ("guest cost: postcopy exposure", lambda r: r.guest.exposure_s, format_duration, True),
    ("guest cost: paused by policy", lambda r: r.guest.paused_s, format_duration, True),
)

BEST: Final = "★ "
"""Marks the best value of a Compare row."""


def compare_table(results: Mapping[str, Result]) -> Any:
    """Settings side by side: one column per setting, one row per outcome, best marked.

    Time, downtime and costs count only for runs that converged (a cancelled run's short
    time is not a win); a row is marked only when its values differ. Guest-cost rows that
    are zero for every setting are left out, so each unit has its own row.
    """
    import pandas as pd

    labels = list(results)
    rows: dict[str, list[str]] = {}
    for name, get, fmt, smaller in _COMPARE_ROWS:
        values = [float(get(results[label])) for label in labels]
        if name.startswith("guest cost") and not any(values):
            continue
        cells = [fmt(v) for v in values]
        if name in ("downtime",):
            cells = [c if results[label].converged else "— (no switchover)"
                     for c, label in zip(cells, labels, strict=True)]
        ok = [v for v, label in zip(values, labels, strict=True) if results[label].converged]
        if smaller is not None and len(ok) > 1 and len(set(ok)) > 1:
            best = min(ok) if smaller else max(ok)
            cells = [BEST + c if v == best and results[label].converged else c
                     for c, v, label in zip(cells, values, labels, strict=True)]
        rows[name] = cells
    return pd.DataFrame.from_dict(rows, orient="index", columns=labels)


def apply_editor_delta(frame: Any, delta: Mapping[str, Any]) -> Any:
    """``frame`` with one ``st.data_editor`` edit applied (its ``edited_rows``, then
    ``deleted_rows``, then ``added_rows``), re-indexed from 0.

        >>> import pandas as pd
        >>> df = pd.DataFrame({"label": ["a", "b", "c"]})
        >>> apply_editor_delta(df, {"edited_rows": {0: {"label": "z"}}, "deleted_rows": [1],
        ...                         "added_rows": [{"label": "d"}]})["label"].tolist()
        ['z', 'c', 'd']
    """
    import pandas as pd

    out = frame.copy()
    for row, values in delta.get("edited_rows", {}).items():
        for column, value in values.items():
            out.loc[out.index[int(row)], column] = value
    out = out.drop(index=[out.index[int(i)] for i in delta.get("deleted_rows", [])])
    added = [dict(r) for r in delta.get("added_rows", [])]
    if added:
        out = pd.concat([out, pd.DataFrame(added, columns=out.columns)], ignore_index=True)
    return out.reset_index(drop=True)

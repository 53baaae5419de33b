"""Numbers for people: settings and tables in units, and widget text that reads back.

Two kinds of text live here. The form's text boxes need text that reads back *exactly*
(:func:`human_size`, :func:`human_rate`, :func:`human_ms`: ``128MiB/s``, ``4097``,
``10min``); tables and captions need text that reads *well* (:func:`format_setting`:
``128 MiB/s``, ``unlimited`` where 0 means that; :func:`readable_frame`: every column in
its unit, yes/no for booleans, nothing for a missing value).

    >>> human_rate(134217728), format_setting("parameters.max-bandwidth", 134217728)
    ('128MiB/s', '128 MiB/s')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sim._exceptions import UnitError
from sim.models import UNIT_PATHS
from sim.ui._shared import is_nan, path_kind
from sim.units import (
    GiB,
    KiB,
    MiB,
    TiB,
    format_bitrate,
    format_column_value,
    format_duration,
    format_number,
    format_rate,
    format_size,
    parse_rate,
    parse_size,
)

__all__ = [
    "describe_changes",
    "format_setting",
    "human_ms",
    "human_rate",
    "human_size",
    "readable_frame",
    "setting_name",
]


def _exact(n: int, units: Sequence[tuple[str, int]]) -> str:
    for name, mult in units:
        if n >= mult and n % mult == 0:
            return f"{n // mult}{name}"
    return str(n)


def human_size(n: int) -> str:
    """A byte count as QEMU-style text that reads back exactly: ``64MiB``, ``4097``."""
    return _exact(n, (("TiB", TiB), ("GiB", GiB), ("MiB", MiB), ("KiB", KiB)))


def human_rate(n: int) -> str:
    """Bytes/s as text that reads back exactly: ``128MiB/s``; ``0`` stays ``0``."""
    text = human_size(n)
    return text if text.isdigit() else f"{text}/s"


def human_ms(ms: float) -> str:
    """Milliseconds as text that reads back exactly: ``300ms``, ``2s``, ``10min``."""
    if ms and ms % 60000 == 0:
        return f"{ms / 60000:g}min"
    if ms and ms % 1000 == 0:
        return f"{ms / 1000:g}s"
    if ms == int(ms) or ms >= 1:
        return f"{ms:g}ms"
    return f"{ms * 1000:g}us"




def format_setting(path: str, value: object) -> str:
    """A scenario setting's value as people read it, with ``unlimited`` where 0 means that.

        >>> format_setting("parameters.max-bandwidth", 0)
        'unlimited'
        >>> format_setting("parameters.max-bandwidth", 134217728)
        '128 MiB/s'
        >>> format_setting("parameters.downtime-limit", 300)
        '300 ms'
        >>> format_setting("host.link", "25Gbit/s")
        '25 Gbit/s'
    """
    if value is None or is_nan(value):
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    kind = path_kind(path)
    try:
        if path == "host.link":
            return format_bitrate(parse_rate(value))
        if kind == "rate" or UNIT_PATHS.get(path) == "rate":
            bps = parse_rate(value)
            if bps == 0 and path == "parameters.max-bandwidth":
                return "unlimited"
            return format_rate(bps, bits=False)
        if kind == "size" or UNIT_PATHS.get(path) == "size":
            return format_size(parse_size(value))
        if kind == "ms" and isinstance(value, int | float):
            return format_duration(float(value) / 1000.0)
    except (UnitError, TypeError):
        return str(value)
    if isinstance(value, float):
        return format_number(value)
    return str(value)


def setting_name(path: str) -> str:
    """``parameters.max-bandwidth`` → ``max-bandwidth`` (the setting's own name)."""
    return path.split(".", 1)[1] if "." in path else path


def describe_changes(changes: Mapping[str, Any]) -> str:
    """A sweep point's settings for people: ``max-bandwidth = unlimited, downtime-limit = 1 s``."""
    return ", ".join(f"{setting_name(k)} = {format_setting(k, v)}" for k, v in changes.items()
                     if not k.startswith("capabilities."))


def _cell_for_people(value: object) -> object:
    if value is None or is_nan(value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value if isinstance(value, str) else str(value)


def readable_frame(frame: Any) -> Any:
    """A copy of ``frame`` for people: every number formatted by its column's unit, yes/no
    for booleans, nothing for a missing value (never ``None`` or ``nan``).

    Column names read as words (``lab_status`` → ``lab status``) and lose their unit suffix
    (``time_s`` → ``time``), the unit now being in each cell, unless that would leave a
    bare qualifier (``lab_bytes`` beside ``lab_status`` becomes ``lab bytes``).
    """
    out = frame.copy()
    for column in frame.columns:
        kind = frame[column].dtype.kind
        if kind in "iuf":
            out[column] = [format_column_value(column, v) for v in frame[column]]
        else:
            out[column] = [_cell_for_people(v) for v in frame[column]]
    rename = {c: str(c).replace("_", " ") for c in out.columns}
    for column in out.columns:
        for suffix in ("_bytes", "_Bps", "_ms", "_s", "_pct"):
            if column.endswith(suffix) and len(column) > len(suffix):
                stem = column[: -len(suffix)]
                bare = any(str(c).startswith(stem + "_") and c != column for c in out.columns)
                rename[column] = (column if bare else stem).replace("_", " ")
                break
    return out.rename(columns=rename)

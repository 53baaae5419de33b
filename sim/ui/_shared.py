"""What several modules of :mod:`sim.ui` share: dotted paths in scenario dicts, the cells
of the dashboard's editable tables (pandas hands over ``nan`` for an empty cell), and which
widget a QEMU parameter gets (from its QAPI type and unit in :mod:`sim.qemu.catalog`)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Final, Literal

from sim.qemu.catalog import PARAMETERS as _CATALOG
from sim.qemu.catalog import Parameter
from sim.qemu.qapi import ENUM_TYPES

WidgetKind = Literal["bool", "choice", "rate", "size", "ms", "int", "float", "text", "json"]
"""How a field is edited: a check box, a drop-down, or a text box read as a unit."""

ACCEPTS: Final[dict[str, str]] = {
    "rate": "e.g. 128MiB/s, 10Gbit/s or bytes/s",
    "size": "e.g. 64MiB or bytes",
    "ms": "e.g. 300ms, 2s or a number of ms",
    "int": "a whole number",
    "json": "JSON, empty = not set",
}


def param_kind(p: Parameter) -> WidgetKind:
    """The widget of QEMU parameter ``p``: by its QAPI type, then by its unit."""
    if p.qapi_type == "bool":
        return "bool"
    if p.qapi_type in ENUM_TYPES:
        return "choice"
    if p.qapi_type == "StrOrNull":
        return "text"
    if p.qapi_type == "BitmapMigrationNodeAliasList":
        return "json"
    if p.unit == "bytes/s":
        return "rate"
    if p.unit == "bytes":
        return "size"
    if p.unit == "ms":
        return "ms"
    return "int"


def path_kind(path: str) -> WidgetKind | None:
    """The widget of a ``parameters.<name>`` path (``"text"`` for a name the catalog does
    not have); ``None`` for a path of another section."""
    if not path.startswith("parameters."):
        return None
    name = path.split(".", 1)[1]
    return param_kind(_CATALOG[name]) if name in _CATALOG else "text"


def get_path(data: Mapping[str, Any], path: str) -> object:
    """``data["a"]["b"]`` for ``path == "a.b"``; ``None`` when a step is missing."""
    node: object = data
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def drop_path(data: dict[str, Any], path: str) -> None:
    """Remove ``path`` from ``data`` in place, if it is there."""
    *parents, last = path.split(".")
    node: object = data
    for key in parents:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(last, None)


def section_of(scenario: Mapping[str, Any], key: str) -> dict[str, Any]:
    """A copy of section ``key`` of ``scenario`` (empty when it is missing or not a mapping)."""
    value = scenario.get(key)
    return dict(value) if isinstance(value, Mapping) else {}


def is_nan(value: object) -> bool:
    """Whether ``value`` is a float NaN (pandas' empty cell)."""
    return isinstance(value, float) and math.isnan(value)


def cell_text(value: object) -> str:
    """A table cell as text: empty for a missing value, ``8`` for ``8.0``, stripped."""
    if value is None or is_nan(value):
        return ""
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value).strip()


def int_or_text(text: str) -> int | str:
    """``text`` as an int when it is a whole number, else unchanged."""
    return int(text) if re.fullmatch(r"-?[0-9]+", text) else text

"""QEMU's QAPI input visitor for migration commands: JSON in, typed values or QEMU's error.

Before any migration rule runs, QEMU's generated QAPI code walks the command's arguments
member by member, in the order the schema declares them, like a clerk ticking boxes on a
form: a string where a number belongs, a number over 255 for a ``uint8``, an unknown member,
a missing one — each has a fixed sentence (``Parameter 'multifd-channels' expects
uint8_t``, ``Parameter 'foo' is unexpected``). These use the QMP names with dashes, unlike
the range checks of :mod:`sim.qemu.checks`, which print C names with underscores.

    >>> from sim.qemu.versions import profile
    >>> visit_set_parameters({"multifd-channels": 256}, profile("8.2"))
    Traceback (most recent call last):
    ...
    sim._exceptions.QemuError: Parameter 'multifd-channels' expects uint8_t

Quirks kept on purpose: negative numbers for ``uint64``/``size`` members wrap to 2⁶⁴−n
("Need to accept negative values for backward compatibility",
``qobject_input_type_uint64``), and ``null`` for ``tls-creds``/``tls-hostname`` means ``""``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from sim._exceptions import QemuError
from sim.qemu._qobject import first_unvisited
from sim.qemu.catalog import Parameter
from sim.qemu.versions import VersionProfile

__all__ = ["ENUM_TYPES", "enum_values", "visit_capability_status", "visit_set_capabilities",
           "visit_set_parameters"]

_UINT_MAX: Final = {"uint8": (255, "uint8_t"), "uint32": (2**32 - 1, "uint32_t")}
_ENUM_VALUES: Final = {"MigMode": ("normal", "cpr-reboot"),
                       "ZeroPageDetection": ("none", "legacy", "multifd")}
# Values added later, with the release that added them (docs/qemu-versions.md §2.1).
_ENUM_ADDITIONS: Final = {"MigMode": (((10, 0), "cpr-transfer"),)}
ENUM_TYPES: Final = ("MultiFDCompression", *_ENUM_VALUES)
"""The QAPI enum types of migration parameters (their values: :func:`enum_values`)."""


def enum_values(kind: str, prof: VersionProfile) -> tuple[str, ...]:
    """The values release ``prof`` accepts for QAPI enum ``kind`` (``()`` if not an enum)."""
    if kind == "MultiFDCompression":
        return prof.multifd_compression
    added = tuple(v for since, v in _ENUM_ADDITIONS.get(kind, ()) if prof.version >= since)
    return _ENUM_VALUES.get(kind, ()) + added


def _invalid_type(name: str, expected: str) -> QemuError:
    return QemuError(f"Invalid parameter type for '{name}', expected: {expected}")


def _uint64(name: str, value: object) -> int:
    """``qobject_input_type_uint64``: integers only, negatives wrap."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise QemuError(f"Parameter '{name}' expects uint64", field=name)
    if value < 0:
        if value < -(2**63):
            raise QemuError(f"Parameter '{name}' expects uint64", field=name)
        return value + 2**64
    if value >= 2**64:
        raise QemuError(f"Parameter '{name}' expects uint64", field=name)
    return value


def _visit_member(param: Parameter, value: object, prof: VersionProfile) -> object:
    """Type-check one member the way the generated visitor does."""
    name = param.name
    kind = param.qapi_type
    if kind in ("uint64", "size"):
        return _uint64(name, value)
    if kind in _UINT_MAX:
        number = _uint64(name, value)
        limit, ctype = _UINT_MAX[kind]
        if number > limit:
            raise QemuError(f"Parameter '{name}' expects {ctype}", field=name)
        return number
    if kind == "bool":
        if not isinstance(value, bool):
            raise _invalid_type(name, "boolean")
        return value
    if kind == "StrOrNull":
        if value is None:
            return ""
        if not isinstance(value, str):
            raise _invalid_type(name, "StrOrNull")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise _invalid_type(name, "string")
        return value
    accepted = enum_values(kind, prof)
    if accepted:
        if not isinstance(value, str):
            raise _invalid_type(name, "string")
        if value not in accepted:  # input_type_enum prints the bare member name
            raise QemuError(f"Parameter '{name}' does not accept value '{value}'", field=name)
        return value
    if kind == "BitmapMigrationNodeAliasList":
        return _visit_bitmap_mapping(name, value)
    raise AssertionError(f"unknown QAPI type {kind}")  # pragma: no cover - catalog bug


def _visit_bitmap_mapping(name: str, value: object) -> object:
    if not isinstance(value, list):
        raise _invalid_type(name, "array")
    for i, item in enumerate(value):
        where = f"{name}[{i}]"
        if not isinstance(item, Mapping):
            raise _invalid_type(where, "object")
        for member in ("node-name", "alias"):
            if member not in item:
                raise QemuError(f"Parameter '{where}.{member}' is missing")
            if not isinstance(item[member], str):
                raise _invalid_type(f"{where}.{member}", "string")
        if "bitmaps" not in item:
            raise QemuError(f"Parameter '{where}.bitmaps' is missing")
        if not isinstance(item["bitmaps"], list):
            raise _invalid_type(f"{where}.bitmaps", "array")
        for j, bitmap in enumerate(item["bitmaps"]):
            _visit_bitmap_alias(f"{where}.bitmaps[{j}]", bitmap)
        extra = first_unvisited(item, [k for k in ("node-name", "alias", "bitmaps")
                                       if k in item])
        if extra is not None:
            raise QemuError(f"Parameter '{where}.{extra}' is unexpected")
    return value


def _visit_bitmap_alias(where: str, bitmap: object) -> None:
    if not isinstance(bitmap, Mapping):
        raise _invalid_type(where, "object")
    for member in ("name", "alias"):
        if member not in bitmap:
            raise QemuError(f"Parameter '{where}.{member}' is missing")
        if not isinstance(bitmap[member], str):
            raise _invalid_type(f"{where}.{member}", "string")
    if "transform" in bitmap and not isinstance(bitmap["transform"], Mapping):
        raise _invalid_type(f"{where}.transform", "object")
    extra = first_unvisited(bitmap, [k for k in ("name", "alias", "transform") if k in bitmap])
    if extra is not None:
        raise QemuError(f"Parameter '{where}.{extra}' is unexpected")


def visit_set_parameters(args: Mapping[str, object], prof: VersionProfile) -> dict[str, object]:
    """Type-check the arguments of ``migrate-set-parameters``.

    Members are visited in schema order, so the first type error in that order is the
    one reported; unknown members are reported only after every known one passed.

    Args:
        args: the ``arguments`` object of the command.
        prof: the QEMU release, which decides the members that exist.

    Returns:
        The given members with their typed values, by QMP name.

    Raises:
        QemuError: QEMU's reply to the first problem.
    """
    typed: dict[str, object] = {}
    for param in prof.parameters:
        if param.name in args:
            typed[param.name] = _visit_member(param, args[param.name], prof)
    extra = first_unvisited(args, typed)
    if extra is not None:
        raise QemuError(f"Parameter '{extra}' is unexpected", field=extra)
    return typed


def visit_capability_status(item: object, index: int,
                            prof: VersionProfile) -> tuple[str, bool]:
    """Type-check item ``index`` of ``migrate-set-capabilities``' list.

    Args:
        item: ``{"capability": name, "state": bool}``.
        index: its position in the list (QEMU's messages name ``capabilities[index]``).
        prof: the QEMU release, which decides the capability names that exist.

    Returns:
        ``(capability, state)``.

    Raises:
        QemuError: QEMU's reply to the first problem of this item.
    """
    where = f"capabilities[{index}]"
    if not isinstance(item, Mapping):
        raise _invalid_type(where, "object")
    if "capability" not in item:
        raise QemuError(f"Parameter '{where}.capability' is missing")
    cap = item["capability"]
    if not isinstance(cap, str):
        raise _invalid_type(f"{where}.capability", "string")
    if not prof.has_capability(cap):
        raise QemuError(f"Parameter 'capability' does not accept value '{cap}'", field=cap)
    if "state" not in item:
        raise QemuError(f"Parameter '{where}.state' is missing")
    state = item["state"]
    if not isinstance(state, bool):
        raise _invalid_type(f"{where}.state", "boolean")
    extra = first_unvisited(item, ("capability", "state"))
    if extra is not None:
        raise QemuError(f"Parameter '{where}.{extra}' is unexpected")
    return cap, state


def visit_set_capabilities(args: Mapping[str, object],
                           prof: VersionProfile) -> list[tuple[str, bool]]:
    """Type-check the arguments of ``migrate-set-capabilities``.

    Args:
        args: ``{"capabilities": [{"capability": name, "state": bool}, …]}``.
        prof: the QEMU release, which decides the capability names that exist.

    Returns:
        ``(capability, state)`` pairs in request order.

    Raises:
        QemuError: QEMU's reply to the first problem.
    """
    if "capabilities" not in args:
        raise QemuError("Parameter 'capabilities' is missing")
    items = args["capabilities"]
    if not isinstance(items, list):
        raise _invalid_type("capabilities", "array")
    out = [visit_capability_status(item, i, prof) for i, item in enumerate(items)]
    extra_top = first_unvisited(args, ("capabilities",))
    if extra_top is not None:
        raise QemuError(f"Parameter '{extra_top}' is unexpected")
    return out

"""Sizes, rates and durations, read the way QEMU and operators write them.

Think of this module as the customs desk at the border of miglab: every number that
arrives from a file, a form or a command line is declared here with its unit, converted
once into plain bytes, bytes per second or seconds, and from then on travels inside the
library as a bare number whose unit is in its name (``memory_bytes``, ``link_Bps``,
``timeout_s``). Nothing inside the engine ever parses text.

Sizes follow ``qemu_strtosz``: suffixes are binary, so ``64M`` is 64 MiB, exactly as
``-m 64M`` means to QEMU. ``KiB``/``MiB``/``GiB``/``TiB`` are accepted too; ``8GB`` is
refused as ambiguous rather than silently read as decimal (pydantic's ``ByteSize`` would
read it as 8·10⁹). Rates are more varied in the wild, so they follow the network
convention when the unit says so (``10Gbit/s`` and ``1.25GB/s`` are decimal) and QEMU's
binary reading otherwise (``200MiB/s``, ``128M/s``)::

    >>> parse_size("8G")
    8589934592
    >>> parse_rate("10Gbit/s")
    1250000000.0
    >>> parse_duration("300ms")
    0.3
"""

from __future__ import annotations

import math
import re
from typing import Final

from sim._exceptions import UnitError

__all__ = [
    "MAX_DURATION_S",
    "Bytes",
    "BytesPerSecond",
    "GiB",
    "KiB",
    "MAX_RATE_Bps",
    "MIN_RATE_Bps",
    "MiB",
    "Milliseconds",
    "Seconds",
    "TiB",
    "format_action_value",
    "format_bitrate",
    "format_column_value",
    "format_duration",
    "format_number",
    "format_rate",
    "format_size",
    "is_finite",
    "parse_duration",
    "parse_rate",
    "parse_size",
]

Bytes = int
"""A whole number of bytes."""
BytesPerSecond = float
"""A rate in bytes per second."""
Seconds = float
"""A duration in seconds."""
Milliseconds = float
"""A duration in milliseconds (QEMU's unit for downtime and total time)."""

KiB: Final = 1 << 10
MiB: Final = 1 << 20
GiB: Final = 1 << 30
TiB: Final = 1 << 40

MAX_DURATION_S: Final = 30 * 86400.0
"""The longest duration miglab accepts anywhere (30 days): a migration still running after
a month is not a plan, and every simulation must end within a work budget."""
MIN_RATE_Bps: Final = 1.0
"""The smallest non-zero rate accepted: 1 byte/s. Below it a 1 GiB guest would take longer
than the age of the universe to send, and the engine's arithmetic would lose its meaning."""
MAX_RATE_Bps: Final = 1e15
"""The largest rate accepted: 1 PB/s, well above any link or memory bus of today."""


def is_finite(value: object) -> bool:
    """True for an ``int`` or ``float`` that is a finite number (``bool`` is not a number).

    Unlike :func:`math.isfinite` it never raises: an integer too large for a float
    (``10**400``) is simply not finite here.

        >>> is_finite(10**400), is_finite(1.5), is_finite(float("nan")), is_finite(True)
        (False, True, False, False)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


_BINARY_LETTER = {"": 1, "b": 1, "k": KiB, "m": MiB, "g": GiB, "t": TiB, "p": 1 << 50, "e": 1 << 60}
_IEC = {"kib": KiB, "mib": MiB, "gib": GiB, "tib": TiB}
_DECIMAL_PREFIX = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_BINARY_PREFIX = {"ki": KiB, "mi": MiB, "gi": GiB, "ti": TiB}

_NUMBER = r"(?P<num>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
_SIZE_RE = re.compile(rf"^\s*{_NUMBER}\s*(?P<unit>[a-zA-Z]*)\s*$")
_RATE_RE = re.compile(rf"^\s*{_NUMBER}\s*(?P<unit>[a-zA-Z]*)\s*(?:/\s*s|ps)?\s*$")
_DURATION_RE = re.compile(rf"^\s*{_NUMBER}\s*(?P<unit>[a-zA-Zµ]*)\s*$")

_DURATION_UNITS = {
    "": 1.0,
    "s": 1.0,
    "sec": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,
    "ns": 1e-9,
    "min": 60.0,
    "m": 60.0,
    "h": 3600.0,
}

SIZE_HELP: Final = (
    "bytes as an integer, or a number with a binary suffix such as 64M, 8G, 4KiB, 2MiB"
)
RATE_HELP: Final = (
    "bytes/s as a number, or a string such as 10Gbit/s, 1.25GB/s, 200MiB/s, 128M/s"
)
DURATION_HELP: Final = "seconds as a number, or a string such as 300ms, 200us, 30s, 2min, 1h"


def _number(match: re.Match[str]) -> float:
    return float(match.group("num"))


def _refuse_negative(text: str, field: str, accepted: str, what: str) -> None:
    """A leading minus sign gets its own reason, not "cannot read this"."""
    if text.strip().startswith("-"):
        raise UnitError(field, text, accepted, f"{what} cannot be negative")


def parse_size(value: object, *, field: str = "size") -> Bytes:
    """Read a size in bytes as ``qemu_strtosz`` does.

    Args:
        value: a non-negative integer (bytes) or a string such as ``"64M"``, ``"8GiB"``,
            ``"1.5G"``, ``"4096"``.
        field: the name used in the error message.

    Returns:
        The size in bytes.

    Raises:
        UnitError: for negative numbers, unknown or ambiguous suffixes, fractions of a
            byte, booleans and anything that is not a number or a string.
    """
    if isinstance(value, bool):
        raise UnitError(field, value, SIZE_HELP)
    if isinstance(value, int):
        if value < 0:
            raise UnitError(field, value, SIZE_HELP, "a size cannot be negative")
        return _at_most_2_64(value, field, value)
    if isinstance(value, float):
        if not is_finite(value) or value < 0 or value != int(value):
            raise UnitError(field, value, SIZE_HELP, "a byte count must be a whole number")
        return _at_most_2_64(int(value), field, value)
    if not isinstance(value, str):
        raise UnitError(field, value, SIZE_HELP)
    _refuse_negative(value, field, SIZE_HELP, "a size")
    match = _SIZE_RE.match(value)
    if not match:
        raise UnitError(field, value, SIZE_HELP)
    unit = match.group("unit").lower()
    if unit in _IEC:
        mult = _IEC[unit]
    elif unit in _BINARY_LETTER:
        mult = _BINARY_LETTER[unit]
    elif unit in {"kb", "mb", "gb", "tb"}:
        raise UnitError(
            field,
            value,
            SIZE_HELP,
            f"'{match.group('unit')}' is ambiguous; write {unit[0].upper()} or "
            f"{unit[0].upper()}iB (binary, as QEMU reads it)",
        )
    else:
        raise UnitError(field, value, SIZE_HELP, f"unknown size suffix '{match.group('unit')}'")
    digits = match.group("num")
    if digits.isdigit():  # whole numbers stay exact beyond 2^53
        return _at_most_2_64(int(digits) * mult, field, value)
    number = _number(match)
    if not math.isfinite(number):
        raise UnitError(field, value, SIZE_HELP)
    if mult == 1 and number != int(number):
        raise UnitError(field, value, SIZE_HELP, "a byte count must be a whole number")
    result = number * mult
    if result >= 2**64:
        raise UnitError(field, value, SIZE_HELP, "too large (at most 2^64-1 bytes)")
    return int(result)


def _at_most_2_64(n_bytes: int, field: str, value: object) -> Bytes:
    if n_bytes >= 2**64:
        raise UnitError(field, value, SIZE_HELP, "too large (at most 2^64-1 bytes)")
    return n_bytes


def parse_rate(value: object, *, field: str = "rate") -> BytesPerSecond:
    """Read a data rate in bytes per second.

    ``bit`` units and ``bps`` are decimal bits (``10Gbit/s`` = 1.25·10⁹ B/s); ``B/s`` with a
    decimal prefix is decimal (``1.25GB/s``); ``iB/s`` and bare QEMU suffixes are binary
    (``200MiB/s``, ``128M/s`` = 128·2²⁰ B/s). A plain number is bytes per second.

    Args:
        value: a non-negative number or a string.
        field: the name used in the error message.

    Returns:
        The rate in bytes per second.

    Raises:
        UnitError: for anything else.
    """
    if isinstance(value, bool):
        raise UnitError(field, value, RATE_HELP)
    if isinstance(value, (int, float)):
        if not is_finite(value) or value < 0:
            raise UnitError(field, value, RATE_HELP, "a rate must be a finite number ≥ 0")
        return float(value) + 0.0  # + 0.0 turns -0.0 into 0.0
    if not isinstance(value, str):
        raise UnitError(field, value, RATE_HELP)
    text = value.strip()
    _refuse_negative(text, field, RATE_HELP, "a rate")
    per_second = text.endswith("/s") or text.lower().endswith("ps")
    match = _RATE_RE.match(text)
    if not match:
        raise UnitError(field, value, RATE_HELP)
    number = _number(match)
    if not math.isfinite(number):
        raise UnitError(field, value, RATE_HELP)
    unit = match.group("unit")
    if text.lower().endswith("ps") and not text.endswith("/s"):
        # "10Gbps" / "100Mbps": decimal bits per second; "125MBps": decimal bytes per second.
        # The unit pattern is greedy, so it swallowed the "ps"; drop it again.
        unit = unit[:-2]
        if not unit:
            raise UnitError(field, value, RATE_HELP, "'ps' needs a unit such as Gbps or MBps")
    factor = _rate_factor(unit, per_second)
    if factor is None:
        raise UnitError(field, value, RATE_HELP, f"unknown rate unit '{unit}'")
    if not math.isfinite(number * factor):
        raise UnitError(field, value, RATE_HELP, "too large")
    return number * factor


def _rate_factor(unit: str, per_second: bool) -> float | None:
    low = unit.lower()
    if low.endswith("bit") or (low.endswith("b") and unit.endswith("b") and len(unit) > 1
                               and not unit.endswith("iB")):
        # Gbit, Mbit, kbit, or "Mb" with a lowercase b: bits
        prefix = low[:-3] if low.endswith("bit") else low[:-1]
        if prefix in _DECIMAL_PREFIX:
            return _DECIMAL_PREFIX[prefix] / 8
        if prefix in _BINARY_PREFIX:
            return _BINARY_PREFIX[prefix] / 8
        return None
    if unit.endswith("iB"):
        return float(_BINARY_PREFIX[low[:-1]]) if low[:-1] in _BINARY_PREFIX else None
    if unit.endswith("B") and len(unit) == 2:
        return float(_DECIMAL_PREFIX[low[0]]) if low[0] in _DECIMAL_PREFIX else None
    if low in ("", "b"):
        return 1.0
    if len(low) == 1 and low in _BINARY_LETTER and per_second:
        return float(_BINARY_LETTER[low])
    return None


def parse_duration(value: object, *, field: str = "duration") -> Seconds:
    """Read a duration in seconds.

    Args:
        value: a non-negative number of seconds or a string such as ``"300ms"``,
            ``"200us"``, ``"2min"``, ``"1h"``.
        field: the name used in the error message.

    Returns:
        The duration in seconds.

    Raises:
        UnitError: for negative, non-finite or unrecognised values.
    """
    if isinstance(value, bool):
        raise UnitError(field, value, DURATION_HELP)
    if isinstance(value, (int, float)):
        if not is_finite(value) or value < 0:
            raise UnitError(field, value, DURATION_HELP, "a duration must be a finite number ≥ 0")
        return float(value) + 0.0  # + 0.0 turns -0.0 into 0.0
    if not isinstance(value, str):
        raise UnitError(field, value, DURATION_HELP)
    _refuse_negative(value, field, DURATION_HELP, "a duration")
    match = _DURATION_RE.match(value)
    if not match:
        raise UnitError(field, value, DURATION_HELP)
    unit = match.group("unit")
    if unit not in _DURATION_UNITS:
        raise UnitError(field, value, DURATION_HELP, f"unknown duration unit '{unit}'")
    number = _number(match)
    if not math.isfinite(number):
        raise UnitError(field, value, DURATION_HELP)
    if not math.isfinite(number * _DURATION_UNITS[unit]):
        raise UnitError(field, value, DURATION_HELP, "too large")
    return number * _DURATION_UNITS[unit]


def format_size(n_bytes: float) -> str:
    """Show a byte count with a binary suffix, e.g. ``format_size(3 * GiB) == '3 GiB'``."""
    for unit, mult in (("TiB", TiB), ("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if abs(n_bytes) >= mult:
            return f"{n_bytes / mult:.3g} {unit}"
    return f"{n_bytes:.0f} B"


def format_rate(bytes_per_s: float, *, bits: bool = True) -> str:
    """Show a rate both as bytes and as network bits, e.g. ``'128 MiB/s (1.07 Gbit/s)'``.

    With ``bits=False`` only the bytes form: ``'128 MiB/s'`` (tables, axes).
    """
    if not bits:
        return f"{format_size(bytes_per_s)}/s"
    bit_rate = bytes_per_s * 8
    for unit, mult in (("Tbit/s", 1e12), ("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bit_rate >= mult:
            return f"{format_size(bytes_per_s)}/s ({bit_rate / mult:.3g} {unit})"
    return f"{bytes_per_s:.0f} B/s"


def format_bitrate(bytes_per_s: float) -> str:
    """A link's rate in network bits, e.g. ``format_bitrate(1.25e9) == '10 Gbit/s'``."""
    bit_rate = bytes_per_s * 8
    for unit, mult in (("Tbit/s", 1e12), ("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bit_rate >= mult:
            return f"{bit_rate / mult:.3g} {unit}"
    return f"{bit_rate:.3g} bit/s"


def format_duration(seconds: float) -> str:
    """Show a duration with a sensible unit, e.g. ``'1 min 30 s'``, ``'250 ms'``."""
    if not math.isfinite(seconds):
        return "∞"
    if seconds >= 3600:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"
    if seconds >= 60:
        return f"{int(seconds // 60)} min {seconds % 60:.0f} s"
    if seconds >= 1:
        return f"{seconds:.3g} s"
    return f"{seconds * 1000:.3g} ms"


def format_number(x: float) -> str:
    """A plain number with at most 3 significant digits; whole numbers stay whole.

    >>> format_number(45410807.1916), format_number(0.4567), format_number(12)
    ('4.54e+07', '0.457', '12')
    """
    if not math.isfinite(x):
        return str(x)
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.3g}"


_COLUMN_FORMATS: Final = (
    ("_bytes", format_size),
    ("_Bps", lambda v: format_rate(v, bits=False)),
    ("_ms", lambda v: format_duration(v / 1000.0)),
    ("_s", format_duration),
    ("_pct", lambda v: f"{v:.3g} %"),
)


def format_column_value(column: str, value: object) -> str:
    """A table cell for people, by the unit in its column's name.

    ``remaining_bytes`` → size, ``bandwidth_Bps`` → rate, ``*_s``/``*_ms`` → duration,
    ``*_pct`` → percent, other numbers → :func:`format_number`; empty for a missing value.

    >>> format_column_value("remaining_bytes", 45410807.19), format_column_value("time_s", 2.5)
    ('43.3 MiB', '2.5 s')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    for suffix, fmt in _COLUMN_FORMATS:
        if column.endswith(suffix):
            return str(fmt(float(value)))
    return format_number(float(value))


def format_action_value(action: str, value: float | None) -> str:
    """The value of a policy action (``set-downtime-limit`` ms, ``set-max-bandwidth`` bytes/s)
    for people; 0 bytes/s is ``unlimited``.

    >>> format_action_value("set-max-bandwidth", 0), format_action_value("set-downtime-limit", 500)
    ('unlimited', '500 ms')
    """
    if value is None:
        return ""
    if "downtime" in action:
        return format_duration(value / 1000.0)
    if "bandwidth" in action:
        return "unlimited" if value == 0 else format_rate(value, bits=False)
    return format_number(value)

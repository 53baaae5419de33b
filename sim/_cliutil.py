"""What every ``miglab`` subcommand shares: one way to report a user's error, and readers
for flag values that name the flag (not a Python parameter) when they refuse one."""

from __future__ import annotations

import math
import re
from typing import Any, Final

import typer

from sim._bounded import dumps_json
from sim._exceptions import UnitError

__all__ = [
    "check_int",
    "check_number",
    "fail",
    "flag_duration_s",
    "flag_rate_Bps",
    "json_text",
]

_BARE_NUMBER: Final = re.compile(r"^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$")


def fail(message: str) -> typer.Exit:
    """Print ``miglab: message`` on stderr and return the exit (status 1) to raise."""
    typer.echo(f"miglab: {message}", err=True)
    return typer.Exit(1)


def flag_duration_s(text: str, flag: str) -> float:
    """Seconds from a duration flag such as ``--max-downtime 500ms``; a unit is required.

    A bare number is refused (``500`` could mean 500 ms or 500 s), as is anything
    :func:`sim.units.parse_duration` cannot read.

    Raises:
        typer.Exit: after printing ``miglab: --flag VALUE: …`` (status 1).
    """
    from sim.units import parse_duration

    example = "e.g. 500ms, 2s or 2min"
    if _BARE_NUMBER.match(text):
        raise fail(f"{flag} {text}: give a unit, e.g. {text.strip()}ms or "
                   f"{text.strip()}s (also us, min, h)")
    try:
        return float(parse_duration(text, field=flag))
    except UnitError as err:
        raise fail(f"{flag} {text}: cannot read this duration; expected a number ≥ 0 with "
                   f"a unit, {example}") from err


def flag_rate_Bps(text: str, flag: str) -> float:
    """Bytes/s from a rate flag such as ``--link 25Gbit/s``; a unit is required, and the
    rate must lie in the range every scenario rate does (1 byte/s to 1 PB/s).

    Raises:
        typer.Exit: after printing ``miglab: --flag VALUE: …`` (status 1).
    """
    from sim.units import MAX_RATE_Bps, MIN_RATE_Bps, parse_rate

    example = "e.g. 10Gbit/s, 1.25GB/s or 200MiB/s"
    if _BARE_NUMBER.match(text):
        raise fail(f"{flag} {text}: give a unit, {example}")
    try:
        value = float(parse_rate(text, field=flag))
    except UnitError as err:
        raise fail(f"{flag} {text}: cannot read this rate; expected a number > 0 with a "
                   f"unit, {example}") from err
    if not MIN_RATE_Bps <= value <= MAX_RATE_Bps:
        raise fail(f"{flag} {text}: a link rate must be from 1 byte/s to 1PB/s, {example}")
    return value


def check_int(value: int | None, flag: str, lo: int, hi: int | None = None) -> None:
    """Refuse an integer flag outside ``[lo, hi]``, naming the flag, value and range."""
    if value is None:
        return
    if value < lo or (hi is not None and value > hi):
        accepted = (f"a whole number ≥ {lo}" if hi is None else
                    f"a whole number from {lo} to {hi}")
        raise fail(f"{flag} {value}: expected {accepted}")


def check_number(value: float | None, flag: str, accepted: str, *, lo: float,
                 hi: float, lo_open: bool = False) -> None:
    """Refuse a number flag outside ``[lo, hi]`` (``(lo, hi]`` when ``lo_open``)."""
    if value is None:
        return
    ok = math.isfinite(value) and (value > lo if lo_open else value >= lo) and value <= hi
    if not ok:
        raise fail(f"{flag} {value:g}: expected {accepted}")


def json_text(data: Any) -> str:
    """Strict JSON for what a command prints (:func:`sim._bounded.dumps_json`): NaN and
    ±inf become ``null``, numpy scalars their values, other objects text."""
    return dumps_json(data, indent=2)

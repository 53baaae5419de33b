"""Sizes, rates and durations read the way QEMU and operators write them.

Sizes are binary as ``qemu_strtosz`` reads them (``64M`` is 64·2²⁰), rates are decimal when
the unit says so (``10Gbit/s``, ``1.25GB/s``) and binary otherwise (``200MiB/s``), and
anything unreadable is a :class:`~sim._exceptions.UnitError`, never another exception.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim._exceptions import UnitError
from sim.units import GiB, KiB, MiB, TiB, parse_duration, parse_rate, parse_size

FUZZ = settings(max_examples=300, deadline=None)

# Anything JSON or YAML can hand over, plus the float corner cases.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
# Text that looks like a quantity: digits, dots, exponents, unit letters, slashes, spaces.
unit_text = st.text(alphabet="0123456789.eE+-kKmMgGtTpPiIbBsSunµhi/ ", max_size=14)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("64M", 64 * MiB, id="qemu-letter-is-binary"),
        pytest.param("8G", 8 * GiB, id="8G"),
        pytest.param("8GiB", 8 * GiB, id="8GiB-same-as-8G"),
        pytest.param("4KiB", 4 * KiB, id="4KiB"),
        pytest.param("2MiB", 2 * MiB, id="2MiB"),
        pytest.param("1.5G", 3 * GiB // 2, id="fraction-with-suffix"),
        pytest.param("4096", 4096, id="bare-digits-are-bytes"),
        pytest.param(" 1T ", TiB, id="spaces-around"),
        pytest.param("9007199254740993", 2**53 + 1, id="exact-beyond-float-precision"),
        pytest.param("18446744073709551615", 2**64 - 1, id="largest-size"),
    ],
)
def test_size_reads_binary_suffixes(text: str, expected: int) -> None:
    """A size string means what ``-m`` means to QEMU: suffixes are powers of 1024."""
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param("8GB", "ambiguous", id="GB-is-ambiguous"),
        pytest.param("8gb", "ambiguous", id="gb-is-ambiguous"),
        pytest.param("1.5", "whole number", id="fraction-of-a-byte"),
        pytest.param(-1, "negative", id="negative"),
        pytest.param("16E", "too large", id="2^64-is-too-large"),
        pytest.param(2**64, "too large", id="int-2^64-is-too-large"),
        pytest.param("8 parsecs", "unknown size suffix", id="unknown-suffix"),
        pytest.param(True, "expected bytes", id="bool-is-not-a-size"),
        pytest.param(float("nan"), "whole number", id="nan"),
    ],
)
def test_size_refusals_say_why(value: object, reason: str) -> None:
    """A size miglab cannot read raises UnitError naming the field and the reason."""
    with pytest.raises(UnitError, match=reason) as info:
        parse_size(value, field="vm.memory")
    assert str(info.value).startswith("vm.memory: cannot read")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("10Gbit/s", 1.25e9, id="bits-are-decimal"),
        pytest.param("1.25GB/s", 1.25e9, id="decimal-bytes"),
        pytest.param("200MiB/s", 200 * MiB, id="iec-bytes-are-binary"),
        pytest.param("128M/s", 128 * MiB, id="qemu-letter-per-second-is-binary"),
        pytest.param("10Gbps", 1.25e9, id="Gbps"),
        pytest.param("100Mbps", 12.5e6, id="Mbps"),
        pytest.param("125MBps", 125e6, id="MBps-is-decimal-bytes"),
        pytest.param("1Mb/s", 125e3, id="lowercase-b-is-bits"),
        pytest.param(134217728, 134217728.0, id="plain-number-is-bytes-per-second"),
    ],
)
def test_rate_follows_the_unit_it_names(text: object, expected: float) -> None:
    """Network units read decimal, IEC and QEMU units read binary."""
    assert parse_rate(text) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("1ps", id="ps-without-unit"),
        pytest.param("10 parsecs/s", id="unknown-unit"),
        pytest.param(-5, id="negative"),
        pytest.param(float("inf"), id="infinite"),
        pytest.param("fast", id="words"),
        pytest.param(None, id="null"),
    ],
)
def test_rate_refusals_are_unit_errors(value: object) -> None:
    """A rate miglab cannot read raises UnitError."""
    with pytest.raises(UnitError):
        parse_rate(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("300ms", 0.3, id="ms"),
        pytest.param("2min", 120.0, id="min"),
        pytest.param("200us", 200e-6, id="us"),
        pytest.param("200µs", 200e-6, id="micro-sign"),
        pytest.param("30s", 30.0, id="s"),
        pytest.param("1h", 3600.0, id="h"),
        pytest.param(1.5, 1.5, id="plain-number-is-seconds"),
    ],
)
def test_duration_units(text: object, expected: float) -> None:
    """Durations accept seconds or a number with a time unit."""
    assert parse_duration(text) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("value", ["300 fortnights", "-1s", -1, float("nan"), [], "ms"])
def test_duration_refusals_are_unit_errors(value: object) -> None:
    """A duration miglab cannot read raises UnitError."""
    with pytest.raises(UnitError):
        parse_duration(value)


@pytest.mark.parametrize("parser", [parse_size, parse_rate, parse_duration])
@FUZZ
@given(value=json_values | unit_text)
def test_parsers_only_ever_raise_unit_error(parser: object, value: object) -> None:
    """Whatever arrives, a parser returns a finite non-negative number or raises UnitError."""
    assert callable(parser)
    try:
        result = parser(value)
    except UnitError:
        return
    assert isinstance(result, (int, float))
    assert not isinstance(result, bool)
    assert math.isfinite(result)
    assert result >= 0


@FUZZ
@given(data=st.data(),
       suffix=st.sampled_from([("K", KiB), ("M", MiB), ("G", GiB), ("MiB", MiB), ("", 1)]))
def test_size_round_trips_through_its_suffix(data: st.DataObject,
                                             suffix: tuple[str, int]) -> None:
    """``parse_size(f"{n}M") == n * 2**20`` exactly, for every n that fits in 64 bits."""
    text, mult = suffix
    n = data.draw(st.integers(min_value=0, max_value=(2**64 - 1) // mult))
    assert parse_size(f"{n}{text}") == n * mult


@FUZZ
@given(n=st.integers(min_value=0, max_value=2**64 - 1))
def test_size_of_a_bare_integer_string_is_exact(n: int) -> None:
    """Digits alone are bytes, without float rounding, up to 2^64-1."""
    assert parse_size(str(n)) == n
    assert parse_size(n) == n


@FUZZ
@given(n=st.integers(min_value=0, max_value=10**6))
def test_rates_decimal_and_binary_readings(n: int) -> None:
    """``{n}Gbit/s`` is n·10⁹/8 B/s, ``{n}GB/s`` is n·10⁹, ``{n}MiB/s`` is n·2²⁰."""
    assert parse_rate(f"{n}Gbit/s") == pytest.approx(n * 1e9 / 8)
    assert parse_rate(f"{n}GB/s") == pytest.approx(n * 1e9)
    assert parse_rate(f"{n}MiB/s") == n * MiB


@FUZZ
@given(n=st.integers(min_value=0, max_value=10**6))
def test_durations_scale_by_their_unit(n: int) -> None:
    """``{n}ms`` is n/1000 s and ``{n}min`` is 60·n s."""
    assert parse_duration(f"{n}ms") == pytest.approx(n / 1000)
    assert parse_duration(f"{n}min") == 60 * n


@pytest.mark.parametrize(("parse", "text"), [
    (parse_size, "-1G"), (parse_rate, "-1MiB/s"), (parse_duration, "-10min"),
    (parse_duration, " -200us"),
])
def test_a_negative_value_is_called_negative(parse: Any, text: str) -> None:
    """Not "cannot read this": the reason says what is wrong and names the field."""
    with pytest.raises(UnitError, match="cannot be negative") as err:
        parse(text, field="host.rtt")
    assert "host.rtt" in str(err.value)


def test_formatters_keep_three_significant_digits_and_say_unlimited() -> None:
    from sim.units import (
        format_action_value,
        format_bitrate,
        format_column_value,
        format_number,
        format_rate,
    )

    assert format_column_value("remaining_bytes", 45410807.1916) == "43.3 MiB"
    assert format_column_value("downtime_ms", 93.309181) == "93.3 ms"
    assert format_column_value("total_time_s", 455.324588) == "7 min 35 s"
    assert format_column_value("bandwidth_Bps", 134217728) == "128 MiB/s"
    assert format_column_value("throttle_pct", 99.0) == "99 %"
    assert format_column_value("anything", float("nan")) == ""
    assert format_number(0.123456) == "0.123"
    assert format_number(42.0) == "42"
    assert format_rate(134217728, bits=False) == "128 MiB/s"
    assert format_bitrate(25e9 / 8) == "25 Gbit/s"
    assert format_action_value("set-max-bandwidth", 0) == "unlimited"
    assert format_action_value("set-downtime-limit", 1500) == "1.5 s"


def test_readable_frame_leaves_no_raw_float_none_or_nan() -> None:
    import pandas as pd

    from sim import ui

    frame = pd.DataFrame({"time_s": [0.5, 2.25], "remaining_bytes": [45410807.1916, None],
                          "ok": [True, False], "note": [None, "x"]})
    out = ui.readable_frame(frame)
    assert list(out.columns) == ["time", "remaining", "ok", "note"]
    assert out.to_dict("records") == [
        {"time": "500 ms", "remaining": "43.3 MiB", "ok": "yes", "note": ""},
        {"time": "2.25 s", "remaining": "", "ok": "no", "note": "x"}]

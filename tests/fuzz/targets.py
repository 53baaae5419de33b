"""Every door miglab opens to outside input, with a generator of hostile input for each.

A *target* is one entry point (the file reader, the scenario validator, a policy file, an
inventory, a sweep axis, each importer, a QMP line, a dashboard link, the engine) and a
hypothesis strategy that produces what a careless or hostile user could hand it. The
contract checked for every input (issue 12):

* only :class:`~sim.MiglabError` subclasses escape (no ``KeyError``, ``RecursionError``,
  ``OverflowError``, ``UnicodeDecodeError`` …);
* whatever is printed as JSON is strict JSON (no ``NaN``/``Infinity``);
* every simulation ends, within the engine's work budget.

The suite in ``test_fuzz.py`` runs a few hundred inputs per target; the benchmark
``benchmarks/fuzz/run_fuzz.py`` runs the same targets long (≥ 10⁵ inputs) and records the
counts in ``benchmarks/fuzz/RESULTS.md``.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from sim import MiglabError
from sim._bounded import dumps_json
from sim.imports import IMPORTERS
from sim.models import POLICY_KINDS, PRESET_POLICY_KINDS

# ----------------------------------------------------------------- building blocks

_NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70), st.integers(), st.sampled_from([0, -1, 1, 2**64, 10**400]),
    st.floats(), st.sampled_from([1e-308, 1e308, float("nan"), float("inf"), -0.0, 0.5]),
)
_UNIT_TEXT = st.builds(
    lambda n, u: f"{n}{u}",
    st.sampled_from(["0", "1", "-1", "1e-308", "1e308", "1e400", "0.5", ".5", "nan", "9" * 30]),
    st.sampled_from(["", "B", "KiB", "MiB", "GiB", "TiB", "PiB", "G", "GB", "Gbit/s",
                     "MiB/s", "ms", "s", "min", "h", "ns", "us", "d", "ps", "x"]))
_SCALARS = st.one_of(st.none(), st.booleans(), _NUMBERS, _UNIT_TEXT, st.text(max_size=12))

_KEYS = st.sampled_from([
    "name", "qemu", "vm", "workload", "host", "parameters", "capabilities", "control", "seed",
    "memory", "vcpus", "page-size", "device-state", "ack-ready", "dirty-rate", "working-set",
    "dirty-curve", "pattern", "zero-fraction", "zero-layout", "compress-ratio",
    "delta-ratio", "preset", "cpu-bound", "link", "rtt", "channel-rate", "setup", "stop",
    "sync-per-gib", "zero-scan-rate", "zlib-rate", "zstd-rate", "xbzrle-rate", "profile",
    "support", "postcopy-after", "timeout", "policy", "kind", "file", "passes", "seconds",
    "max-bandwidth", "downtime-limit", "multifd-channels", "auto-converge", "postcopy-ram",
    "multifd", "xbzrle", "poll-s", "rules", "when", "do", "description",
]) | st.text(max_size=8)



def _nest(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return inner | st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=5)


_VALUES = _nest(_nest(_SCALARS))
"""Values up to two levels of lists and mappings deep (deeper input: see YAML_TEXT)."""

_SECTION = st.dictionaries(_KEYS, _VALUES, max_size=6)

SCENARIOS = st.fixed_dictionaries(
    {},
    optional={"vm": st.one_of(_SECTION, st.fixed_dictionaries(
                  {"memory": st.sampled_from(["1GiB", "16T", "4G", 2**30])},
                  optional={"vcpus": _NUMBERS, "page-size": _SCALARS})),
              "workload": _SECTION, "host": _SECTION, "parameters": _SECTION,
              "capabilities": _SECTION, "control": _SECTION, "qemu": _SCALARS,
              "seed": _SCALARS, "name": _SCALARS},
) | _SECTION
"""Scenario-shaped dicts: the right keys with wrong, extreme or absurd values."""

_YAML_BITS = st.sampled_from([
    "vm:", " memory: 1GiB", "\n", "  ", "- ", "&a ", "*a", "[", "]", "{", "}", ": ", ",",
    "!!python/object:os.system", "!!binary", "!!set", "? ", "<<: *a", "'", '"', "#", "---",
    "1:30", "010", "0x1F", ".inf", ".nan", "9" * 400, "\t", "\x00", "\u2028", "é",
    "control: {policy: {kind: nova, file: /etc/passwd}}", "a: &a [*a]", "a: 1\na: 2\n",
])
YAML_TEXT = st.one_of(
    st.lists(_YAML_BITS, max_size=30).map("".join),
    st.text(max_size=200),
    _VALUES.map(lambda v: json.dumps(v, default=str)),
)
"""YAML/JSON-ish text: real fragments (anchors, tags, flow brackets) mixed at random."""


def _call(fn: Callable[[], Any]) -> Any:
    """Run ``fn``; a MiglabError is an accepted refusal (returns ``None``)."""
    try:
        return fn()
    except MiglabError:
        return None


def _strict(value: Any) -> None:
    """Fail unless ``value`` prints as strict JSON the way miglab prints it."""
    json.loads(dumps_json(value), parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise AssertionError(f"{name} in miglab's JSON output")


# ---------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """One entry point: what it is fed and how one input is checked."""

    name: str
    inputs: st.SearchStrategy[Any]
    check: Callable[[Any, Path], None]


def _file_reader(data: bytes, tmp: Path) -> None:
    from sim.scenario import read_scenario_file

    path = tmp / "fuzz.yaml"
    path.write_bytes(data)
    _call(lambda: read_scenario_file(path))


def _scenario_text(text: str, tmp: Path) -> None:
    from sim.scenario import parse_scenario_text, validate

    data = _call(lambda: parse_scenario_text(text, "fuzz"))
    if data is not None:
        _strict(validate(data).as_dict())


def _scenario(raw: dict[str, Any], tmp: Path) -> None:
    from sim.scenario import validate

    report = validate(raw)
    _strict(report.as_dict())


def _policy_file(text: str, tmp: Path) -> None:
    from sim.policies import policy_dirs
    from sim.scenario import validate

    (tmp / "p.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    with policy_dirs([tmp]):
        report = validate({"vm": {"memory": "1GiB"},
                           "control": {"policy": {"kind": "nova", "file": "p"}}})
    _strict(report.as_dict())


def _policy(raw: dict[str, Any], tmp: Path) -> None:
    from sim.policies import check_policy

    for kind in POLICY_KINDS:
        _call(lambda k=kind: check_policy({**raw, "kind": k}))  # type: ignore[misc]


def _inventory(raw: dict[str, Any], tmp: Path) -> None:
    from sim.fleet import load_inventory

    _call(lambda: load_inventory(raw))


def _inventory_file(text: str, tmp: Path) -> None:
    from sim.fleet import load_inventory

    for suffix in (".yaml", ".csv"):
        path = tmp / f"inv{suffix}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        _call(lambda p=path: load_inventory(p))  # type: ignore[misc]


def _axis(spec: str, tmp: Path) -> None:
    from sim.sweep import expand, parse_axis

    axis = _call(lambda: parse_axis(spec))
    if axis is not None:
        _call(lambda: expand([axis]))


_AXES = st.one_of(
    st.text(max_size=40),
    st.builds(lambda k, a, b, n: f"{k}={a}:{b}:{n}",
              st.sampled_from(["host.link", "downtime-limit", "vm.vcpus", "x", ""]),
              _UNIT_TEXT, _UNIT_TEXT,
              st.sampled_from(["3", "log3", "rand2", "0", "1000000000000", "9" * 50])),
    st.lists(_UNIT_TEXT, max_size=5).map(lambda v: "downtime-limit=" + ",".join(v)),
)


def _importer(args: tuple[str, str], tmp: Path) -> None:
    from sim.imports import import_text

    fmt, text = args
    data = _call(lambda: import_text(text, fmt, {"vm": {"memory": "1GiB"}}))
    if data is not None:
        _strict(data)


_IMPORTS = st.tuples(
    st.sampled_from(sorted(IMPORTERS)),
    st.one_of(YAML_TEXT,
              st.lists(st.sampled_from(["virsh", "migrate", "--live", "--bandwidth", "9" * 400,
                                        "--timeout", "-5", "timeout", "--signal=INT", "1e9",
                                        "--postcopy", "vm", "qemu+ssh://b/system", "'",
                                        "--comp-methods", "xbzrle"]), max_size=12)
              .map(" ".join),
              _VALUES.map(lambda v: json.dumps({"execute": "migrate-set-parameters",
                                                "arguments": v}, default=str))))


def _qmp_line(text: str, tmp: Path) -> None:
    from sim.qemu import QmpMonitor

    _strict(QmpMonitor("7.2").execute_text(text))


_QMP = st.one_of(
    st.text(max_size=80),
    _VALUES.map(lambda v: json.dumps({"execute": "query-status", "id": v}, default=str)),
    st.sampled_from(['{"execute": "query-status", "id": NaN}',
                     '{"execute": "query-status", "id": 1e999}',
                     '{"execute": "query-status", "id": ' + "[" * 900 + "]" * 900 + "}",
                     '{"execute": "a", "execute": "b"}']),
)


def _token(token: str, tmp: Path) -> None:
    from sim.ui import decode_scenario

    data = _call(lambda: decode_scenario(token))
    if data is not None:
        _scenario(data, tmp)


def _pack(value: Any) -> str:
    raw = zlib.compress(json.dumps(value, default=str).encode())
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_TOKENS = st.one_of(st.text(max_size=60), SCENARIOS.map(_pack),
                    st.binary(max_size=200).map(lambda b: base64.urlsafe_b64encode(b)
                                                .decode()))


def _upload(args: tuple[str, bytes], tmp: Path) -> None:
    from sim.ui import parse_dirty_measurement, parse_inventory_upload, parse_upload

    name, data = args
    _call(lambda: parse_upload(data, name))
    _call(lambda: parse_inventory_upload(data, name))
    _call(lambda: parse_dirty_measurement(data, 2**30, name))


_UPLOADS = st.tuples(st.sampled_from(["u.yaml", "u.csv", "u.json"]),
                     st.one_of(st.binary(max_size=200),
                               YAML_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))))

def _simulation(raw: dict[str, Any], tmp: Path) -> None:
    """A scenario validation accepts must simulate to an end (``active``: cut at the
    horizon), with strict JSON out."""
    from sim.engine import simulate
    from sim.scenario import validate

    report = validate(raw)
    if report.scenario is None:
        return
    result = _call(lambda: simulate(report.scenario, timeline=False))  # type: ignore[arg-type]
    if result is not None:
        assert result.status in ("completed", "cancelled", "failed", "active"), result.status
        _strict(result.to_dict())


_POLICIES = st.one_of(
    st.none(),
    st.sampled_from(list(PRESET_POLICY_KINDS))
    .map(lambda k: {"kind": k}),
    st.builds(lambda poll, after: {"kind": "custom", "poll-s": poll, "rules": [
        {"when": {"after-s": after}, "do": {"set-downtime-limit": 2000}},
        {"when": {"no-progress-s": 5}, "do": {"cancel": True}}]},
        st.sampled_from(["100ms", "1s", "30s"]), st.sampled_from([0, 1, 60])),
)
SIMULATIONS = st.builds(
    lambda mem, rate, wss, link, dt, bw, caps, timeout, policy, sync: {
        "vm": {"memory": mem, "vcpus": 4},
        "workload": {"dirty-rate": rate, "working-set": wss},
        "host": {"link": link, "sync-per-gib": sync},
        "parameters": {"downtime-limit": dt, "max-bandwidth": bw},
        "capabilities": caps,
        "control": {k: v for k, v in (("timeout", timeout), ("policy", policy))
                    if v is not None},
    },
    st.sampled_from(["1GiB", "64GiB", "16TiB"]),
    st.sampled_from([0, "1B/s", "100MiB/s", "10GiB/s", "1PB/s"]),
    st.sampled_from(["4KiB", "512MiB", "1GiB"]),
    st.sampled_from(["1B/s", "1Mbit/s", "10Gbit/s", "1PB/s"]),
    st.sampled_from([0, 1, 300, 2_000_000]),
    st.sampled_from([0, 1, 134217728]),
    st.sampled_from([{}, {"auto-converge": True}, {"multifd": True}, {"xbzrle": True},
                     {"postcopy-ram": True}]),
    st.sampled_from([None, "1s", "10min", 30 * 86400]),
    _POLICIES,
    st.sampled_from(["0s", "1ms", "1h"]),
)
"""Valid-looking scenarios at the extremes: 16 TiB guests, 1 B/s links, 30-day timeouts,
pollers, every policy kind (the runs that hung or ate 7 GB in issue 12)."""

TARGETS: tuple[Target, ...] = (
    Target("file reader", st.binary(max_size=300) | YAML_TEXT.map(
        lambda t: t.encode("utf-8", "surrogatepass")), _file_reader),
    Target("scenario text", YAML_TEXT, _scenario_text),
    Target("scenario dict", SCENARIOS, _scenario),
    Target("policy options", _SECTION, _policy),
    Target("policy file", YAML_TEXT, _policy_file),
    Target("inventory dict", st.dictionaries(
        st.sampled_from(["vms", "defaults", "hosts", "name"]) | _KEYS,
        st.one_of(_VALUES, st.lists(_SECTION, max_size=3)), max_size=4), _inventory),
    Target("inventory file", YAML_TEXT, _inventory_file),
    Target("sweep axis", _AXES, _axis),
    Target("imports", _IMPORTS, _importer),
    Target("QMP line", _QMP, _qmp_line),
    Target("dashboard link", _TOKENS, _token),
    Target("uploads", _UPLOADS, _upload),
    Target("simulation", SIMULATIONS, _simulation),
)
"""Every target, in the order the benchmark reports them."""

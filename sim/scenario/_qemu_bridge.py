"""The bridge to :mod:`sim.qemu`: a scenario's ``parameters`` and ``capabilities`` applied as
``migrate-set-capabilities`` then ``migrate-set-parameters`` would apply them.

QEMU is the customs officer here: the loader hands over the two sections exactly as the
file wrote them, and :func:`check_qemu` has the named release inspect them item by item
(the QAPI visitor, then QEMU's cross-checks), collecting every refusal in QEMU's own words
instead of stopping at the first. Those problems go first in the report, marked
``source="qemu"``; a miglab hint follows when a human-form string (``"128MiB/s"``) was given
where QMP wants an integer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim._exceptions import Problem, QemuError, UnitError
from sim.qemu import (
    HostSupport,
    VersionProfile,
    check_capabilities,
    check_parameters,
    visit_set_parameters,
)
from sim.qemu.catalog import PARAMETERS
from sim.qemu.qapi import visit_capability_status
from sim.units import parse_duration, parse_rate, parse_size

__all__ = ["check_qemu"]


def _qemu_problem(err: QemuError, section: str, raw: Mapping[str, Any]) -> Problem:
    name = err.field
    key = f"{section}.{name}" if name else section
    value = raw.get(name) if name else None
    return Problem(key, value, err.desc, source="qemu")


def _hint_for_strings(raw: Mapping[str, Any], prof: VersionProfile,
                      problems: list[Problem]) -> None:
    """Add a miglab hint when a human-form string was given where QMP wants a number."""
    for name, value in raw.items():
        if not isinstance(value, str) or not prof.has_parameter(name):
            continue
        kind = prof.parameter(name).qapi_type
        if kind not in ("size", "uint64", "uint8", "uint32"):
            continue
        unit = PARAMETERS[name].unit
        try:
            number = (parse_rate(value) if unit == "bytes/s" else
                      parse_duration(value) * 1000 if unit == "ms" else parse_size(value))
        except UnitError:
            continue
        if not 0 <= number < 2**64:
            continue  # no integer to suggest: QEMU's own type error says it all
        problems.append(Problem(f"parameters.{name}", value,
                                f"parameters take QMP's plain integers ({unit or 'a count'}); "
                                f"write {int(number)}"))


def _section(raw: object, at: str, expected: str, problems: list[Problem]) -> dict[str, object]:
    """A ``capabilities``/``parameters`` section as a dict by name; not a mapping: a problem."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.append(Problem(at, raw, expected))
        return {}
    # YAML allows keys JSON cannot have (1, true, null); QMP would receive them as text.
    return {str(k): v for k, v in raw.items()}


def check_qemu(raw_params: object, raw_caps: object, prof: VersionProfile, host: HostSupport,
               problems: list[Problem], assumptions: list[str]
               ) -> tuple[dict[str, object], dict[str, bool]]:
    """Apply capabilities then parameters as ``migrate-set-*`` would, collecting every error."""
    params = prof.default_parameters()
    caps = prof.default_capabilities()
    qemu_problems: list[Problem] = []
    raw_caps = _section(raw_caps, "capabilities",
                        "expected a mapping of capability names to true/false", problems)
    new_caps = dict(caps)
    for i, (name, state) in enumerate(raw_caps.items()):
        # As one migrate-set-capabilities listing them in file order: item i.
        try:
            cap, on = visit_capability_status({"capability": name, "state": state}, i, prof)
            new_caps[cap] = on
        except QemuError as err:
            qemu_problems.append(Problem(f"capabilities.{name}", state, err.desc, "qemu"))
    outcome = check_capabilities(caps, new_caps, params, prof, host, incoming=True,
                                 collect=True)
    qemu_problems += [_qemu_problem(e, "capabilities", raw_caps) for e in outcome.errors]
    assumptions += outcome.assumptions
    if not outcome.errors:
        caps = new_caps

    raw_params = _section(raw_params, "parameters",
                          "expected a mapping of migrate-set-parameters arguments", problems)
    typed: dict[str, object] = {}
    # QEMU's visitor walks the schema's members in order and finds unknown ones last.
    order = {p.name: i for i, p in enumerate(prof.parameters)}
    for name, value in sorted(raw_params.items(), key=lambda kv: order.get(kv[0], len(order))):
        try:
            typed.update(visit_set_parameters({name: value}, prof))
        except QemuError as err:
            qemu_problems.append(Problem(f"parameters.{name}", value, err.desc, "qemu"))
    merged = params | typed
    # QEMU's mapped-ram rule reads the stored (pre-request) values: here, the defaults.
    outcome = check_parameters(merged, new_caps, prof, host, current=params, collect=True)
    qemu_problems += [_qemu_problem(e, "parameters", raw_params) for e in outcome.errors]
    assumptions += outcome.assumptions
    problems[:0] = qemu_problems
    _hint_for_strings(raw_params, prof, problems)
    return merged, new_caps


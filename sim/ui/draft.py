"""The draft: the scenario dict the dashboard is editing, before it is validated.

The dashboard keeps one scenario in file form (dash names, ``"8GiB"`` as typed) — a draft
on the clerk's desk. This module starts it (:func:`default_scenario`,
:data:`WORKLOAD_TEMPLATES`), changes it by dotted paths (:func:`apply_changes`,
:func:`replace_workload`), refuses a dict the form could not show
(:func:`check_structure`) and writes it out (:func:`scenario_json`, the cache key and the
link's content; :func:`dump_scenario`, the saved file).

    >>> apply_changes(default_scenario(), {"parameters.downtime-limit": 500})["parameters"]
    {'max-bandwidth': 134217728, 'downtime-limit': 500}
"""

from __future__ import annotations

import copy
import typing
from collections.abc import Mapping
from typing import Any, Final, Literal

import yaml
from pydantic import BaseModel

from sim._bounded import dumps_json
from sim._exceptions import ScenarioError
from sim.models import SCENARIO_KEYS, ScenarioFile
from sim.qemu.versions import DEFAULT_VERSION
from sim.scenario import set_path
from sim.ui._shared import drop_path

__all__ = [
    "WORKLOAD_TEMPLATES",
    "WorkloadMode",
    "apply_changes",
    "check_structure",
    "classes_text",
    "default_scenario",
    "dump_scenario",
    "parse_classes_text",
    "replace_workload",
    "scenario_json",
    "workload_mode",
]


def default_scenario() -> dict[str, Any]:
    """The dashboard's opening scenario: a busy 8 GiB web guest on 10 Gbit/s, default QEMU."""
    return {
        "name": "web-8g",
        "qemu": DEFAULT_VERSION,
        "vm": {"memory": "8GiB", "vcpus": 4, "page-size": "4KiB", "device-state": "1MiB"},
        "workload": {"dirty-rate": "200MiB/s", "working-set": "2GiB", "zero-fraction": 0.3,
                     "compress-ratio": 0.45},
        "host": {"link": "10Gbit/s", "rtt": "200us", "channel-rate": "1.5GiB/s"},
        "parameters": {"max-bandwidth": 134217728, "downtime-limit": 300},
        "capabilities": {"auto-converge": True},
        "control": {"timeout": "10min"},
        "seed": 1,
    }


WORKLOAD_TEMPLATES: Final[dict[str, dict[str, Any]]] = {
    "idle": {"dirty-rate": 0},
    "light (50MiB/s over 1GiB)": {"dirty-rate": "50MiB/s", "working-set": "1GiB"},
    "web (200MiB/s over 2GiB)": {"dirty-rate": "200MiB/s", "working-set": "2GiB",
                                 "zero-fraction": 0.3, "compress-ratio": 0.45},
    "database (1.5GiB/s over 8GiB)": {"dirty-rate": "1.5GiB/s", "working-set": "8GiB",
                                      "zero-fraction": 0.1, "compress-ratio": 0.6},
    "streaming (sequential 800MiB/s over 4GiB)": {"dirty-rate": "800MiB/s",
                                                  "working-set": "4GiB",
                                                  "pattern": "sequential"},
}
"""Workload values offered when ``data/workloads`` has no presets (plain scenario values)."""

WorkloadMode = Literal["rate", "curve", "classes", "preset"]


def workload_mode(scenario: Mapping[str, Any]) -> WorkloadMode:
    """How the scenario's workload is given: a preset, a measured curve, page classes, or
    a rate."""
    wl = scenario.get("workload")
    if isinstance(wl, Mapping):
        if wl.get("preset") is not None:
            return "preset"
        if wl.get("dirty-curve") is not None:
            return "curve"
        if wl.get("classes") is not None:
            return "classes"
    return "rate"


def classes_text(classes: object) -> str:
    r"""Page classes as the dashboard's box shows them: one ``size rate`` line per class.

    >>> classes_text([{"size": "32MiB", "rate": "90MiB/s"}, {"size": "480MiB", "rate": 10485760}])
    '32MiB 90MiB/s\n480MiB 10485760'
    """
    if not isinstance(classes, list):
        return ""
    return "\n".join(f"{c.get('size', '')} {c.get('rate', '')}" for c in classes
                     if isinstance(c, Mapping))


def parse_classes_text(text: str) -> list[dict[str, Any]]:
    r"""The box's ``size rate`` lines back as the scenario's ``workload.classes``.

    Values stay as written (the scenario's validation reads and checks them); a number
    without a unit is bytes or bytes/s, as in a scenario file.

    >>> parse_classes_text("32MiB 90MiB/s\n\n480MiB 10485760")
    [{'size': '32MiB', 'rate': '90MiB/s'}, {'size': '480MiB', 'rate': 10485760}]

    Raises:
        ScenarioError: A line that is not two values, naming the line.
    """
    classes: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split()
        if not words:
            continue
        if len(words) != 2:
            raise ScenarioError(f"workload.classes line {number}: {line.strip()!r}; expected "
                                "a size and a rate, e.g. '32MiB 90MiB/s'")
        size, rate = (int(w) if w.isdigit() else w for w in words)
        classes.append({"size": size, "rate": rate})
    return classes


def replace_workload(scenario: Mapping[str, Any], workload: Mapping[str, Any]
                     ) -> dict[str, Any]:
    """A copy of ``scenario`` whose workload is ``workload`` (page-content fields kept)."""
    out = copy.deepcopy(dict(scenario))
    old = out.get("workload") if isinstance(out.get("workload"), dict) else {}
    keep = {k: v for k, v in (old or {}).items()
            if k in ("zero-fraction", "compress-ratio", "delta-ratio", "cpu-bound")}
    out["workload"] = {**keep, **copy.deepcopy(dict(workload))}
    return out


def apply_changes(scenario: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``scenario`` with dotted-path ``changes`` written in (file form)."""
    out = copy.deepcopy(dict(scenario))
    for path, value in changes.items():
        if value is None:
            drop_path(out, path)
        else:
            set_path(out, path, value)
    return out


_SECTIONS: Final = tuple(k for k, f in ScenarioFile.model_fields.items()
                         if (isinstance(f.annotation, type)
                         and issubclass(f.annotation, BaseModel | dict))
                         or typing.get_origin(f.annotation) is dict)
"""The keys of a scenario and those that are sections (mappings), from the model."""


def check_structure(scenario: Mapping[str, Any], name: str = "scenario") -> dict[str, Any]:
    """Refuse a dict the form could not show: unknown top-level keys or non-mapping sections.

    Field-level problems (a bad value, QEMU's refusals) are left to :func:`sim.validate`, so
    the dashboard can show them next to their widgets.

    Raises:
        ScenarioError: naming the first structural problem.
    """
    for key in scenario:
        if key not in SCENARIO_KEYS:
            raise ScenarioError(f"{name}: unknown key {key!r}; a scenario has "
                                + ", ".join(SCENARIO_KEYS))
    for key in _SECTIONS:
        if key in scenario and scenario[key] is not None and \
                not isinstance(scenario[key], Mapping):
            raise ScenarioError(f"{name}: {key!r} must be a mapping of names to values")
    if not isinstance(scenario.get("vm"), Mapping) or "memory" not in scenario["vm"]:
        raise ScenarioError(f"{name}: needs vm.memory (the guest's RAM, e.g. 8GiB)")
    return copy.deepcopy(dict(scenario))


def scenario_json(scenario: Mapping[str, Any]) -> str:
    """Canonical JSON of a scenario (sorted keys): a stable cache key and a file body."""
    return dumps_json(scenario, sort_keys=True, separators=(",", ":"))


def dump_scenario(scenario: Mapping[str, Any], fmt: Literal["yaml", "json"] = "yaml") -> str:
    """The scenario as a YAML or JSON file body."""
    if fmt == "json":
        return dumps_json(scenario, indent=2) + "\n"
    return yaml.safe_dump(dict(scenario), sort_keys=False, allow_unicode=True)


"""The scenario: one guest, one link, one QEMU release, one set of migration settings.

A scenario is the flight plan miglab files before anything flies: the guest (memory,
vCPUs, page size, device state), how it dirties memory (a rate over a working set, or a
measured curve), the hosts and link, the exact ``migrate-set-parameters`` and
``migrate-set-capabilities`` arguments, and what the operator or management layer does
(postcopy after N passes, a timeout, a policy). The file format is YAML or JSON with dash
names, as QMP spells them::

    name: web-8g
    qemu: "8.2"
    vm: {memory: 8GiB, vcpus: 4}
    workload: {dirty-rate: 200MiB/s, working-set: 2GiB}
    host: {link: 10Gbit/s}
    parameters: {max-bandwidth: 134217728, downtime-limit: 300}
    capabilities: {auto-converge: true}

Loading reads units once (:mod:`sim.units`), fills defaults, applies presets, and checks the
parameters and capabilities through :mod:`sim.qemu` exactly as the named release would. If
anything is wrong nothing is built: :func:`load_scenario` raises
:class:`~sim.InvalidScenarioError` listing QEMU's own first error first, then every other
problem, each naming the field, the value and what is accepted.

    >>> sc = load_scenario({"vm": {"memory": "8G"}, "workload": {"dirty-rate": "100MiB/s"}})
    >>> sc.vm.memory_bytes, sc.parameters.downtime_limit
    (8589934592, 300)

The package, one idea per module:

- :mod:`~sim.scenario.model`: :class:`Scenario`, :class:`MigrationParameters`,
  :class:`Capabilities` (the validated form) and :func:`set_path` (dotted-path changes).
- :mod:`~sim.scenario.files`: :func:`read_scenario_file`, :func:`parse_scenario_text`.
- :mod:`~sim.scenario.data`: where ``data/`` is (:func:`data_path`); the presets in it
  (:func:`preset_names`, :func:`read_preset`).
- :mod:`~sim.scenario.load`: :func:`validate`, :func:`load_scenario`, the section readers.
- :mod:`~sim.scenario._qemu_bridge`: the parameters and capabilities checked by QEMU's rules.

The section models themselves (:class:`Vm`, :class:`Workload`, :class:`Host`,
:class:`Control`) are :mod:`sim.models`'; they are re-exported here.
"""

from __future__ import annotations

from sim.models import (
    POLICY_KINDS,
    PRESET_POLICY_KINDS,
    Control,
    Host,
    PostcopyAfter,
    Vm,
    Workload,
)
from sim.scenario.data import DATA_DIR, data_path, preset_names, read_preset
from sim.scenario.files import MAX_FILE_BYTES, parse_scenario_text, read_scenario_file
from sim.scenario.load import ValidationReport, load_scenario, validate
from sim.scenario.model import Capabilities, MigrationParameters, Scenario, set_path

__all__ = [
    "DATA_DIR",
    "MAX_FILE_BYTES",
    "POLICY_KINDS",
    "PRESET_POLICY_KINDS",
    "Capabilities",
    "Control",
    "Host",
    "MigrationParameters",
    "PostcopyAfter",
    "Scenario",
    "ValidationReport",
    "Vm",
    "Workload",
    "data_path",
    "load_scenario",
    "parse_scenario_text",
    "preset_names",
    "read_preset",
    "read_scenario_file",
    "set_path",
    "validate",
]

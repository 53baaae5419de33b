"""The validated scenario: :class:`Scenario` and its QEMU settings as typed mappings.

A :class:`Scenario` is the flight plan after the checks: every section read into its model
(:mod:`sim.models`), every migration parameter and capability of the release filled in
(QEMU's defaults overlaid with the file's), so the engine and the exports read plain
attributes and never parse text. Build one with :func:`sim.scenario.load_scenario`; change
one with :meth:`Scenario.with_changes`, which validates again.

    >>> from sim.scenario import load_scenario
    >>> sc = load_scenario({"vm": {"memory": "8G"}, "parameters": {"downtime-limit": 500}})
    >>> sc.parameters.downtime_limit, sc.parameters.given, sc.capabilities.multifd
    (500, frozenset({'downtime-limit'}), False)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.models import Control, Host, Vm, Workload
from sim.qemu import VersionProfile
from sim.qemu.catalog import PARAMETERS

__all__ = ["Capabilities", "MigrationParameters", "Scenario", "set_path"]


class MigrationParameters(Mapping[str, object]):
    """Every migration parameter of the release, QEMU's defaults overlaid with the scenario's.

    Behaves as a read-only mapping by QMP name; the values the engine needs are also typed
    attributes (``downtime_limit`` in ms, ``max_bandwidth`` in bytes/s, …).
    """

    def __init__(self, values: Mapping[str, object], given: frozenset[str]) -> None:
        self._values = dict(values)
        self.given = given
        """The names the scenario set explicitly (what an export must emit)."""

    def __getitem__(self, name: str) -> object:
        return self._values[name]

    def __iter__(self) -> Any:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        given = {k: self._values[k] for k in sorted(self.given)}
        return f"MigrationParameters({given})"

    def _int(self, name: str) -> int:
        value = self._values.get(name, PARAMETERS[name].default)
        return int(value) if isinstance(value, (int, bool)) else 0

    @property
    def max_bandwidth(self) -> int:
        """``max-bandwidth`` in bytes/s (0 and anything below 10 mean unlimited)."""
        return self._int("max-bandwidth")

    @property
    def downtime_limit(self) -> int:
        """``downtime-limit`` in ms."""
        return self._int("downtime-limit")

    @property
    def avail_switchover_bandwidth(self) -> int:
        """``avail-switchover-bandwidth`` in bytes/s (0 = use the measured rate)."""
        return self._int("avail-switchover-bandwidth")

    @property
    def throttle_trigger_threshold(self) -> int:
        """``throttle-trigger-threshold`` in %."""
        return self._int("throttle-trigger-threshold")

    @property
    def cpu_throttle_initial(self) -> int:
        """``cpu-throttle-initial`` in %."""
        return self._int("cpu-throttle-initial")

    @property
    def cpu_throttle_increment(self) -> int:
        """``cpu-throttle-increment`` in %."""
        return self._int("cpu-throttle-increment")

    @property
    def cpu_throttle_tailslow(self) -> bool:
        """``cpu-throttle-tailslow``."""
        return bool(self._values.get("cpu-throttle-tailslow", False))

    @property
    def max_cpu_throttle(self) -> int:
        """``max-cpu-throttle`` in %."""
        return self._int("max-cpu-throttle")

    @property
    def multifd_channels(self) -> int:
        """``multifd-channels``."""
        return self._int("multifd-channels")

    @property
    def multifd_compression(self) -> str:
        """``multifd-compression``: ``none``, ``zlib``, ``zstd``, …"""
        return str(self._values.get("multifd-compression", "none"))

    @property
    def xbzrle_cache_size(self) -> int:
        """``xbzrle-cache-size`` in bytes."""
        return self._int("xbzrle-cache-size")

    @property
    def max_postcopy_bandwidth(self) -> int:
        """``max-postcopy-bandwidth`` in bytes/s (0 = unlimited)."""
        return self._int("max-postcopy-bandwidth")

    @property
    def compress_threads(self) -> int:
        """Legacy ``compress-threads`` (0 when the release has none)."""
        return self._int("compress-threads") if "compress-threads" in self._values else 0

    @property
    def vcpu_dirty_limit(self) -> int:
        """``vcpu-dirty-limit`` in MB/s per vCPU."""
        return self._int("vcpu-dirty-limit") if "vcpu-dirty-limit" in self._values else 1


class Capabilities(Mapping[str, bool]):
    """Every capability of the release with its state; ``caps["multifd"]`` or ``caps.multifd``."""

    def __init__(self, values: Mapping[str, bool]) -> None:
        self._values = dict(values)

    def __getitem__(self, name: str) -> bool:
        return self._values.get(name, False)

    def __iter__(self) -> Any:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Capabilities({sorted(self.enabled)})"

    @property
    def enabled(self) -> frozenset[str]:
        """The names of the capabilities that are on."""
        return frozenset(k for k, v in self._values.items() if v)

    def __getattr__(self, attr: str) -> bool:
        if attr.startswith("_"):
            raise AttributeError(attr)
        return self._values.get(attr.replace("_", "-"), False)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario; build it with :func:`load_scenario`.

    Attributes:
        name: a label.
        qemu: the QEMU release profile.
        vm: the guest.
        workload: how it dirties memory.
        host: hosts and link.
        parameters: every migration parameter (defaults + the scenario's).
        capabilities: every capability of the release.
        control: operator/management actions.
        seed: recorded with the result and seeding recommend's sampler; the engine is
            deterministic and does not read it.
        assumptions: host facts that QEMU's host-dependent checks relied on.
        source: the scenario as given (dash names), for saving and exporting.
    """

    name: str
    qemu: VersionProfile
    vm: Vm
    workload: Workload
    host: Host
    parameters: MigrationParameters
    capabilities: Capabilities
    control: Control
    seed: int
    assumptions: tuple[str, ...] = ()
    source: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The scenario in file form (dash names), as it was given plus its name and seed."""
        out = json.loads(json.dumps(self.source, default=str))
        out.setdefault("name", self.name)
        out.setdefault("qemu", self.qemu.name)
        out.setdefault("seed", self.seed)
        return dict(out)

    def with_changes(self, changes: Mapping[str, Any]) -> Scenario:
        """A new validated scenario with dotted-path changes, e.g.
        ``{"parameters.downtime-limit": 500, "host.link": "25Gbit/s"}``."""
        data = self.to_dict()
        for path, value in changes.items():
            set_path(data, path, value)
        from sim.scenario.load import load_scenario  # load builds Scenario: import late

        return load_scenario(data)


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``data["a"]["b"] = value`` for ``path == "a.b"``, creating sections as needed.

    A bare parameter name such as ``"downtime-limit"`` means ``"parameters.downtime-limit"``.
    """
    parts = path.split(".")
    if len(parts) == 1 and parts[0] in PARAMETERS:
        parts = ["parameters", parts[0]]
    node = data
    for key in parts[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[parts[-1]] = value


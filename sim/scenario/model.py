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
from typing import Any, overload

from sim.models import Control, Host, Vm, Workload
from sim.qemu import VersionProfile
from sim.qemu.catalog import PARAMETERS

__all__ = ["Capabilities", "MigrationParameters", "Scenario", "set_path"]


class _Whole:
    """A typed attribute for one whole-number parameter: the scenario's value or QEMU's
    default (``absent`` when the release has no such parameter, if given)."""

    def __init__(self, name: str, doc: str, *, absent: int | None = None) -> None:
        self.name, self.absent = name, absent
        self.__doc__ = doc

    @overload
    def __get__(self, obj: None, owner: type) -> _Whole: ...

    @overload
    def __get__(self, obj: MigrationParameters, owner: type) -> int: ...

    def __get__(self, obj: MigrationParameters | None, owner: type) -> _Whole | int:
        if obj is None:
            return self
        if self.absent is not None and self.name not in obj:
            return self.absent
        return obj._int(self.name)


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

    max_bandwidth = _Whole(
        "max-bandwidth", "``max-bandwidth`` in bytes/s (0 and anything below 10 mean unlimited).")
    downtime_limit = _Whole("downtime-limit", "``downtime-limit`` in ms.")
    avail_switchover_bandwidth = _Whole(
        "avail-switchover-bandwidth",
        "``avail-switchover-bandwidth`` in bytes/s (0 = use the measured rate).")
    throttle_trigger_threshold = _Whole("throttle-trigger-threshold",
                                        "``throttle-trigger-threshold`` in %.")
    cpu_throttle_initial = _Whole("cpu-throttle-initial", "``cpu-throttle-initial`` in %.")
    cpu_throttle_increment = _Whole("cpu-throttle-increment", "``cpu-throttle-increment`` in %.")
    max_cpu_throttle = _Whole("max-cpu-throttle", "``max-cpu-throttle`` in %.")
    multifd_channels = _Whole("multifd-channels", "``multifd-channels``.")
    xbzrle_cache_size = _Whole("xbzrle-cache-size", "``xbzrle-cache-size`` in bytes.")
    max_postcopy_bandwidth = _Whole("max-postcopy-bandwidth",
                                    "``max-postcopy-bandwidth`` in bytes/s (0 = unlimited).")
    compress_threads = _Whole("compress-threads",
                              "Legacy ``compress-threads`` (0 when the release has none).",
                              absent=0)
    vcpu_dirty_limit = _Whole("vcpu-dirty-limit", "``vcpu-dirty-limit`` in MB/s per vCPU.",
                              absent=1)

    @property
    def cpu_throttle_tailslow(self) -> bool:
        """``cpu-throttle-tailslow``."""
        return bool(self._values.get("cpu-throttle-tailslow", False))

    @property
    def multifd_compression(self) -> str:
        """``multifd-compression``: ``none``, ``zlib``, ``zstd``, …"""
        return str(self._values.get("multifd-compression", "none"))


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


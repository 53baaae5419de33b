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
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from sim._bounded import MAX_INPUT_BYTES, load_yaml, read_text
from sim._exceptions import InvalidScenarioError, Problem, QemuError, ScenarioError, UnitError
from sim.qemu import (
    HostSupport,
    VersionProfile,
    check_capabilities,
    check_parameters,
    profile,
    visit_set_parameters,
)
from sim.qemu.catalog import PARAMETERS
from sim.qemu.qapi import visit_capability_status
from sim.qemu.versions import DEFAULT_VERSION
from sim.units import (
    MAX_DURATION_S,
    GiB,
    KiB,
    MAX_RATE_Bps,
    MiB,
    MIN_RATE_Bps,
    format_size,
    is_finite,
    parse_duration,
    parse_rate,
    parse_size,
)

__all__ = [
    "Capabilities",
    "Control",
    "Host",
    "MigrationParameters",
    "PostcopyAfter",
    "Scenario",
    "ValidationReport",
    "Vm",
    "Workload",
    "load_scenario",
    "read_scenario_file",
    "set_path",
    "validate",
]

DATA_DIR: Final = Path(__file__).resolve().parent.parent / "data"
_PACKAGED_DATA: Final = Path(__file__).resolve().parent / "_data"
MAX_FILE_BYTES: Final = MAX_INPUT_BYTES
"""Largest scenario file accepted (1 MiB)."""

MAX_GUEST_BYTES: Final = 1 << 52
"""The largest guest RAM accepted, 4 PiB: x86-64's 52-bit physical address space (QEMU's
``-m`` cannot go past what the target can address)."""
PAGE_SIZES: Final = (4 * KiB, 2 * MiB, GiB)
POLICY_KINDS: Final = ("nova", "kubevirt", "ovirt", "proxmox", "downtime-ramp", "custom")


def data_path(*parts: str) -> Path:
    """A file under ``data/`` in a checkout, or under the installed package's ``_data``."""
    here = DATA_DIR.joinpath(*parts)
    return here if here.exists() else _PACKAGED_DATA.joinpath(*parts)


def preset_files(kind: str) -> list[str]:
    """The names of the shipped ``data/<kind>/*.yaml`` presets (checkout or package)."""
    roots = (DATA_DIR, _PACKAGED_DATA)
    return sorted({p.stem for root in roots for p in root.joinpath(kind).glob("*.yaml")})


MAX_TIMEOUT_S: Final = MAX_DURATION_S
"""The longest ``control.timeout`` accepted: the engine follows a run that long (closed-form
jumps keep it cheap), and a migration still running after a month is not a plan."""

# ------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Vm:
    """The guest.

    Attributes:
        memory_bytes: guest RAM.
        vcpus: number of vCPUs.
        page_size_bytes: host page backing RAM: 4 KiB, 2 MiB or 1 GiB (postcopy faults
            fetch a whole host page).
        device_state_bytes: non-iterative device state sent during the downtime.
        ack_ready_s: for ``switchover-ack``: seconds after the start until the destination's
            devices are ready to acknowledge (VFIO pre-copy data loaded).
    """

    memory_bytes: int
    vcpus: int = 1
    page_size_bytes: int = 4 * KiB
    device_state_bytes: int = 1 * MiB
    ack_ready_s: float = 0.0


@dataclass(frozen=True)
class Workload:
    """How the guest dirties memory.

    Exactly one form is used: ``dirty_rate_Bps`` over ``working_set_bytes`` (a rate form),
    ``dirty_curve`` (measured: seconds since clean → fraction of RAM dirtied, fitted to page
    classes by :func:`sim.workload.curve_classes`), or ``dirty_classes`` (page classes, each
    written uniformly at its own rate: ``classes: [{size: 32MiB, rate: 90MiB/s}, …]``).

    Attributes:
        dirty_rate_Bps: bytes of pages written per second (0 = idle).
        working_set_bytes: where the writes fall; defaults to all of RAM.
        dirty_curve: ``((t_s, fraction), …)`` increasing points, or ``None``.
        dirty_classes: ``((size_bytes, rate_Bps), …)`` page classes, or ``None``.
        pattern: ``"random"`` or ``"sequential"`` walk over the working set.
        zero_fraction: share of RAM pages that are all zero.
        zero_layout: where the zero pages lie in the guest's address space: ``"spread"``
            among the others (a guest that has run a while), or ``"end"`` (a freshly booted
            guest: what it never touched is at the top, so QEMU's scan in address order
            sends every non-zero page of the first pass before the zero ones).
        compress_ratio: compressed/original size for zlib/zstd.
        delta_ratio: XBZRLE-encoded size / page size of a re-dirtied page (> 1 overflows).
        cpu_bound: dirtying needs the vCPUs, so auto-converge's throttle slows it.
        preset: the preset the values came from, if any.
    """

    dirty_rate_Bps: float = 0.0
    working_set_bytes: int | None = None
    dirty_curve: tuple[tuple[float, float], ...] | None = None
    dirty_classes: tuple[tuple[int, float], ...] | None = None
    pattern: str = "random"
    zero_fraction: float = 0.0
    zero_layout: str = "spread"
    compress_ratio: float = 0.5
    delta_ratio: float = 0.25
    cpu_bound: bool = True
    preset: str | None = None


@dataclass(frozen=True)
class Host:
    """The hosts and the link between them (defaults: a 10 Gbit/s LAN of current servers).

    Attributes:
        link_Bps: what the wire carries.
        rtt_s: round-trip time.
        channel_rate_Bps: what one sending thread (the migration thread or one multifd
            channel) can push, CPU-bound, with a core of its own (the final copy, the guest
            stopped, runs at this rate).
        running_channel_rate_Bps: what one sending thread pushes while the guest runs, when
            the guest's vCPUs slow it down (TCG, an overcommitted host); ``None``: the same
            as ``channel_rate_Bps``.
        migration_cpus: cores the sending threads share while the guest runs (e.g. 1.5 when
            the vCPUs take the rest of the host), ``None``: every thread has a core.
        setup_s: QEMU's setup phase (header, dirty logging start, first sync).
        stop_s: stopping the source vCPUs and draining I/O.
        resume_s: destination loading device state and starting the vCPUs.
        sync_s_per_gib: one dirty-bitmap sync per GiB of RAM.
        zero_scan_Bps: how fast the migration thread checks pages for zeros.
        zlib_Bps: zlib compression speed of one thread.
        zstd_Bps: zstd compression speed of one thread.
        xbzrle_Bps: XBZRLE encoding speed of the migration thread.
        link_failure_per_hour: network failures per hour (postcopy exposure risk).
        support: host facts for QEMU's host-dependent checks.
        profile: the host profile the values came from, if any.
    """

    link_Bps: float = 10e9 / 8
    rtt_s: float = 200e-6
    channel_rate_Bps: float = 1.5 * GiB
    running_channel_rate_Bps: float | None = None
    migration_cpus: float | None = None
    setup_s: float = 0.010
    stop_s: float = 0.005
    resume_s: float = 0.005
    sync_s_per_gib: float = 0.001
    zero_scan_Bps: float = 8.0 * GiB
    zlib_Bps: float = 200.0 * MiB
    zstd_Bps: float = 500.0 * MiB
    xbzrle_Bps: float = 2.0 * GiB
    link_failure_per_hour: float = 0.0
    support: HostSupport = field(default_factory=HostSupport)
    profile: str | None = None

    def while_running(self) -> Host:
        """The host as the sending threads see it while the guest runs.

        ``channel_rate_Bps`` becomes ``running_channel_rate_Bps`` when that is set; the rest
        is unchanged.
        """
        if self.running_channel_rate_Bps is None:
            return self
        return replace(self, channel_rate_Bps=self.running_channel_rate_Bps)


@dataclass(frozen=True)
class PostcopyAfter:
    """When the operator issues ``migrate-start-postcopy``: after N syncs or N seconds."""

    passes: int | None = None
    seconds: float | None = None


@dataclass(frozen=True)
class Control:
    """What the operator or management layer does around QEMU.

    Attributes:
        postcopy_after: when to switch to postcopy (needs ``postcopy-ram``), or ``None``.
        timeout_s: cancel after this long (status ``cancelled``), or ``None``.
        policy: a management policy (``{"kind": "nova", …}``), or ``None``.
    """

    postcopy_after: PostcopyAfter | None = None
    timeout_s: float | None = None
    policy: Mapping[str, Any] | None = None


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
        seed: random seed; same scenario and seed, same result.
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


# ------------------------------------------------------------------------- validation


@dataclass
class ValidationReport:
    """The outcome of :func:`validate`.

    Attributes:
        problems: every problem; the first is the error QEMU would give when QEMU's checks
            fail, otherwise the first of miglab's.
        assumptions: host facts that passing host-dependent checks relied on.
        scenario: the built scenario when valid.
    """

    problems: list[Problem] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    scenario: Scenario | None = None

    @property
    def valid(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    @property
    def qemu_error(self) -> Problem | None:
        """QEMU's own first failure, if QEMU would refuse the settings."""
        return next((p for p in self.problems if p.source == "qemu"), None)

    def as_dict(self) -> dict[str, Any]:
        """``{"valid": bool, "errors": [{"field", "value", "message"}, …]}``."""
        return {"valid": self.valid, "errors": [p.as_dict() for p in self.problems],
                "assumptions": list(self.assumptions)}


class _Reader:
    """Reads one section of the raw scenario, collecting problems instead of stopping."""

    def __init__(self, problems: list[Problem], section: str, raw: object) -> None:
        self.problems = problems
        self.section = section
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            self.report("", raw, "must be a mapping of names to values")
            raw = {}
        self.raw: Mapping[str, Any] = raw
        self.seen: set[str] = set()

    def path(self, key: str) -> str:
        return f"{self.section}.{key}" if key else self.section

    def report(self, key: str, value: object, message: str) -> None:
        self.problems.append(Problem(self.path(key), value, message))

    def has(self, key: str) -> bool:
        return key in self.raw

    def get(self, key: str, default: Any = None) -> Any:
        self.seen.add(key)
        return self.raw.get(key, default)

    def unit(self, key: str, parser: Any, default: Any) -> Any:
        """Parse ``key`` with a :mod:`sim.units` parser, or return ``default``."""
        if key not in self.raw:
            self.seen.add(key)
            return default
        value = self.get(key)
        try:
            return parser(value, field=self.path(key))
        except UnitError as err:
            self.report(key, value, f"cannot read this: {err.detail}")
            return default

    def rate(self, key: str, default: Any, *, zero: str = "") -> Any:
        """A rate in bytes/s from :data:`~sim.units.MIN_RATE_Bps` to
        :data:`~sim.units.MAX_RATE_Bps`; 0 only where ``zero`` says what it means."""
        before = len(self.problems)
        value = self.unit(key, parse_rate, default)
        if key not in self.raw or len(self.problems) > before:
            return value
        if not ((value >= MIN_RATE_Bps or (zero and value == 0)) and value <= MAX_RATE_Bps):
            accepted = f"0 ({zero}) or " if zero else ""
            self.report(key, self.raw[key], f"expected {accepted}a rate from 1 byte/s "
                        "to 1PB/s, e.g. 10Gbit/s or 200MiB/s")
            return default
        return value

    def duration(self, key: str, default: Any) -> Any:
        """A duration in seconds from 0 to :data:`~sim.units.MAX_DURATION_S` (30 days)."""
        before = len(self.problems)
        value = self.unit(key, parse_duration, default)
        if key not in self.raw or len(self.problems) > before:
            return value
        if value > MAX_DURATION_S:
            self.report(key, self.raw[key], "expected a duration of at most 30 days, "
                        "e.g. 300ms, 2min")
            return default
        return value

    def number(self, key: str, default: float, lo: float, hi: float, what: str) -> float:
        """A plain number in ``[lo, hi]``."""
        if key not in self.raw:
            self.seen.add(key)
            return default
        value = self.get(key)
        if not is_finite(value) or not lo <= value <= hi:
            self.report(key, value, f"expected {what}")
            return default
        return float(value)

    def integer(self, key: str, default: int, lo: int, hi: int) -> int:
        """A whole number in ``[lo, hi]``."""
        if key not in self.raw:
            self.seen.add(key)
            return default
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.report(key, value, f"expected a whole number from {lo} to {hi}")
            return default
        return value

    def boolean(self, key: str, default: bool) -> bool:
        if key not in self.raw:
            self.seen.add(key)
            return default
        value = self.get(key)
        if not isinstance(value, bool):
            self.report(key, value, "expected true or false")
            return default
        return value

    def choice(self, key: str, default: str, accepted: tuple[str, ...]) -> str:
        if key not in self.raw:
            self.seen.add(key)
            return default
        value = self.get(key)
        if value not in accepted:
            self.report(key, value, "expected one of " + ", ".join(accepted))
            return default
        return str(value)

    def finish(self) -> None:
        """Report keys that no reader asked for: unknown keys are errors."""
        for key in self.raw:
            if key not in self.seen:
                known = ", ".join(sorted(self.seen)) or "nothing"
                self.report(str(key), self.raw[key], f"unknown key; known keys here: {known}")


_TOP_KEYS: Final = ("name", "qemu", "vm", "workload", "host", "parameters", "capabilities",
                    "control", "seed")


def read_scenario_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON scenario file into a dict (no validation).

    The file is read through :mod:`sim._bounded`: a regular file of at most 1 MiB, UTF-8,
    YAML 1.2 numbers, no duplicate keys, no Python objects, nesting and aliases capped.

    Raises:
        ScenarioError: the file is missing, too large, not YAML/JSON, or not a mapping.
    """
    p = Path(path)
    text = read_text(p, what="scenario file", limit=MAX_FILE_BYTES, error=ScenarioError)
    return parse_scenario_text(text, str(p))


def parse_scenario_text(text: str, where: str = "scenario") -> dict[str, Any]:
    """Parse scenario text (YAML, of which JSON is a subset) into a dict, bounded as
    :func:`read_scenario_file` is.

    Raises:
        ScenarioError: not YAML/JSON, beyond the limits, or not a mapping at the top.
    """
    data = load_yaml(text, where, limit=MAX_FILE_BYTES, error=ScenarioError)
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: a scenario must be a mapping (YAML/JSON object) "
                            f"with keys such as vm, workload, parameters; got "
                            f"{type(data).__name__}")
    return data


def _load_preset(kind: str, name: object, problems: list[Problem], where: str) -> dict[str, Any]:
    if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
        problems.append(Problem(where, name, f"expected the name of a {kind} preset"))
        return {}
    path = data_path(kind, f"{name}.yaml")
    if not path.exists():
        available = preset_files(kind)
        problems.append(Problem(where, name, f"no such {kind} preset; available: "
                                              + (", ".join(available) or "none")))
        return {}
    loaded = load_yaml(read_text(path, what=f"{kind} preset"), str(path))
    values = loaded.get("values", loaded) if isinstance(loaded, dict) else {}
    return dict(values) if isinstance(values, dict) else {}


def _read_vm(raw: object, problems: list[Problem]) -> Vm:
    r = _Reader(problems, "vm", raw)
    if not r.has("memory"):
        r.report("memory", None, "required: the guest's RAM, e.g. 8GiB")
    memory = r.unit("memory", parse_size, GiB)
    if r.has("memory") and not 1 * MiB <= memory <= MAX_GUEST_BYTES:
        r.report("memory", r.raw["memory"], "expected from 1MiB to 4PiB of guest RAM")
        memory = GiB
    page = r.unit("page-size", parse_size, 4 * KiB)
    if page not in PAGE_SIZES:
        r.report("page-size", r.raw.get("page-size"), "expected 4KiB, 2MiB or 1GiB")
        page = 4 * KiB
    if memory % page:
        r.report("memory", r.raw.get("memory"),
                 f"must be a whole number of {format_size(page)} pages")
    vm = Vm(
        memory_bytes=memory,
        vcpus=r.integer("vcpus", 1, 1, 4096),
        page_size_bytes=page,
        device_state_bytes=_at_most(r, "device-state", r.unit("device-state", parse_size, MiB),
                                    MiB),
        ack_ready_s=r.duration("ack-ready", 0.0),
    )
    r.finish()
    return vm


def _at_most(r: _Reader, key: str, value: int, default: int) -> int:
    """``value`` when at most :data:`MAX_GUEST_BYTES`, else ``default`` and a problem."""
    if value <= MAX_GUEST_BYTES:
        return value
    r.report(key, r.raw.get(key), "expected at most 4PiB")
    return default


def _read_curve(r: _Reader) -> tuple[tuple[float, float], ...] | None:
    if not r.has("dirty-curve"):
        r.seen.add("dirty-curve")
        return None
    raw = r.get("dirty-curve")
    accepted = ("a list of [seconds since clean, fraction of RAM dirtied] pairs with "
                "increasing seconds > 0 and non-decreasing fractions in [0, 1]")
    if not isinstance(raw, list) or not raw:
        r.report("dirty-curve", raw, f"expected {accepted}")
        return None
    points: list[tuple[float, float]] = []
    for item in raw:
        ok = (isinstance(item, (list, tuple)) and len(item) == 2
              and all(is_finite(x) for x in item))
        if not ok:
            r.report("dirty-curve", raw, f"expected {accepted}; bad point {item!r}")
            return None
        points.append((float(item[0]), float(item[1])))
    times = [t for t, _ in points]
    fracs = [f for _, f in points]
    if (times[0] <= 0 or any(b <= a for a, b in itertools.pairwise(times))
            or any(b < a for a, b in itertools.pairwise(fracs))
            or fracs[0] < 0 or fracs[-1] > 1):
        r.report("dirty-curve", raw, f"expected {accepted}")
        return None
    return tuple(points)


def _read_classes(r: _Reader, memory_bytes: int) -> tuple[tuple[int, float], ...] | None:
    """``classes: [{size: 32MiB, rate: 90MiB/s}, …]``: page classes (issue 16)."""
    if not r.has("classes"):
        r.seen.add("classes")
        return None
    raw = r.get("classes")
    if not isinstance(raw, list) or not raw or len(raw) > 64:
        r.report("classes", raw, "expected a list of 1 to 64 page classes, e.g. "
                 "[{size: 32MiB, rate: 90MiB/s}, {size: 480MiB, rate: 10MiB/s}]")
        return None
    before = len(r.problems)
    out: list[tuple[int, float]] = []
    for i, item in enumerate(raw):
        c = _Reader(r.problems, f"{r.path('classes')}[{i}]", item)
        for key in ("size", "rate"):
            if not c.has(key) and isinstance(item, Mapping):
                c.report(key, None, "required: " + ("the class's bytes, e.g. 32MiB"
                                                     if key == "size" else
                                                     "bytes written per second into it, "
                                                     "e.g. 90MiB/s"))
        size = c.unit("size", parse_size, 0)
        rate = c.rate("rate", 0.0)
        if c.has("size") and size <= 0:
            c.report("size", c.raw.get("size"), "expected a size > 0")
        c.finish()
        out.append((int(size), float(rate)))
    total = sum(sz for sz, _ in out)
    if len(r.problems) == before and total > memory_bytes:
        r.report("classes", raw, f"the classes add up to {total} bytes, more than vm.memory "
                 f"({memory_bytes} bytes)")
    return tuple(out) if len(r.problems) == before else None


def _read_workload(raw: object, vm: Vm, problems: list[Problem]) -> Workload:
    base = raw if isinstance(raw, Mapping) else {}
    preset = base.get("preset")
    merged: dict[str, Any] = {}
    if preset is not None:
        merged.update(_load_preset("workloads", preset, problems, "workload.preset"))
        merged.pop("preset", None)
    merged.update(base)
    r = _Reader(problems, "workload", merged if isinstance(raw, Mapping) or raw is None else raw)
    r.get("preset")
    curve = _read_curve(r)
    classes = _read_classes(r, vm.memory_bytes)
    if classes is not None and base.get("classes") is not None:
        for other in ("dirty-rate", "dirty-curve", "working-set"):
            if base.get(other) is not None:
                r.report(other, base[other], "give either classes or "
                         f"{other}, not both (the classes say where and how fast)")
    if classes is not None and base.get("classes") is None and any(
            base.get(k) is not None for k in ("dirty-rate", "dirty-curve")):
        classes = None  # the scenario's own rate or curve overrides a preset's classes
    rate = r.rate("dirty-rate", 0.0, zero="an idle guest")
    if curve is not None and r.has("dirty-rate") and base.get("dirty-curve") is not None:
        r.report("dirty-rate", r.raw["dirty-rate"],
                 "give either dirty-rate (with working-set) or dirty-curve, not both")
    if curve is not None and r.has("dirty-rate") and base.get("dirty-curve") is None:
        curve = None  # the scenario's own rate overrides a preset's curve
    wss = r.unit("working-set", parse_size, None)
    memory_known = not any(p.field == "vm.memory" for p in problems)
    if wss is not None and wss > vm.memory_bytes and memory_known:
        r.report("working-set", r.raw.get("working-set"),
                 f"larger than vm.memory ({vm.memory_bytes} bytes)")
        wss = vm.memory_bytes
    if wss == 0:
        r.report("working-set", r.raw.get("working-set"), "expected a size > 0")
        wss = None
    wl = Workload(
        dirty_rate_Bps=rate,
        working_set_bytes=wss,
        dirty_curve=curve if classes is None else None,
        dirty_classes=classes,
        pattern=r.choice("pattern", "random", ("random", "sequential")),
        zero_fraction=r.number("zero-fraction", 0.0, 0.0, 1.0, "a fraction from 0 to 1"),
        zero_layout=r.choice("zero-layout", "spread", ("spread", "end")),
        compress_ratio=r.number("compress-ratio", 0.5, 0.01, 1.0,
                                "compressed/original size, from 0.01 to 1"),
        delta_ratio=r.number("delta-ratio", 0.25, 0.0, 2.0,
                             "XBZRLE delta size / page size, from 0 to 2"),
        cpu_bound=r.boolean("cpu-bound", True),
        preset=preset if isinstance(preset, str) else None,
    )
    for key in ("description", "source"):
        r.get(key)  # presets document themselves
    r.finish()
    return wl


def _read_host(raw: object, problems: list[Problem]) -> Host:
    base = raw if isinstance(raw, Mapping) else {}
    merged: dict[str, Any] = {}
    name = base.get("profile")
    if name is not None:
        merged.update(_load_preset("hosts", name, problems, "host.profile"))
    merged.update(base)
    r = _Reader(problems, "host", merged if isinstance(raw, Mapping) or raw is None else raw)
    r.get("profile")
    d = Host()
    support = _read_support(r.get("support"), problems)
    host = Host(
        link_Bps=r.rate("link", d.link_Bps),
        rtt_s=r.duration("rtt", d.rtt_s),
        channel_rate_Bps=r.rate("channel-rate", d.channel_rate_Bps),
        running_channel_rate_Bps=r.rate("running-channel-rate", None),
        migration_cpus=r.number("migration-cpus", 0.0, 1e-3, 1e6, "a number of cores > 0")
        or None,
        setup_s=r.duration("setup", d.setup_s),
        stop_s=r.duration("stop", d.stop_s),
        resume_s=r.duration("resume", d.resume_s),
        sync_s_per_gib=r.duration("sync-per-gib", d.sync_s_per_gib),
        zero_scan_Bps=r.rate("zero-scan-rate", d.zero_scan_Bps),
        zlib_Bps=r.rate("zlib-rate", d.zlib_Bps),
        zstd_Bps=r.rate("zstd-rate", d.zstd_Bps),
        xbzrle_Bps=r.rate("xbzrle-rate", d.xbzrle_Bps),
        link_failure_per_hour=r.number("link-failure-rate", 0.0, 0.0, 1e6,
                                       "failures per hour, a number ≥ 0"),
        support=support,
        profile=name if isinstance(name, str) else None,
    )
    for key in ("description", "source", "calibrated"):
        r.get(key)
    r.finish()
    return host


def _read_support(raw: object, problems: list[Problem]) -> HostSupport:
    r = _Reader(problems, "host.support", raw)
    d = HostSupport()
    support = HostSupport(
        linux=r.boolean("linux", d.linux),
        userfaultfd=r.boolean("userfaultfd", d.userfaultfd),
        write_tracking=r.choice("write-tracking", d.write_tracking,
                                ("absent", "available", "compatible")),
        kvm_dirty_ring=r.boolean("kvm-dirty-ring", d.kvm_dirty_ring),
        replication=r.boolean("replication", d.replication),
        live_block_migration=r.boolean("live-block-migration", d.live_block_migration),
        direct_io=r.boolean("direct-io", d.direct_io),
        multi_channel_transport=r.boolean("multi-channel-transport",
                                          d.multi_channel_transport),
    )
    r.finish()
    return support


def _read_control(raw: object, problems: list[Problem]) -> Control:
    r = _Reader(problems, "control", raw)
    after: PostcopyAfter | None = None
    if r.has("postcopy-after"):
        value = r.get("postcopy-after")
        after = _read_postcopy_after(value)
        if after is None:
            r.report("postcopy-after", value,
                     "expected {passes: N} (N ≥ 0 dirty-bitmap syncs after setup) or "
                     "{seconds: S} (e.g. 30 or '30s')")
    else:
        r.get("postcopy-after")
    timeout = r.duration("timeout", None)
    if timeout is not None and not 0 < timeout <= MAX_TIMEOUT_S:
        r.report("timeout", r.raw.get("timeout"),
                 "expected a duration > 0 and at most 30 days (e.g. 10min, 2h)")
        timeout = None
    policy = r.get("policy")
    if policy is not None:
        kind = policy.get("kind") if isinstance(policy, Mapping) else None
        if kind not in POLICY_KINDS:
            r.report("policy", policy, "expected a mapping with kind: one of "
                     + ", ".join(POLICY_KINDS))
            policy = None
        else:
            from sim.policies import check_policy, resolve_policy  # imports sim.scenario

            found = check_policy(policy)
            problems.extend(found)
            # keep the options a file gave, so that nothing later opens the file again
            policy = None if found else resolve_policy(policy)
    r.finish()
    return Control(postcopy_after=after, timeout_s=timeout,
                   policy=dict(policy) if isinstance(policy, Mapping) else None)


def _read_postcopy_after(value: object) -> PostcopyAfter | None:
    if not isinstance(value, Mapping) or len(value) != 1:
        return None
    if "passes" in value:
        n = value["passes"]
        if isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 100000:
            return PostcopyAfter(passes=n)
        return None
    if "seconds" in value:
        try:
            return PostcopyAfter(seconds=parse_duration(value["seconds"]))
        except UnitError:
            return None
    return None


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


def _check_qemu(raw_params: object, raw_caps: object, prof: VersionProfile, host: HostSupport,
                problems: list[Problem], assumptions: list[str]
                ) -> tuple[dict[str, object], dict[str, bool]]:
    """Apply capabilities then parameters as ``migrate-set-*`` would, collecting every error."""
    params = prof.default_parameters()
    caps = prof.default_capabilities()
    qemu_problems: list[Problem] = []
    if raw_caps is None:
        raw_caps = {}
    if not isinstance(raw_caps, Mapping):
        problems.append(Problem("capabilities", raw_caps,
                                "expected a mapping of capability names to true/false"))
        raw_caps = {}
    # YAML allows keys JSON cannot have (1, true, null); QMP would receive them as text.
    raw_caps = {str(k): v for k, v in raw_caps.items()}
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

    if raw_params is None:
        raw_params = {}
    if not isinstance(raw_params, Mapping):
        problems.append(Problem("parameters", raw_params,
                                "expected a mapping of migrate-set-parameters arguments"))
        raw_params = {}
    raw_params = {str(k): v for k, v in raw_params.items()}
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


def _check_cross(sc_caps: Mapping[str, bool], control: Control, workload: Workload,
                 problems: list[Problem]) -> None:
    if control.postcopy_after is not None and not sc_caps.get("postcopy-ram"):
        after = control.postcopy_after
        given = {"passes": after.passes} if after.passes is not None else {
            "seconds": after.seconds}
        problems.append(Problem("control.postcopy-after", given,
                                "needs capabilities.postcopy-ram: true (QEMU refuses "
                                "migrate-start-postcopy without it)"))
    if workload.dirty_curve is None and workload.dirty_classes is None and \
            workload.working_set_bytes is not None and \
            workload.dirty_rate_Bps == 0:
        problems.append(Problem("workload.working-set", workload.working_set_bytes,
                                "a working set needs a dirty-rate > 0 (or leave both out "
                                "for an idle guest)"))


def validate(source: str | Path | Mapping[str, Any]) -> ValidationReport:
    """Check a scenario and report every problem, QEMU's first failure first.

    Args:
        source: a path to a YAML/JSON file, or the scenario as a mapping.

    Returns:
        A :class:`ValidationReport`; ``report.scenario`` is set when it is valid.
    """
    report = ValidationReport()
    try:
        data = dict(source) if isinstance(source, Mapping) else read_scenario_file(source)
    except ScenarioError as err:
        report.problems.append(Problem("file", str(source), str(err)))
        return report
    problems = report.problems
    for key in data:
        if key not in _TOP_KEYS:
            problems.append(Problem(str(key), data[key],
                                    "unknown key; a scenario has " + ", ".join(_TOP_KEYS)))
    try:
        prof = profile(data.get("qemu", DEFAULT_VERSION))
    except UnitError as err:
        problems.append(Problem("qemu", data.get("qemu"), err.detail))
        prof = profile(DEFAULT_VERSION)
    name = data.get("name", "scenario")
    if not isinstance(name, str):
        problems.append(Problem("name", name, "expected a text label"))
        name = "scenario"
    seed = data.get("seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        problems.append(Problem("seed", seed, "expected a whole number from 0 to 2^32-1"))
        seed = 1
    vm = _read_vm(data.get("vm"), problems)
    workload = _read_workload(data.get("workload"), vm, problems)
    host = _read_host(data.get("host"), problems)
    control = _read_control(data.get("control"), problems)
    params, caps = _check_qemu(data.get("parameters"), data.get("capabilities"), prof,
                               host.support, problems, report.assumptions)
    _check_cross(caps, control, workload, problems)
    if problems:
        return report
    given = data.get("parameters") or {}
    report.scenario = Scenario(
        name=name, qemu=prof, vm=vm, workload=workload, host=host,
        parameters=MigrationParameters(params, frozenset(given)),
        capabilities=Capabilities(caps), control=control, seed=seed,
        assumptions=tuple(report.assumptions), source=data,
    )
    return report


def load_scenario(source: str | Path | Mapping[str, Any]) -> Scenario:
    """Load and validate a scenario.

    Args:
        source: a path to a YAML/JSON file, or the scenario as a mapping.

    Returns:
        The validated :class:`Scenario`.

    Raises:
        InvalidScenarioError: with every problem, QEMU's first failure first.
    """
    report = validate(source)
    if report.scenario is None:
        raise InvalidScenarioError(report.problems)
    return report.scenario

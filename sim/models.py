"""The pydantic models of a scenario's sections: vm, workload, host, control.

A model here is the form a user fills in, printed once: each field has its dash name (the
alias files use), its default, its unit and its bounds, and the same form gives the loader,
the JSON Schema (``miglab schema``), the generated docs/scenario.md and the dashboard's
labels. QEMU's own parameters and capabilities are not here: they are QEMU's contract and
stay in :mod:`sim.qemu`, checked message for message as the named release would.

Units are read by :mod:`sim.units` through ``BeforeValidator``s (:mod:`sim._modelkit`);
:func:`~sim._modelkit.problems_from` turns a ``ValidationError`` into miglab's problems::

    >>> Vm.model_validate({"memory": "8G", "vcpus": 4}).memory_bytes
    8589934592
    >>> try:
    ...     Vm.model_validate({"memory": "8GB"})
    ... except ValidationError as err:
    ...     print(problems_from(err, "vm")[0])  # doctest: +ELLIPSIS
    vm.memory: cannot read this: ...'GB' is ambiguous...
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BeforeValidator,
    Field,
    JsonValue,
    ModelWrapValidatorHandler,
    ValidationError,
)
from pydantic import model_validator as _model_validator

from sim._exceptions import UnitError
from sim._modelkit import (
    _NUMBER_IN,
    _SIZE_IN,
    MAX_GUEST_BYTES,
    Bool,
    Duration,
    FileModel,
    Rate,
    Size,
    _unit,
    choice,
    duration_s,
    fail,
    integer,
    number,
    problems_from,
    rate_Bps,
    size_bytes,
    text,
    unit_of,
)
from sim.qemu.catalog import CAPABILITIES, PARAMETERS
from sim.qemu.host import HostSupport
from sim.qemu.versions import DEFAULT_VERSION, VERSIONS, profile
from sim.units import MAX_DURATION_S, GiB, KiB, MiB, format_size, is_finite, parse_size

__all__ = [
    "MAX_GUEST_BYTES",
    "PAGE_SIZES",
    "POLICY_KINDS",
    "PRESET_POLICY_KINDS",
    "RULE_POLICY_KIND",
    "SCENARIO_KEYS",
    "UNIT_PATHS",
    "Control",
    "Host",
    "HostSupport",
    "PostcopyAfter",
    "ScenarioFile",
    "ValidationError",
    "Vm",
    "Workload",
    "problems_from",
]

PAGE_SIZES: Final = (4 * KiB, 2 * MiB, GiB)
MAX_TIMEOUT_S: Final = MAX_DURATION_S
"""The longest ``control.timeout`` accepted (30 days): the engine follows a run that long
(closed-form jumps keep it cheap), and a migration still running after a month is not a
plan."""




class Vm(FileModel):
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

    memory_bytes: Annotated[int, BeforeValidator(
        size_bytes(MiB, MAX_GUEST_BYTES, "expected from 1MiB to 4PiB of guest RAM"),
        json_schema_input_type=_SIZE_IN)] = Field(
        title="memory", alias="memory", description="the guest's RAM, e.g. 8GiB")
    page_size_bytes: Annotated[int, BeforeValidator(
        lambda v: _page_size(v), json_schema_input_type=_SIZE_IN)] = Field(
        4 * KiB, title="page size", alias="page-size",
        description="host page backing RAM: 4KiB, 2MiB or 1GiB; a postcopy fault fetches "
                    "a whole one")
    vcpus: Annotated[int, BeforeValidator(integer(1, 4096))] = Field(
        1, title="vCPUs",
        description="vCPUs (1–4096); auto-converge's cost to the guest is counted per vCPU")
    device_state_bytes: Size = Field(
        1 * MiB, title="device state", alias="device-state",
        description="non-iterative device state, sent during the downtime")
    ack_ready_s: Duration = Field(
        0.0, alias="ack-ready",
        description="with switchover-ack: when the destination's devices can acknowledge "
                    "(VFIO pre-copy data loaded)")

    @_model_validator(mode="wrap")
    @classmethod
    def _whole_pages(cls, data: Any, handler: ModelWrapValidatorHandler[Vm]) -> Vm:
        vm = handler(data)
        if vm.memory_bytes % vm.page_size_bytes:
            fail(f"must be a whole number of {format_size(vm.page_size_bytes)} pages",
                 at="memory", value=_given(data, "memory", vm.memory_bytes))
        return vm


def _given(data: Any, key: str, parsed: object) -> object:
    """The value as the user wrote it, for a message (the parsed one if built by name)."""
    return data.get(key, parsed) if isinstance(data, Mapping) else parsed


def _page_size(value: object) -> int:
    n: int = _unit(parse_size, value)
    if n not in PAGE_SIZES:
        fail("expected 4KiB, 2MiB or 1GiB")
    return n


CURVE_ACCEPTED: Final = ("a list of [seconds since clean, fraction of RAM dirtied] pairs "
                         "with increasing seconds > 0 and non-decreasing fractions in [0, 1]")


def _curve(raw: object) -> tuple[tuple[float, float], ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list | tuple) or not raw:
        fail(f"expected {CURVE_ACCEPTED}")
    points: list[tuple[float, float]] = []
    for item in raw:
        ok = (isinstance(item, list | tuple) and len(item) == 2
              and all(is_finite(x) for x in item))
        if not ok:
            fail(f"expected {CURVE_ACCEPTED}; bad point {item!r}")
        points.append((float(item[0]), float(item[1])))
    times = [t for t, _ in points]
    fracs = [f for _, f in points]
    if (times[0] <= 0 or any(b <= a for a, b in itertools.pairwise(times))
            or any(b < a for a, b in itertools.pairwise(fracs))
            or fracs[0] < 0 or fracs[-1] > 1):
        fail(f"expected {CURVE_ACCEPTED}")
    return tuple(points)


def _ignored(value: object) -> None:
    """Free text a preset documents itself with: accepted, not kept."""
    return None


_DocValue = Annotated[None, BeforeValidator(_ignored, json_schema_input_type=Any), Field(
    description="free text a preset or profile documents itself with")]


class PageClass(FileModel):
    """One class of guest pages, written uniformly at its own rate (issue 16)."""

    class_bytes: Annotated[int, BeforeValidator(
        size_bytes(1, MAX_GUEST_BYTES, "expected a size > 0 and at most 4PiB"),
        json_schema_input_type=_SIZE_IN)] = Field(
        alias="size", title="class size", description="the class's bytes, e.g. 32MiB")
    write_Bps: Annotated[float, BeforeValidator(
        rate_Bps(zero="a class nobody writes"), json_schema_input_type=_NUMBER_IN)] = Field(
        alias="rate", title="class write rate",
        description="bytes written per second into the class, e.g. 90MiB/s")


MAX_PAGE_CLASSES: Final = 64
"""Most page classes in one workload (a fit of a measured curve gives at most 4)."""


def _class_list(value: object) -> object:
    """``classes`` must be a list of 1 to :data:`MAX_PAGE_CLASSES` mappings."""
    if value is not None and (not isinstance(value, list | tuple)
                              or not 1 <= len(value) <= MAX_PAGE_CLASSES):
        fail(f"expected a list of 1 to {MAX_PAGE_CLASSES} page classes, e.g. "
             "[{size: 32MiB, rate: 90MiB/s}, {size: 480MiB, rate: 10MiB/s}]")
    return value


class Workload(FileModel):
    """How the guest dirties memory.

    Exactly one form is used: ``dirty_rate_Bps`` over ``working_set_bytes`` (a rate form),
    ``dirty_curve`` (measured: seconds since clean → fraction of RAM dirtied, read as the
    page classes a fit of it gives, :func:`sim.workload.curve_classes`), or ``classes``
    (page classes, each written uniformly at its own rate:
    ``classes: [{size: 32MiB, rate: 90MiB/s}, …]``).

    Attributes:
        dirty_rate_Bps: bytes of pages written per second (0 = idle).
        working_set_bytes: where the writes fall; defaults to all of RAM.
        dirty_curve: ``((t_s, fraction), …)`` increasing points, or ``None``.
        classes: the page classes, or ``None`` (:attr:`dirty_classes` as plain pairs).
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

    preset: Annotated[str | None, BeforeValidator(lambda v: v if v is None else text(v))] = \
        Field(None, description="a shipped workload preset (data/workloads) whose values "
                                "the other keys override")
    dirty_curve: Annotated[tuple[tuple[float, float], ...] | None, BeforeValidator(
        _curve, json_schema_input_type=list[tuple[float, float]])] = Field(
        None, alias="dirty-curve",
        description="measured form instead: [[seconds since clean, fraction of RAM "
                    "dirtied], …], increasing, as calc-dirty-rate / virsh domdirtyrate-calc "
                    "give it")
    classes: Annotated[tuple[PageClass, ...] | None, BeforeValidator(_class_list)] = Field(
        None,
        description="page classes instead of dirty-rate and working-set: [{size: 32MiB, "
                    "rate: 90MiB/s}, {size: 480MiB, rate: 10MiB/s}], each written "
                    "uniformly at its own rate")
    dirty_rate_Bps: Annotated[float, BeforeValidator(
        rate_Bps(zero="an idle guest"), json_schema_input_type=_NUMBER_IN)] = Field(
        0.0, title="dirty rate", alias="dirty-rate",
        description="bytes of pages written per second (0: idle)")
    working_set_bytes: Annotated[int | None, BeforeValidator(
        lambda v: None if v is None else _working_set(v),
        json_schema_input_type=_SIZE_IN)] = Field(
        None, title="working set", alias="working-set",
        description="the writes fall in this much memory (default: all of RAM)")
    pattern: Annotated[Literal["random", "sequential"],
                       BeforeValidator(choice("random", "sequential"))] = Field(
        "random", title="pattern",
        description="random writes, or a sequential sweep of the working set")
    zero_fraction: Annotated[float, BeforeValidator(number(0.0, 1.0, "a fraction from 0 to 1"))
                             ] = Field(0.0, title="zero pages (fraction)",
                                       description="share of pages that are all zero")
    zero_layout: Annotated[Literal["spread", "end"], BeforeValidator(choice("spread", "end"))
                           ] = Field("spread", title="zero pages lie", description=(
                               "where the zero pages lie: spread among the others (a guest that "
                               "has run a while) or at the end of RAM (a freshly booted guest: "
                               "the first pass sends every non-zero page before them)"))
    compress_ratio: Annotated[float, BeforeValidator(
        number(0.01, 1.0, "compressed/original size, from 0.01 to 1"))] = Field(
        0.5, title="compress ratio", description="compressed/original size for zlib/zstd")
    delta_ratio: Annotated[float, BeforeValidator(
        number(0.0, 2.0, "XBZRLE delta size / page size, from 0 to 2"))] = Field(
        0.25, description="XBZRLE delta size / page size of a re-dirtied page (> 1 overflows)")
    cpu_bound: Bool = Field(True, description="dirtying needs the vCPUs, so auto-converge's "
                                              "throttle slows it")
    description: _DocValue = Field(None, exclude=True)
    source: _DocValue = Field(None, exclude=True)

    @property
    def dirty_classes(self) -> tuple[tuple[int, float], ...] | None:
        """The page classes as ``((size_bytes, rate_Bps), …)``, or ``None``."""
        if self.classes is None:
            return None
        return tuple((c.class_bytes, c.write_Bps) for c in self.classes)

    @_model_validator(mode="wrap")
    @classmethod
    def _one_form(cls, data: Any, handler: ModelWrapValidatorHandler[Workload]) -> Workload:
        wl = handler(data)
        if wl.dirty_curve is not None and "dirty_rate_Bps" in wl.model_fields_set:
            fail("give either dirty-rate (with working-set) or dirty-curve, not both",
                 at="dirty-rate", value=_given(data, "dirty-rate", wl.dirty_rate_Bps))
        if wl.classes is not None:
            for name, key in (("dirty_rate_Bps", "dirty-rate"), ("dirty_curve", "dirty-curve"),
                              ("working_set_bytes", "working-set")):
                if name in wl.model_fields_set:
                    fail(f"give either classes or {key}, not both (the classes say where "
                         "and how fast)", at=key, value=_given(data, key, getattr(wl, name)))
        if wl.dirty_curve is None and wl.classes is None and \
                wl.working_set_bytes is not None and wl.dirty_rate_Bps == 0:
            fail("a working set needs a dirty-rate > 0 (or leave both out for an idle guest)",
                 at="working-set", value=wl.working_set_bytes)
        return wl


def _working_set(value: object) -> int:
    n: int = _unit(parse_size, value)
    if n == 0:
        fail("expected a size > 0")
    if n > MAX_GUEST_BYTES:
        fail("expected at most 4PiB")
    return n


def _optional(read: Callable[[object], Any]) -> Callable[[object], Any]:
    """``read``, with ``None`` (the key given as null) meaning "not set"."""
    return lambda v: None if v is None else read(v)


_OptionalRate = Annotated[float | None, BeforeValidator(
    _optional(rate_Bps()), json_schema_input_type=_NUMBER_IN)]
"""A rate that may be left unset (``None``: the field does not apply)."""


class Host(FileModel):
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
        migration_cpus: cores the migration threads share while the guest runs (e.g. 1.5
            when the vCPUs take the rest of the host): the sending threads, multifd's
            receiving threads and, before QEMU 8.1, the multifd migration thread, which
            spins while every channel is busy (``sim.engine.multifd.main_thread_spins``);
            ``None``: every thread has a core.
        first_touch_Bps: how fast the destination takes in pages of guest RAM it has not
            touched yet (page faults, zeroing, huge-page compaction): the first copy of a
            non-zero page goes no faster, guest running or stopped; ``None``: no limit.
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

    profile: Annotated[str | None, BeforeValidator(lambda v: v if v is None else text(v))] = \
        Field(None, description="a shipped host profile (data/hosts) whose values the other "
                                "keys override")
    support: HostSupport = Field(default_factory=HostSupport,
                                 description="host facts for QEMU's host-dependent checks")
    link_Bps: Rate = Field(10e9 / 8, title="link", alias="link",
                           description="what the wire carries")
    rtt_s: Duration = Field(200e-6, title="round-trip time", alias="rtt",
                            description="round-trip time")
    channel_rate_Bps: Rate = Field(
        1.5 * GiB, title="per-channel rate", alias="channel-rate",
        description="what one sending thread (migration thread or one multifd channel) "
                    "can push, with a core of its own")
    running_channel_rate_Bps: _OptionalRate = Field(
        None, title="per-channel rate, guest running", alias="running-channel-rate",
        description="what one sending thread pushes while the guest runs, when the vCPUs "
                    "slow it down (software emulation, an overcommitted host); none: "
                    "channel-rate")
    migration_cpus: Annotated[float | None, BeforeValidator(
        _optional(number(1e-3, 1e6, "a number of cores > 0")))] = Field(
        None, title="cores for sending", alias="migration-cpus",
        description="cores the migration threads share while the guest runs, e.g. 1.5 "
                    "when the vCPUs take the rest (before QEMU 8.1 a multifd migration "
                    "thread spins and takes its share); none: one core per thread")
    first_touch_Bps: _OptionalRate = Field(
        None, title="first-touch rate at the destination", alias="first-touch-rate",
        description="how fast the destination takes in guest RAM it has not touched yet "
                    "(page faults, zeroing): the first copy of a page goes no faster; "
                    "none: no limit")
    setup_s: Duration = Field(0.010, alias="setup", description=(
        "QEMU's setup phase: header, dirty logging start, first sync"))
    stop_s: Duration = Field(0.005, alias="stop", description=(
        "stopping the source vCPUs and draining I/O, the start of the downtime"))
    resume_s: Duration = Field(0.005, alias="resume",
                               description="destination loading device state and starting "
                                           "the vCPUs; in the downtime only with a return "
                                           "path")
    sync_s_per_gib: Duration = Field(0.001, alias="sync-per-gib",
                                     description="one dirty-bitmap sync per GiB of RAM")
    zero_scan_Bps: Rate = Field(8.0 * GiB, alias="zero-scan-rate",
                                description="how fast the migration thread checks pages "
                                            "for zeros")
    zlib_Bps: Rate = Field(200.0 * MiB, alias="zlib-rate",
                           description="zlib compression speed of one thread")
    zstd_Bps: Rate = Field(500.0 * MiB, alias="zstd-rate",
                           description="zstd compression speed of one thread")
    xbzrle_Bps: Rate = Field(2.0 * GiB, alias="xbzrle-rate",
                             description="XBZRLE encoding speed of the migration thread")
    link_failure_per_hour: Annotated[float, BeforeValidator(
        number(0.0, 1e6, "failures per hour, a number ≥ 0"))] = Field(
        0.0, alias="link-failure-rate",
        description="network failures per hour (postcopy exposure risk)")
    description: _DocValue = Field(None, exclude=True)
    source: _DocValue = Field(None, exclude=True)
    calibrated: _DocValue = Field(None, exclude=True)

    def while_running(self) -> Host:
        """The host as the sending threads see it while the guest runs.

        ``channel_rate_Bps`` becomes ``running_channel_rate_Bps`` when that is set; the rest
        is unchanged.
        """
        if self.running_channel_rate_Bps is None:
            return self
        return self.model_copy(update={"channel_rate_Bps": self.running_channel_rate_Bps})


POSTCOPY_AFTER_ACCEPTED: Final = ("expected {passes: N} (N ≥ 0 dirty-bitmap syncs after "
                                  "setup) or {seconds: S} (e.g. 30 or '30s')")


class PostcopyAfter(FileModel):
    """When the operator issues ``migrate-start-postcopy``: after N syncs or N seconds."""

    passes: Annotated[int | None, BeforeValidator(_optional(integer(0, 100000)))] = \
        Field(None, description="dirty-bitmap syncs after setup")
    seconds: Duration | None = Field(None, description="time since the start")

    @_model_validator(mode="after")
    def _exactly_one(self) -> PostcopyAfter:
        if (self.passes is None) == (self.seconds is None):
            fail(POSTCOPY_AFTER_ACCEPTED)
        return self


def _postcopy_after(value: object) -> PostcopyAfter | None:
    if value is None or isinstance(value, PostcopyAfter):
        return value
    try:
        return PostcopyAfter.model_validate(value)
    except ValidationError:
        fail(POSTCOPY_AFTER_ACCEPTED)


def _timeout(value: object) -> float | None:
    if value is None:
        return None
    t = duration_s(value)
    if not 0 < t <= MAX_TIMEOUT_S:
        fail("expected a duration > 0 and at most 30 days (e.g. 10min, 2h)")
    return t


POLICY_KINDS: Final = ("nova", "kubevirt", "ovirt", "proxmox", "downtime-ramp", "custom")
"""The ``control.policy`` kinds: the one list of policy names. Everything else derives from it
(:data:`sim.policies.MODELS` has the same, in order, and a test keeps them equal: the policy
modules build on the scenario, so this module cannot import them; ``tests/test_registry.py``
fails when the list is spelled out anywhere else)."""

RULE_POLICY_KIND: Final = "custom"
"""The kind whose options are rules rather than settings; the dashboard pickers leave it out."""

PRESET_POLICY_KINDS: Final = tuple(k for k in POLICY_KINDS if k != RULE_POLICY_KIND)
"""The kinds a picker offers by name (every kind but :data:`RULE_POLICY_KIND`)."""


def _policy(value: object) -> object:
    """A mapping with a known ``kind``; its options are checked by :mod:`sim.policies`."""
    if value is None:
        return None
    kind = value.get("kind") if isinstance(value, Mapping) else None
    if kind not in POLICY_KINDS:
        fail("expected a mapping with kind: one of " + ", ".join(POLICY_KINDS))
    return value


class Control(FileModel):
    """What the operator or management layer does around QEMU.

    Attributes:
        postcopy_after: when to switch to postcopy (needs ``postcopy-ram``), or ``None``.
        timeout_s: cancel after this long (status ``cancelled``), or ``None``.
        policy: a management policy (``{"kind": "nova", …}``), its options resolved (a
            ``file`` read once, while loading), or ``None``.
    """

    postcopy_after: Annotated[PostcopyAfter | None, BeforeValidator(
        _postcopy_after, json_schema_input_type=PostcopyAfter | None)] = Field(
        None, description="issue migrate-start-postcopy after {passes: N} syncs or "
                          "{seconds: S}; needs capabilities.postcopy-ram")
    timeout_s: Annotated[float | None, BeforeValidator(
        _timeout, json_schema_input_type=_NUMBER_IN)] = Field(
        None, title="timeout", alias="timeout",
        description="cancel after this long (status cancelled), at most 30 days. Without one "
                    "the simulation follows a run for one hour and reports one still running "
                    "then as active")
    policy: Annotated[Mapping[str, Any] | None, BeforeValidator(_policy)] = Field(
        None, title="management policy",
        description="a management policy: {kind: " + ", ".join(PRESET_POLICY_KINDS) + " or "
                    + RULE_POLICY_KIND + ", …its options}, or {kind: …, file: "
                    "nova-default.yaml} to start from a file in data/policies/")




def _json_list(names: Iterable[str]) -> list[JsonValue]:
    return list(names)


def _release(value: object) -> str:
    try:
        return profile(value).name
    except UnitError as err:
        fail(err.detail)


def _seed(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
        fail("expected a whole number from 0 to 2^32-1")
    return value


class ScenarioFile(FileModel):
    """A whole scenario file, as a user writes it (the JSON Schema and docs come from here).

    The loader (:func:`sim.scenario.validate`) reads the sections with their own models and
    hands ``parameters`` and ``capabilities`` to :mod:`sim.qemu`, which checks them as the
    named release does; this model describes the file's shape for editors and API users.
    """

    name: Annotated[str, BeforeValidator(text)] = Field(
        "scenario", description="a label for tables, reports and exports")
    qemu: Annotated[str, BeforeValidator(_release)] = Field(
        DEFAULT_VERSION, description="the QEMU release whose behaviour and checks apply",
        json_schema_extra={"enum": _json_list(VERSIONS)})
    vm: Vm = Field(description="the guest")
    workload: Workload = Field(default_factory=Workload,
                               description="how the guest dirties memory")
    host: Host = Field(default_factory=Host, description="the hosts and the link between them")
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="exactly the arguments of migrate-set-parameters for the release, in "
                    "QMP's names and units (max-bandwidth in bytes/s, downtime-limit in ms)",
        json_schema_extra={"propertyNames": {"enum": _json_list(sorted(PARAMETERS))}})
    capabilities: dict[str, bool] = Field(
        default_factory=dict, description="exactly migrate-set-capabilities: name → on/off",
        json_schema_extra={"propertyNames": {"enum": _json_list(sorted(CAPABILITIES))}})
    control: Control = Field(default_factory=Control,
                             description="what the operator or management layer does")
    seed: Annotated[int, BeforeValidator(_seed)] = Field(
        1, description="recorded with the result, and the seed of `miglab recommend`'s search "
                    "sampler; the engine draws no random numbers, so a simulation does not "
                    "depend on it")


SCENARIO_KEYS: Final = tuple(f.alias or n for n, f in ScenarioFile.model_fields.items())
"""The top-level keys of a scenario file, in order."""

UNIT_PATHS: Final[dict[str, str]] = {
    f"{section}.{f.alias or name}": unit
    for section, model in (("vm", Vm), ("workload", Workload), ("host", Host),
                           ("control", Control))
    for name, f in model.model_fields.items() if (unit := unit_of(name))}
"""Every section key whose value has a unit (``"host.link"`` → ``"rate"``), read off the
fields' names (``unit_of``): the sweep's number columns and the dashboard's formatting use
it, so a new field with a unit needs nothing else."""

"""Recommendation targets: the migration knobs each platform really exposes, as data.

A recommendation is only useful if the operator can type it in. KubeVirt has no downtime
knob, Nova ramps its downtime in steps, Proxmox counts bandwidth in MB/s and oVirt in Mbit/s
per cluster; so each target lists *its own* knobs, in its own names and units, with the
values the search tries. Like a menu per restaurant: the recommender only orders dishes
that this kitchen cooks, and the bill (the predicted outcome) is for exactly that order.

This module is the one place these lists are written; ``miglab recommend --help``, the
Recommend page, :func:`sim.recommend.recommend` and the tests all read :data:`TARGETS`.

For a platform target every candidate is a ``control.policy`` of that kind (plus, for oVirt,
the cluster's migration bandwidth), so it is simulated *through* the policy: the numbers
shown are those of the exported configuration. Settings the platform decides itself
(:attr:`Target.owns`) are taken out of the scenario before the search, so nothing the
platform cannot apply leaks into the prediction.

    >>> [k.name for k in TARGETS["kubevirt"].knobs][:2]
    ['bandwidthPerMigration', 'allowAutoConverge']
    >>> TARGETS["nova"].export_format, TARGETS["qemu"].policy_kind
    ('nova', None)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sim.units import MiB, format_rate

__all__ = [
    "OVIRT_MAX_MIGRATIONS",
    "OVIRT_SCHEDULE_NAMES",
    "TARGETS",
    "Knob",
    "Lack",
    "Target",
    "default_target",
    "format_knob",
    "setting_lines",
]

BITS_PER_MBIT: Final = 1_000_000
"""oVirt's custom migration bandwidth is in Mbit/s (10⁶ bits per second)."""

OVIRT_MAX_MIGRATIONS: Final = {"minimal-downtime": 2, "suspend-workload": 1, "post-copy": 2}
"""``maxMigrations`` of oVirt's built-in policies (docs/management-policies.md §3.6; the
post-copy policy's is not listed there, 2 is assumed **[U]**). The cluster bandwidth is
divided by it for each migration."""

OVIRT_SCHEDULE_NAMES: Final = {"minimal-downtime": "Minimal downtime",
                               "suspend-workload": "Suspend workload if needed",
                               "post-copy": "Post-copy migration"}
"""miglab's schedule names → the policy names oVirt's UI and API show."""

LINK_SHARES: Final = (0.25, 0.5, 0.75)
"""Shares of the link tried for a platform's bandwidth knob (besides its "unlimited")."""


def _floor_mib(Bps: float) -> int:
    return max(1, math.floor(Bps / MiB))


def _kubevirt_Bps(value: Any) -> float | None:
    from sim.policies.kubevirt import k8s_quantity_Bps

    Bps = k8s_quantity_Bps(value)
    return None if Bps == 0 else Bps


def _mib_Bps(value: Any) -> float | None:
    return None if int(value) == 0 else float(value) * MiB


def _ovirt_Bps(value: Any, row: Mapping[str, Any]) -> float:
    per_migration = OVIRT_MAX_MIGRATIONS[str(row.get("schedule", "minimal-downtime"))]
    return int(value) * BITS_PER_MBIT / 8 / per_migration


@dataclass(frozen=True)
class Knob:
    """One setting a target exposes, in the target's own name and unit.

    Attributes:
        name: the target's own name (``bandwidthPerMigration``, ``live_migration_downtime``).
        values: the values tried, in the target's unit.
        default: the target's default (what applies when the setting is not written).
        unit: the unit in words (``"ms"``, ``"s per GiB"``, ``"MiB/s"``, ``""`` for flags).
        doc: what it does, one line.
        from_Bps: for a bandwidth knob, bytes/s → the knob's value (whole units, rounded
            down); the search adds :data:`LINK_SHARES` of the link through it.
        to_Bps: for a bandwidth knob, the value → bytes/s, ``None`` when it means unlimited.
        unlimited: the value that means "no limit" (tried only when the whole link is allowed).
        postcopy: values that let the platform start postcopy (tried only when allowed).
        stage: 1 = part of the full grid; 2 = tried (all stage-2 combinations) around the
            best of the grid — timeouts and the actions they trigger.
        refine: numeric: try the geometric midpoint between the winner and its neighbours.
        scenario_path: ``None`` = an option of ``control.policy``; else the dotted scenario
            path the value sets (through ``to_scenario``).
        to_scenario: value (and the whole row) → the scenario value at ``scenario_path``.
        show: how a chosen value reads (default: value and unit, "unlimited" for the
            knob's unlimited value).
        follows: when the default is ``None`` (unset), the knob whose value it takes.
    """

    name: str
    values: tuple[Any, ...]
    default: Any
    unit: str
    doc: str
    from_Bps: Callable[[float], Any] | None = None
    to_Bps: Callable[[Any], float | None] | None = None
    unlimited: Any = None
    postcopy: tuple[Any, ...] = ()
    stage: int = 1
    refine: bool = False
    scenario_path: str | None = None
    to_scenario: Callable[[Any, Mapping[str, Any]], Any] | None = None
    show: Callable[[Any], str] | None = None
    follows: str | None = None

    def default_in(self, row: Mapping[str, Any]) -> Any:
        """The value that applies when the knob is not written, given the other values."""
        if self.default is None and self.follows is not None:
            return row.get(self.follows)
        return self.default


@dataclass(frozen=True)
class Lack:
    """A knob the target does not have, tried only to show what it would change.

    Attributes:
        name: what the knob is called where it exists (``downtime-limit``).
        path: the scenario path it sets (the target's policy leaves it alone).
        values: values tried.
        unit: the unit in words.
        why: why the target lacks it, and where it exists.
        extra: other scenario changes the knob needs (``capabilities.multifd: true``).
    """

    name: str
    path: str
    values: tuple[Any, ...]
    unit: str
    why: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    def changes(self, value: Any) -> dict[str, Any]:
        """The scenario changes that set this knob to ``value``."""
        return {**self.extra, self.path: value}


@dataclass(frozen=True)
class Target:
    """A platform the recommender can speak for.

    Attributes:
        name: the ``--for`` name.
        title: the product name.
        policy_kind: the ``control.policy`` kind simulating it; ``None`` for plain QEMU.
        export_format: the :data:`sim.export.EXPORTERS` format that writes its settings.
        import_format: the :data:`sim.imports.IMPORTERS` format that reads them back.
        knobs: what the search varies.
        owns: scenario paths the platform sets itself (or leaves at QEMU's default): they
            are taken out of the scenario before the search.
        lacks: knobs it does not have, tried when the budget cannot be met.
        not_searched: what it exposes but the search leaves alone, and why.
        syntax: how one setting is written in the target's files (``{name}``, ``{value}``).
    """

    name: str
    title: str
    policy_kind: str | None
    export_format: str
    import_format: str
    knobs: tuple[Knob, ...]
    owns: tuple[str, ...]
    lacks: tuple[Lack, ...] = ()
    not_searched: str = ""
    syntax: str = "{name}: {value}"

    def knob(self, name: str) -> Knob:
        """The knob called ``name``."""
        return next(k for k in self.knobs if k.name == name)


_MANAGED: Final = ("parameters.max-bandwidth", "parameters.downtime-limit",
                   "capabilities.auto-converge", "capabilities.postcopy-ram",
                   "control.timeout", "control.postcopy-after", "control.policy")
"""What every management layer decides itself: bandwidth, downtime, auto-converge, when
postcopy starts and when to give up (its own timeouts replace the scenario's)."""

QEMU_DOWNTIME_LIMITS_MS: Final = (100, 300, 500, 1000, 2000)
QEMU_BANDWIDTH_SHARES: Final = (0.25, 0.5, 0.75, 1.0)
QEMU_MULTIFD_CHANNELS: Final = (0, 2, 4, 8)
QEMU_POSTCOPY_AFTER_PASSES: Final = (None, 1)

TARGETS: Final[dict[str, Target]] = {
    "qemu": Target(
        "qemu", "QEMU/libvirt", None, "qmp", "qmp",
        knobs=(
            Knob("downtime-limit", QEMU_DOWNTIME_LIMITS_MS, 300, "ms",
                 "the longest pause QEMU plans for at switchover", refine=True),
            Knob("max-bandwidth", QEMU_BANDWIDTH_SHARES, 1.0, "share of the link",
                 "QEMU's precopy rate limit (bytes/s; searched as shares of the link)",
                 refine=True, show=format_rate),
            Knob("auto-converge", (False, True), False, "",
                 "throttle the guest's vCPUs when the migration does not converge"),
            Knob("multifd-channels", QEMU_MULTIFD_CHANNELS, 0, "channels (0 = off)",
                 "parallel sending threads",
                 show=lambda v: "multifd off" if v == 0 else f"{v} channels"),
            Knob("postcopy-after", QEMU_POSTCOPY_AFTER_PASSES, None, "passes",
                 "switch to postcopy after this many passes", postcopy=(1,),
                 show=lambda v: f"migrate-start-postcopy after {v} pass(es)"),
        ),
        owns=("parameters.downtime-limit", "parameters.max-bandwidth",
              "parameters.multifd-channels", "capabilities.auto-converge",
              "capabilities.multifd", "capabilities.postcopy-ram",
              "control.postcopy-after"),
        not_searched="compression, XBZRLE and throttle steps keep the scenario's values",
        syntax="{name} = {value}"),
    "kubevirt": Target(
        "kubevirt", "KubeVirt", "kubevirt", "kubevirt", "kubevirt-policy",
        knobs=(
            Knob("bandwidthPerMigration", (), "0Mi", "Kubernetes quantity, bytes/s",
                 "libvirt's migration speed; 0Mi = unlimited",
                 from_Bps=lambda Bps: f"{_floor_mib(Bps)}Mi", to_Bps=_kubevirt_Bps,
                 unlimited="0Mi", refine=True),
            Knob("allowAutoConverge", (False, True), False, "",
                 "let QEMU throttle the guest"),
            Knob("completionTimeoutPerGiB", (10, 20, 150), 150, "s per GiB",
                 "the completion budget: abort (or force the end) after this × GiB",
                 stage=2),
            Knob("progressTimeout", (40, 150), 150, "s",
                 "abort when remaining data has not reached a new low for this long",
                 stage=2),
            Knob("allowPostCopy", (False, True), False, "",
                 "start postcopy when the budget runs out", postcopy=(True,), stage=2),
            Knob("allowWorkloadDisruption", (False, True), None, "",
                 "when the budget runs out, force the end (postcopy, else pause) instead "
                 "of aborting; unset follows allowPostCopy", stage=2,
                 follows="allowPostCopy"),
        ),
        owns=_MANAGED,
        lacks=(Lack("downtime-limit", "parameters.downtime-limit",
                    (50, 100, 200, 500, 1000, 2000), "ms",
                    "KubeVirt has no downtime knob (VEP 248 proposes maxDowntimeMs); "
                    "QEMU's 300 ms applies"),),
        not_searched="parallel migrations per node/cluster matter only for drains "
                     "(miglab drain --policy kubevirt); downtimeTuning is behind a "
                     "feature gate (VEP 291)"),
    "nova": Target(
        "nova", "OpenStack Nova", "nova", "nova", "nova",
        knobs=(
            Knob("live_migration_downtime", (100, 300, 500, 1000, 2000), 500, "ms",
                 "the downtime Nova's ramp ends at (min 100)", refine=True),
            Knob("live_migration_downtime_steps", (3, 10), 10, "steps",
                 "steps of the ramp (min 3)"),
            Knob("live_migration_downtime_delay", (3, 75), 75, "s per GiB",
                 "time between steps, per GiB of data (min 3)"),
            Knob("live_migration_bandwidth", (), 0, "MiB/s",
                 "libvirt's migration speed; 0 = unlimited",
                 from_Bps=_floor_mib, to_Bps=_mib_Bps, unlimited=0, refine=True),
            Knob("live_migration_permit_auto_converge", (False, True), False, "",
                 "let QEMU throttle the guest (only without post-copy)"),
            Knob("live_migration_completion_timeout", (10, 100, 800), 800, "s per GiB",
                 "the completion budget; then timeout_action", stage=2),
            Knob("live_migration_timeout_action", ("abort", "force_complete"), "abort", "",
                 "at the budget: abort, or force_complete (post-copy if permitted, "
                 "else pause)", stage=2),
            Knob("live_migration_permit_post_copy", (False, True), False, "",
                 "allow post-copy (started by force_complete)", postcopy=(True,), stage=2),
        ),
        owns=_MANAGED,
        lacks=(Lack("live_migration_parallel_connections", "parameters.multifd-channels",
                    (2, 4, 8), "connections",
                    "Nova opens parallel connections (multifd) only from 33.0.0 (2026.1) "
                    "on, a release miglab's Nova policy does not model",
                    extra={"capabilities.multifd": True}),),
        not_searched="max_concurrent_live_migrations matters only for drains",
        syntax="{name} = {value}"),
    "proxmox": Target(
        "proxmox", "Proxmox VE", "proxmox", "proxmox", "proxmox",
        knobs=(
            Knob("migrate_downtime", (0.05, 0.1, 0.3, 0.5, 1.0, 2.0), 0.1, "s",
                 "the first downtime; Proxmox doubles it when the migration stalls"),
            Knob("migrate_speed", (), 0, "MB/s (MiB/s)",
                 "the migration speed (also written as bwlimit in KiB/s); 0 = no limit",
                 from_Bps=_floor_mib, to_Bps=_mib_Bps, unlimited=0, refine=True),
        ),
        owns=(*_MANAGED, "capabilities.xbzrle", "parameters.xbzrle-cache-size",
              "capabilities.multifd"),
        not_searched="the migration type (secure/insecure) is not simulated; Proxmox "
                     "always turns on auto-converge and XBZRLE",
        syntax="--{name} {value}"),
    "ovirt": Target(
        "ovirt", "oVirt/RHV", "ovirt", "ovirt", "ovirt",
        knobs=(
            Knob("schedule", ("minimal-downtime", "suspend-workload", "post-copy"),
                 "minimal-downtime", "", "the cluster's migration policy",
                 postcopy=("post-copy",)),
            Knob("custom_value", (), None, "Mbit/s",
                 "the cluster's custom migration bandwidth, shared by the policy's "
                 "concurrent migrations",
                 from_Bps=lambda Bps: max(1, math.floor(Bps * 8 / BITS_PER_MBIT)),
                 to_Bps=lambda v: float(v) * BITS_PER_MBIT / 8, refine=True,
                 scenario_path="parameters.max-bandwidth",
                 to_scenario=lambda v, row: round(_ovirt_Bps(v, row))),
        ),
        owns=(*_MANAGED, "capabilities.xbzrle"),
        not_searched="Vdsm's migration_max_time_per_gib_mem keeps its value (64 s/GiB "
                     "by default)"),
}
"""Every ``--for`` target: name → :class:`Target` (written once; CLI, page and tests read it)."""


def default_target(policy: Mapping[str, Any] | None) -> str:
    """The target a scenario implies: its policy's kind when that is a platform, else qemu.

    >>> default_target({"kind": "nova"}), default_target({"kind": "downtime-ramp"})
    ('nova', 'qemu')
    """
    kind = (policy or {}).get("kind")
    for name, target in TARGETS.items():
        if target.policy_kind is not None and target.policy_kind == kind:
            return name
    return "qemu"


def format_knob(knob: Knob, value: Any) -> str:
    """A knob's value as the operator reads it: ``unlimited`` for a bandwidth of 0,
    ``true``/``false`` for flags, else the value and its unit.

    >>> format_knob(TARGETS["kubevirt"].knob("bandwidthPerMigration"), "0Mi")
    'unlimited (0Mi)'
    >>> format_knob(TARGETS["nova"].knob("live_migration_downtime"), 300)
    '300 ms'
    """
    if knob.show is not None and value is not None:
        return knob.show(value)
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "unset"}[value]
    if knob.unlimited is not None and value == knob.unlimited:
        return f"unlimited ({value})"
    if isinstance(value, float):
        value = f"{value:g}"
    unit = knob.unit.split(",")[0].split(" (")[0]
    if unit.startswith("Kubernetes"):
        unit = ""
    return f"{value} {unit}".strip()


def _raw(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def setting_lines(target: Target, settings: Mapping[str, Any]) -> list[str]:
    """Each setting as the target writes it, with its meaning where that adds something.

    >>> setting_lines(TARGETS["nova"], {"live_migration_bandwidth": 0})
    ['live_migration_bandwidth = 0  # unlimited']
    >>> setting_lines(TARGETS["kubevirt"], {"allowWorkloadDisruption": None})
    ['allowWorkloadDisruption: (not written: follows allowPostCopy)']
    """
    out = []
    for name, value in settings.items():
        knob = next((k for k in target.knobs if k.name == name), None)
        if value is None:
            what = {"allowWorkloadDisruption": "(not written: follows allowPostCopy)",
                    "postcopy-after": "never"}.get(name, "(not written)")
            out.append(target.syntax.format(name=name, value=what))
            continue
        line = target.syntax.format(name=name, value=_raw(value))
        shown = format_knob(knob, value) if knob is not None else _raw(value)
        if name == "schedule":
            shown = OVIRT_SCHEDULE_NAMES.get(str(value), shown)
        if shown != _raw(value) and not isinstance(value, bool):
            line += f"  # {shown.replace(f' ({value})', '')}"
        out.append(line)
    return out

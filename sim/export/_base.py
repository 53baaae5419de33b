"""Shared by every export target: the :class:`Export` and :class:`Gap` records, the options,
the gap bookkeeping and the helpers the renderers share."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from sim._exceptions import ExportError
from sim.policies import build_policy
from sim.policies import nova as nova_policy
from sim.qemu.catalog import CAPABILITIES, PARAMETERS
from sim.scenario import Scenario
from sim.units import GiB, KiB, MiB, format_duration

UNLIMITED_BELOW_BPS: Final = 10
"""QEMU treats ``max-bandwidth`` below 10 bytes/s as unlimited."""

QEMU_DEFAULT_DOWNTIME_MS: Final = 300
# Nova's minimums are the policy's own (sim/policies/nova.py), written once there
NOVA_MIN_DOWNTIME_MS: Final = nova_policy.MIN_DOWNTIME_MS
NOVA_MIN_STEPS: Final = nova_policy.MIN_STEPS
NOVA_MIN_DELAY_S_PER_GIB: Final = nova_policy.MIN_DELAY_S_PER_GIB
NOVA_MIN_DATA_GIB: Final = nova_policy.MIN_DATA_GIB
KUBEVIRT_MULTIFD_CHANNELS: Final = 8
PORT_RANGE: Final = (1, 65535)
PROXMOX_VMID_RANGE: Final = (100, 999_999_999)
"""Proxmox VE accepts VM ids from 100 to 999999999."""
OVIRT_BANDWIDTH_KEYS: Final = ("assignment_method", "custom_value")
"""oVirt's cluster ``migration.bandwidth`` fields (REST API ``MigrationBandwidth``)."""

DEST_PARAMETERS: Final = ("multifd-channels", "multifd-compression", "multifd-zlib-level",
                          "multifd-zstd-level", "multifd-qatzip-level")
"""Parameters the destination must share with the source (it decodes with them)."""

DEST_ONLY_CAPABILITIES: Final = ("postcopy-blocktime", "late-block-activate")
"""Capabilities that act on the destination (the source may set them harmlessly)."""


@dataclass(frozen=True)
class Gap:
    """Something the target cannot express exactly.

    Attributes:
        setting: the scenario field, dotted with dash names (``"parameters.downtime-limit"``).
        wanted: what the scenario asks for, in words with units.
        closest: what the export does instead (the closest value, or what to do by hand).
    """

    setting: str
    wanted: str
    closest: str

    def __str__(self) -> str:
        return f"{self.setting} = {self.wanted}: {self.closest}"

    def as_dict(self) -> dict[str, str]:
        """``{"setting", "wanted", "closest"}``."""
        return {"setting": self.setting, "wanted": self.wanted, "closest": self.closest}


@dataclass(frozen=True)
class Export:
    """One rendered export.

    Attributes:
        format: the target name, a key of :data:`EXPORTERS`.
        files: file name → content, in the order they are used.
        gaps: what the target cannot express and the closest value used.
        separator: the header put before each file in :attr:`text` (``{name}`` is replaced);
            chosen so the joined text still parses as the target's format where it can.
    """

    format: str
    files: dict[str, str]
    gaps: tuple[Gap, ...] = ()
    separator: str = "==> {name} <=="

    @property
    def text(self) -> str:
        """All files as one text; several files get a header each, like ``head`` prints."""
        if len(self.files) == 1:
            return next(iter(self.files.values()))
        return "\n".join(self.separator.format(name=name) + "\n" + body
                         for name, body in self.files.items())

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict ``{"format", "files", "gaps"}``."""
        return {"format": self.format, "files": dict(self.files),
                "gaps": [g.as_dict() for g in self.gaps]}


@dataclass(frozen=True)
class ExportOptions:
    """Names an export needs that a scenario does not hold.

    Attributes:
        domain: the libvirt domain / VM name; the scenario's name when ``None``.
        dest_host: the destination host name for URIs.
        port: the migration port on the destination.
        uri: QMP ``migrate`` URI; ``tcp:DEST_HOST:PORT`` when ``None``.
        listen_uri: QMP ``migrate-incoming`` URI; ``tcp:0.0.0.0:PORT`` when ``None``.
        vmid: Proxmox VM id.
    """

    domain: str | None = None
    dest_host: str = "dest-host"
    port: int = 4444
    uri: str | None = None
    listen_uri: str | None = None
    vmid: int = 100

    def __post_init__(self) -> None:
        if not PORT_RANGE[0] <= self.port <= PORT_RANGE[1]:
            raise ExportError(f"--port {self.port}: not a TCP port; expected "
                              f"{PORT_RANGE[0]}-{PORT_RANGE[1]}")
        if not PROXMOX_VMID_RANGE[0] <= self.vmid <= PROXMOX_VMID_RANGE[1]:
            raise ExportError(f"--vmid {self.vmid}: not a Proxmox VM id; expected "
                              f"{PROXMOX_VMID_RANGE[0]}-{PROXMOX_VMID_RANGE[1]}")


Renderer = Callable[[Scenario, ExportOptions], Export]


# ------------------------------------------------------------------------- helpers


@dataclass
class GapCollector:
    """Collects gaps while a renderer runs."""

    items: list[Gap] = field(default_factory=list)

    def add(self, setting: str, wanted: str, closest: str) -> None:
        self.items.append(Gap(setting, wanted, closest))

    def as_comments(self, prefix: str = "# ") -> list[str]:
        if not self.items:
            return [f"{prefix}every setting of the scenario is expressed exactly"]
        return [f"{prefix}cannot express {g}" for g in self.items]


def given_parameters(sc: Scenario) -> dict[str, object]:
    """The parameters the scenario set, in QAPI order, typed as QEMU stores them."""
    return {name: sc.parameters[name] for name in PARAMETERS
            if name in sc.parameters.given and name in sc.parameters}


def enabled_capabilities(sc: Scenario) -> list[str]:
    """The enabled capabilities, in QAPI enum order."""
    return [name for name in CAPABILITIES if sc.capabilities[name]]


def mib_per_s_text(n_bytes: float) -> str:
    return f"{n_bytes / MiB:g} MiB/s"


def effective_bandwidth(sc: Scenario) -> int | None:
    """``max-bandwidth`` as QEMU applies it (default 128 MiB/s), ``None`` when unlimited."""
    bw = sc.parameters.max_bandwidth
    return None if bw < UNLIMITED_BELOW_BPS else bw


def bandwidth_mib_per_s(sc: Scenario, gaps: GapCollector, what: str) -> int | None:
    """``max-bandwidth`` in whole MiB/s (≥ 1), noting the rounding; ``None`` = unlimited."""
    bw = effective_bandwidth(sc)
    return None if bw is None else whole_mib_per_s(bw, "parameters.max-bandwidth", what, gaps)


def whole_mib_per_s(n_Bps: int, setting: str, what: str, gaps: GapCollector) -> int:
    """A rate in whole MiB/s (≥ 1) for a knob that takes no finer, noting the rounding."""
    mib = max(1, round(n_Bps / MiB))
    if mib * MiB != n_Bps:
        gaps.add(setting, f"{n_Bps} bytes/s", f"{what} takes whole MiB/s: {mib} MiB/s")
    return mib


def note_not_expressible(sc: Scenario, gaps: GapCollector, target: str, handled: Iterable[str],
                         default_note: str = "") -> None:
    """Add a gap for every given parameter and enabled capability the target ignores."""
    handled = set(handled)
    for name, value in given_parameters(sc).items():
        if name not in handled:
            gaps.add(f"parameters.{name}", f"{value} {PARAMETERS[name].unit}".strip(),
                     f"{target} has no knob for it; QEMU's default "
                     f"{PARAMETERS[name].default!r} applies{default_note}")
    for name in enabled_capabilities(sc):
        if name not in handled:
            gaps.add(f"capabilities.{name}", "on", f"{target} cannot turn it on")


def note_control_gaps(sc: Scenario, gaps: GapCollector, target: str, *, timeout: bool = True,
                      postcopy: bool = True, policy: bool = True) -> None:
    ctl = sc.control
    if timeout and ctl.timeout_s is not None:
        gaps.add("control.timeout", format_duration(ctl.timeout_s),
                 f"{target} has no timeout; cancel by hand after {ctl.timeout_s:g} s")
    if postcopy and ctl.postcopy_after is not None:
        gaps.add("control.postcopy-after", postcopy_words(sc),
                 f"{target} cannot trigger it; start postcopy by hand at that point")
    if policy and ctl.policy is not None:
        gaps.add("control.policy", str(ctl.policy.get("kind")),
                 f"{target} has no management policy; export to that target instead")


def postcopy_words(sc: Scenario) -> str:
    after = sc.control.postcopy_after
    if after is None:
        return "never"
    if after.passes is not None:
        return f"after {after.passes} pass(es)"
    return f"after {after.seconds:g} s"


def domain_name(sc: Scenario, opts: ExportOptions) -> str:
    return opts.domain or sc.name


def k8s_name(name: str) -> str:
    """A DNS-1123 label from ``name`` (lowercase alphanumerics and dashes, ≤ 63)."""
    out = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].strip("-")
    return out or "miglab"


def k8s_quantity(n: int) -> str:
    """A Kubernetes quantity with the largest exact binary suffix: ``64Mi``, ``1536Ki``, ``7``.

    >>> k8s_quantity(64 * 2**20), k8s_quantity(0), k8s_quantity(1000)
    ('64Mi', '0', '1000')
    """
    if n == 0:
        return "0"
    for suffix, mult in (("Ti", 1 << 40), ("Gi", GiB), ("Mi", MiB), ("Ki", KiB)):
        if n % mult == 0:
            return f"{n // mult}{suffix}"
    return str(n)


def header_lines(sc: Scenario, target: str, prefix: str = "# ") -> list[str]:
    return [f"{prefix}miglab export of scenario {sc.name!r} (QEMU {sc.qemu.name}) for {target}"]



# ------------------------------------------------------------------------- platform policies
#
# A scenario whose ``control.policy`` is the target's own kind is exported as that policy's
# configuration, every option written out (the product's defaults change between releases),
# so importing the files back gives the same policy and the same simulation. The scenario's
# own QEMU settings that the policy turns on are folded in (auto-converge on in the scenario
# means the platform must allow it); the rest that the platform cannot set are gaps.


def policy_kind_of(sc: Scenario) -> str | None:
    policy = sc.control.policy
    return None if policy is None else str(policy.get("kind"))


def policy_options_of(sc: Scenario) -> dict[str, Any]:
    """The scenario's policy options, typed, with the product's defaults filled in."""
    assert sc.control.policy is not None
    return build_policy(sc.control.policy).options


def note_policy_gaps(sc: Scenario, gaps: GapCollector, target: str, handled: Iterable[str]) -> None:
    """Gaps for scenario settings beside the policy that the platform cannot set."""
    note_not_expressible(sc, gaps, target, handled)
    note_control_gaps(sc, gaps, target, policy=False)


def per_gib_knob(sc: Scenario, budget_s: float, gib: float, gaps: GapCollector, knob: str,
                 of_what: str) -> int:
    """A completion budget as the whole seconds per GiB that KubeVirt and Nova take,
    rounded up, with a gap when the rounding changes it."""
    per_gib = max(1, math.ceil(budget_s / gib))
    if per_gib * gib != budget_s:
        setting, wanted = budget_source(sc, budget_s)
        gaps.add(setting, wanted, f"{knob} takes whole seconds per GiB {of_what}: "
                 f"{per_gib} s/GiB = {per_gib * gib:g} s")
    return per_gib


def budget_source(sc: Scenario, budget_s: float) -> tuple[str, str]:
    """The scenario field a completion budget came from, and its value in words: the
    postcopy start time when the budget starts postcopy, else ``control.timeout``."""
    after = sc.control.postcopy_after
    if after is not None and after.seconds is not None and after.seconds == budget_s \
            and sc.capabilities["postcopy-ram"]:
        return "control.postcopy-after", postcopy_words(sc)
    return "control.timeout", f"{budget_s:g} s"

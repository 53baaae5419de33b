"""Exports: one scenario's migration settings in the words each management layer speaks.

An export is a phrasebook entry: the scenario says what QEMU should do in QMP's own terms
(``downtime-limit: 300`` ms, ``max-bandwidth`` in bytes/s), and each target has its own
vocabulary and units — virsh wants MiB/s, Nova a downtime of at least 100 ms that it ramps
up in steps, Proxmox seconds, KubeVirt quantities such as ``64Mi``. Some phrases do not
translate at all (KubeVirt has no downtime knob, Proxmox always turns XBZRLE on), so every
export carries its *gaps*: what the target cannot express and the closest value it uses.
An export never writes a value the target would refuse.

    >>> from sim.scenario import load_scenario
    >>> sc = load_scenario("data/examples/web-8g.yaml")
    >>> out = export(sc, "virsh")
    >>> "--bandwidth 128" in out.text
    True
    >>> [g.setting for g in export(sc, "kubevirt").gaps]    # doctest: +SKIP
    ['parameters.downtime-limit', 'capabilities.multifd']

Each renderer is a function ``(scenario, options) -> Export`` registered in
:data:`EXPORTERS`; :data:`FORMATS` lists their names. A recommendation from
:mod:`sim.recommend` is a scenario too, so it exports the same way.
"""

from __future__ import annotations

import json
import math
import re
import shlex
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import yaml

from sim._bounded import dumps_json
from sim._exceptions import ExportError
from sim.qemu.catalog import CAPABILITIES, PARAMETERS
from sim.scenario import Scenario
from sim.units import GiB, KiB, MiB, format_duration

__all__ = [
    "EXPORTERS",
    "FORMATS",
    "Export",
    "ExportError",
    "ExportOptions",
    "Gap",
    "export",
    "hmp_value",
    "k8s_quantity",
]

UNLIMITED_BELOW_BPS: Final = 10
"""QEMU treats ``max-bandwidth`` below 10 bytes/s as unlimited."""

QEMU_DEFAULT_DOWNTIME_MS: Final = 300
NOVA_MIN_DOWNTIME_MS: Final = 100
NOVA_MIN_STEPS: Final = 3
NOVA_MIN_DELAY_S_PER_GIB: Final = 3
NOVA_MIN_DATA_GIB: Final = 2
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
class _Gaps:
    """Collects gaps while a renderer runs."""

    items: list[Gap] = field(default_factory=list)

    def add(self, setting: str, wanted: str, closest: str) -> None:
        self.items.append(Gap(setting, wanted, closest))

    def as_comments(self, prefix: str = "# ") -> list[str]:
        if not self.items:
            return [f"{prefix}every setting of the scenario is expressed exactly"]
        return [f"{prefix}cannot express {g}" for g in self.items]


def _given(sc: Scenario) -> dict[str, object]:
    """The parameters the scenario set, in QAPI order, typed as QEMU stores them."""
    return {name: sc.parameters[name] for name in PARAMETERS
            if name in sc.parameters.given and name in sc.parameters}


def _caps(sc: Scenario) -> list[str]:
    """The enabled capabilities, in QAPI enum order."""
    return [name for name in CAPABILITIES if sc.capabilities[name]]


def _mib(n_bytes: float) -> str:
    return f"{n_bytes / MiB:g} MiB/s"


def _effective_bandwidth(sc: Scenario) -> int | None:
    """``max-bandwidth`` as QEMU applies it (default 128 MiB/s), ``None`` when unlimited."""
    bw = sc.parameters.max_bandwidth
    return None if bw < UNLIMITED_BELOW_BPS else bw


def _mib_per_s(sc: Scenario, gaps: _Gaps, what: str) -> int | None:
    """``max-bandwidth`` in whole MiB/s (≥ 1), noting the rounding; ``None`` = unlimited."""
    bw = _effective_bandwidth(sc)
    if bw is None:
        return None
    mib = max(1, round(bw / MiB))
    if mib * MiB != bw:
        gaps.add("parameters.max-bandwidth", f"{bw} bytes/s", f"{what} takes whole MiB/s: "
                 f"{mib} MiB/s")
    return mib


def _not_expressible(sc: Scenario, gaps: _Gaps, target: str, handled: Iterable[str],
                     default_note: str = "") -> None:
    """Add a gap for every given parameter and enabled capability the target ignores."""
    handled = set(handled)
    for name, value in _given(sc).items():
        if name not in handled:
            gaps.add(f"parameters.{name}", f"{value} {PARAMETERS[name].unit}".strip(),
                     f"{target} has no knob for it; QEMU's default "
                     f"{PARAMETERS[name].default!r} applies{default_note}")
    for name in _caps(sc):
        if name not in handled:
            gaps.add(f"capabilities.{name}", "on", f"{target} cannot turn it on")


def _control_gaps(sc: Scenario, gaps: _Gaps, target: str, *, timeout: bool = True,
                  postcopy: bool = True, policy: bool = True) -> None:
    ctl = sc.control
    if timeout and ctl.timeout_s is not None:
        gaps.add("control.timeout", format_duration(ctl.timeout_s),
                 f"{target} has no timeout; cancel by hand after {ctl.timeout_s:g} s")
    if postcopy and ctl.postcopy_after is not None:
        gaps.add("control.postcopy-after", _postcopy_words(sc),
                 f"{target} cannot trigger it; start postcopy by hand at that point")
    if policy and ctl.policy is not None:
        gaps.add("control.policy", str(ctl.policy.get("kind")),
                 f"{target} has no management policy; export to that target instead")


def _postcopy_words(sc: Scenario) -> str:
    after = sc.control.postcopy_after
    if after is None:
        return "never"
    if after.passes is not None:
        return f"after {after.passes} pass(es)"
    return f"after {after.seconds:g} s"


def _domain(sc: Scenario, opts: ExportOptions) -> str:
    return opts.domain or sc.name


def _k8s_name(name: str) -> str:
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


def _header(sc: Scenario, target: str, prefix: str = "# ") -> list[str]:
    return [f"{prefix}miglab export of scenario {sc.name!r} (QEMU {sc.qemu.name}) for {target}"]


# ------------------------------------------------------------------------- QMP


def _qmp_line(command: str, arguments: Mapping[str, Any] | None = None) -> str:
    request: dict[str, Any] = {"execute": command}
    if arguments:
        request["arguments"] = dict(arguments)
    return dumps_json(request)


def _dest_caps(sc: Scenario) -> list[str]:
    return [n for n in _caps(sc) if CAPABILITIES[n].both_sides or n in DEST_ONLY_CAPABILITIES]


def _level_gaps(sc: Scenario, gaps: _Gaps, params: Mapping[str, object]) -> None:
    if sc.qemu.multifd_levels_over_qmp:
        return
    for name in ("multifd-zlib-level", "multifd-zstd-level"):
        if name in params:
            gaps.add(f"parameters.{name}", str(params[name]),
                     f"QEMU {sc.qemu.name} accepts it over the monitor but ignores it; "
                     f"start both QEMUs with -global migration.{name}={params[name]}")


def _monitor_gaps(sc: Scenario, gaps: _Gaps, params: Mapping[str, object], what: str) -> None:
    _level_gaps(sc, gaps, params)
    ctl = sc.control
    if ctl.postcopy_after is not None:
        after = ctl.postcopy_after
        when = (f"once query-migrate shows ram.dirty-sync-count ≥ {after.passes + 1}"
                if after.passes is not None else f"{after.seconds:g} s after migrate")
        gaps.add("control.postcopy-after", _postcopy_words(sc),
                 f"{what} has no trigger; the last line starts postcopy and must be sent {when}")
    _control_gaps(sc, gaps, what, postcopy=False)


def _render_qmp(sc: Scenario, opts: ExportOptions) -> Export:
    """QMP JSON lines for the destination (``-incoming defer``) and the source."""
    gaps = _Gaps()
    params = _given(sc)
    dest_params = {k: v for k, v in params.items() if k in DEST_PARAMETERS}
    listen = opts.listen_uri or f"tcp:0.0.0.0:{opts.port}"
    uri = opts.uri or f"tcp:{opts.dest_host}:{opts.port}"

    def side(caps: list[str], values: Mapping[str, object], last: list[str]) -> str:
        lines = [_qmp_line("qmp_capabilities")]
        if caps:
            lines.append(_qmp_line("migrate-set-capabilities", {"capabilities": [
                {"capability": c, "state": True} for c in caps]}))
        if values:
            lines.append(_qmp_line("migrate-set-parameters", values))
        return "\n".join(lines + last) + "\n"

    source_last = [_qmp_line("migrate", {"uri": uri})]
    if sc.control.postcopy_after is not None:
        source_last.append(_qmp_line("migrate-start-postcopy"))
    if "block-bitmap-mapping" in params:
        gaps.add("parameters.block-bitmap-mapping", "set", "sent as given; it must name "
                 "the destination's nodes too")
    _monitor_gaps(sc, gaps, params, "QMP")
    files = {
        "destination.jsonl": side(_dest_caps(sc), dest_params,
                                  [_qmp_line("migrate-incoming", {"uri": listen})]),
        "source.jsonl": side(_caps(sc), params, source_last),
    }
    return Export("qmp", files, tuple(gaps.items))


# ------------------------------------------------------------------------- HMP

_HMP_SIZE_UNITS: Final = ("bytes", "bytes/s")


def hmp_value(name: str, value: object) -> str:
    """A parameter value as ``migrate_set_parameter`` reads it.

    Sizes and rates get an explicit suffix (HMP reads a bare ``max-bandwidth`` as MiB/s,
    other sizes as bytes); booleans are ``on``/``off``; the rest is written plainly.

    >>> hmp_value("max-bandwidth", 134217728), hmp_value("xbzrle-cache-size", 4097)
    ('128M', '4097B')
    """
    if isinstance(value, bool):
        return "on" if value else "off"
    if PARAMETERS[name].unit in _HMP_SIZE_UNITS and isinstance(value, int) and value:
        for suffix, mult in (("G", GiB), ("M", MiB), ("K", KiB)):
            if value % mult == 0:
                return f"{value // mult}{suffix}"
        return f"{value}B"
    return str(value)


def _render_hmp(sc: Scenario, opts: ExportOptions) -> Export:
    """HMP monitor lines (``migrate_set_capability``, ``migrate_set_parameter``, …)."""
    gaps = _Gaps()
    params = _given(sc)
    if "block-bitmap-mapping" in params:
        gaps.add("parameters.block-bitmap-mapping", "set", "HMP refuses it ('can only be set "
                 "through QMP'); send it with QMP")
        params.pop("block-bitmap-mapping")
    listen = opts.listen_uri or f"tcp:0.0.0.0:{opts.port}"
    uri = opts.uri or f"tcp:{opts.dest_host}:{opts.port}"

    def side(caps: list[str], values: Mapping[str, object], last: list[str]) -> str:
        lines = [f"migrate_set_capability {c} on" for c in caps]
        lines += [f"migrate_set_parameter {k} {hmp_value(k, v)}" for k, v in values.items()
                  if v is not None]
        return "\n".join(lines + last) + "\n"

    last = [f"migrate -d {uri}"]
    if sc.control.postcopy_after is not None:
        last.append("migrate_start_postcopy")
    _monitor_gaps(sc, gaps, params, "HMP")
    files = {
        "destination.hmp": side(_dest_caps(sc),
                                {k: v for k, v in params.items() if k in DEST_PARAMETERS},
                                [f"migrate_incoming {listen}"]),
        "source.hmp": side(_caps(sc), params, last),
    }
    return Export("hmp", files, tuple(gaps.items))


# ------------------------------------------------------------------------- virsh / libvirt

_VIRSH_HANDLED: Final = ("max-bandwidth", "downtime-limit", "cpu-throttle-initial",
                         "cpu-throttle-increment", "multifd-channels", "multifd-compression",
                         "multifd-zlib-level", "multifd-zstd-level", "xbzrle-cache-size",
                         "max-postcopy-bandwidth", "compress-level", "compress-threads",
                         "decompress-threads", "auto-converge", "postcopy-ram", "multifd",
                         "xbzrle", "compress", "return-path", "switchover-ack")


@dataclass
class _Virsh:
    """The ``virsh migrate`` flags and the matching libvirt typed parameters."""

    flags: list[str] = field(default_factory=lambda: ["--live", "--verbose"])
    api_flags: list[str] = field(default_factory=lambda: ["VIR_MIGRATE_LIVE"])
    params: dict[str, Any] = field(default_factory=dict)

    def opt(self, flag: str, value: object, param: str | None = None) -> None:
        self.flags += [flag, str(value)]
        if param is not None:
            self.params[param] = value


def _virsh_compression(sc: Scenario, v: _Virsh) -> None:
    params = _given(sc)
    methods: list[str] = []
    if sc.capabilities["xbzrle"]:
        methods.append("xbzrle")
        if "xbzrle-cache-size" in params:
            v.opt("--comp-xbzrle-cache", params["xbzrle-cache-size"], "compression.xbzrle.cache")
    if sc.capabilities["compress"]:
        methods.append("mt")
        for name, flag, param in (("compress-level", "--comp-mt-level", "compression.mt.level"),
                                  ("compress-threads", "--comp-mt-threads",
                                   "compression.mt.threads"),
                                  ("decompress-threads", "--comp-mt-dthreads",
                                   "compression.mt.dthreads")):
            if name in params:
                v.opt(flag, params[name], param)
    algo = sc.parameters.multifd_compression
    if sc.capabilities["multifd"] and algo in ("zlib", "zstd"):
        methods.append(algo)
        level = f"multifd-{algo}-level"
        if level in params:
            v.opt(f"--comp-{algo}-level", params[level], f"compression.{algo}.level")
    if methods:
        v.flags.append("--compressed")
        v.api_flags.append("VIR_MIGRATE_COMPRESSED")
        v.opt("--comp-methods", ",".join(methods))
        v.params["compression"] = methods


def _virsh_postcopy(sc: Scenario, v: _Virsh, gaps: _Gaps, dom: str) -> list[str]:
    """Postcopy flags; returns shell lines to run before ``virsh migrate``."""
    if not sc.capabilities["postcopy-ram"]:
        return []
    v.flags.append("--postcopy")
    v.api_flags.append("VIR_MIGRATE_POSTCOPY")
    pbw = sc.parameters.max_postcopy_bandwidth
    if "max-postcopy-bandwidth" in sc.parameters.given and pbw:
        mib = max(1, round(pbw / MiB))
        if mib * MiB != pbw:
            gaps.add("parameters.max-postcopy-bandwidth", f"{pbw} bytes/s",
                     f"virsh takes whole MiB/s: {mib}")
        v.opt("--postcopy-bandwidth", mib, "bandwidth.postcopy")
    after = sc.control.postcopy_after
    if after is None:
        return []
    if after.passes is not None:
        v.flags.append("--postcopy-after-precopy")
        v.api_flags.append("VIR_MIGRATE_POSTCOPY_AFTER_PRECOPY")
        if after.passes != 1:
            gaps.add("control.postcopy-after", _postcopy_words(sc),
                     "--postcopy-after-precopy switches after the first pass; for a later "
                     f"pass drop it and run 'virsh migrate-postcopy {dom}' by hand")
        return []
    return [f"( sleep {after.seconds:g}; virsh migrate-postcopy {shlex.quote(dom)} ) &"]


def _virsh_model(sc: Scenario, opts: ExportOptions, gaps: _Gaps) -> tuple[_Virsh, list[str]]:
    v = _Virsh()
    dom = _domain(sc, opts)
    params = _given(sc)
    before: list[str] = []
    mib = _mib_per_s(sc, gaps, "virsh --bandwidth")
    if mib is not None:
        v.opt("--bandwidth", mib, "bandwidth")
    if "downtime-limit" in params:
        before.append(f"virsh migrate-setmaxdowntime {shlex.quote(dom)} "
                      f"{sc.parameters.downtime_limit}")
    if sc.capabilities["auto-converge"]:
        v.flags.append("--auto-converge")
        v.api_flags.append("VIR_MIGRATE_AUTO_CONVERGE")
        for name, flag, param in (("cpu-throttle-initial", "--auto-converge-initial",
                                   "auto_converge.initial"),
                                  ("cpu-throttle-increment", "--auto-converge-increment",
                                   "auto_converge.increment")):
            if name in params:
                v.opt(flag, params[name], param)
    if sc.capabilities["multifd"]:
        v.flags.append("--parallel")
        v.api_flags.append("VIR_MIGRATE_PARALLEL")
        v.opt("--parallel-connections", sc.parameters.multifd_channels, "parallel.connections")
    _virsh_compression(sc, v)
    before += _virsh_postcopy(sc, v, gaps, dom)
    for cap in ("return-path", "switchover-ack"):
        if sc.capabilities[cap]:
            gaps.add(f"capabilities.{cap}", "on", "libvirt decides it itself (it turns it on "
                     "for postcopy and VFIO devices)")
    return v, before


def _render_virsh(sc: Scenario, opts: ExportOptions) -> Export:
    """A ``virsh migrate`` command line, its helper commands, and libvirt typed parameters."""
    gaps = _Gaps()
    v, before = _virsh_model(sc, opts, gaps)
    dom = _domain(sc, opts)
    if _effective_bandwidth(sc) is None:
        gaps.add("parameters.max-bandwidth", "unlimited", "libvirt's default is unlimited; "
                 "no --bandwidth")
    _not_expressible(sc, gaps, "virsh", _VIRSH_HANDLED)
    _control_gaps(sc, gaps, "virsh", timeout=False, postcopy=False)
    cmd = ["virsh", "migrate", *v.flags, dom, f"qemu+ssh://{opts.dest_host}/system"]
    line = shlex.join(cmd)
    if sc.control.timeout_s is not None:
        secs = math.ceil(sc.control.timeout_s)
        line = f"timeout --signal=INT {secs} {line}"
        if secs != sc.control.timeout_s:
            gaps.add("control.timeout", f"{sc.control.timeout_s:g} s", f"rounded up to {secs} s")
        gaps.add("control.timeout", format_duration(sc.control.timeout_s),
                 "virsh --timeout suspends instead of cancelling; the export wraps virsh in "
                 "timeout(1), whose SIGINT makes virsh abort the job (as domjobabort does)")
    script = [*_header(sc, "virsh"), *gaps.as_comments(), *before, line]
    typed = {"flags": v.api_flags, "params": v.params,
             "max_downtime_ms": sc.parameters.downtime_limit}
    files = {"migrate.sh": "\n".join(script) + "\n",
             "libvirt-params.json": json.dumps(typed, indent=2) + "\n"}
    return Export("virsh", files, tuple(gaps.items), separator="# ==> {name} <==")


# ------------------------------------------------------------------------- KubeVirt


def _kubevirt_fields(sc: Scenario, gaps: _Gaps) -> dict[str, Any]:
    """The migration fields shared by MigrationPolicy and the KubeVirt CR."""
    out: dict[str, Any] = {}
    bw = _effective_bandwidth(sc)
    out["bandwidthPerMigration"] = k8s_quantity(bw) if bw is not None else "0Mi"
    out["allowAutoConverge"] = sc.capabilities["auto-converge"]
    after = sc.control.postcopy_after
    postcopy = sc.capabilities["postcopy-ram"] and after is not None
    out["allowPostCopy"] = postcopy
    mem_gib = sc.vm.memory_bytes / GiB
    budget_s: float | None = sc.control.timeout_s
    if postcopy and after is not None:
        out["allowWorkloadDisruption"] = True
        if after.seconds is not None:
            budget_s = after.seconds
            if sc.control.timeout_s is not None and sc.control.timeout_s != 2 * after.seconds:
                gaps.add("control.timeout", f"{sc.control.timeout_s:g} s",
                         f"KubeVirt aborts at twice the completion budget: "
                         f"{2 * after.seconds:g} s")
        else:
            gaps.add("control.postcopy-after", _postcopy_words(sc),
                     "KubeVirt starts postcopy only when completionTimeoutPerGiB runs out; "
                     "set it from the predicted time of that pass")
    if budget_s is not None:
        out["completionTimeoutPerGiB"] = _per_gib(sc, budget_s, mem_gib, gaps,
                                                  "completionTimeoutPerGiB", "of RAM")
    return out


def _per_gib(sc: Scenario, budget_s: float, gib: float, gaps: _Gaps, knob: str,
             of_what: str) -> int:
    """A completion budget as the whole seconds per GiB that KubeVirt and Nova take,
    rounded up, with a gap when the rounding changes it."""
    per_gib = max(1, math.ceil(budget_s / gib))
    if per_gib * gib != budget_s:
        setting, wanted = _budget_source(sc, budget_s)
        gaps.add(setting, wanted, f"{knob} takes whole seconds per GiB {of_what}: "
                 f"{per_gib} s/GiB = {per_gib * gib:g} s")
    return per_gib


def _budget_source(sc: Scenario, budget_s: float) -> tuple[str, str]:
    """The scenario field a completion budget came from, and its value in words: the
    postcopy start time when the budget starts postcopy, else ``control.timeout``."""
    after = sc.control.postcopy_after
    if after is not None and after.seconds is not None and after.seconds == budget_s \
            and sc.capabilities["postcopy-ram"]:
        return "control.postcopy-after", _postcopy_words(sc)
    return "control.timeout", f"{budget_s:g} s"


def _kubevirt_gaps(sc: Scenario, gaps: _Gaps) -> None:
    dt = sc.parameters.downtime_limit
    if dt != QEMU_DEFAULT_DOWNTIME_MS:
        gaps.add("parameters.downtime-limit", f"{dt} ms", "KubeVirt has no downtime knob "
                 f"(VEP 248 proposes maxDowntimeMs); QEMU's {QEMU_DEFAULT_DOWNTIME_MS} ms applies")
    if sc.capabilities["multifd"] and sc.parameters.multifd_channels != KUBEVIRT_MULTIFD_CHANNELS \
            and not (sc.capabilities["postcopy-ram"] and sc.control.postcopy_after is not None):
        gaps.add("parameters.multifd-channels", str(sc.parameters.multifd_channels),
                 f"KubeVirt picks {KUBEVIRT_MULTIFD_CHANNELS} channels itself")
    post_copy_allowed = sc.capabilities["postcopy-ram"] and sc.control.postcopy_after is not None
    if not sc.capabilities["multifd"] and not post_copy_allowed:
        gaps.add("capabilities.multifd", "off", "KubeVirt turns multifd on (8 channels) when "
                 "the VMI has no CPU limit and postcopy is not allowed")
    elif sc.capabilities["multifd"] and post_copy_allowed:
        gaps.add("capabilities.multifd", "on, with postcopy", "KubeVirt does not use multifd "
                 "when postcopy is allowed (allowPostCopy: true); it migrates single-stream")
    if sc.capabilities["postcopy-ram"] and sc.control.postcopy_after is None:
        gaps.add("capabilities.postcopy-ram", "on, never started",
                 "allowPostCopy stays false: postcopy is never started anyway")
    handled = ("max-bandwidth", "downtime-limit", "multifd-channels", "auto-converge",
               "postcopy-ram", "multifd")
    _not_expressible(sc, gaps, "KubeVirt", handled)
    _control_gaps(sc, gaps, "KubeVirt", timeout=False, postcopy=False)


def _render_kubevirt(sc: Scenario, opts: ExportOptions) -> Export:
    """A ``MigrationPolicy`` and the ``KubeVirt`` CR's ``spec.configuration.migrations``."""
    if _policy_kind(sc) == "kubevirt":
        return _render_kubevirt_policy(sc, opts)
    gaps = _Gaps()
    fields = _kubevirt_fields(sc, gaps)
    _kubevirt_gaps(sc, gaps)
    name = _k8s_name(sc.name)
    policy = {
        "apiVersion": "migrations.kubevirt.io/v1alpha1",
        "kind": "MigrationPolicy",
        "metadata": {"name": name},
        "spec": {"selectors": {"virtualMachineInstanceSelector": {
            "matchLabels": {"miglab/policy": name}}}, **fields},
    }
    cluster = {k: v for k, v in fields.items() if k != "allowWorkloadDisruption"}
    cr = {
        "apiVersion": "kubevirt.io/v1",
        "kind": "KubeVirt",
        "metadata": {"name": "kubevirt", "namespace": "kubevirt"},
        "spec": {"configuration": {"migrations": cluster}},
    }
    head = [*_header(sc, "KubeVirt"), *gaps.as_comments()]
    dump = yaml.safe_dump
    files = {
        "migration-policy.yaml": "\n".join(head) + "\n" + dump(policy, sort_keys=False),
        "kubevirt-cr.yaml": "\n".join(head) + "\n# merge into your KubeVirt CR "
                            "(kubectl patch --type merge)\n" + dump(cr, sort_keys=False),
    }
    return Export("kubevirt", files, tuple(gaps.items), separator="---\n# {name}")


# ------------------------------------------------------------------------- Nova


def _nova_downtime(sc: Scenario, gaps: _Gaps, data_gib: float) -> dict[str, int]:
    dt = sc.parameters.downtime_limit
    policy = sc.control.policy or {}
    nova = policy.get("kind") == "nova"
    if nova:
        # a Nova policy is exported as configured, Nova's own defaults where it is silent
        from sim.policies.nova import OPTIONS

        def option(name: str) -> int:
            return int(policy.get(name, OPTIONS[name].default))

        downtime = option("live_migration_downtime")
        steps = option("live_migration_downtime_steps")
        delay = option("live_migration_downtime_delay")
    else:
        downtime = max(NOVA_MIN_DOWNTIME_MS, dt)
        steps, delay = NOVA_MIN_STEPS, NOVA_MIN_DELAY_S_PER_GIB
    if dt < NOVA_MIN_DOWNTIME_MS and not nova:
        gaps.add("parameters.downtime-limit", f"{dt} ms",
                 f"Nova's minimum is {NOVA_MIN_DOWNTIME_MS} ms")
    if not nova:
        ramp_s = delay * data_gib * steps
        gaps.add("parameters.downtime-limit", f"{dt} ms fixed",
                 f"Nova always ramps: {downtime // steps} ms at start, +"
                 f"{(downtime - downtime // steps) // steps} ms every {delay * data_gib:g} s, "
                 f"{downtime} ms after {ramp_s:g} s (fewest steps and shortest delay Nova "
                 "accepts)")
    return {"live_migration_downtime": downtime, "live_migration_downtime_steps": steps,
            "live_migration_downtime_delay": delay}


def _nova_timeout(sc: Scenario, gaps: _Gaps, data_gib: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    after = sc.control.postcopy_after
    postcopy = sc.capabilities["postcopy-ram"] and after is not None
    out["live_migration_permit_post_copy"] = postcopy
    budget_s = sc.control.timeout_s
    if postcopy and after is not None:
        out["live_migration_timeout_action"] = "force_complete"
        if after.seconds is not None:
            budget_s = after.seconds
        else:
            budget_s = None
            gaps.add("control.postcopy-after", _postcopy_words(sc),
                     "Nova starts postcopy at the completion timeout (timeout_action "
                     "force_complete) or on live-migration-force-complete; run that by hand")
        if sc.control.timeout_s is not None:
            gaps.add("control.timeout", format_duration(sc.control.timeout_s),
                     "the completion timeout starts postcopy instead; nothing cancels later")
    else:
        out["live_migration_timeout_action"] = "abort"
    if budget_s is None:
        out["live_migration_completion_timeout"] = 0
    else:
        out["live_migration_completion_timeout"] = _per_gib(
            sc, budget_s, data_gib, gaps, "live_migration_completion_timeout",
            "of data (≥ 2 GiB)")
    return out


def _render_nova(sc: Scenario, opts: ExportOptions) -> Export:
    """``nova.conf`` ``[DEFAULT]`` and ``[libvirt]`` options."""
    if _policy_kind(sc) == "nova":
        return _render_nova_policy(sc, opts)
    gaps = _Gaps()
    data_gib = max(NOVA_MIN_DATA_GIB, sc.vm.memory_bytes / GiB)
    libvirt: dict[str, Any] = {}
    mib = _mib_per_s(sc, gaps, "live_migration_bandwidth")
    libvirt["live_migration_bandwidth"] = mib if mib is not None else 0
    libvirt.update(_nova_downtime(sc, gaps, data_gib))
    libvirt.update(_nova_timeout(sc, gaps, data_gib))
    ac = sc.capabilities["auto-converge"]
    libvirt["live_migration_permit_auto_converge"] = ac
    if ac and libvirt["live_migration_permit_post_copy"]:
        gaps.add("capabilities.auto-converge", "on with postcopy",
                 "Nova uses auto-converge only when postcopy is not permitted")
    if sc.capabilities["multifd"]:
        libvirt["live_migration_parallel_connections"] = sc.parameters.multifd_channels
        gaps.add("capabilities.multifd", "on", "live_migration_parallel_connections exists "
                 "from Nova 33.0.0 (2026.1) only; older Nova ignores it")
    handled = ("max-bandwidth", "downtime-limit", "multifd-channels", "auto-converge",
               "postcopy-ram", "multifd")
    _not_expressible(sc, gaps, "Nova", handled)
    _control_gaps(sc, gaps, "Nova", timeout=False, postcopy=False,
                  policy=(sc.control.policy or {}).get("kind") not in (None, "nova"))
    lines = [*_header(sc, "OpenStack Nova (nova.conf)"), *gaps.as_comments(), "",
             "[DEFAULT]", "# one migration at a time per compute host (Nova's default)",
             "max_concurrent_live_migrations = 1", "", "[libvirt]"]
    for key, value in libvirt.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        lines.append(f"{key} = {text}")
    return Export("nova", {"nova.conf": "\n".join(lines) + "\n"}, tuple(gaps.items))


# ------------------------------------------------------------------------- Proxmox


def _proxmox_xbzrle_cache(memory_bytes: int) -> int:
    """Proxmox's XBZRLE cache: 10 % of RAM rounded to a power of two."""
    tenth = max(memory_bytes // 10, 4 * KiB)
    return int(2 ** round(math.log2(tenth)))


def _proxmox_gaps(sc: Scenario, gaps: _Gaps) -> None:
    for cap in ("auto-converge", "xbzrle"):
        if not sc.capabilities[cap]:
            gaps.add(f"capabilities.{cap}", "off", "Proxmox always turns it on for live "
                     "migration")
    cache = _proxmox_xbzrle_cache(sc.vm.memory_bytes)
    if "xbzrle-cache-size" in sc.parameters.given and sc.parameters.xbzrle_cache_size != cache:
        gaps.add("parameters.xbzrle-cache-size", f"{sc.parameters.xbzrle_cache_size} bytes",
                 f"Proxmox sizes it itself: {cache} bytes (10 % of RAM, power of two)")
    gaps.add("parameters.downtime-limit", f"{sc.parameters.downtime_limit} ms",
             "migrate_downtime is the start value: Proxmox doubles it after 5 polls without "
             "progress")
    handled = ("max-bandwidth", "downtime-limit", "auto-converge", "xbzrle",
               "xbzrle-cache-size")
    _not_expressible(sc, gaps, "Proxmox", handled)
    _control_gaps(sc, gaps, "Proxmox")


def _render_proxmox(sc: Scenario, opts: ExportOptions) -> Export:
    """``qm set``/``qm migrate`` options and ``datacenter.cfg`` lines."""
    if _policy_kind(sc) == "proxmox":
        return _render_proxmox_policy(sc, opts)
    gaps = _Gaps()
    downtime_s = sc.parameters.downtime_limit / 1000
    bw = _effective_bandwidth(sc)
    kib = max(1, round(bw / KiB)) if bw is not None else 0
    # Proxmox applies the lower of migrate_speed (MB/s, read as MiB/s) and bwlimit (KiB/s):
    # migrate_speed is rounded *up* to whole MiB/s so that bwlimit's finer value decides.
    speed_mib = math.ceil(kib * KiB / MiB) if kib else 0
    if bw is not None and kib * KiB != bw:
        gaps.add("parameters.max-bandwidth", f"{bw} bytes/s",
                 f"bwlimit takes whole KiB/s: {kib} KiB/s")
    if speed_mib * MiB != kib * KiB:
        gaps.add("parameters.max-bandwidth", f"{bw} bytes/s",
                 f"migrate_speed takes whole MB/s (MiB/s): {speed_mib}, rounded up; Proxmox "
                 f"uses the lower of it and bwlimit, so bwlimit {kib} KiB/s is the limit "
                 f"(migrate_speed alone would allow up to {speed_mib} MiB/s)")
    _proxmox_gaps(sc, gaps)
    return _proxmox_files(sc, opts, gaps, downtime_s=downtime_s, speed_mib=speed_mib, kib=kib)


def _proxmox_files(sc: Scenario, opts: ExportOptions, gaps: _Gaps, *, downtime_s: float,
                   speed_mib: int, kib: int) -> Export:
    """Proxmox's two files: ``qm`` lines for the VM, ``datacenter.cfg`` for the cluster."""
    vmid = opts.vmid
    qm = [*_header(sc, "Proxmox VE"), *gaps.as_comments(),
          f"qm set {vmid} --migrate_downtime {downtime_s:g} --migrate_speed {speed_mib}",
          f"qm migrate {vmid} {shlex.quote(opts.dest_host)} --online"
          + (f" --bwlimit {kib}" if kib else "")]
    dc = ["# datacenter.cfg: cluster-wide defaults (bwlimit in KiB/s)",
          "migration: type=secure"]
    if kib:
        dc.append(f"bwlimit: migration={kib}")
    files = {"qm.sh": "\n".join(qm) + "\n", "datacenter.cfg": "\n".join(dc) + "\n"}
    return Export("proxmox", files, tuple(gaps.items), separator="# ==> {name} <==")


# ------------------------------------------------------------------------- oVirt


def _ovirt_schedule(sc: Scenario) -> dict[str, Any]:
    item = {"action": "setDowntime", "params": [str(sc.parameters.downtime_limit)]}
    last: list[dict[str, Any]] = []
    if sc.capabilities["postcopy-ram"] and sc.control.postcopy_after is not None:
        last.append({"action": "postcopy", "params": []})
    elif sc.control.timeout_s is not None:
        last.append({"action": "abort", "params": []})
    return {"initialItems": [item], "convergenceItems": [], "lastItems": last}


def _render_ovirt(sc: Scenario, opts: ExportOptions) -> Export:
    """An oVirt migration policy (engine-config ``MigrationPolicies`` entry) as JSON."""
    if _policy_kind(sc) == "ovirt":
        return _render_ovirt_policy(sc, opts)
    gaps = _Gaps()
    bw = _effective_bandwidth(sc)
    mbps = max(1, round(bw * 8 / 1e6)) if bw is not None else None
    if bw is not None and mbps is not None and mbps * 1e6 / 8 != bw:
        gaps.add("parameters.max-bandwidth", f"{bw} bytes/s", f"the cluster's custom "
                 f"migration bandwidth takes whole Mbps: {mbps} Mbps")
    if bw is None:
        gaps.add("parameters.max-bandwidth", "unlimited", "oVirt has no 'unlimited': "
                 "assignment_method hypervisor_default uses the hypervisor's configured value "
                 "(vdsm.conf migration_max_bandwidth), which is not necessarily unlimited; "
                 "set it to 0 on each host for libvirt's unlimited default")
    if sc.control.postcopy_after is not None:
        gaps.add("control.postcopy-after", _postcopy_words(sc), "oVirt switches to postcopy "
                 "as the last action, when the precopy schedule stalls out")
    if sc.control.timeout_s is not None:
        gaps.add("control.timeout", format_duration(sc.control.timeout_s), "oVirt's limit is "
                 "vdsm's migration_max_time_per_gib_mem (s per GiB) in vdsm.conf: "
                 f"{math.ceil(sc.control.timeout_s / (sc.vm.memory_bytes / GiB))}")
    handled = ("max-bandwidth", "downtime-limit", "auto-converge", "xbzrle", "postcopy-ram")
    _not_expressible(sc, gaps, "oVirt", handled)
    _control_gaps(sc, gaps, "oVirt", timeout=False, postcopy=False)
    policy = {
        "id": {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"miglab:{sc.name}"))},
        "maxMigrations": 1,
        "autoConvergence": sc.capabilities["auto-converge"],
        "migrationCompression": sc.capabilities["xbzrle"],
        "enableGuestEvents": True,
        "name": sc.name,
        "description": f"miglab export of {sc.name} (QEMU {sc.qemu.name})",
        "config": _ovirt_schedule(sc),
    }
    method_key, value_key = OVIRT_BANDWIDTH_KEYS
    bandwidth: dict[str, Any] = {method_key: "custom" if mbps else "hypervisor_default"}
    if mbps:
        bandwidth[value_key] = mbps
    side = {"cluster": {"migration": {"bandwidth": bandwidth}},
            "gaps": [g.as_dict() for g in gaps.items]}
    files = {"migration-policy.json": json.dumps(policy, indent=2) + "\n",
             "cluster.json": json.dumps(side, indent=2) + "\n"}
    return Export("ovirt", files, tuple(gaps.items))


# ------------------------------------------------------------------------- platform policies
#
# A scenario whose ``control.policy`` is the target's own kind is exported as that policy's
# configuration, every option written out (the product's defaults change between releases),
# so importing the files back gives the same policy and the same simulation. The scenario's
# own QEMU settings that the policy turns on are folded in (auto-converge on in the scenario
# means the platform must allow it); the rest that the platform cannot set are gaps.


def _policy_kind(sc: Scenario) -> str | None:
    policy = sc.control.policy
    return None if policy is None else str(policy.get("kind"))


def _policy_options(sc: Scenario) -> dict[str, Any]:
    """The scenario's policy options, typed, with the product's defaults filled in."""
    from sim.policies import build_policy

    assert sc.control.policy is not None
    return build_policy(sc.control.policy).options


def _policy_gaps(sc: Scenario, gaps: _Gaps, target: str, handled: Iterable[str]) -> None:
    """Gaps for scenario settings beside the policy that the platform cannot set."""
    _not_expressible(sc, gaps, target, handled)
    _control_gaps(sc, gaps, target, policy=False)


def _render_kubevirt_policy(sc: Scenario, opts: ExportOptions) -> Export:
    """A KubeVirt policy as ``MigrationPolicy`` (its fields) and CR (``progressTimeout``)."""
    o = _policy_options(sc)
    gaps = _Gaps()
    auto_converge = bool(o["allowAutoConverge"] or sc.capabilities["auto-converge"])
    fields: dict[str, Any] = {
        "bandwidthPerMigration": k8s_quantity(int(o["bandwidthPerMigration"])) or "0Mi",
        "allowAutoConverge": auto_converge,
        "completionTimeoutPerGiB": int(o["completionTimeoutPerGiB"]),
        "allowPostCopy": bool(o["allowPostCopy"]),
        "allowWorkloadDisruption": bool(o["allowWorkloadDisruption"]),
    }
    if fields["bandwidthPerMigration"] == "0":
        fields["bandwidthPerMigration"] = "0Mi"
    dt = sc.parameters.downtime_limit
    if dt != QEMU_DEFAULT_DOWNTIME_MS:
        gaps.add("parameters.downtime-limit", f"{dt} ms", "KubeVirt has no downtime knob "
                 f"(VEP 248 proposes maxDowntimeMs); QEMU's {QEMU_DEFAULT_DOWNTIME_MS} ms "
                 "applies")
    if o["downtimeTuning"] is not None:
        gaps.add("control.policy.downtimeTuning", "set", "behind the MigrationDowntimeTuning "
                 "feature gate (VEP 291); not written")
    if not sc.capabilities["multifd"] and not o["allowPostCopy"]:
        gaps.add("capabilities.multifd", "off", "KubeVirt turns multifd on (8 channels) when "
                 "the VMI has no CPU limit and postcopy is not allowed; the prediction is "
                 "for a VMI with a CPU limit")
    _policy_gaps(sc, gaps, "KubeVirt", ("max-bandwidth", "downtime-limit", "auto-converge",
                                        "postcopy-ram", "multifd", "multifd-channels"))
    name = _k8s_name(sc.name)
    policy = {
        "apiVersion": "migrations.kubevirt.io/v1alpha1",
        "kind": "MigrationPolicy",
        "metadata": {"name": name},
        "spec": {"selectors": {"virtualMachineInstanceSelector": {
            "matchLabels": {"miglab/policy": name}}}, **fields},
    }
    cr = {
        "apiVersion": "kubevirt.io/v1",
        "kind": "KubeVirt",
        "metadata": {"name": "kubevirt", "namespace": "kubevirt"},
        "spec": {"configuration": {"migrations": {
            "progressTimeout": int(o["progressTimeout"])}}},
    }
    head = [*_header(sc, "KubeVirt"), *gaps.as_comments()]
    dump = yaml.safe_dump
    files = {
        "migration-policy.yaml": "\n".join(head) + "\n" + dump(policy, sort_keys=False),
        "kubevirt-cr.yaml": "\n".join(head) + "\n# progressTimeout is cluster-wide (no "
                            "MigrationPolicy field); merge into your KubeVirt CR "
                            "(kubectl patch --type merge)\n" + dump(cr, sort_keys=False),
    }
    return Export("kubevirt", files, tuple(gaps.items), separator="---\n# {name}")


def _render_nova_policy(sc: Scenario, opts: ExportOptions) -> Export:
    """A Nova policy as ``nova.conf`` ``[libvirt]`` options, every one written."""
    from sim.policies.nova import OPTIONS

    o = _policy_options(sc)
    gaps = _Gaps()
    libvirt: dict[str, Any] = {name: o[name] for name in OPTIONS}
    if sc.capabilities["auto-converge"] and not o["live_migration_permit_auto_converge"]:
        libvirt["live_migration_permit_auto_converge"] = True
    if libvirt["live_migration_permit_auto_converge"] and o["live_migration_permit_post_copy"]:
        gaps.add("capabilities.auto-converge", "on with post-copy permitted",
                 "Nova uses auto-converge only when post-copy is not permitted")
    if sc.capabilities["multifd"]:
        libvirt["live_migration_parallel_connections"] = sc.parameters.multifd_channels
        gaps.add("capabilities.multifd", "on", "live_migration_parallel_connections exists "
                 "from Nova 33.0.0 (2026.1) only; older Nova ignores it")
    _policy_gaps(sc, gaps, "Nova", ("max-bandwidth", "downtime-limit", "auto-converge",
                                    "postcopy-ram", "multifd", "multifd-channels"))
    lines = [*_header(sc, "OpenStack Nova (nova.conf)"), *gaps.as_comments(), "",
             "[DEFAULT]", "# one migration at a time per compute host (Nova's default)",
             "max_concurrent_live_migrations = 1", "", "[libvirt]"]
    for key, value in libvirt.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        lines.append(f"{key} = {text}")
    return Export("nova", {"nova.conf": "\n".join(lines) + "\n"}, tuple(gaps.items))


def _render_proxmox_policy(sc: Scenario, opts: ExportOptions) -> Export:
    """A Proxmox policy as ``qm set``/``qm migrate`` and ``datacenter.cfg`` (same speed)."""
    o = _policy_options(sc)
    gaps = _Gaps()
    speed_mib = int(o["migrate_speed"])
    kib = speed_mib * MiB // KiB
    _policy_gaps(sc, gaps, "Proxmox", ("max-bandwidth", "downtime-limit", "auto-converge",
                                       "xbzrle", "xbzrle-cache-size"))
    return _proxmox_files(sc, opts, gaps, downtime_s=float(o["migrate_downtime"]),
                          speed_mib=speed_mib, kib=kib)


def _render_ovirt_policy(sc: Scenario, opts: ExportOptions) -> Export:
    """An oVirt policy as the cluster's migration settings and Vdsm's per-GiB limit.

    The cluster's custom bandwidth is shared by the policy's concurrent migrations
    (``maxMigrations``), so it is the scenario's ``max-bandwidth`` times that count.
    """
    from sim.targets import BITS_PER_MBIT, OVIRT_MAX_MIGRATIONS, OVIRT_SCHEDULE_NAMES

    o = _policy_options(sc)
    gaps = _Gaps()
    schedule = str(o["schedule"])
    share = OVIRT_MAX_MIGRATIONS[schedule]
    bw = _effective_bandwidth(sc)
    bandwidth: dict[str, Any]
    if bw is None:
        bandwidth = {"assignment_method": "hypervisor_default"}
        gaps.add("parameters.max-bandwidth", "unlimited", "oVirt has no 'unlimited': "
                 "hypervisor_default uses vdsm.conf migration_max_bandwidth")
    else:
        mbps = max(1, round(bw * share * 8 / BITS_PER_MBIT))
        if mbps * BITS_PER_MBIT / 8 / share != bw:
            gaps.add("parameters.max-bandwidth", f"{bw} bytes/s", f"the cluster's custom "
                     f"bandwidth takes whole Mbit/s: {mbps} Mbit/s shared by {share}")
        bandwidth = {"assignment_method": "custom", "custom_value": mbps}
    _policy_gaps(sc, gaps, "oVirt", ("max-bandwidth", "downtime-limit", "auto-converge",
                                     "xbzrle", "postcopy-ram"))
    cluster = {"cluster": {"migration": {
        "policy": {"name": OVIRT_SCHEDULE_NAMES[schedule]},
        "bandwidth": bandwidth}},
        "note": f"maxMigrations of this policy: {share}; the bandwidth is shared by them",
        "gaps": [g.as_dict() for g in gaps.items]}
    vdsm = [*_header(sc, "oVirt (vdsm.conf on every host)"), "[vars]",
            f"migration_max_time_per_gib_mem = {int(o['max_time_per_gib_mem'])}"]
    files = {"cluster.json": json.dumps(cluster, indent=2) + "\n",
             "vdsm.conf": "\n".join(vdsm) + "\n"}
    return Export("ovirt", files, tuple(gaps.items), separator="# ==> {name} <==")


# ------------------------------------------------------------------------- registry

EXPORTERS: Final[dict[str, Renderer]] = {
    "qmp": _render_qmp,
    "hmp": _render_hmp,
    "virsh": _render_virsh,
    "kubevirt": _render_kubevirt,
    "nova": _render_nova,
    "proxmox": _render_proxmox,
    "ovirt": _render_ovirt,
}
"""Every export target: name → renderer ``(scenario, options) -> Export``."""

FORMATS: Final = tuple(EXPORTERS)
"""The export target names, in the order the report shows them."""


def export(scenario: Scenario, fmt: str, options: ExportOptions | None = None) -> Export:
    """Render ``scenario`` for target ``fmt``.

    Args:
        scenario: a validated scenario (or a recommendation's scenario).
        fmt: one of :data:`FORMATS`.
        options: host, domain and URI names; defaults are placeholders.

    Returns:
        The :class:`Export` with its files and gaps.

    Raises:
        ExportError: ``fmt`` is not a known target.
    """
    renderer = EXPORTERS.get(fmt)
    if renderer is None:
        raise ExportError(f"unknown export format {fmt!r}; expected one of "
                          + ", ".join(FORMATS))
    return renderer(scenario, options or ExportOptions())

"""virsh / libvirt: ``virsh migrate`` flags and the ``virsh migrate-set*`` commands."""

from __future__ import annotations

import json
import math
import shlex
from dataclasses import dataclass, field
from typing import Any, Final

from sim.export._base import (
    Export,
    ExportOptions,
    GapCollector,
    bandwidth_mib_per_s,
    domain_name,
    effective_bandwidth,
    given_parameters,
    header_lines,
    note_control_gaps,
    note_not_expressible,
    postcopy_words,
    whole_mib_per_s,
)
from sim.scenario import Scenario
from sim.units import format_duration

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
    params = given_parameters(sc)
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


def _virsh_postcopy(sc: Scenario, v: _Virsh, gaps: GapCollector, dom: str) -> list[str]:
    """Postcopy flags; returns shell lines to run before ``virsh migrate``."""
    if not sc.capabilities["postcopy-ram"]:
        return []
    v.flags.append("--postcopy")
    v.api_flags.append("VIR_MIGRATE_POSTCOPY")
    pbw = sc.parameters.max_postcopy_bandwidth
    if "max-postcopy-bandwidth" in sc.parameters.given and pbw:
        mib = whole_mib_per_s(pbw, "parameters.max-postcopy-bandwidth",
                              "virsh --postcopy-bandwidth", gaps)
        v.opt("--postcopy-bandwidth", mib, "bandwidth.postcopy")
    after = sc.control.postcopy_after
    if after is None:
        return []
    if after.passes is not None:
        v.flags.append("--postcopy-after-precopy")
        v.api_flags.append("VIR_MIGRATE_POSTCOPY_AFTER_PRECOPY")
        if after.passes != 1:
            gaps.add("control.postcopy-after", postcopy_words(sc),
                     "--postcopy-after-precopy switches after the first pass; for a later "
                     f"pass drop it and run 'virsh migrate-postcopy {dom}' by hand")
        return []
    return [f"( sleep {after.seconds:g}; virsh migrate-postcopy {shlex.quote(dom)} ) &"]


def _virsh_model(sc: Scenario, opts: ExportOptions, gaps: GapCollector) -> tuple[_Virsh, list[str]]:
    v = _Virsh()
    dom = domain_name(sc, opts)
    params = given_parameters(sc)
    before: list[str] = []
    mib = bandwidth_mib_per_s(sc, gaps, "virsh --bandwidth")
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


def render_virsh(sc: Scenario, opts: ExportOptions) -> Export:
    """A ``virsh migrate`` command line, its helper commands, and libvirt typed parameters."""
    gaps = GapCollector()
    v, before = _virsh_model(sc, opts, gaps)
    dom = domain_name(sc, opts)
    if effective_bandwidth(sc) is None:
        gaps.add("parameters.max-bandwidth", "unlimited", "libvirt's default is unlimited; "
                 "no --bandwidth")
    note_not_expressible(sc, gaps, "virsh", _VIRSH_HANDLED)
    note_control_gaps(sc, gaps, "virsh", timeout=False, postcopy=False)
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
    script = [*header_lines(sc, "virsh"), *gaps.as_comments(), *before, line]
    typed = {"flags": v.api_flags, "params": v.params,
             "max_downtime_ms": sc.parameters.downtime_limit}
    files = {"migrate.sh": "\n".join(script) + "\n",
             "libvirt-params.json": json.dumps(typed, indent=2) + "\n"}
    return Export("virsh", files, tuple(gaps.items), separator="# ==> {name} <==")

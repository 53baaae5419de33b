"""Proxmox VE: ``qm set`` / ``qm migrate`` and ``datacenter.cfg``."""

from __future__ import annotations

import math
import shlex

from sim.export._base import (
    Export,
    ExportOptions,
    GapCollector,
    effective_bandwidth,
    header_lines,
    note_control_gaps,
    note_not_expressible,
    note_policy_gaps,
    policy_kind_of,
    policy_options_of,
)
from sim.scenario import Scenario
from sim.units import KiB, MiB

# ------------------------------------------------------------------------- Proxmox


def _proxmox_xbzrle_cache(memory_bytes: int) -> int:
    """Proxmox's XBZRLE cache: 10 % of RAM rounded to a power of two."""
    tenth = max(memory_bytes // 10, 4 * KiB)
    return int(2 ** round(math.log2(tenth)))


def _proxmox_gaps(sc: Scenario, gaps: GapCollector) -> None:
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
    note_not_expressible(sc, gaps, "Proxmox", handled)
    note_control_gaps(sc, gaps, "Proxmox")


def render_proxmox(sc: Scenario, opts: ExportOptions) -> Export:
    """``qm set``/``qm migrate`` options and ``datacenter.cfg`` lines."""
    if policy_kind_of(sc) == "proxmox":
        return _render_proxmox_policy(sc, opts)
    gaps = GapCollector()
    downtime_s = sc.parameters.downtime_limit / 1000
    bw = effective_bandwidth(sc)
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


def _proxmox_files(sc: Scenario, opts: ExportOptions, gaps: GapCollector, *, downtime_s: float,
                   speed_mib: int, kib: int) -> Export:
    """Proxmox's two files: ``qm`` lines for the VM, ``datacenter.cfg`` for the cluster."""
    vmid = opts.vmid
    qm = [*header_lines(sc, "Proxmox VE"), *gaps.as_comments(),
          f"qm set {vmid} --migrate_downtime {downtime_s:g} --migrate_speed {speed_mib}",
          f"qm migrate {vmid} {shlex.quote(opts.dest_host)} --online"
          + (f" --bwlimit {kib}" if kib else "")]
    dc = ["# datacenter.cfg: cluster-wide defaults (bwlimit in KiB/s)",
          "migration: type=secure"]
    if kib:
        dc.append(f"bwlimit: migration={kib}")
    files = {"qm.sh": "\n".join(qm) + "\n", "datacenter.cfg": "\n".join(dc) + "\n"}
    return Export("proxmox", files, tuple(gaps.items), separator="# ==> {name} <==")


def _render_proxmox_policy(sc: Scenario, opts: ExportOptions) -> Export:
    """A Proxmox policy as ``qm set``/``qm migrate`` and ``datacenter.cfg`` (same speed)."""
    o = policy_options_of(sc)
    gaps = GapCollector()
    speed_mib = int(o["migrate_speed"])
    kib = speed_mib * MiB // KiB
    note_policy_gaps(sc, gaps, "Proxmox", ("max-bandwidth", "downtime-limit", "auto-converge",
                                           "xbzrle", "xbzrle-cache-size"))
    return _proxmox_files(sc, opts, gaps, downtime_s=float(o["migrate_downtime"]),
                          speed_mib=speed_mib, kib=kib)

"""Measure QEMU's dirty-bitmap sync time per GiB of guest RAM (``host.sync-per-gib``).

QEMU brackets every ``migration_bitmap_sync()`` with the trace events
``migration_bitmap_sync_start`` and ``migration_bitmap_sync_end``; with ``-msg timestamp=on``
its log backend stamps each with the wall clock in microseconds. This script boots the lab
guest (:mod:`sim.lab.guest`, dirtying a small working set, or paused with ``-S``) at several
RAM sizes, migrates it to ``exec:cat > /dev/null`` (no destination QEMU competing for the
cores) with a bandwidth limit that makes it iterate, and reads the sync durations from the
trace. The slope of the median sync time against RAM is the per-GiB cost.

Only the QEMU processes it starts are stopped (``quit``, then kill by their own pid); each
migration has a hard cap.

    python scripts/measure-sync-cost.py --accel tcg --sizes 512 1024 2048 4096

KVM: run the same with ``--accel kvm`` on a host with working KVM (the K- runs). On the
lab machine of data/lab there is no usable KVM (a PVM module, no VMX/SVM).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sim.lab.guest import GuestWorkload, build_guest
from sim.lab.qemu_proc import VMSpec, qemu_command
from sim.lab.qmp import QMPClient

TRACE = re.compile(r"^\d+@(\d+)\.(\d+):migration_bitmap_sync_(start|end)")
CAP_S = 12.0
"""Hard cap on one migration; a running guest never converges here (by design: the
syncs keep coming), so each run is cancelled at the cap."""


def _syncs(log: Path) -> list[float]:
    """Durations (s) of the syncs in a QEMU trace log, in order."""
    out: list[float] = []
    start: float | None = None
    for line in log.read_text(errors="replace").splitlines():
        m = TRACE.match(line)
        if not m:
            continue
        t = int(m.group(1)) + int(m.group(2)) / 1e6
        if m.group(3) == "start":
            start = t
        elif start is not None:
            out.append(t - start)
            start = None
    return out


def measure(memory_mib: int, accel: str, paused: bool, workload: GuestWorkload,
            ) -> dict[str, Any]:
    """One migration of a ``memory_mib`` guest to a sink; the syncs' durations."""
    work = Path(tempfile.mkdtemp(prefix="sync-"))
    vm = VMSpec(memory_mib=memory_mib, vcpus=1, accel=accel, workload=workload)
    qmp_path, log = work / "q.sock", work / "trace.log"
    cmd = qemu_command(vm, build_guest(), qmp_path, work / "serial")
    cmd += ["-msg", "timestamp=on", "-trace", "enable=migration_bitmap_sync_*", "-D", str(log)]
    if paused:
        cmd.append("-S")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        qmp = QMPClient.connect(qmp_path)
        time.sleep(1.0 if not paused else 0.2)  # let the guest start dirtying
        qmp.execute("migrate-set-parameters", {"max-bandwidth": 128 << 20,
                                               "downtime-limit": 20})
        qmp.execute("migrate", {"uri": "exec:cat > /dev/null"})
        t0 = time.monotonic()
        info: dict[str, Any] = {}
        while time.monotonic() - t0 < CAP_S:
            info = qmp.execute("query-migrate")
            if info.get("status") in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.1)
        else:
            qmp.execute("migrate_cancel")
            time.sleep(0.5)
        time.sleep(0.3)
        info = qmp.execute("query-migrate")
        qmp.execute("quit")
        with contextlib.suppress(subprocess.TimeoutExpired):  # killed below
            proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    durations = _syncs(log)
    shutil.rmtree(work, ignore_errors=True)
    # The first sync is setup's; a completed run's last one is the final sync (guest stopped).
    completed = info.get("status") == "completed"
    running = durations[1:-1] if completed else durations[1:]
    return {"memory_mib": memory_mib, "accel": accel, "paused": paused,
            "guest": workload.append(),
            "status": info.get("status"), "syncs": len(durations),
            "setup_ms": durations[0] * 1e3 if durations else None,
            "final_ms": durations[-1] * 1e3 if durations and completed else None,
            "running_median_ms": statistics.median(running) * 1e3 if running else None,
            "running_p10_ms": statistics.quantiles(running, n=10)[0] * 1e3
            if len(running) >= 10 else None,
            "durations_ms": [round(d * 1e3, 3) for d in durations]}


def slope_per_gib(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (GiB, ms) points, in ms per GiB."""
    xs, ys = zip(*points, strict=True)
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)


def main() -> int:
    """Measure, print one JSON line per run, then the per-GiB slopes."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accel", default="tcg")
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048, 4096])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--wss-mib", type=int, default=64, help="guest working set")
    ap.add_argument("--rate-mib", type=int, default=64,
                    help="guest dirty rate, MiB/s (0: as fast as the vCPU can)")
    ap.add_argument("--running-only", action="store_true", help="skip the paused guests")
    args = ap.parse_args()
    workload = GuestWorkload(args.wss_mib << 20, args.rate_mib << 20, pattern="random")
    rows: list[dict[str, Any]] = []
    for paused in ((False,) if args.running_only else (True, False)):
        for size in args.sizes:
            for _ in range(args.repeats):
                row = measure(size, args.accel, paused, workload)
                rows.append(row)
                print(json.dumps(row), flush=True)
    for paused in (True, False):
        for key in ("final_ms", "running_median_ms"):
            pts = [(r["memory_mib"] / 1024, r[key]) for r in rows
                   if r["paused"] == paused and r[key] is not None]
            if len({x for x, _ in pts}) >= 2:
                print(f"paused={paused} {key}: {slope_per_gib(pts):.4f} ms/GiB "
                      f"over {len(pts)} runs", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Where the CPU goes during an unlimited migration: every QEMU thread's run time, measured.

A stopwatch on every worker in the sorting office. While a real migration runs (the lab's
QEMU pair, :func:`sim.lab.runner.run_scenario`), a sampler thread reads, every few
milliseconds, how long each thread of both QEMU processes has been on a CPU
(``/proc/<pid>/task/<tid>/schedstat``, nanoseconds) and its name (``comm``:
``CPU 0/TCG`` for the vCPU, ``live_migration`` for the migration thread,
``multifdsend_N``/``multifdrecv_N`` for multifd channels, the process name for the main
loop, where 7.2's incoming migration runs as a coroutine). The window is the life of the
source's ``live_migration`` thread. Per thread it prints the cores it used on average
over that window, and the CPU microseconds per non-zero page sent.

This answers what the sender model must know on a host where the guest and the migration
share few cores: does the vCPU give up cores to more channels, and what does each stage
cost per page.

Usage (manual, on an otherwise idle machine; ~1 min)::

    .venv/bin/python benchmarks/accuracy/thread_cpu.py > /tmp/threads.md
    .venv/bin/python benchmarks/accuracy/thread_cpu.py --only multifd-1 multifd-4
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sim.lab.runner import run_scenario  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

SAMPLE_S = 0.005
MIGRATION_THREAD = "live_migration"


def _corpus_plan() -> dict[str, tuple[dict[str, Any], str]]:
    """The lab corpus's settings by name (``scripts/lab-corpus.py`` is a script)."""
    spec = importlib.util.spec_from_file_location("lab_corpus", ROOT / "scripts/lab-corpus.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {name: (sc, content) for name, sc, content in module.plan()}


def _qemu_children() -> list[int]:
    """Pids of the QEMU processes this process started."""
    me, pids = str(os.getpid()), []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            head, tail = (proc / "stat").read_text().rsplit(")", 1)
        except OSError:
            continue
        if head.split("(", 1)[1].startswith("qemu-system") and tail.split()[1] == me:
            pids.append(int(proc.name))
    return pids


def _threads(pids: list[int]) -> dict[tuple[int, int], tuple[str, int]]:
    """``(pid, tid) -> (comm, ns on CPU)`` for every thread of ``pids``."""
    out: dict[tuple[int, int], tuple[str, int]] = {}
    for pid in pids:
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                comm = (task / "comm").read_text().strip()
                ns = int((task / "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            out[(pid, int(task.name))] = (comm, ns)
    return out


class Sampler(threading.Thread):
    """Samples every QEMU thread's CPU time; keeps the migration window's first and last."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.first: dict[tuple[int, int], tuple[str, int]] | None = None
        self.last: dict[tuple[int, int], tuple[str, int]] = {}
        self.t0 = self.t1 = 0.0
        self.source_pid = 0

    def run(self) -> None:
        pids: list[int] = []
        while not self.stop.is_set():
            if len(pids) < 2:  # both QEMUs start before the migration; /proc is scanned until then
                pids = _qemu_children()
            now, threads = time.monotonic(), _threads(pids)
            migrating = [pid for (pid, _), (comm, _) in threads.items()
                         if comm == MIGRATION_THREAD]
            if migrating:
                if self.first is None:
                    self.first, self.t0, self.source_pid = threads, now, migrating[0]
                self.last, self.t1 = threads, now
            elif self.first is not None and self.last:
                # the migration thread is gone; threads that ended keep their last figure
                for key, value in threads.items():
                    if key in self.last:
                        self.last[key] = value
                self.t1 = now
                return
            time.sleep(SAMPLE_S)


def measure(name: str, scenario: dict[str, Any], content: str) -> list[str]:
    """Run one setting and return its table rows."""
    sampler = Sampler()
    sampler.start()
    try:
        run = run_scenario(load_scenario(scenario), content=content)  # type: ignore[arg-type]
    finally:
        sampler.stop.set()
        sampler.join(timeout=5)
    if sampler.first is None:
        return [f"| {name} | no migration thread seen | | | |"]
    window_s = sampler.t1 - sampler.t0
    ram = run.result.ram
    pages = max(ram.normal, 1)
    used: dict[str, float] = defaultdict(float)
    for key, (comm, ns) in sampler.last.items():
        side = "src" if key[0] == sampler.source_pid else "dst"
        label = f"{side} {comm if not comm.startswith('qemu-system') else 'main loop'}"
        used[label] += (ns - sampler.first.get(key, (comm, 0))[1]) / 1e9
    rows = []
    total = sum(used.values())
    for label, cpu_s in sorted(used.items(), key=lambda kv: -kv[1]):
        if cpu_s < 0.002:
            continue
        rows.append(f"| {name} | {label} | {cpu_s / window_s:.2f} | "
                    f"{cpu_s / pages * 1e6:.1f} | {ram.normal} |")
    rows.append(f"| {name} | **all threads** ({window_s * 1000:.0f} ms window, "
                f"QEMU total-time {run.result.total_time_ms:.0f} ms) | {total / window_s:.2f} | "
                f"{total / pages * 1e6:.1f} | {ram.normal} |")
    return rows


def main() -> int:
    """Measure the unlimited runs of the corpus (or the named ones)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="settings of the lab corpus")
    args = parser.parse_args()
    plan = _corpus_plan()
    names = args.only or ["cpu-seq-5M", "cpu-multifd-2-5M", "multifd-1", "multifd-2",
                          "multifd-4", "cpu-seq-60M", "cpu-mem-1G"]
    print("| setting | thread | cores (mean over the window) | CPU µs per normal page | "
          "normal pages |\n|---|---|---:|---:|---:|")
    for name in names:
        scenario, content = plan[name]
        for row in measure(name, scenario, content):
            print(row, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Engine speed benchmarks: run ``.venv/bin/python benchmarks/engine/bench_engine.py``.

A stopwatch held to the engine: each case builds its scenario once, then times
:func:`sim.engine.simulate` (``timeline=False`` unless said) and prints the median of several
repeats, the peak memory of one run (``tracemalloc``), the growth with guest size, and the
48-cell table of QEMU's community predictor (``predict_migration.py``: 32 GiB memcached curve,
8 bandwidths × 6 downtime limits, a one-hour horizon), whose published time is 16 ms.

    .venv/bin/python benchmarks/engine/bench_engine.py            # everything
    .venv/bin/python benchmarks/engine/bench_engine.py --profile  # cProfile of the peer table
"""

from __future__ import annotations

import cProfile
import platform
import pstats
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from sim.engine import simulate
from sim.scenario import Scenario, load_scenario

BANDWIDTHS = ("100Mbit/s", "1Gbit/s", "2Gbit/s", "2.5Gbit/s", "5Gbit/s", "10Gbit/s",
              "25Gbit/s", "40Gbit/s")
DOWNTIMES_MS = (125, 250, 500, 1000, 5000, 2_000_000)


def median_s(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time of ``fn`` over ``repeat`` runs (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_bytes(fn: Callable[[], Any]) -> int:
    """Peak Python memory allocated while running ``fn`` once."""
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def guest(memory: str, **extra: Any) -> Scenario:
    """A guest on 10 Gbit/s, unlimited max-bandwidth, auto-converge on, random writes."""
    data: dict[str, Any] = {
        "vm": {"memory": memory, "vcpus": 4},
        "workload": {"dirty-rate": "1GiB/s", "working-set": "4GiB"},
        "host": {"link": "10Gbit/s"},
        "parameters": {"max-bandwidth": 0},
        "capabilities": {"auto-converge": True},
    }
    data.update(extra)
    return load_scenario(data)


def peer_table() -> list[Scenario]:
    """The 48 scenarios of predict_migration.py's table (the link binds, as in the peer)."""
    base = {"vm": {"memory": "32G"}, "workload": {"preset": "memcached"},
            "parameters": {"max-bandwidth": 0}}
    out = []
    for bw in BANDWIDTHS:
        for dl in DOWNTIMES_MS:
            out.append(load_scenario({**base, "host": {"link": bw, "channel-rate": "100GiB/s"},
                                      "parameters": {"max-bandwidth": 0, "downtime-limit": dl}}))
    return out


def main() -> None:
    """Run every case and print a Markdown table."""
    ac16 = guest("16G")
    stuck64 = load_scenario({
        "vm": {"memory": "64G"}, "workload": {"dirty-rate": "2GiB/s", "working-set": "8G"},
        "host": {"link": "10Gbit/s"}, "parameters": {"max-bandwidth": 0},
        "control": {"timeout": "10min"}})
    table = peer_table()
    if "--profile" in sys.argv:
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(5):
            for sc in table:
                simulate(sc, timeline=False)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        return
    print(f"machine: {platform.processor() or platform.machine()}, Python "
          f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}")
    print("| case | median | target |")
    print("|---|---|---|")
    t = median_s(lambda: simulate(ac16, timeline=False), 50)
    print(f"| 16 GiB, 10 Gbit/s, auto-converge | {t * 1e3:.2f} ms | ≤ 20 ms |")
    t = median_s(lambda: simulate(ac16), 50)
    print(f"| same, with timeline | {t * 1e3:.2f} ms | |")
    t = median_s(lambda: simulate(stuck64, timeline=False), 20)
    print(f"| 64 GiB non-converging, 10-min timeout | {t * 1e3:.2f} ms | ≤ 100 ms |")
    t = median_s(lambda: [simulate(sc, timeline=False) for sc in table], 10)
    per_cell = sorted(median_s(lambda sc=sc: simulate(sc, timeline=False), 5) for sc in table)
    print(f"| peer table, 48 cells, 1 h horizon | {t * 1e3:.1f} ms | ≤ 160 ms (peer 16 ms) |")
    print(f"| peer table, median cell / slowest cell | {statistics.median(per_cell) * 1e6:.0f} µs"
          f" / {per_cell[-1] * 1e3:.2f} ms | (peer 7 µs / 3 ms) |")
    t = median_s(lambda: [sc.with_changes({}) for sc in table[:8]], 5) / 8
    print(f"| (building one scenario with load_scenario) | {t * 1e3:.2f} ms | |")
    print(f"| peak memory, 16 GiB auto-converge run with timeline | "
          f"{peak_bytes(lambda: simulate(ac16)) / 1024:.0f} KiB | |")
    print(f"| peak memory, 64 GiB non-converging run | "
          f"{peak_bytes(lambda: simulate(stuck64, timeline=False)) / 1024:.0f} KiB | |")
    print()
    print("| guest size | median (auto-converge, 10 Gbit/s) | syncs | total time |")
    print("|---|---|---|---|")
    for size in ("4G", "16G", "64G", "256G"):
        sc = guest(size)
        t = median_s(lambda sc=sc: simulate(sc, timeline=False), 20)
        r = simulate(sc, timeline=False)
        print(f"| {size}iB | {t * 1e3:.2f} ms | {r.ram.dirty_sync_count} | "
              f"{r.total_time_s:.1f} s ({r.status}) |")


if __name__ == "__main__":
    main()

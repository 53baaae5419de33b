"""Scale benchmark: a big sweep and a big host drain, their wall time, peak memory and growth.

A stopwatch and a bathroom scale for the planning layer: each case runs in a fresh Python
process (so peak memory is that case's own), three times, and the medians are printed as
a Markdown table to paste into RESULTS.md.

    .venv/bin/python benchmarks/scale/bench_scale.py            # full: 1k/3k/10k, 100/300/1000
    .venv/bin/python benchmarks/scale/bench_scale.py --quick    # smaller sizes, one repeat

Cases:
    sweep N   — N scenarios of an 8 GiB guest (downtime-limit × link × dirty rate), run on
                the default local process pool (all CPUs), timeline off.
    drain V/H — V VMs (4–32 GiB, 5 dirty rates, 2 working sets) on H hosts of 10 Gbit/s,
                2 per node, 5 per cluster (KubeVirt's defaults), smallest first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BASE: dict[str, Any] = {
    "name": "bench-8g", "vm": {"memory": "8GiB", "vcpus": 4},
    "workload": {"dirty-rate": "200MiB/s", "working-set": "2GiB", "zero-fraction": 0.3},
    "host": {"link": "10Gbit/s"}, "parameters": {"max-bandwidth": 0},
    "capabilities": {"auto-converge": True}, "control": {"timeout": "10min"}, "seed": 1,
}

SWEEP_SHAPES = {1000: (10, 10, 10), 3000: (15, 10, 20), 10000: (25, 20, 20)}


def sweep_case(n: int) -> dict[str, Any]:
    """Run an n-scenario sweep on the default process pool."""
    from sim.sweep import parse_axis, run_sweep

    d, links, r = SWEEP_SHAPES[n]
    axes = [parse_axis(f"downtime-limit=50:2000:log{d}"),
            parse_axis(f"host.link=1Gbit/s:40Gbit/s:log{links}"),
            parse_axis(f"workload.dirty-rate=10MiB/s:1500MiB/s:log{r}")]
    t0 = time.perf_counter()
    table = run_sweep(BASE, axes, seed=1)
    wall = time.perf_counter() - t0
    assert len(table) == n, len(table)
    return {"wall_s": wall, "rows": len(table), "converged": int(table["converged"].sum())}


def inventory(vms: int, hosts: int) -> dict[str, Any]:
    """A deterministic mixed fleet: VM i on host i mod hosts."""
    mems = ["4GiB", "8GiB", "16GiB", "32GiB"]
    rates = ["0", "50MiB/s", "200MiB/s", "400MiB/s", "800MiB/s"]
    rows = []
    for i in range(vms):
        row = {"name": f"vm{i:04d}", "host": f"h{i % hosts:02d}", "memory": mems[i % 4]}
        rate = rates[(i // 4) % 5]
        if rate != "0":
            row["dirty-rate"] = rate
            row["working-set"] = ["1GiB", "2GiB"][(i // 20) % 2]
        rows.append(row)
    return {"defaults": {k: v for k, v in BASE.items() if k not in ("vm", "workload", "name")}
            | {"vm": {"vcpus": 4}, "workload": {"zero-fraction": 0.3}}, "vms": rows}


def drain_case(vms: int, hosts: int) -> dict[str, Any]:
    """Plan a drain of `vms` VMs on `hosts` hosts."""
    from sim.fleet import load_inventory, plan_drain

    inv = load_inventory(inventory(vms, hosts))
    t0 = time.perf_counter()
    plan = plan_drain(inv, per_node=2, per_cluster=5, order="smallest-first", seed=1)
    wall = time.perf_counter() - t0
    s = plan.summary()
    return {"wall_s": wall, "drain_time_s": s["drain_time_s"], "completed": s["completed"],
            "engine_runs": s["engine_runs"]}


def child(kind: str, size: str) -> None:
    """Run one case in this process and print its JSON figures (with peak RSS)."""
    sys.path.insert(0, ROOT)
    if kind == "sweep":
        out = sweep_case(int(size))
    else:
        v, h = (int(x) for x in size.split("/"))
        out = drain_case(v, h)
    self_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out["peak_rss_main_mib"] = self_kib / 1024
    out["peak_rss_worker_mib"] = kids_kib / 1024
    print(json.dumps(out))


def measure(kind: str, size: str, repeats: int) -> dict[str, Any]:
    runs = []
    for _ in range(repeats):
        got = subprocess.run([sys.executable, __file__, "--child", kind, size], check=True,
                             capture_output=True, text=True, cwd=ROOT)
        runs.append(json.loads(got.stdout.strip().splitlines()[-1]))
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    med["walls"] = [round(r["wall_s"], 2) for r in runs]
    return med


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "SIZE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    repeats = 1 if args.quick else 3
    sweeps = [1000] if args.quick else [1000, 3000, 10000]
    drains = ["100/5"] if args.quick else ["100/5", "300/15", "1000/50"]
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}; {time.strftime('%Y-%m-%d')}; repeats {repeats}\n")
    print("| case | size | median wall (s) | walls (s) | peak RSS main (MiB) | "
          "peak RSS worker (MiB) | notes |")
    print("|---|---|---|---|---|---|---|")
    for n in sweeps:
        m = measure("sweep", str(n), repeats)
        print(f"| sweep | {n} scenarios | {m['wall_s']:.2f} | {m['walls']} | "
              f"{m['peak_rss_main_mib']:.0f} | {m['peak_rss_worker_mib']:.0f} | "
              f"{m['converged']:.0f} converged |", flush=True)
    for size in drains:
        m = measure("drain", size, repeats)
        v, h = size.split("/")
        print(f"| drain | {v} VMs / {h} hosts | {m['wall_s']:.2f} | {m['walls']} | "
              f"{m['peak_rss_main_mib']:.0f} | – | drain {m['drain_time_s']:.0f} s, "
              f"{m['completed']:.0f} completed, {m['engine_runs']:.0f} engine runs |",
              flush=True)


if __name__ == "__main__":
    main()

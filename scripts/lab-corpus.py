#!/usr/bin/env python3
"""Regenerate the lab corpus: real QEMU migrations of a fixed set of scenarios.

Like a test pilot's flight card, the list below names every manoeuvre once (idle, dirty
rates across the bandwidth, working sets around bandwidth × downtime-limit, bandwidths from
16 MiB/s to unlimited, downtime limits from 50 ms to 2 s, auto-converge, postcopy, multifd,
XBZRLE) plus repeats of some settings (:data:`REPEATS` each) to show run-to-run spread.
Runs are appended to the output one line at a time and runs already there (by scenario
name) are skipped, so the script resumes after an interruption.

Runs come in four families, each kept in its own file (:data:`FAMILIES`): the first corpus,
issue 16's write orders and its CPU-bound sender runs under ``data/lab/``, and runs that
only test predictions made before them under ``data/lab-validation/`` (never fitted on).

Usage (manual; ~16 min for everything on a 2-core host, on an otherwise idle machine)::

    nohup .venv/bin/python scripts/lab-corpus.py > /tmp/corpus.log 2>&1 &
    .venv/bin/python scripts/lab-corpus.py --list                # the plan, no QEMU
    .venv/bin/python scripts/lab-corpus.py --family cpu-bound    # one family
    .venv/bin/python scripts/lab-corpus.py --only bw-16M --out /tmp/x.jsonl  # one run
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Final, cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.lab.corpus import append_record, load_corpus, setting_of
from sim.lab.guest import Content
from sim.lab.runner import run_scenario
from sim.scenario import load_scenario

MiB = 1 << 20
UNLIMITED = 100 << 30  # 100 GiB/s: no throttling on loopback
REPEATS = 3


def spec(name: str, *, rate: int = 20 * MiB, wss: int = 32 * MiB, bw: int = 64 * MiB,
         dl: int = 300, memory: int = 256 * MiB, pattern: str = "sequential",
         content: str = "text", params: dict[str, Any] | None = None,
         caps: dict[str, bool] | None = None, control: dict[str, Any] | None = None,
         ) -> tuple[str, dict[str, Any], str]:
    """One scenario of the plan: name, scenario dict (file form), guest content."""
    scenario: dict[str, Any] = {
        "name": name,
        "qemu": "7.2",
        "vm": {"memory": memory, "vcpus": 1, "device-state": "64KiB"},
        "workload": {"dirty-rate": rate, "working-set": wss, "pattern": pattern,
                     "zero-fraction": round(1 - wss / memory, 4) if content != "zero" else 1.0}
        if rate else {},
        "parameters": {"max-bandwidth": bw, "downtime-limit": dl, **(params or {})},
        "capabilities": dict(caps or {}),
        "control": {"timeout": "20s", **(control or {})},
    }
    return name, scenario, content


def plan() -> list[tuple[str, dict[str, Any], str]]:
    """Every run of the corpus, in order."""
    runs = [spec("idle", rate=0, wss=4096)]
    runs += [spec(f"rate-{r}M", rate=r * MiB, wss=64 * MiB) for r in (5, 20, 40, 60, 90)]
    runs += [spec(f"wss-{w}M", rate=40 * MiB, wss=w * MiB, bw=32 * MiB)
             for w in (4, 8, 16, 64)]
    runs += [spec(f"bw-{name}", bw=b, control={"timeout": "30s"})
             for name, b in (("16M", 16 * MiB), ("32M", 32 * MiB), ("128M", 128 * MiB),
                             ("512M", 512 * MiB), ("unlimited", UNLIMITED))]
    runs += [spec(f"dl-{d}ms", rate=20 * MiB, wss=32 * MiB, bw=32 * MiB, dl=d,
                  pattern="random") for d in (50, 100, 500, 1000, 2000)]
    ac = {"auto-converge": True}
    runs += [spec("ac-default", rate=60 * MiB, wss=64 * MiB, bw=32 * MiB, caps=ac,
                  control={"timeout": "40s"}),
             spec("ac-40-20", rate=60 * MiB, wss=64 * MiB, bw=32 * MiB, caps=ac,
                  params={"cpu-throttle-initial": 40, "cpu-throttle-increment": 20},
                  control={"timeout": "40s"}),
             spec("ac-10-5", rate=60 * MiB, wss=64 * MiB, bw=32 * MiB, caps=ac,
                  params={"cpu-throttle-initial": 10, "cpu-throttle-increment": 5},
                  control={"timeout": "40s"})]
    pc = {"postcopy-ram": True}
    runs += [spec("postcopy-1", rate=60 * MiB, wss=64 * MiB, bw=32 * MiB, caps=pc,
                  control={"postcopy-after": {"passes": 1}}),
             spec("postcopy-3", rate=60 * MiB, wss=64 * MiB, bw=32 * MiB, caps=pc,
                  control={"postcopy-after": {"passes": 3}})]
    mf = {"multifd": True}
    runs += [spec(f"multifd-{n}", rate=40 * MiB, wss=256 * MiB, memory=512 * MiB,
                  bw=UNLIMITED, caps=mf,
                  params={"multifd-channels": n}) for n in (1, 2, 4)]
    runs += [spec("multifd-2-bw64", rate=20 * MiB, wss=64 * MiB, bw=64 * MiB, caps=mf,
                  params={"multifd-channels": 2})]
    xb = {"xbzrle": True}
    runs += [spec("xbzrle-text", rate=40 * MiB, wss=32 * MiB, bw=32 * MiB, caps=xb,
                  params={"xbzrle-cache-size": 64 * MiB}),
             spec("xbzrle-random", rate=40 * MiB, wss=32 * MiB, bw=32 * MiB, caps=xb,
                  content="random", params={"xbzrle-cache-size": 64 * MiB})]
    runs += [spec("random-pattern", rate=20 * MiB, wss=64 * MiB, pattern="random"),
             spec("content-zero", rate=20 * MiB, wss=64 * MiB, content="zero"),
             spec("mem-1G", rate=20 * MiB, wss=64 * MiB, memory=1024 * MiB, bw=128 * MiB)]
    runs += [spec("stuck-bw16M", rate=40 * MiB, wss=64 * MiB, bw=16 * MiB,
                  control={"timeout": "8s"}),
             spec("stuck-wss128M", rate=40 * MiB, wss=128 * MiB, bw=32 * MiB, dl=100,
                  control={"timeout": "8s"}),
             spec("stuck-random", rate=40 * MiB, wss=64 * MiB, bw=24 * MiB, pattern="random",
                  dl=50, control={"timeout": "8s"})]
    runs += orders()
    runs += cpu_bound()
    runs += validation()
    by_name = {name: (name, sc, content) for name, sc, content in runs}
    for base in ("rate-20M", "dl-50ms", "ac-default", "multifd-2", "postcopy-1", "bw-32M",
                 *REPEATED_SETTINGS):
        for k in range(2, REPEATS + 1):
            _, sc, content = by_name[base]
            runs.append((f"{base}-r{k}", {**sc, "name": f"{base}-r{k}"}, content))
    return runs


REPEATED_SETTINGS = ("hotcold-issue", "hotcold-small", "hotcold-unlimited", "random-1G",
                  "hotcold-80-20", "hotcold-dl100",
                  "cpu-seq-5M", "cpu-seq-60M", "cpu-random-40M", "cpu-mem-1G",
                  "cpu-multifd-2-5M", "cpu-dl-1000",
                  "multifd-8", "cpu-multifd-1-5M", "cpu-multifd-4-5M")


def classes_spec(name: str, classes: list[tuple[int, int]], *, memory: int,
                 bw: int = 64 * MiB, dl: int = 300, timeout: str = "40s",
                 ) -> tuple[str, dict[str, Any], str]:
    """A hot/cold run (issue 16): page classes ``[(size, rate), (size, rate)]``, hot first."""
    wss = sum(size for size, _ in classes)
    _, scenario, content = spec(name, rate=1, wss=wss, bw=bw, dl=dl, memory=memory,
                                control={"timeout": timeout})
    scenario["workload"] = {"classes": [{"size": s, "rate": r} for s, r in classes],
                            "zero-fraction": round(1 - wss / memory, 4)}
    return name, scenario, content


def orders() -> list[tuple[str, dict[str, Any], str]]:
    """Issue 16's write orders: hot/cold (two page classes) and uniform random at 1 GiB."""
    return [
        # the guest: 90 % of 100 MiB/s on 32 MiB, 10 % on the other 480 MiB
        classes_spec("hotcold-issue", [(32 * MiB, 90 * MiB), (480 * MiB, 10 * MiB)],
                     memory=1024 * MiB),
        classes_spec("hotcold-small", [(8 * MiB, 36 * MiB), (120 * MiB, 4 * MiB)],
                     memory=256 * MiB, bw=32 * MiB),
        classes_spec("hotcold-unlimited", [(8 * MiB, 36 * MiB), (120 * MiB, 4 * MiB)],
                     memory=256 * MiB, bw=UNLIMITED),
        spec("random-1G", rate=100 * MiB, wss=512 * MiB, memory=1024 * MiB, bw=64 * MiB,
             pattern="random", control={"timeout": "15s"}),
        # a milder skew, and a tighter downtime limit (threshold 3.2 MiB < the hot 8 MiB)
        classes_spec("hotcold-80-20", [(16 * MiB, 32 * MiB), (112 * MiB, 8 * MiB)],
                     memory=256 * MiB, bw=32 * MiB),
        classes_spec("hotcold-dl100", [(8 * MiB, 36 * MiB), (120 * MiB, 4 * MiB)],
                     memory=256 * MiB, bw=32 * MiB, dl=100),
    ]


def cpu_bound() -> list[tuple[str, dict[str, Any], str]]:
    """Issue 16's CPU-bound sender: max-bandwidth unlimited, so the threads set the pace.

    The settings vary what competes for the two cores (the guest's vCPU: a slow and a fast
    writer), the page mix (mostly data, mostly zero pages), the channels, and the size of
    the final copy (a 1 s downtime limit), so the sender model is fitted on more than one
    of them.
    """
    return [
        spec("cpu-seq-5M", rate=5 * MiB, wss=192 * MiB, bw=UNLIMITED),
        spec("cpu-seq-60M", rate=60 * MiB, wss=192 * MiB, bw=UNLIMITED),
        spec("cpu-random-40M", rate=40 * MiB, wss=128 * MiB, bw=UNLIMITED, pattern="random"),
        spec("cpu-mem-1G", rate=20 * MiB, wss=64 * MiB, memory=1024 * MiB, bw=UNLIMITED),
        spec("cpu-multifd-2-5M", rate=5 * MiB, wss=192 * MiB, bw=UNLIMITED,
             caps={"multifd": True}, params={"multifd-channels": 2}),
        spec("cpu-dl-1000", rate=60 * MiB, wss=96 * MiB, bw=UNLIMITED, dl=1000,
             pattern="random"),
    ]


def validation() -> list[tuple[str, dict[str, Any], str]]:
    """Unlimited multifd at channel counts the corpus lacks, recorded after the model was
    fixed to test predictions committed before them (``benchmarks/accuracy/RESULTS.md``).

    Kept out of ``data/lab`` so that neither the calibration nor the split ever sees them.
    """
    mf = {"multifd": True}
    return [
        spec("multifd-8", rate=40 * MiB, wss=256 * MiB, memory=512 * MiB, bw=UNLIMITED,
             caps=mf, params={"multifd-channels": 8}),
        spec("cpu-multifd-1-5M", rate=5 * MiB, wss=192 * MiB, bw=UNLIMITED, caps=mf,
             params={"multifd-channels": 1}),
        spec("cpu-multifd-4-5M", rate=5 * MiB, wss=192 * MiB, bw=UNLIMITED, caps=mf,
             params={"multifd-channels": 4}),
    ]


FAMILIES: Final = {"corpus": Path("data/lab/corpus.jsonl"),
                   "orders": Path("data/lab/orders-tcg.jsonl"),
                   "cpu-bound": Path("data/lab/cpu-bound-tcg.jsonl"),
                   "validation": Path("data/lab-validation/multifd-tcg.jsonl")}
"""Where each family of runs is kept: the first corpus, issue 16's write orders, its
CPU-bound sender runs, and runs that only test predictions (never fitted on)."""


def family_of(name: str) -> str:
    """The family a run belongs to (repeats ``-r2``/``-r3`` with their setting)."""
    base = setting_of(name)
    if base in {n for n, _, _ in orders()}:
        return "orders"
    if base in {n for n, _, _ in cpu_bound()}:
        return "cpu-bound"
    if base in {n for n, _, _ in validation()}:
        return "validation"
    return "corpus"


def main() -> int:
    """Run the plan (or part of it), appending each run to its family's file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None,
                        help="one file for every run (default: each family's own file)")
    parser.add_argument("--family", choices=sorted(FAMILIES), default=None,
                        help="run only this family (default: all)")
    parser.add_argument("--only", nargs="*", default=None, help="run only these names")
    parser.add_argument("--list", action="store_true", help="print the plan and exit")
    parser.add_argument("--cap", type=float, default=60.0, help="hard cap per run, s")
    args = parser.parse_args()
    runs = [r for r in plan() if args.family is None or family_of(r[0]) == args.family]
    if args.list:
        for name, sc, content in runs:
            print(name, content, sc["parameters"], sc["capabilities"], sc["control"])
        return 0
    files = [args.out] if args.out is not None else list(FAMILIES.values())
    done = {r["scenario"].get("name") for f in files if f.exists() for r in load_corpus(f)}
    for name, sc, content in runs:
        if name in done or (args.only is not None and name not in args.only):
            continue
        out = args.out if args.out is not None else FAMILIES[family_of(name)]
        began = time.monotonic()
        try:
            run = run_scenario(load_scenario(sc), content=cast(Content, content),
                               cap_s=args.cap)
        except Exception as exc:  # keep going: one failed run must not stop the corpus
            print(f"{name}: FAILED {type(exc).__name__}: {exc}", flush=True)
            continue
        append_record(out, run.to_record())
        r = run.result
        print(f"{name}: {r.status} total={r.total_time_ms:.0f}ms downtime={r.downtime_ms:.0f}ms "
              f"sent={r.ram.transferred / MiB:.1f}MiB syncs={r.ram.dirty_sync_count} "
              f"rate={run.guest_rate_during_Bps / MiB:.1f}MiB/s "
              f"corrupt={run.corrupt_pages} wall={time.monotonic() - began:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

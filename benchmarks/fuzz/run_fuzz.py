"""Long fuzz run over every entry point (issue 12); writes the counts to RESULTS.md.

    .venv/bin/python benchmarks/fuzz/run_fuzz.py              # 9,000 inputs per target
    .venv/bin/python benchmarks/fuzz/run_fuzz.py --per-target 500 --no-write

The targets and their generators are the test suite's (``tests/fuzz/targets.py``); here
each runs many more inputs, without shrinking, and instead of stopping at the first
failure every input is counted: *tracebacks* (an exception that is not a MiglabError, or
non-strict JSON out) and *hangs* (one input over ``--hang-s`` seconds, stopped by SIGALRM).
"""

from __future__ import annotations

import argparse
import collections
import platform
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

from tests.fuzz.targets import TARGETS, Target  # noqa: E402


class Hang(Exception):
    """One input ran past the hang limit."""


def _alarm(signum: int, frame: Any) -> None:
    raise Hang


def run_target(target: Target, n: int, hang_s: float, seed: int) -> dict[str, Any]:
    """Feed ``n`` generated inputs to ``target``; count outcomes instead of stopping."""
    counts: collections.Counter[str] = collections.Counter()
    examples: list[str] = []
    signal.signal(signal.SIGALRM, _alarm)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck), derandomize=False)
        @given(target.inputs)
        def feed(value: Any) -> None:
            counts["inputs"] += 1
            signal.setitimer(signal.ITIMER_REAL, hang_s)
            try:
                target.check(value, Path(tmp))
            except Hang:
                counts["hangs"] += 1
                examples.append(f"hang: {value!r:.200}")
            except Exception as err:
                counts["tracebacks"] += 1
                if len(examples) < 5:
                    examples.append(f"{type(err).__name__}: {err!s:.120} <- {value!r:.200}\n"
                                    + "".join(traceback.format_tb(err.__traceback__)[-2:]))
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)

        import random

        random.seed(seed)
        feed()
    return {"name": target.name, "inputs": counts["inputs"],
            "tracebacks": counts["tracebacks"], "hangs": counts["hangs"],
            "seconds": time.perf_counter() - start, "examples": examples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-target", type=int, default=9_000)
    parser.add_argument("--simulations", type=int, default=2_000,
                        help="inputs for the simulation target (each runs the engine)")
    parser.add_argument("--hang-s", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--no-write", action="store_true", help="print, do not write RESULTS.md")
    parser.add_argument("--only", action="append", default=[],
                        help="run only this target (repeatable; implies --no-write)")
    args = parser.parse_args()
    rows = []
    for target in TARGETS:
        if args.only and target.name not in args.only:
            continue
        n = args.simulations if target.name == "simulation" else args.per_target
        row = run_target(target, n, args.hang_s, args.seed)
        rows.append(row)
        print(f"{row['name']:<16} {row['inputs']:>7} inputs  {row['tracebacks']} tracebacks  "
              f"{row['hangs']} hangs  {row['seconds']:.0f} s", flush=True)
        for ex in row["examples"]:
            print("   ", ex)
    total = sum(r["inputs"] for r in rows)
    lines = [
        "# Fuzzing every entry point — recorded counts",
        "",
        "Run: `.venv/bin/python benchmarks/fuzz/run_fuzz.py` (targets and generators: "
        "`tests/fuzz/targets.py`, the same the test suite runs 200 inputs each of).",
        f"Machine: this project's 2-core container, Python {platform.python_version()}; "
        f"{time.strftime('%Y-%m-%d')}; {args.per_target:,} generated inputs per target "
        f"({args.simulations:,} for the engine), hypothesis generation only, seed "
        f"{args.seed}; hang limit {args.hang_s:g} s per input; other work shared the 2 "
        "cores, so the times are only indicative.",
        "",
        "A *traceback* is any exception other than a MiglabError, or JSON output with NaN/"
        "Infinity; a *hang* is one input that ran past the limit.",
        "",
        "| entry point | inputs | tracebacks | hangs | time |",
        "|---|---|---|---|---|",
        *(f"| {r['name']} | {r['inputs']:,} | {r['tracebacks']} | {r['hangs']} | "
          f"{r['seconds']:.0f} s |" for r in rows),
        f"| **all** | **{total:,}** | **{sum(r['tracebacks'] for r in rows)}** | "
        f"**{sum(r['hangs'] for r in rows)}** | {sum(r['seconds'] for r in rows):.0f} s |",
        "",
    ]
    if not (args.no_write or args.only):
        (Path(__file__).parent / "RESULTS.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

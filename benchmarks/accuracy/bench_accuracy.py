#!/usr/bin/env python3
"""Accuracy benchmark: calibrate on part of the lab corpus, score the held-out runs.

The scorecard of the simulator against real QEMU 7.2 (TCG) on this machine: the corpus in
``data/lab/`` is split by setting name (repeats stay together), the host profile is
fitted on the training side and written to ``data/hosts/lab-tcg.yaml``, and the
held-out runs are predicted with it. Prints the per-run table and the totals against
issue 4's targets, in Markdown, for ``benchmarks/accuracy/RESULTS.md``.

Usage::

    .venv/bin/python benchmarks/accuracy/bench_accuracy.py [data/lab] > /tmp/accuracy.md
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sim.lab.calibrate import calibrate, split_corpus, write_host_profile
from sim.lab.compare import (
    compare_corpus,
    format_by_order,
    format_summary,
    format_table,
    spread_table,
    summarize,
)
from sim.lab.corpus import load_corpus

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    """Calibrate, write the profile, print the held-out and training tables."""
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "data" / "lab"
    records = load_corpus(corpus)
    train, held = split_corpus(records)
    fit = calibrate(train)
    write_host_profile(fit, ROOT / "data" / "hosts" / "lab-tcg.yaml", runs=len(train),
                       corpus="data/lab")
    host = {"profile": "lab-tcg"}
    print(f"corpus: {len(records)} runs; training {len(train)}, held out {len(held)}\n")
    print("fitted host:", fit.host_section(), "\n")
    print("## Held-out runs\n")
    held_rows = compare_corpus(held, host)
    print(format_summary(summarize(held_rows)), "\n")
    print("### Per write order and regime (held-out runs)\n")
    print(format_by_order(held_rows), "\n")
    print(format_table(held_rows), "\n")
    print("## Run-to-run spread (repeated settings, whole corpus)\n")
    print(spread_table(records), "\n")
    print("## Training runs (for reference)\n")
    train_rows = compare_corpus(train, host)
    print(format_summary(summarize(train_rows)), "\n")
    print(format_table(train_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

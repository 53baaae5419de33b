#!/usr/bin/env python3
"""Page by page: how much the sweep's starting point decides a fast sequential run.

A check of one claim in RESULTS.md, not part of miglab. ``wss-16M`` in the lab corpus is a
guest sweeping 16 MiB at 40 MiB/s in address order while QEMU 7.2 sends at 32 MiB/s with a
300 ms downtime-limit; QEMU took 1607 ms and 8 syncs, the engine predicts 1208 ms and 7.
The sweep laps the sender, so which pages it re-dirties depends on where it is when the
scan passes, and that depends on where it started, which nobody controls.

This replays the run one page at a time (a dirty bitmap, a dirty log merged at each sync,
a scan cursor in address order, 100 ms windows with a 3.2 MiB budget, 50 ms quanta, the
pending-under-threshold sync rule, the lab guest's layout: working set after 1 MiB, zero
pages above) for several starting points of the sweep, and prints total time, syncs and
MiB sent for each. It is deliberately crude (0.5 ms steps, no setup or downtime, the send
rates fitted in data/hosts/lab-tcg.yaml rounded) and takes about a minute.

    .venv/bin/python benchmarks/accuracy/phase_pages.py
"""

from __future__ import annotations

import numpy as np

MiB = 2**20
STEP_S = 0.0005
RAM_PAGES = 65_536            # 256 MiB guest
WS_FIRST, WS_PAGES = 256, 4096  # 16 MiB working set right after the first 1 MiB
SWEEP_PPS = 10_240            # 40 MiB/s
BANDWIDTH_BPS = 32 * MiB
DOWNTIME_LIMIT_MS = 300
NORMAL_PPS, ZERO_PPS = 131_000, 2_400_000  # ~538 MB/s of pages, ~10 GB/s of zero scanning


def run(start: float) -> tuple[float | None, int, float]:
    """Total time (None: not within 20 s), syncs, MiB sent, for a sweep starting at
    ``start`` × the working set."""
    bitmap = np.ones(RAM_PAGES, bool)
    log = np.zeros(RAM_PAGES, bool)
    nonzero = np.zeros(RAM_PAGES, bool)
    nonzero[:WS_FIRST + WS_PAGES] = True
    budget = BANDWIDTH_BPS / 10
    t = win_start = win_wire = threshold = sent = 0.0
    sweep = start * WS_PAGES
    cursor, syncs = 0, 1

    def guest_writes() -> None:
        nonlocal sweep
        first = int(sweep)
        sweep += SWEEP_PPS * STEP_S
        for page in range(first, int(sweep)):
            log[WS_FIRST + page % WS_PAGES] = True

    while t < 20.0:
        quantum_start = t
        while t - quantum_start < 0.05 and win_wire < budget and bitmap.any():
            cpu = 0.0  # share of this step's sending time used
            while cpu < 1.0:
                ahead = np.flatnonzero(bitmap[cursor:])
                if ahead.size == 0:
                    cursor = int(np.flatnonzero(bitmap)[0]) if bitmap.any() else 0
                    if not bitmap.any():
                        break
                else:
                    cursor += int(ahead[0])
                wire = 4104 if nonzero[cursor] else 9
                if win_wire + wire > budget:
                    break
                bitmap[cursor] = False
                win_wire += wire
                sent += wire
                cpu += 1 / ((NORMAL_PPS if nonzero[cursor] else ZERO_PPS) * STEP_S)
                cursor = (cursor + 1) % RAM_PAGES
            guest_writes()
            t += STEP_S
            if t - win_start >= 0.1:
                break
        while win_wire >= budget and t - win_start < 0.1:  # budget spent: sleep it off
            guest_writes()
            t += STEP_S
        if t - win_start >= 0.1:
            threshold = win_wire / ((t - win_start) * 1000) * DOWNTIME_LIMIT_MS
            win_start, win_wire = t, 0.0
        if bitmap.sum() * 4096 < threshold:
            bitmap |= log
            log[:] = False
            syncs += 1
            if bitmap.sum() * 4096 < threshold:
                return t, syncs + 1, sent / MiB
    return None, syncs, sent / MiB


def main() -> None:
    """Print one line per starting point."""
    print("| sweep starts at | total time | syncs | MiB sent |\n|---|---:|---:|---:|")
    for start in np.linspace(0.0, 0.9, 7):
        total, syncs, mib = run(float(start))
        shown = "—" if total is None else f"{total * 1000:.0f} ms"
        print(f"| {start:.2f} × working set | {shown} | {syncs} | {mib:.1f} |")


if __name__ == "__main__":
    main()

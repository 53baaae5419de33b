"""Wall time of one recommendation per target on the issue-17 guest, in one process.

    PYTHONPATH=. python benchmarks/recommend/bench_recommend.py

The guest is ``data/examples/web-8g.yaml`` (8 GiB, 200 MiB/s over 2 GiB, 10 Gbit/s) with a
150 ms downtime and 2 min total budget, ``workers=1``. Prints, per target, the number of
settings simulated and the median of 3 walls (imports excluded).
"""

from __future__ import annotations

import statistics
import time

from sim.recommend import Constraints, recommend
from sim.scenario import load_scenario
from sim.targets import TARGETS


def main() -> None:
    """Run each target three times and print a Markdown table row per target."""
    sc = load_scenario("data/examples/web-8g.yaml")
    recommend(sc, Constraints(max_downtime_ms=150), target="proxmox")  # warm imports
    print("| target | settings simulated | median wall (s) | walls (s) |")
    print("|---|---|---|---|")
    for name in TARGETS:
        walls = []
        rows = 0
        for _ in range(3):
            t0 = time.perf_counter()
            rec = recommend(sc, Constraints(max_downtime_ms=150, max_total_s=120),
                            target=name, workers=1)
            walls.append(time.perf_counter() - t0)
            rows = len(rec.table)
        shown = ", ".join(f"{w:.2f}" for w in walls)
        print(f"| {name} | {rows} | {statistics.median(walls):.2f} | {shown} |")


if __name__ == "__main__":
    main()

"""Fast path vs reference on N seeded random scenarios (issue 13): agreement count and time.

    PYTHONPATH=. .venv/bin/python benchmarks/engine/bench_differential.py [N] [FIRST_SEED]

Uses the generator of ``tests/engine/test_differential.py``
(:mod:`sim.engine._scenario_gen`, default N = 2000 from seed 0), the same tolerances
(total time max(0.5 %, 100 ms), downtime max(2 %, 2 ms), transferred and postcopy bytes
0.5 %, dirty-sync-count ± 1, status, convergence), prints every disagreement with its YAML,
then one summary line (record it in RESULTS.md).
"""

from __future__ import annotations

import collections
import sys
import time

from sim.engine._scenario_gen import compare, random_scenario, scenario_yaml
from sim.scenario import load_scenario


def main() -> None:
    """Run the draws and print the disagreements and the summary."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    first = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    bad: list[int] = []
    kinds: collections.Counter[str] = collections.Counter()
    t0 = time.perf_counter()
    for seed in range(first, first + n):
        data, horizon_s = random_scenario(seed)
        policy = data["control"].get("policy")
        kinds[policy["kind"] if policy else "none"] += 1
        try:
            mismatches = [str(m) for m in compare(load_scenario(data), horizon_s)]
        except Exception as err:  # a crash is a disagreement too: report it, go on
            mismatches = [f"raised {err!r}"]
        if mismatches:
            bad.append(seed)
            print(f"seed {seed}: " + "; ".join(mismatches))
            print(scenario_yaml(data, horizon_s))
    wall = time.perf_counter() - t0
    print(f"agree {n - len(bad)} of {n} (seeds {first}–{first + n - 1}); disagree: "
          f"{bad or 'none'}; {wall:.1f} s; policies: "
          + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))


if __name__ == "__main__":
    main()

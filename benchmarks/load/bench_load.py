"""How long ``sim.load_scenario`` takes on a shipped example, from a dict (no file I/O).

Run from the repository root, the checkout's code first on the path::

    PYTHONPATH=. .venv/bin/python benchmarks/load/bench_load.py

It prints the median of 21 repeats of 200 loads each, per load, for the dict form of
data/examples/web-8g.yaml (the figure issue 14 promised to keep under 0.3 ms) and for a
scenario with a policy, a host profile and a workload preset (which read files).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from sim.scenario import load_scenario, read_scenario_file

ROOT = Path(__file__).resolve().parents[2]
REPEATS = 21
LOADS = 200


def median_ms(data: dict[str, object]) -> float:
    """Median wall time of one ``load_scenario(data)`` in ms."""
    load_scenario(data)  # warm caches (profiles, imports)
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(LOADS):
            load_scenario(data)
        times.append((time.perf_counter() - start) / LOADS)
    return statistics.median(times) * 1e3


def main() -> None:
    """Print one Markdown row per case."""
    web = read_scenario_file(ROOT / "data" / "examples" / "web-8g.yaml")
    rich = {**web, "workload": {"preset": "web-server"}, "host": {"profile": "lab-tcg"},
            "control": {"policy": {"kind": "nova"}, "timeout": "10min"}}
    print("| case | median per load (ms) |")
    print("|---|---|")
    print(f"| web-8g.yaml as a dict | {median_ms(web):.3f} |")
    print(f"| with a workload preset, host profile and nova policy | {median_ms(rich):.3f} |")


if __name__ == "__main__":
    main()

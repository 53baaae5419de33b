"""The seed is recorded, not used: the engine draws no random numbers (sim.engine.simulate)."""

from __future__ import annotations

from sim.engine import simulate
from sim.scenario import load_scenario


def test_the_engine_does_not_depend_on_the_seed() -> None:
    sc = load_scenario({"vm": {"memory": "2G"}, "workload": {"dirty-rate": "300MiB/s",
                                                            "working-set": "1G"},
                        "host": {"link": "10Gbit/s"}, "capabilities": {"auto-converge": True},
                        "seed": 7})
    a, b = simulate(sc), simulate(sc, seed=12345)
    assert (a.seed, b.seed) == (7, 12345)
    da, db = a.to_dict(), b.to_dict()
    da.pop("seed", None)
    db.pop("seed", None)
    assert da == db

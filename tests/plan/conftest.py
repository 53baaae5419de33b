"""Shared scenarios for the planning tests (sweeps, drains, recommendations)."""

from __future__ import annotations

from typing import Any

import pytest

from sim.scenario import Scenario, load_scenario


@pytest.fixture
def web() -> Scenario:
    """An 8 GiB web guest on 10 Gbit/s: 200 MiB/s over a 2 GiB working set."""
    return load_scenario({
        "name": "web", "vm": {"memory": "8GiB", "vcpus": 4},
        "workload": {"dirty-rate": "200MiB/s", "working-set": "2GiB", "zero-fraction": 0.3},
        "host": {"link": "10Gbit/s"}, "capabilities": {"auto-converge": True},
        "control": {"timeout": "10min"}, "seed": 1,
    })


@pytest.fixture
def hot() -> dict[str, Any]:
    """A 4 GiB guest writing 1500 MiB/s at random over all its memory, 10 Gbit/s link."""
    return {"name": "hot", "vm": {"memory": "4GiB"},
            "workload": {"dirty-rate": "1500MiB/s", "working-set": "4GiB"},
            "host": {"link": "10Gbit/s"}, "control": {"timeout": "5min"}, "seed": 3}

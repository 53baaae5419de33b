"""Scenarios that exercise every export mapping: defaults, postcopy, multifd, XBZRLE,
legacy compression, odd units and a Nova policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sim.scenario import DATA_DIR, Scenario, load_scenario, read_scenario_file

VM: dict[str, Any] = {"memory": "8GiB", "vcpus": 4}
WORKLOAD: dict[str, Any] = {"dirty-rate": "100MiB/s", "working-set": "1GiB"}

SCENARIOS: dict[str, dict[str, Any]] = {
    "web-8g": read_scenario_file(DATA_DIR / "examples" / "web-8g.yaml"),
    "db-32g-postcopy": read_scenario_file(DATA_DIR / "examples" / "db-32g-postcopy.yaml"),
    "multifd-zstd": {
        "name": "multifd-zstd", "qemu": "8.2", "vm": VM, "workload": WORKLOAD,
        "parameters": {"max-bandwidth": 1073741824, "downtime-limit": 500,
                       "multifd-channels": 4, "multifd-compression": "zstd",
                       "multifd-zstd-level": 3},
        "capabilities": {"multifd": True},
    },
    "xbzrle-throttle": {
        "name": "xbzrle-throttle", "qemu": "8.2", "vm": VM, "workload": WORKLOAD,
        "parameters": {"xbzrle-cache-size": 268435456, "cpu-throttle-initial": 30,
                       "cpu-throttle-increment": 5, "max-cpu-throttle": 80,
                       "downtime-limit": 1000},
        "capabilities": {"xbzrle": True, "auto-converge": True},
        "control": {"timeout": "5min"},
    },
    "postcopy-seconds": {
        "name": "postcopy-seconds", "qemu": "8.2", "vm": VM, "workload": WORKLOAD,
        "parameters": {"max-bandwidth": 536870912, "max-postcopy-bandwidth": 268435456},
        "capabilities": {"postcopy-ram": True, "postcopy-blocktime": True,
                         "return-path": True},
        "control": {"postcopy-after": {"seconds": 30}, "timeout": "60s"},
    },
    "legacy-compress-72": {
        "name": "legacy-compress-72", "qemu": "7.2", "vm": VM, "workload": WORKLOAD,
        "parameters": {"compress-threads": 4, "compress-level": 6, "downtime-limit": 250},
        "capabilities": {"compress": True},
    },
    "odd-units": {
        "name": "odd-units", "qemu": "8.2", "vm": {"memory": "3GiB"}, "workload": WORKLOAD,
        "parameters": {"max-bandwidth": 100000000, "downtime-limit": 50},
        "control": {"timeout": 100},
    },
    "nova-policy": {
        "name": "nova-policy", "qemu": "8.2", "vm": VM, "workload": WORKLOAD,
        "parameters": {"downtime-limit": 500},
        "capabilities": {"auto-converge": True},
        "control": {"policy": {"kind": "nova", "live_migration_downtime": 500,
                               "live_migration_downtime_steps": 10,
                               "live_migration_downtime_delay": 75}},
    },
}


def scenario(name: str) -> Scenario:
    """The named test scenario, validated."""
    return load_scenario(SCENARIOS[name])


def base_of(sc: Scenario) -> dict[str, Any]:
    """The scenario without the sections an import fills (vm, workload, host stay)."""
    return {k: v for k, v in sc.to_dict().items()
            if k not in ("parameters", "capabilities", "control")}


@pytest.fixture
def named() -> Callable[[str], Scenario]:
    """A function giving the named test scenario."""
    return scenario


@pytest.fixture(params=sorted(SCENARIOS))
def any_scenario(request: pytest.FixtureRequest) -> Scenario:
    """Each test scenario in turn."""
    return scenario(str(request.param))

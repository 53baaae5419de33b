"""Shared scenario for the policy tests: a guest that plain precopy never migrates.

4 GiB, 2 vCPUs, 400 MiB/s of random writes over a 2 GiB hot set, a 2 Gbit/s link and QEMU's
default 128 MiB/s max-bandwidth and 300 ms downtime-limit: the passes settle near 1.8 GiB
pending, far above bandwidth × downtime-limit, so without a policy the run is cut at the
one-hour horizon with status ``active``.
"""

from __future__ import annotations

from typing import Any

import pytest

from sim.engine import simulate
from sim.result import Result
from sim.scenario import load_scenario


def stuck_guest(policy: dict[str, Any] | None = None, **sections: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "vm": {"memory": "4G", "vcpus": 2},
        "workload": {"dirty-rate": "400MiB/s", "working-set": "2G"},
        "host": {"link": "2Gbit/s"},
        "control": {"policy": policy} if policy else {},
    }
    for key, value in sections.items():
        if isinstance(value, dict):
            data.setdefault(key, {}).update(value)
        else:
            data[key] = value
    return data


def run(policy: dict[str, Any] | None = None, **sections: dict[str, Any]) -> Result:
    return simulate(load_scenario(stuck_guest(policy, **sections)))


@pytest.fixture(scope="session")
def plain() -> Result:
    """The stuck guest without a policy."""
    return run()

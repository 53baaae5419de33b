"""The window-by-window reference: the same loop with every shortcut switched off.

A surveyor who walks every metre of the road to check the map: :func:`simulate_reference`
runs :class:`~sim.engine.loop.MigrationLoop` with ``fast=False``, so each send quantum (≤ 50
ms or one window budget) and each 100 ms window is stepped one by one. It is slow for long
runs and exists to check the fast path (``tests/engine/test_fast_path.py``).

    >>> from sim.scenario import load_scenario
    >>> simulate_reference(load_scenario({"vm": {"memory": "1G"}})).ram.dirty_sync_count
    3
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.engine import simulate

if TYPE_CHECKING:
    from sim.result import Result
    from sim.scenario import Scenario

__all__ = ["simulate_reference"]


def simulate_reference(scenario: Scenario, *, horizon_s: float | None = None,
                       timeline: bool = False) -> Result:
    """:func:`sim.engine.simulate` stepping every quantum and window."""
    return simulate(scenario, horizon_s=horizon_s, timeline=timeline, fast=False)

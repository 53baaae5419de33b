"""The migration engine: QEMU's precopy migration thread as a SimPy model.

The engine is a flight simulator for one migration: give it a validated
:class:`~sim.scenario.Scenario` and it flies QEMU's migration thread (setup, 100 ms
rate-limit windows, bitmap syncs under the threshold, auto-converge, multifd, XBZRLE,
compression, switchover, postcopy) against the guest's dirtying, with the management
policy of ``control.policy`` (:mod:`sim.policies`) in the co-pilot's seat, and lands a
:class:`~sim.result.Result` shaped like ``query-migrate``.

    >>> from sim.scenario import load_scenario
    >>> r = simulate(load_scenario({"vm": {"memory": "4G"}, "workload": {"dirty-rate": "50MiB/s"}}))
    >>> r.status, r.converged
    ('completed', True)

Modules, one concept each: :mod:`~sim.engine.constants` (QEMU's numbers),
:mod:`~sim.engine.pages` (per-page cost), :mod:`~sim.engine.postcopy` (the switch, push
and faults), :mod:`~sim.engine.sender` (page routes),
:mod:`~sim.engine.multifd`, :mod:`~sim.engine.xbzrle`, :mod:`~sim.engine.throttle`
(auto-converge), :mod:`~sim.engine.downtime`, :mod:`~sim.engine.loop` (the loop as a state
machine with closed-form jumps), :mod:`~sim.engine.precopy` (SimPy processes),
:mod:`~sim.engine.reference` (window-by-window stepping), :mod:`~sim.engine.outcome`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import simpy

from sim.engine.constants import DEFAULT_HORIZON_S
from sim.engine.loop import MigrationLoop
from sim.engine.outcome import build_result
from sim.engine.precopy import Controller, Run

if TYPE_CHECKING:
    from sim.result import Result
    from sim.scenario import Scenario

__all__ = ["DEFAULT_HORIZON_S", "simulate"]


def simulate(scenario: Scenario, *, seed: int | None = None, timeline: bool = True,
             horizon_s: float | None = None, fast: bool = True) -> Result:
    """Simulate one migration (precopy, postcopy when asked, under a policy if one is set).

    Args:
        scenario: a validated scenario (:func:`sim.scenario.load_scenario`).
        seed: overrides ``scenario.seed`` in the result. It is *recorded only*: the engine
            is deterministic (page order, dirtying and link are closed-form models with no
            random draw), so two seeds give the same run. :func:`sim.recommend.recommend`
            does use it, as the seed of optuna's sampler.
        timeline: record the timeline (one row per sync/event plus ~1 s samples).
        horizon_s: cut a run that has not ended here; it ends with status ``active``,
            ``converged: false`` and a reason. Default: ``control.timeout`` when that is
            longer than :data:`~sim.engine.constants.DEFAULT_HORIZON_S` (one hour), else
            one hour.
        fast: integrate in closed form between events; ``False`` steps every window
            (:mod:`sim.engine.reference`).

    Returns:
        The :class:`~sim.result.Result`.

    Raises:
        InvalidScenarioError: the policy's setup (capabilities and parameters it sets
            before ``migrate``, as the management layer does) is refused by QEMU.
    """
    controllers: tuple[Controller, ...] = ()
    if scenario.control.policy is not None:
        from sim.policies import build_policy  # the policies build on this package

        policy = build_policy(scenario.control.policy)
        scenario = policy.setup(scenario)
        controllers = (policy,)
    env = simpy.Environment()
    loop = MigrationLoop(scenario, fast=fast, timeline=timeline)
    if horizon_s is None:
        horizon_s = max(DEFAULT_HORIZON_S, scenario.control.timeout_s or 0.0)
    run = Run(env, loop, horizon_s=horizon_s, controllers=controllers)
    env.run(run.thread)
    return build_result(run, seed=scenario.seed if seed is None else seed)

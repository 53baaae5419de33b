"""The migration thread and its controllers as SimPy processes.

The migration thread is the driver of a long-distance coach: it drives from one stop (a
dirty-bitmap sync) to the next, and the SimPy clock jumps straight there. Controllers ride
along: the operator's ``control.timeout``, the horizon that ends a run QEMU would let go on
forever, and (issue 5) management policies. They act through the shared
:class:`~sim.engine.loop.Levers` and wake the driver with an :class:`simpy.Interrupt`; the
driver then rewinds the leg it had planned and replays it only up to *now*, so a lever takes
effect at the exact simulated time it was pulled.

    >>> env = simpy.Environment()
    >>> run = Run(env, MigrationLoop(load_scenario({"vm": {"memory": "1G"}})), horizon_s=60)
    >>> env.run(run.thread); run.status
    'completed'
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from sim.engine.loop import COMPLETE, SYNC, MigrationLoop
from sim.scenario import load_scenario  # noqa: F401  (doctest)

__all__ = ["Run"]

ProcessGenerator = Generator[simpy.events.Event, Any, None]


class Run:
    """One migration inside a SimPy environment.

    Args:
        env: the environment.
        loop: the migration loop to drive.
        horizon_s: when to stop a run that has not ended (status ``active``).

    Attributes:
        status: ``active`` until the run ends, then ``completed``, ``cancelled`` or
            ``active`` (cut at the horizon).
        reason: why a run ended without completing.
        downtime_parts_s: the downtime's parts once switched over.
    """

    def __init__(self, env: simpy.Environment, loop: MigrationLoop, *, horizon_s: float) -> None:
        self.env = env
        self.loop = loop
        self.status = "active"
        self.reason = ""
        self.cut = False
        self.switching = False
        """Switchover has begun: the VM is stopped and levers no longer apply."""
        self.downtime_parts_s: dict[str, float] = {}
        timeout = loop.sc.control.timeout_s
        loop.deadline = min(horizon_s, timeout if timeout is not None else horizon_s)
        self.thread = env.process(self._migration_thread())
        if timeout is not None and timeout <= horizon_s:
            env.process(self._cancel_at(timeout, f"control.timeout ({timeout:g} s) reached"))
        else:
            env.process(self._cut_at(horizon_s))

    def pull(self, cause: str) -> None:
        """Wake the migration thread after a lever was changed."""
        if self.thread.is_alive and not self.switching and self.thread.target is not None:
            self.thread.interrupt(cause)

    def _cancel_at(self, t_s: float, reason: str) -> ProcessGenerator:
        yield self.env.timeout(t_s)
        self.loop.levers.cancel_reason = reason
        self.pull("cancel")

    def _cut_at(self, t_s: float) -> ProcessGenerator:
        yield self.env.timeout(t_s)
        self.cut = True
        self.loop.levers.cancel_reason = f"cut at the {t_s:g} s horizon"
        self.pull("horizon")

    def _migration_thread(self) -> ProcessGenerator:
        loop, env = self.loop, self.env
        yield env.timeout(loop.t)  # setup
        while True:
            state = loop.snapshot()
            outcome = loop.advance(until=loop.deadline, stop_at_sync=True)
            try:
                if outcome in (COMPLETE, SYNC):
                    yield env.timeout(max(loop.t - env.now, 0.0))
                else:  # reached the deadline: wait for its controller
                    yield env.timeout(max(loop.t - env.now, 0.0))
                    yield env.event()
            except simpy.Interrupt:
                if loop.t > env.now:  # rewind the planned leg, replay it up to now
                    loop.restore(state)
                    loop.advance(until=env.now)
                if loop.levers.cancel_reason is not None:
                    self.status = "active" if self.cut else "cancelled"
                    self.reason = loop.levers.cancel_reason
                    return
                continue
            if outcome == COMPLETE:
                self.switching = True
                self.downtime_parts_s = loop.switchover()
                yield env.timeout(sum(self.downtime_parts_s.values()))
                self.status = "completed"
                return

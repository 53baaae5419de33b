"""The migration thread and its controllers as SimPy processes.

The migration thread is the driver of a long-distance coach: it drives from one stop (a
dirty-bitmap sync) to the next, and the SimPy clock jumps straight there. Controllers ride
along: the operator's ``control.timeout`` and ``control.postcopy-after``, the horizon that
ends a run QEMU would let go on forever, and management policies (:mod:`sim.policies`).

Controllers are SimPy processes that watch the migration the way a management layer polls
``query-migrate``:

* ``yield run.at(t_s)`` resumes the controller when the migration is *exactly* at ``t_s``
  (the coach makes an extra stop there, so what the controller reads is exact);
* ``yield run.next_sync(count)`` resumes it at the first bitmap sync with
  ``dirty-sync-count ≥ count`` (default: the next one);
* it reads :attr:`Run.remaining_bytes`, :attr:`Run.sync_count`, … and acts through the
  same levers a QMP client has: :meth:`Run.set_downtime_limit`,
  :meth:`Run.set_max_bandwidth`, :meth:`Run.start_postcopy`, :meth:`Run.pause`,
  :meth:`Run.cancel`. Each action is recorded (:class:`~sim.result.Action`) with its time
  and as a timeline row.

A controller woken by a plain ``env.timeout`` acts while the coach is mid-leg: the driver
then rewinds the leg it had planned, replays it up to *now* with the old levers, and applies
the change, so a lever takes effect at the exact simulated time it was pulled.

    >>> env = simpy.Environment()
    >>> run = Run(env, MigrationLoop(load_scenario({"vm": {"memory": "1G"}})), horizon_s=60)
    >>> env.run(run.thread); run.status
    'completed'

§ numbers are sections of ``docs/qemu-migration.md`` (QEMU's algorithm, with its source files).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Protocol

import simpy

from sim.engine.constants import TARGET_PAGE_BYTES
from sim.engine.loop import COMPLETE, POSTCOPY, SYNC, UNTIL, MigrationLoop, WorkBudgetExceeded
from sim.engine.postcopy import PostcopyStats, run_postcopy
from sim.result import Action
from sim.scenario import load_scenario  # noqa: F401  (doctest)

if TYPE_CHECKING:
    from sim.scenario import PostcopyAfter

__all__ = ["Controller", "ProcessGenerator", "Run"]

ProcessGenerator = Generator[simpy.events.Event, Any, None]

POSTCOPY_OFF_ERROR = "Enable postcopy with migrate_set_capability before the start of migration"
"""QEMU's reply to ``migrate-start-postcopy`` without ``postcopy-ram`` (§12.1)."""


def _whole_pages(nbytes: float) -> float:
    """``nbytes`` rounded to whole target pages (QEMU counts dirty pages, not bytes)."""
    return float(round(nbytes / TARGET_PAGE_BYTES) * TARGET_PAGE_BYTES)


class Controller(Protocol):
    """Something that watches a :class:`Run` (a management policy)."""

    def process(self, run: Run) -> ProcessGenerator:
        """The controller's SimPy process."""
        ...


class Run:
    """One migration inside a SimPy environment.

    Args:
        env: the environment.
        loop: the migration loop to drive.
        horizon_s: when to stop a run that has not ended (status ``active``).
        controllers: management policies to start alongside the migration thread.

    Attributes:
        status: ``active`` until the run ends, then ``completed``, ``cancelled``,
            ``active`` (cut at the horizon) or ``failed`` (the work budget ran out,
            :meth:`~sim.engine.loop.MigrationLoop.spend`).
        reason: why a run ended without completing.
        downtime_parts_s: the downtime's parts once switched over.
        actions: what controllers did, in time order.
        postcopy: the postcopy phase's statistics, when it ran.
        paused_at_s: when a controller paused the guest, if one did.
    """

    def __init__(self, env: simpy.Environment, loop: MigrationLoop, *, horizon_s: float,
                 controllers: tuple[Controller, ...] = ()) -> None:
        self.env = env
        self.loop = loop
        self.status = "active"
        self.reason = ""
        self.cut = False
        self.switching = False
        """Switchover has begun: the VM is stopped and levers no longer apply."""
        self.downtime_parts_s: dict[str, float] = {}
        self.actions: list[Action] = []
        self.postcopy: PostcopyStats | None = None
        self.paused_at_s: float | None = None
        timeout = loop.sc.control.timeout_s
        self.end_s = min(horizon_s, timeout if timeout is not None else horizon_s)
        self._ids = itertools.count()
        self._checkpoints: list[tuple[float, int, simpy.Event]] = []
        self._sync_waiters: list[tuple[int, int, simpy.Event]] = []
        self._parked = False
        self._changes: list[Callable[[], None]] = []
        self.thread = env.process(self._migration_thread())
        if timeout is not None and timeout <= horizon_s:
            env.process(self._cancel_at(timeout, f"control.timeout ({timeout:g} s) reached"))
        else:
            env.process(self._cut_at(horizon_s))
        after = loop.sc.control.postcopy_after
        if after is not None:
            env.process(self._postcopy_after(after))
        for controller in controllers:
            env.process(controller.process(self))

    # ------------------------------------------------------------------ what controllers read

    @property
    def now_s(self) -> float:
        """Seconds since the migrate command."""
        return float(self.env.now)

    @property
    def ended(self) -> bool:
        """The migration has switched over or stopped; levers no longer apply."""
        return self.switching or not self.thread.is_alive

    @property
    def remaining_bytes(self) -> float:
        """``ram.remaining`` (exact when resumed by :meth:`at` or :meth:`next_sync`).

        In whole target pages, as QEMU counts it (``ram_bytes_remaining``: dirty pages ×
        page size) and a management layer reads it: a policy that looks for a new low
        must not see one in the rounding of a steady state, which the fast path and the
        reference reach by different sums (``tests/engine/test_differential.py``).
        """
        return _whole_pages(self.loop.pending)

    @property
    def pre_sync_bytes(self) -> float:
        """Pending bytes just before the last sync (the low point of the saw-tooth), in
        whole target pages like :attr:`remaining_bytes`."""
        return _whole_pages(self.loop.pre_sync_pending)

    @property
    def sync_count(self) -> int:
        """``ram.dirty-sync-count`` (1 after setup)."""
        return self.loop.s.sync_count

    @property
    def memory_bytes(self) -> int:
        """The guest's RAM."""
        return self.loop.sc.vm.memory_bytes

    @property
    def downtime_limit_ms(self) -> float:
        """``downtime-limit`` in force."""
        return self.loop.levers.downtime_limit_ms

    @property
    def guest_paused(self) -> bool:
        """A controller paused the guest."""
        return self.loop.levers.guest_paused

    # ------------------------------------------------------------------ waiting

    def at(self, t_s: float) -> simpy.Event:
        """An event that fires when the migration is exactly at ``t_s`` (or now if past)."""
        ev = self.env.event()
        if self.ended:
            return ev
        heapq.heappush(self._checkpoints, (max(t_s, self.now_s), next(self._ids), ev))
        if not self._parked and self.loop.t > t_s:
            self.pull("checkpoint")  # mid-leg: rewind to now and re-plan with the stop
        return ev

    def next_sync(self, count: int | None = None) -> simpy.Event:
        """An event that fires at the first sync with ``dirty-sync-count ≥ count``.

        Args:
            count: the sync count to wait for; default the next sync.
        """
        ev = self.env.event()
        if self.ended:
            return ev
        target = self.sync_count + 1 if count is None else count
        heapq.heappush(self._sync_waiters, (target, next(self._ids), ev))
        if not self._parked and self.loop.s.sync_count >= target:
            self.pull("sync watch")
        return ev

    # ------------------------------------------------------------------ levers

    def set_downtime_limit(self, ms: float, *, actor: str, reason: str = "") -> None:
        """``migrate-set-parameters downtime-limit`` (applies at the next window close)."""
        def change() -> None:
            self.loop.levers.downtime_limit_ms = float(ms)
        self._act(actor, "set-downtime-limit", float(ms), reason, change)

    def set_max_bandwidth(self, Bps: float, *, actor: str, reason: str = "") -> None:
        """``migrate-set-parameters max-bandwidth`` (applies at once, 0 = unlimited)."""
        def change() -> None:
            self.loop.levers.max_bandwidth_Bps = int(Bps)
        self._act(actor, "set-max-bandwidth", float(Bps), reason, change)

    def start_postcopy(self, *, actor: str, reason: str = "") -> bool:
        """``migrate-start-postcopy``; refused with QEMU's words without ``postcopy-ram``.

        Returns:
            Whether QEMU accepted it.
        """
        if not self.loop.sc.capabilities["postcopy-ram"]:
            self._act(actor, "start-postcopy", None,
                      f"{reason}; refused: {POSTCOPY_OFF_ERROR}" if reason
                      else f"refused: {POSTCOPY_OFF_ERROR}", lambda: None)
            return False

        def change() -> None:
            self.loop.levers.postcopy_requested = True
        self._act(actor, "start-postcopy", None, reason, change)
        return True

    def pause(self, *, actor: str, reason: str = "") -> None:
        """Pause the guest (``virsh suspend``): it dirties nothing; not QEMU downtime."""
        def change() -> None:
            self.loop.levers.guest_paused = True
            self.paused_at_s = self.now_s
        self._act(actor, "pause", None, reason, change)

    def cancel(self, *, actor: str, reason: str = "") -> None:
        """``migrate_cancel``: status ``cancelled``, the guest stays on the source."""
        def change() -> None:
            self.loop.levers.cancel_reason = f"{actor}: {reason}" if reason else actor
        self._act(actor, "cancel", None, reason, change)

    def _act(self, actor: str, action: str, value: float | None, reason: str,
             change: Callable[[], None]) -> None:
        if self.ended:
            return
        self.actions.append(Action(time_s=self.now_s, actor=actor, action=action,
                                   value=value, reason=reason))
        label = f"{actor}: {action}" + (f" {value:g}" if value is not None else "")

        def apply() -> None:
            change()
            self.loop.invalidate()  # no jump may reuse what was learnt under the old levers
            self.loop.row(label)
        if self._parked:
            apply()
        else:
            self._changes.append(apply)
            self.pull(action)
            if not self.thread.is_alive or self.thread.target is None:
                self._apply_changes()

    def _apply_changes(self) -> None:
        changes, self._changes = self._changes, []
        for apply in changes:
            apply()

    def pull(self, cause: str) -> None:
        """Wake the migration thread after a lever was changed."""
        if self.thread.is_alive and not self.switching and not self._parked \
                and self.thread.target is not None:
            self.thread.interrupt(cause)

    # ------------------------------------------------------------------ built-in controllers

    def _cancel_at(self, t_s: float, reason: str) -> ProcessGenerator:
        yield self.env.timeout(t_s)
        self.loop.levers.cancel_reason = reason
        self.pull("cancel")

    def _cut_at(self, t_s: float) -> ProcessGenerator:
        yield self.env.timeout(t_s)
        self.cut = True
        self.loop.levers.cancel_reason = f"still running at the simulation's {t_s:g} s horizon"
        self.pull("horizon")

    def _postcopy_after(self, after: PostcopyAfter) -> ProcessGenerator:
        """``control.postcopy-after``: N syncs after setup's, or N seconds (§12.1)."""
        if after.passes is not None:
            yield self.next_sync(after.passes + 1)
            why = f"control.postcopy-after: {after.passes} passes"
        else:
            yield self.at(float(after.seconds or 0.0))
            why = f"control.postcopy-after: {after.seconds:g} s"
        self.start_postcopy(actor="operator", reason=why)

    # ------------------------------------------------------------------ the thread

    def _due(self) -> bool:
        """Succeed the events of controllers whose moment is now; True if any."""
        fired = False
        now = self.now_s
        while self._checkpoints and self._checkpoints[0][0] <= now + 1e-9 + 1e-12 * now:
            heapq.heappop(self._checkpoints)[2].succeed()
            fired = True
        while self._sync_waiters and self._sync_waiters[0][0] <= self.loop.s.sync_count:
            heapq.heappop(self._sync_waiters)[2].succeed()
            fired = True
        return fired

    def _stop(self) -> bool:
        reason = self.loop.levers.cancel_reason
        if reason is None:
            return False
        self.status = "active" if self.cut else "cancelled"
        self.reason = reason
        return True

    def _migration_thread(self) -> ProcessGenerator:
        try:
            yield from self._thread_steps()
        except WorkBudgetExceeded as err:  # a stalled clock or a month of polls: stop, say so
            self.status = "failed"
            self.reason = err.reason

    def _thread_steps(self) -> ProcessGenerator:
        loop, env = self.loop, self.env
        while env.now < loop.t:  # setup; a controller acting now takes effect at its end
            with contextlib.suppress(simpy.Interrupt):
                yield env.timeout(loop.t - env.now)
        self._apply_changes()
        if self._stop():
            return
        while True:
            if self._due():  # park at this instant and let the controllers read and act
                loop.spend()
                self._parked = True
                with contextlib.suppress(simpy.Interrupt):  # pull() skips a parked thread
                    yield env.timeout(0)
                self._parked = False
                if self._stop():
                    return
                continue
            loop.spend()  # one controller stop or leg: counted against the work budget
            loop.trim_timeline()
            state = loop.snapshot()
            next_stop = self._checkpoints[0][0] if self._checkpoints else math.inf
            until = min(self.end_s, next_stop)
            loop.deadline = until
            loop.sync_limit = self._sync_waiters[0][0] if self._sync_waiters else math.inf
            outcome = loop.advance(until=until, stop_at_sync=True)
            try:
                yield env.timeout(max(loop.t - env.now, 0.0))
                if outcome == UNTIL and until >= self.end_s:  # wait for its controller
                    yield env.event()
            except simpy.Interrupt:
                if loop.t > env.now:  # rewind the planned leg, replay it up to now
                    loop.restore(state)
                    loop.deadline = env.now
                    loop.advance(until=env.now)
                self._apply_changes()
                if self._stop():
                    return
                continue
            if outcome in (SYNC, UNTIL):
                continue
            self.switching = True
            if outcome == COMPLETE:
                self.downtime_parts_s = loop.switchover()
                yield env.timeout(sum(self.downtime_parts_s.values()))
            elif outcome == POSTCOPY:
                self.postcopy = run_postcopy(loop)
                self.downtime_parts_s = self.postcopy.downtime_parts_s
                yield env.timeout(max(loop.t - env.now, 0.0))
            self.status = "completed"
            return

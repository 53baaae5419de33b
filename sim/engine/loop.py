"""The precopy loop of QEMU's migration thread, as a state machine over send quanta.

Guest memory is a tank that the vCPUs refill (dirty pages) while the migration stream drains
it (bandwidth). The migration thread looks at the gauge only at certain moments, and this
module reproduces exactly those moments (§5.1–§5.5, §6, §22):

* a *loop pass*: check the pending bytes against ``threshold``; if under, sync the dirty
  bitmap (only when the bitmap's own count is under the threshold) and switch over if what
  is pending is still under it; otherwise send a *quantum*: until ``MAX_WAIT`` = 50 ms of
  sending, or the window budget ``max-bandwidth/10`` is spent, or the bitmap is empty;
* a *window* (≥ ``BUFFER_DELAY`` = 100 ms) closes at the end of the loop pass that reaches
  100 ms, or after sleeping off a spent budget; closing it sets the achieved bandwidth
  (bytes/ms over the window, sync time included), ``threshold = bandwidth × downtime-limit``
  (or ``avail-switchover-bandwidth``), ``mbps``, ``pages-per-second``, ``expected-downtime``;
* a *sync* merges the guest's distinct newly dirtied pages (:mod:`sim.workload`, minus those
  still pending, counted per page class when the workload has classes) into the bitmap,
  and closes an auto-converge period when ≥ 1 s has passed
  (:mod:`sim.engine.throttle`).

Pages are drained in bulk: within a pass the mix of pending pages (zero share, XBZRLE hits)
is fixed, so every quantum drains the same bytes at the same pace. That makes two shortcuts
exact (``fast=True``):

1. **window jump** — once a window without a sync, a lever change or a controller's stop
   has closed, the following windows repeat it until the pending bytes approach the
   threshold; ``n`` of them are applied at once (every counter is linear in ``n``);
2. **steady-state jump** — when the state at a sync repeats one of the last 64 (pending
   bytes and their mix, threshold, window phase, throttle, XBZRLE stage, within 1e-3),
   whole cycles are applied in closed form up to the next controller stop, periodic sync
   or switchover-ack, the drift still to come bounded (:meth:`MigrationLoop._steady_jump`).

Neither crosses a lever change: :meth:`MigrationLoop.invalidate` forgets what was learnt
under the old levers. Every run is bounded by a work budget (:meth:`MigrationLoop.spend`).

With ``fast=False`` (:mod:`sim.engine.reference`) the same code steps every quantum and every
window; the tests check that both agree.

    >>> from sim.scenario import load_scenario
    >>> core = MigrationLoop(load_scenario({"vm": {"memory": "1G"}}))
    >>> core.advance(until=3600.0)
    'complete'

§ numbers are sections of ``docs/qemu-migration.md`` (QEMU's algorithm, with its source files).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from sim.engine import downtime, multifd, qemu72, xbzrle
from sim.engine.constants import (
    BUFFER_DELAY_S,
    DIRTY_RATE_PERIOD_S,
    EXPECTED_DOWNTIME_MIN_BYTES,
    MAX_WAIT_S,
    TARGET_PAGE_BYTES,
    TIMELINE_MAX_ROWS,
    WORK_BASE,
    WORK_MAX,
    WORK_PER_S,
    XFER_LIMIT_RATIO,
)
from sim.engine.pages import SendRates
from sim.engine.sender import Sender
from sim.engine.throttle import AutoConverge, run_share
from sim.units import GiB
from sim.workload import ClassDirtying, DirtyModel, dirty_model

if TYPE_CHECKING:
    from sim.scenario import Scenario

__all__ = ["COMPLETE", "POSTCOPY", "SYNC", "UNTIL", "Counters", "Levers", "MigrationLoop",
           "WorkBudgetExceeded"]

COMPLETE: Final = "complete"
POSTCOPY: Final = "postcopy"
SYNC: Final = "sync"
UNTIL: Final = "until"

_EPS_S: Final = 1e-9
"""Time resolution of the checks (1 ns): float sums of quanta and window jumps differ in
the last bits, and a window must close at 100 ms on both paths. Long runs add
:data:`_EPS_REL` of the clock: the float sums drift by a few ulps per step."""
_EPS_REL: Final = 1e-12
"""Relative part of the time resolution: ``eps = _EPS_S + _EPS_REL × clock`` (see above)."""
_STEADY_TOL: Final = 1e-3
"""Two syncs are "the same state" for cycle detection (:func:`_same_state`) when their pending
bytes, threshold, new dirt and window bytes agree within this share (0.1 %), and their zero,
hot, first-copy and per-class pending bytes within this share of the pending bytes (the
throttle, the xbzrle stage and the phase in the window must be equal)."""
_DRIFT_TOL: Final = 1e-6
"""How far the pending bytes (and their mix) may drift over the cycles a steady jump skips,
as a share of the pending bytes: a loop still relaxing towards its cycle is stepped on.
About a page for a 4 GiB dirty set: management policies compare the remaining data at
each poll page by page (Proxmox's "more than last time", oVirt's "a new low"), so a
residue the jump leaves behind must stay under that or the fast path's policy decides at
another tick than stepping would (generator seeds 3992, 5121; it was 1e-3)."""
_HISTORY: Final = 64
"""How many past syncs cycle detection compares a new sync with (a cycle longer than 64
passes is not looked for; the loop simply steps through it)."""
_MIN_DRIFT_JUMP: Final = 64
"""Passes a drift-limited steady jump must skip to be worth its new cycle detection."""
_SPENT: Final = 1.0 - 1e-9
"""A window budget counts as spent within float rounding of it (the model sends exactly the
budget; QEMU overshoots by up to one flush, §5.2, and then sleeps)."""
_CHECK, _DECIDE, _SEND = 0, 1, 2
# The three phases of one iteration of QEMU's migration thread (``migration_thread`` in
# migration/migration.c), kept in :attr:`MigrationLoop.phase` so an interrupted SimPy process
# resumes where it stopped: _CHECK runs the window close and the completion test
# (``migration_iteration_run`` → ``migration_completion``), _DECIDE applies the levers a policy
# or postcopy switch changed, _SEND sends until the window budget or the pass ends
# (``ram_find_and_save_block`` in migration/ram.c).

# Indices of the additive counters in ``MigrationLoop.c`` (a flat list of floats, so that window
# and pass jumps advance them all in one loop). All are bytes unless named otherwise.
#   T             simulated wall-clock time, seconds
#   TRANSFERRED   bytes put on the wire so far (query-migrate ram.transferred + device state)
#   MAIN_PRE      wire bytes sent on the main channel before the guest stopped (precopy-bytes)
#   MULTIFD       wire bytes sent on the multifd channels (multifd-bytes)
#   ZERO_PAGES    pages sent as zero pages (ram.duplicate), a count
#   NORMAL_PAGES  pages sent in full (ram.normal), a count
#   XBZ_PAGES     pages sent XBZRLE-encoded (xbzrle-cache.pages), a count
#   XBZ_MISS      XBZRLE cache misses (xbzrle-cache.cache-miss), a count
#   XBZ_OVERFLOW  XBZRLE encodings larger than a page, sent in full (xbzrle-cache.overflow)
#   XBZ_BYTES     bytes XBZRLE put on the wire (xbzrle-cache.bytes)
#   PZ            pending bytes that are zero pages: dirty in the bitmap, not yet sent
#   PN            pending bytes that are non-zero pages (PZ + PN = the dirty bitmap's size)
#   PWS           of PN, the bytes inside the guest's hot working set: a page already pending
#                 there is not counted again when the guest rewrites it before the next sync
#   TAU           guest run time since the last sync, seconds (wall time × run share): what
#                 the dirtying model turns into distinct dirty bytes at the next sync
#   THROTTLE_CPU_S  vCPU-seconds taken from the guest by auto-converge (cpu-throttle)
#   THROTTLE_S    wall seconds during which auto-converge throttled the guest
#   WIN_WIRE      wire bytes sent in the current 100 ms rate-limit window (reset at its close)
#   WIN_PAGES     pages sent in the current window (for pages-per-second; reset at its close)
#   PF            of PN, the bytes never sent yet: their first copy lands in destination RAM
#                 never touched (host.first-touch-rate, sim/engine/sender.py). All of PN at
#                 the start; new dirt is never a first copy (its page went in an earlier pass)
(T, TRANSFERRED, MAIN_PRE, MULTIFD, ZERO_PAGES, NORMAL_PAGES, XBZ_PAGES, XBZ_MISS, XBZ_OVERFLOW,
 XBZ_BYTES, PZ, PN, PWS, TAU, THROTTLE_CPU_S, THROTTLE_S, WIN_WIRE, WIN_PAGES, PF) = range(19)
_N_COUNTERS: Final = 19
"""Page classes (:class:`~sim.workload.ClassDirtying`) keep their pending bytes after these,
one counter each; ``PWS`` is then their sum."""
_CYCLE_ADDITIVE: Final = (T, TRANSFERRED, MAIN_PRE, MULTIFD, ZERO_PAGES, NORMAL_PAGES, XBZ_PAGES,
                          XBZ_MISS, XBZ_OVERFLOW, XBZ_BYTES, THROTTLE_CPU_S, THROTTLE_S)
"""Counters a steady-state jump advances by whole cycles (pending bytes stay as they are)."""


@dataclass
class Levers:
    """What a policy or the operator can change while the migration runs.

    The SimPy processes of :mod:`sim.engine.precopy` (timeout today; management policies
    and postcopy later) set these and interrupt the migration thread, which applies them
    as QEMU does: ``max-bandwidth`` at once (``migration_rate_set``), ``downtime-limit`` and
    ``avail-switchover-bandwidth`` at the next window close.

    Attributes:
        downtime_limit_ms: ``downtime-limit``.
        max_bandwidth_Bps: ``max-bandwidth`` (0 = unlimited).
        avail_switchover_Bps: ``avail-switchover-bandwidth`` (0 = use the estimate).
        guest_paused: the guest is stopped (it dirties nothing; not downtime).
        cancel_reason: set to cancel the migration.
        postcopy_requested: ``migrate-start-postcopy`` was issued (issue 5).
    """

    downtime_limit_ms: float
    max_bandwidth_Bps: int
    avail_switchover_Bps: int
    guest_paused: bool = False
    cancel_reason: str | None = None
    postcopy_requested: bool = False


@dataclass
class Counters:
    """Non-additive statistics of the run (the additive ones live in a flat list)."""

    sync_count: int = 0
    last_sync_t: float = 0.0
    threshold_bytes: float = 0.0
    bw_Bpms: float = 0.0
    mbps: float = 0.0
    pages_per_second: float = 0.0
    expected_downtime_ms: float = 0.0
    dirty_pages_rate: float = 0.0
    dirty_bytes_last_sync: float = 0.0
    throttle_peak_pct: int = 0
    pass_index: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)


class WorkBudgetExceeded(Exception):
    """The run took more steps than its work budget allows (see :meth:`MigrationLoop.spend`).

    Caught by :class:`~sim.engine.precopy.Run`, which ends the run as ``failed`` with
    :attr:`reason`; never escapes :func:`sim.engine.simulate`.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Mark(NamedTuple):
    """The state at one sync that decides the future, for the steady-state match."""

    t: float
    pending: float
    win_phase: float
    win_wire: float
    pct: int
    sync_count: int
    c: list[float]
    threshold: float
    high_cnt: int
    period_phase: float
    zero: float
    hot: float
    stage: int
    dirt: float
    classes: tuple[float, ...] = ()
    first: float = 0.0


def _near(a: float, b: float) -> bool:
    return abs(a - b) <= _STEADY_TOL * max(abs(b), 1.0)


def _same_state(old: _Mark, here: _Mark, watch_period: bool) -> bool:
    """Two syncs start the same future (within :data:`_STEADY_TOL`)."""
    room = _STEADY_TOL * max(here.pending, 1.0)  # parts of pending: within a share of it
    parts = zip((old.zero, old.hot, old.first, *old.classes),
                (here.zero, here.hot, here.first, *here.classes), strict=True)
    return (old.pct == here.pct and old.high_cnt == here.high_cnt
            and _near(old.pending, here.pending) and _near(old.threshold, here.threshold)
            and all(abs(a - b) <= room for a, b in parts)
            and old.stage == here.stage and _near(old.dirt, here.dirt)
            and abs(old.win_phase - here.win_phase) <= 1e-9
            and _near(old.win_wire, here.win_wire)
            and (not watch_period or abs(old.period_phase - here.period_phase) <= 1e-6))


class MigrationLoop:
    """One precopy migration, advanced on demand.

    Args:
        sc: the validated scenario.
        fast: use the closed-form jumps (see the module docstring).
        timeline: record timeline rows.
        sample_s: at most one coarse timeline sample per this many seconds.
    """

    def __init__(self, sc: Scenario, *, fast: bool = True, timeline: bool = True,
                 sample_s: float = 1.0) -> None:
        """Long because it sets up every counter and derived rate of the run in one place (the
        counters are listed at the top of this module).
        """
        self.sc = sc
        self.fast = fast
        self.record = timeline
        self.sample_s = sample_s
        self.sender = Sender(sc)
        self.final_sender = Sender(sc, guest_running=False)
        self.memory = float(sc.vm.memory_bytes)
        self.model: DirtyModel = dirty_model(sc.workload, self.memory)
        self.hot_bytes = max(self.model.hot_bytes, 1.0)
        self.class_model = self.model if isinstance(self.model, ClassDirtying) else None
        sizes = self.class_model.sizes_bytes if self.class_model is not None else ()
        self.cls = range(_N_COUNTERS, _N_COUNTERS + len(sizes))
        """Indices of the per-class pending bytes in :attr:`c` (empty without classes)."""
        self.fresh_cls: tuple[float, ...] = ()
        """Per-class new dirt found by the last :meth:`collect_dirty`."""
        self.cpu_bound = sc.workload.cpu_bound
        self.vcpus = sc.vm.vcpus
        self.sync_s = sc.host.sync_s_per_gib * self.memory / GiB
        self.multifd_sync_s = multifd.sync_drain_s(sc) if sc.capabilities.multifd else 0.0
        self.iterate_flush_s = qemu72.iterate_flush_s(sc)  # QEMU < 8.0 only (qemu72.py)
        self.inclusive = sc.qemu.switchover_inclusive
        p = sc.parameters
        self.ac = AutoConverge(p.cpu_throttle_initial, p.cpu_throttle_increment,
                               p.max_cpu_throttle, p.throttle_trigger_threshold,
                               p.cpu_throttle_tailslow, bool(sc.capabilities.auto_converge))
        self.periodic_s = (sc.qemu.throttle_periodic_sync_s
                           if sc.capabilities.auto_converge else 0.0)
        self.next_tick = self.periodic_s if self.periodic_s else math.inf
        self.tick_prev_count = 0
        """dirty-sync-count when the periodic timer last ticked (``prev_sync_cnt``)."""
        ack = bool(sc.capabilities["switchover-ack"])
        self.t_ack = max(sc.vm.ack_ready_s, sc.host.setup_s) + sc.host.rtt_s / 2 if ack else 0.0
        self.levers = Levers(float(p.downtime_limit), p.max_bandwidth,
                             p.avail_switchover_bandwidth)
        self.c = [0.0] * (_N_COUNTERS + len(sizes))
        self.s = Counters(expected_downtime_ms=float(p.downtime_limit))
        z = sc.workload.zero_fraction
        self.c[PZ] = z * self.memory
        self.c[PN] = (1.0 - z) * self.memory
        self.c[PWS] = self.hot_bytes  # all of the hot set is pending at the start
        self.c[PF] = self.c[PN]  # and nothing has been sent
        for i, size in zip(self.cls, sizes, strict=True):
            self.c[i] = size
        self.zero_last = sc.workload.zero_layout == "end"
        """Zero pages lie at the top of RAM: the scan reaches them after the others."""
        self.in_zeros = False
        """``zero_last`` and the scan cursor is in the zero pages (they go first now)."""
        self.ws = 0.0  # the first window starts before setup (update_iteration_initial_status)
        self.phase = _CHECK
        self.period_start = 0.0
        self.period_dirty = 0.0
        self.xfer_prev = 0.0
        self.win_clean = False
        self.pass_dirty = 0.0
        self.history: list[_Mark] = []
        self._drifts: tuple[int, tuple[float, ...], float] = (0, (), 0.0)
        """(passes per cycle, per-cycle drifts of zero, hot, pending, ..., the cycle's length
        in seconds) at the last match."""
        self.win_start_snapshot: list[float] = []
        self.win_cut = False
        """A quantum or a sleep of the current window was cut short by ``until`` (a
        controller's stop): the window is not a pattern for the next ones."""
        self.downtime_bytes = 0.0
        self.deadline = math.inf
        """The next time an outside event is due (timeout, horizon); steady jumps stop short."""
        self.sync_limit = math.inf
        """A sync count someone waits to see (a policy, ``postcopy-after``); steady jumps
        stop short of it."""
        self.pre_sync_pending = self.pending
        """Pending bytes just before the last sync: the low point of the saw-tooth."""
        self.check_over = math.inf
        """By how much the pending bytes exceeded the threshold at the last check that did
        not sync: a drift of the pending bytes larger than this (or than the gap under the
        threshold at the sync) moves the sync by a quantum."""
        self.postcopy_first = sc.qemu.version >= (10, 1)
        """10.1+: the postcopy-start check comes before the completion check (§20)."""
        self.last_row_t = -math.inf
        self.eps = _EPS_S
        self.work = 0
        """Steps taken (loop passes and controller stops), against the work budget."""
        self._work_check = 0
        """The time resolution of the current :meth:`advance` (:data:`_EPS_S`, :data:`_EPS_REL`)."""
        self.rates: SendRates = self._pass_rates()
        self.c[T] = sc.host.setup_s
        self._sync(setup=True)

    # ------------------------------------------------------------------ helpers

    @property
    def t(self) -> float:
        """Seconds since the migrate command."""
        return self.c[T]

    @property
    def pending(self) -> float:
        """Bytes set in the dirty bitmap (``ram.remaining``)."""
        return self.c[PZ] + self.c[PN]

    @property
    def budget(self) -> float:
        """The window budget ``max-bandwidth / 10`` (integer division; 0 = unlimited)."""
        return float(self.levers.max_bandwidth_Bps // XFER_LIMIT_RATIO)

    @property
    def run(self) -> float:
        """Share of wall time the guest's vCPUs run (throttle, pause)."""
        if self.levers.guest_paused:
            return 0.0
        return run_share(self.ac.pct) if self.cpu_bound else 1.0

    def dirty_rate_Bps(self) -> float:
        """The guest's current dirty rate (nominal × run share)."""
        return self.model.nominal_rate_Bps * self.run

    def _segment(self) -> float:
        """Bytes that go at the current pace before the mix changes (``zero-layout: end``).

        Spread zero pages: the whole of what is pending. At the end of RAM: the non-zero
        pages up to the zero ones, then the zero pages up to the wrap of the scan.
        """
        c = self.c
        if not self.zero_last or c[PZ] <= 0.0 or c[PN] <= 0.0:
            return c[PZ] + c[PN]
        return c[PZ] if self.in_zeros else c[PN]

    def _pass_rates(self) -> SendRates:
        c = self.c
        pending = self.pending
        z = c[PZ] / pending if pending > 0 else 0.0
        if self.zero_last and c[PZ] > 0.0 and c[PN] > 0.0:
            z = 1.0 if self.in_zeros else 0.0
        return self.sender.rates(zero_share=z, pass_index=max(self.s.pass_index, 1),
                                 dirty_bytes=self.pass_dirty, first_share=self.first_share)

    @property
    def first_share(self) -> float:
        """Share of the pending non-zero bytes that are first copies (``PF / PN``)."""
        c = self.c
        return min(c[PF] / c[PN], 1.0) if c[PN] > 0.0 else 0.0

    def _elapse(self, dt: float) -> None:
        """Let ``dt`` seconds of wall time pass with the guest running."""
        c = self.c
        c[T] += dt
        run = self.run
        c[TAU] += dt * run
        pct = self.ac.pct
        if pct and not self.levers.guest_paused:
            c[THROTTLE_S] += dt
            c[THROTTLE_CPU_S] += dt * self.vcpus * pct / 100.0

    def row(self, event: str, phase: str = "precopy") -> None:
        """Append a timeline row."""
        if not self.record:
            return
        s = self.s
        s.rows.append({
            "time_s": self.t, "phase": phase, "remaining_bytes": self.pending,
            "transferred_bytes": self.c[TRANSFERRED], "bandwidth_Bps": s.bw_Bpms * 1000.0,
            "throttle_pct": float(self.ac.pct), "dirty_sync_count": s.sync_count,
            "dirty_rate_Bps": self.dirty_rate_Bps(),
            "expected_downtime_ms": s.expected_downtime_ms, "event": event,
        })
        self.last_row_t = self.t

    def spend(self, steps: int = 1) -> None:
        """Count ``steps`` of work; raise once the run exceeds its budget.

        The budget is :data:`~sim.engine.constants.WORK_BASE` plus
        :data:`~sim.engine.constants.WORK_PER_S` per simulated second, and never more than
        :data:`~sim.engine.constants.WORK_MAX`: a run whose clock stalls (a 1 ns poll, a
        link too slow to send a byte) or that is followed for months ends with a reason
        instead of hanging.

        Raises:
            WorkBudgetExceeded: with the reason, naming the budget.
        """
        self.work += steps
        if self.work < self._work_check:
            return
        allowed = min(WORK_BASE + WORK_PER_S * max(self.c[T], 0.0), WORK_MAX)
        if self.work > allowed:
            raise WorkBudgetExceeded(
                f"the simulation's work budget was exceeded at {self.c[T]:.6g} s: {self.work:,}"
                f" steps (loop passes and controller stops), more than the {allowed:,.0f} "
                f"allowed ({WORK_BASE:,} + {WORK_PER_S:,} per simulated second, at most "
                f"{WORK_MAX:,}); the run was stopped there, not finished")
        self._work_check = self.work + 256

    def trim_timeline(self) -> None:
        """Keep the timeline under :data:`~sim.engine.constants.TIMELINE_MAX_ROWS` rows:
        drop every other coarse sample (rows without an event) and sample half as often."""
        rows = self.s.rows
        if len(rows) <= TIMELINE_MAX_ROWS:
            return
        samples = [i for i, r in enumerate(rows) if not r["event"]]
        drop = set(samples[1::2])
        if len(drop) < len(rows) // 4:  # mostly events: keep every other row, first and last
            drop = set(range(1, len(rows) - 1, 2))
        rows[:] = [r for i, r in enumerate(rows) if i not in drop]
        self.sample_s *= 2.0

    def invalidate(self) -> None:
        """A lever changed: what was learnt about repeating windows and cycles is void.

        The next window jump needs two windows closed under the new levers, the next
        steady-state jump a cycle of syncs that all ran under them.
        """
        self.history.clear()
        self.win_clean = False
        self.win_start_snapshot = []

    def _next_event_s(self) -> float:
        """The earliest moment a jump must not cross: the next periodic sync, the
        switchover-ack's arrival (it can let a waiting switchover or postcopy go)."""
        limit = self.next_tick
        if self.t_ack and self.c[T] < self.t_ack:
            limit = min(limit, self.t_ack)
        return limit

    # ------------------------------------------------------------------ sync

    def collect_dirty(self) -> float:
        """Distinct pages dirtied since the last sync that are not already pending."""
        c = self.c
        tau = c[TAU]
        c[TAU] = 0.0
        if self.class_model is not None:
            self.fresh_cls = self.class_model.fresh_by_class(tau, [c[i] for i in self.cls])
            return float(sum(self.fresh_cls))
        distinct = self.model.distinct_bytes(tau)
        sending_Bps = self.s.bw_Bpms * 1000.0  # QEMU's achieved-bandwidth estimate
        # a tie (dirty rate = max-bandwidth) is not outrunning, whatever the float noise in
        # the bandwidth estimate (it differs in the last bits between fast and reference)
        outruns = sending_Bps > 0.0 and self.dirty_rate_Bps() > sending_Bps * (1.0 + 1e-9)
        return self.model.fresh_bytes(distinct, c[PWS], outruns_sender=outruns)

    def add_pending_hot(self, new: float) -> None:
        """Count ``new`` bytes from :meth:`collect_dirty` as pending in the hot set (per
        class with page classes)."""
        c = self.c
        if self.class_model is None:
            c[PWS] = min(self.hot_bytes, c[PWS] + new)
            return
        total = 0.0
        for i, fresh, size in zip(self.cls, self.fresh_cls, self.class_model.sizes_bytes,
                                  strict=True):
            c[i] = min(size, c[i] + fresh)
            total += c[i]
        c[PWS] = total

    def _sync(self, *, setup: bool = False, event: str = "sync") -> None:
        """``migration_bitmap_sync`` (§6.1), precopy flavour."""
        c, s = self.c, self.s
        self.pre_sync_pending = self.pending
        new = 0.0 if setup else self.collect_dirty()
        c[PN] += new
        if not setup:
            self.add_pending_hot(new)
        s.sync_count += 1
        s.last_sync_t = c[T]
        self.period_dirty += new
        self.pass_dirty = new
        s.dirty_bytes_last_sync = self.pending
        if not setup:
            self._elapse(self.sync_s + self.multifd_sync_s)
            self.win_clean = False
        else:
            self.period_start = c[T]
        throttle_event = False
        if c[T] > self.period_start + DIRTY_RATE_PERIOD_S:
            xfer = c[TRANSFERRED] - self.xfer_prev
            throttle_event = self.ac.on_period(dirty_bytes=self.period_dirty,
                                               xfer_bytes=xfer) is not None
            s.dirty_pages_rate = (self.period_dirty / TARGET_PAGE_BYTES
                                  / (c[T] - self.period_start))
            self.period_start = c[T]
            self.period_dirty = 0.0
            self.xfer_prev = c[TRANSFERRED]
            s.throttle_peak_pct = max(s.throttle_peak_pct, self.ac.pct)
        s.pass_index += 1
        self.rates = self._pass_rates()
        self.row("throttle" if throttle_event else event)
        if self.fast and not setup:
            self._steady_jump()

    # ------------------------------------------------------------------ windows

    def _close_window(self) -> None:
        """``migration_update_counters`` (§5.2)."""
        c, s, lv = self.c, self.s, self.levers
        dt_ms = (c[T] - self.ws) * 1000.0
        wire = c[WIN_WIRE]
        s.bw_Bpms = wire / dt_ms
        expected = (lv.avail_switchover_Bps // 1000) if lv.avail_switchover_Bps else s.bw_Bpms
        s.threshold_bytes = float(int(expected * lv.downtime_limit_ms))
        s.mbps = wire * 8.0 / (dt_ms / 1000.0) / 1e6
        s.pages_per_second = c[WIN_PAGES] / (dt_ms / 1000.0)
        if s.dirty_pages_rate and wire > EXPECTED_DOWNTIME_MIN_BYTES and expected > 0:
            s.expected_downtime_ms = s.dirty_bytes_last_sync / expected
        self.ws = c[T]
        c[WIN_WIRE] = 0.0
        c[WIN_PAGES] = 0.0
        if self.record and c[T] - self.last_row_t >= self.sample_s:
            self.row("")

    # ------------------------------------------------------------------ the loop

    def can_switchover(self) -> bool:
        """``migration_can_switchover``: the destination's switchover-ack has arrived."""
        return self.t >= self.t_ack

    def advance(self, until: float, *, stop_at_sync: bool = False) -> str:
        """Run the loop until switchover is due, a sync (if asked), or time ``until``.

        Returns:
            :data:`COMPLETE` (switchover is due at :attr:`t`), :data:`POSTCOPY` (the
            postcopy switch is due: ``migrate-start-postcopy`` was issued, §12.1),
            :data:`SYNC` or :data:`UNTIL`.
        """
        c, s = self.c, self.s
        self.eps = _EPS_S + _EPS_REL * (until if until < math.inf else c[T])
        eps = self.eps
        while True:
            self.work += 1
            if self.work >= self._work_check:
                self.spend(0)
            if c[T] >= until - eps:
                return UNTIL
            if self.phase == _CHECK:
                if c[T] >= self.next_tick - eps:
                    # 9.2+ migration/cpu-throttle.c cpu_throttle_dirty_sync_timer_tick: sync
                    # when dirty-sync-count (> 1) is what the previous tick left (its own
                    # sync included); compare counts, not float times (exact on both paths)
                    self.next_tick += self.periodic_s
                    due = s.sync_count > 1 and s.sync_count == self.tick_prev_count
                    if due:
                        self._sync(event="sync (periodic)")
                    self.tick_prev_count = s.sync_count
                    if due and stop_at_sync:
                        return SYNC
                pending = self.pending
                threshold = s.threshold_bytes
                self.phase = _DECIDE
                if pending <= threshold and pending < threshold:  # pending_exact + RAM guard
                    self._sync()
                    if stop_at_sync:
                        return SYNC
                else:
                    self.check_over = pending - threshold
            if self.phase == _DECIDE:
                pending = self.pending
                threshold = s.threshold_bytes
                below = pending < threshold or (self.inclusive and pending <= threshold)
                # With RAM alone must_precopy is 0 <= threshold, so a requested postcopy
                # switch is due at once (§12.1); 8.2 checks completion first, 10.1+
                # postcopy first (§20).
                post = self.levers.postcopy_requested and self.can_switchover()
                if post and self.postcopy_first:
                    return POSTCOPY
                if (pending == 0.0 or below) and self.can_switchover():
                    return COMPLETE
                if post:
                    return POSTCOPY
                self.phase = _SEND
            self._send_quantum(until)
            self.phase = _CHECK

    def _send_quantum(self, until: float) -> None:
        """``ram_save_iterate`` then ``migration_rate_limit`` (§5.1, §5.2, §5.4)."""
        c = self.c
        budget = self.budget
        time_left = min(MAX_WAIT_S, until - c[T])
        if time_left < MAX_WAIT_S:
            self.win_cut = True
        sent_s = 0.0
        while True:  # one segment, or two when the pace changes inside the quantum
            r = self.rates
            segment, pending = self._segment(), c[PZ] + c[PN]
            x = min(segment, time_left / r.sec_per_byte)
            if budget:
                x = min(x, max(budget - c[WIN_WIRE], 0.0) / r.wire_per_byte)
            if x <= 0.0:
                break
            self._drain(x, r)
            dt = x * r.sec_per_byte
            sent_s += dt
            time_left -= dt
            if x < segment or segment >= pending:
                break  # the quantum ended (time, budget) or the bitmap is empty
            self._next_segment()
        if sent_s > 0.0:
            self._elapse(sent_s + self.iterate_flush_s)  # flush: 7.2 (qemu72.py)
        elif not budget or c[WIN_WIRE] < budget * _SPENT:
            # nothing sent (bitmap empty while switchover waits, or a link too slow for one
            # byte): idle to the window end, or to the switchover-ack if it comes first
            end = min(self.ws + BUFFER_DELAY_S, until)
            self.win_cut |= until < self.ws + BUFFER_DELAY_S
            if c[T] < self.t_ack:
                end = min(end, self.t_ack)
            self._elapse(max(end - c[T], 0.0))
        if c[T] - self.ws >= BUFFER_DELAY_S - self.eps:
            self._close_window_and_jump(until)
        elif budget and c[WIN_WIRE] >= budget * _SPENT:  # exceeded: sleep to the window end
            end = min(self.ws + BUFFER_DELAY_S, until)
            self.win_cut |= until < self.ws + BUFFER_DELAY_S
            self._elapse(end - c[T])
            if c[T] - self.ws >= BUFFER_DELAY_S - self.eps:
                self._close_window_and_jump(until)

    def _next_segment(self) -> None:
        """The scan crossed into the zero pages at the top of RAM, or wrapped past them."""
        self.in_zeros = self.c[PZ] > 0.0 and not self.in_zeros
        self.rates = self._pass_rates()

    def _drain(self, x: float, r: SendRates) -> None:
        c = self.c
        pending = c[PZ] + c[PN]
        if self.zero_last and c[PZ] > 0.0 and c[PN] > 0.0 and x < pending:
            if self.in_zeros:
                c[PZ] = max(c[PZ] - x, 0.0)
            else:
                self._shrink_parts_of_pn(min(x / c[PN], 1.0))
                c[PN] = max(c[PN] - x, 0.0)
        else:
            share = x / pending
            c[PZ] -= c[PZ] * share
            c[PN] -= c[PN] * share
            self._shrink_parts_of_pn(share)
        if c[PN] < 1e-6 * TARGET_PAGE_BYTES and c[PZ] < 1e-6 * TARGET_PAGE_BYTES:
            self.clear_pending()
        wire = x * r.wire_per_byte
        c[TRANSFERRED] += wire
        c[WIN_WIRE] += wire
        c[MAIN_PRE] += x * r.main_wire_per_byte
        c[MULTIFD] += x * r.multifd_wire_per_byte
        zero = x * r.zero_pages_per_byte
        normal = x * r.normal_pages_per_byte
        c[ZERO_PAGES] += zero
        c[NORMAL_PAGES] += normal
        c[WIN_PAGES] += zero + normal
        c[XBZ_PAGES] += x * r.xbzrle_pages_per_byte
        c[XBZ_MISS] += x * r.xbzrle_miss_per_byte
        c[XBZ_OVERFLOW] += x * r.xbzrle_overflow_per_byte
        c[XBZ_BYTES] += x * r.xbzrle_bytes_per_byte

    # ------------------------------------------------------------------ jumps

    def _close_window_and_jump(self, until: float) -> None:
        was_clean = self.win_clean
        start = self.win_start_snapshot if was_clean else None
        self._close_window()
        self.win_clean = True
        if self.fast and start is not None and not self.win_cut:
            self._window_jump(start, until)
        self.win_cut = False
        self.win_start_snapshot = list(self.c)

    def _window_jump(self, start: list[float], until: float) -> None:
        """Apply ``n`` copies of the window that just closed (no check can fire in them).

        Not after a window cut short by a controller's stop (:attr:`win_cut`), nor the first
        after a lever change, a sync or a pace change: those do not repeat.
        """
        c, s = self.c, self.s
        if self._would_switch():  # due at the next check: the switchover-ack came in the
            return                # window that closed, and a postcopy request was waiting
        delta = [a - b for a, b in zip(c, start, strict=True)]
        dt, drained = delta[T], -(delta[PZ] + delta[PN])
        if dt <= 0.0 or drained <= 0.0:
            return
        margin = self.pending - s.threshold_bytes
        limit = min(until, self._next_event_s()) - c[T]
        n = min(math.floor(margin / drained) - 1, math.floor(limit / dt) - 1)
        if self.zero_last:  # zero pages at the top: stop short of the pace change
            if delta[PZ] < 0.0 and delta[PN] < 0.0:
                return  # this window held the change: it does not repeat
            if c[PZ] > 0.0 and c[PN] > 0.0:
                n = min(n, math.floor(self._segment() / drained) - 1)
        if n < 1:
            return
        for i in range(len(c)):
            if i not in (WIN_WIRE, WIN_PAGES):
                c[i] += n * delta[i]
        self.ws = c[T]

    def _would_switch(self) -> bool:
        """The decision right after this sync would switch over or start postcopy."""
        pending, threshold = self.pending, self.s.threshold_bytes
        below = pending < threshold or (self.inclusive and pending <= threshold)
        due = pending == 0.0 or below or self.levers.postcopy_requested
        return due and self.can_switchover()

    def _steady_jump(self) -> None:  # noqa: C901
        """Skip whole cycles of passes once the loop repeats itself (non-convergence).

        Long and branchy because cycle detection and the closed-form advance share one state;
        each step is commented.

        At each sync the state that decides the future — pending bytes, the threshold, the
        phase inside the current window (time and budget used), the throttle and its
        trigger count — is compared with the last :data:`_HISTORY` syncs (all under the
        levers in force: :meth:`invalidate` clears them). A match within
        :data:`_STEADY_TOL` means the passes in between form a cycle (often one pass,
        sometimes a saw-tooth of several as the pass length hops by one quantum); whole
        cycles up to the next deadline, periodic sync or switchover-ack are then applied at
        once. While auto-converge could still raise the throttle the cycle must also hold
        whole auto-converge periods (same phase in the period), so that every skipped
        period repeats one that was evaluated. A cycle whose counters still drift is
        skipped only when the sync before matched a cycle of the same passes and length
        (benchmarks/engine/RESULTS.md, seed 1512).
        """
        c, s = self.c, self.s
        ac = self.ac
        here = _Mark(c[T], self.pending, c[T] - self.ws, c[WIN_WIRE], ac.pct, s.sync_count,
                     list(c), s.threshold_bytes, ac.high_cnt, c[T] - self.period_start, c[PZ],
                     c[PWS], min(s.pass_index, xbzrle.FIRST_HIT_PASS), self.pass_dirty,
                     tuple(c[i] for i in self.cls), c[PF])
        history = self.history
        match = None
        watch_period = ac.can_rise()
        if not self._would_switch():
            best = math.inf  # the closest repeat: a true cycle over a passing near-miss
            for old in reversed(history):
                if _same_state(old, here, watch_period):
                    gap = abs(old.pending - here.pending)
                    if gap < best:
                        match, best = old, gap
        history.append(here)
        if len(history) > _HISTORY:
            del history[0]
        if match is None:
            return
        cycle_s = here.t - match.t
        if cycle_s <= 0:
            return
        passes = s.sync_count - match.sync_count
        limits = [math.floor((min(self.deadline, self._next_event_s()) - c[T]) / cycle_s) - 1.0]
        drift = here.pending - match.pending  # a cycle that still drifts down may yet
        if drift < 0:                         # converge: stop halfway to the threshold
            limits.append(0.5 * (here.pending - s.threshold_bytes) / -drift)
        # What still drifts within the match's tolerance (the zero pages, the pending hot
        # set, the pending bytes, each page class, the first copies) may drift no further
        # than _DRIFT_TOL of pending over the skipped cycles, so their pace and new dirt
        # stay as measured. A drift that shrinks cycle after cycle (a loop relaxing towards
        # its cycle) is bounded by its geometric tail: once all that is still to come is
        # within the tolerance, jump to the end.
        drifts = (here.zero - match.zero, here.hot - match.hot, drift,
                  *(a - b for a, b in zip(here.classes, match.classes, strict=True)),
                  here.first - match.first)
        prev, self._drifts = self._drifts, (passes, drifts, cycle_s)
        if any(drifts) and (prev[0] != passes or abs(prev[2] - cycle_s) > self.eps):
            # a cycle still relaxing is only trusted once it has kept its shape and length
            # from one sync to the next: a match across a perturbation (after a jump, a
            # pass one quantum shorter) can pair syncs 15 passes apart that are no cycle,
            # and the jump would carry that length error through every skipped cycle
            return
        allowed = _DRIFT_TOL * max(here.pending, 1.0)
        # the pending bytes may not drift past a quantum boundary of the pass either
        margin = self.check_over if drift < 0 else s.threshold_bytes - self.pre_sync_pending
        drift_limit = math.inf
        for i, d in enumerate(drifts):
            if not d:
                continue
            room = min(allowed, max(margin, 0.0)) if i == 2 else allowed
            r = prev[1][i] and d / prev[1][i] if prev[0] == passes else 0.0
            if 0.0 < r < 1.0 and abs(d) * r / (1.0 - r) <= room:
                continue
            drift_limit = min(drift_limit, room / abs(d))
        if drift_limit < limits[0] and drift_limit * passes < _MIN_DRIFT_JUMP:
            return  # a short jump costs a new cycle detection: step on until it settles
        limits.append(drift_limit)
        if self.sync_limit < math.inf:  # someone waits to see sync number sync_limit
            limits.append((self.sync_limit - 1 - s.sync_count) / max(passes, 1))
        limit = min(limits)
        if not 1.0 <= limit < math.inf:
            return
        m = math.floor(limit)
        delta = [a - b for a, b in zip(here.c, match.c, strict=True)]
        for i in _CYCLE_ADDITIVE:
            c[i] += m * delta[i]
        shift = m * cycle_s
        s.sync_count += m * passes
        s.pass_index += m * passes
        s.last_sync_t = c[T]
        self.ws += shift
        self.period_start += shift
        self.xfer_prev += m * delta[TRANSFERRED]
        self.win_clean = False
        history.clear()
        self.row(f"steady state: {m * passes} passes skipped")

    # ------------------------------------------------------------------ switchover

    def switchover(self) -> dict[str, float]:
        """``migration_completion_precopy`` (§5.6): stop, final sync, send the rest.

        Updates the counters and the clock; returns the downtime's parts in seconds.
        """
        sc, c, s = self.sc, self.c, self.s
        new = self.collect_dirty()  # the final sync (last_stage) runs with the VM stopped
        c[PN] += new
        s.sync_count += 1
        final = self.pending
        z = c[PZ] / final if final > 0 else 0.0
        r = self.final_sender.rates(zero_share=z, pass_index=s.pass_index + 1, dirty_bytes=new,
                                    first_share=self.first_share)
        self._drain_final(final, r)
        device = float(sc.vm.device_state_bytes)
        c[TRANSFERRED] += device
        self.downtime_bytes = final * r.main_wire_per_byte
        parts = downtime.compose(
            stop_s=sc.host.stop_s, pause_s=downtime.pause_s(sc), sync_s=self.sync_s,
            ram_s=final * r.sec_per_byte, device_s=device / sc.host.link_Bps,
            drain_s=multifd.sync_drain_s(sc) if sc.capabilities.multifd else 0.0,
            return_path_s=downtime.return_path_s(sc))
        self.row("switchover", phase="switchover")
        c[T] += sum(parts.values())
        self.row("done", phase="done")
        return parts

    def _drain_final(self, x: float, r: SendRates) -> None:
        c = self.c
        main_before = c[MAIN_PRE]
        if x > 0:
            self._drain(x, r)
        c[MAIN_PRE] = main_before  # bytes sent while stopped are downtime-bytes
        self.clear_pending()

    def clear_pending(self) -> None:
        """The dirty bitmap is empty: every pending counter (and its parts) to zero."""
        c = self.c
        c[PZ] = c[PN] = c[PWS] = c[PF] = 0.0
        for i in self.cls:
            c[i] = 0.0

    def _shrink_parts_of_pn(self, share: float) -> None:
        """``share`` of the non-zero pending bytes was sent: their parts (the hot set, the
        first copies, the page classes) shrink alike."""
        c = self.c
        c[PWS] -= c[PWS] * share
        c[PF] -= c[PF] * share
        for i in self.cls:
            c[i] -= c[i] * share

    # ------------------------------------------------------------------ rollback

    def snapshot(self) -> dict[str, Any]:
        """The mutable state, to roll back a segment cut short by an interrupt."""
        state = dict(vars(self))
        state["c"] = list(self.c)
        state["history"] = list(self.history)
        state["s"] = copy.copy(self.s)  # shallow: rows are only appended, truncated on restore
        state["_rows"] = len(self.s.rows)
        state["ac"] = copy.copy(self.ac)
        state["levers"] = self.levers
        return state

    def restore(self, state: dict[str, Any]) -> None:
        """Return to a :meth:`snapshot` (levers keep their new values)."""
        rows = state.pop("_rows")
        levers = self.levers
        vars(self).update(state)
        self.levers = levers
        del self.s.rows[rows:]
        state["_rows"] = rows

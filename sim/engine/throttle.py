"""Auto-converge: slow the guest's vCPUs until the migration can catch up.

Auto-converge is a referee with two yellow cards: at each bitmap sync that closes a period
of at least 1 s it compares what the guest dirtied in the period with what was sent; if the
guest dirtied more than ``throttle-trigger-threshold`` % of it, that is a card. Every second
card (not necessarily consecutive; a calm period does not wipe the count) the throttle rises:
off → ``cpu-throttle-initial``, then ``+ cpu-throttle-increment`` (with tailslow: no more
than what the period's overshoot asks for), capped at ``max-cpu-throttle`` and clamped to
[1, 99] (§7.1, §7.2). A throttled vCPU runs 10 ms, then sleeps ``10·p/(1−p)`` ms, so it
runs a share ``1 − p`` of the time and a CPU-bound guest dirties ``1 − p`` as fast (§7.3).

    >>> ac = AutoConverge(initial_pct=20, increment_pct=10, max_pct=99, trigger_pct=50)
    >>> [ac.on_period(dirty_bytes=100, xfer_bytes=100) for _ in range(4)]
    [None, 20, None, 30]

§ numbers are sections of ``docs/qemu-migration.md`` (QEMU's algorithm, with its source files).
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.engine.constants import (
    CPU_THROTTLE_PCT_MAX,
    CPU_THROTTLE_PCT_MIN,
    CPU_THROTTLE_TIMESLICE_S,
    DIRTY_RATE_HIGH_CNT,
)

__all__ = ["AutoConverge", "run_share", "sleep_per_slice_s"]


def sleep_per_slice_s(pct: float) -> float:
    """Sleep a vCPU takes after each 10 ms run slice: ``10 ms · p/(1 − p)``."""
    p = pct / 100.0
    return CPU_THROTTLE_TIMESLICE_S * p / (1.0 - p) if p > 0.0 else 0.0


def run_share(pct: float) -> float:
    """Share of wall time a throttled vCPU runs: ``10 / (10 + sleep) = 1 − p``."""
    return CPU_THROTTLE_TIMESLICE_S / (CPU_THROTTLE_TIMESLICE_S + sleep_per_slice_s(pct))


@dataclass
class AutoConverge:
    """The trigger and the throttle of ``ram.c`` (``migration_trigger_throttle``,
    ``mig_throttle_guest_down``).

    Attributes:
        initial_pct: ``cpu-throttle-initial``.
        increment_pct: ``cpu-throttle-increment``.
        max_pct: ``max-cpu-throttle``.
        trigger_pct: ``throttle-trigger-threshold``.
        tailslow: ``cpu-throttle-tailslow``.
        enabled: the ``auto-converge`` capability (the trigger counts even when off).
        pct: the throttle in force (0 = off).
        high_cnt: ``dirty_rate_high_cnt``.
    """

    initial_pct: int
    increment_pct: int
    max_pct: int
    trigger_pct: int
    tailslow: bool = False
    enabled: bool = True
    pct: int = 0
    high_cnt: int = 0

    def too_dirty(self, *, dirty_bytes: float, xfer_bytes: float) -> bool:
        """``bytes_dirty_period > bytes_xfer_period × threshold / 100`` (integer maths)."""
        return int(dirty_bytes) > int(xfer_bytes) * self.trigger_pct // 100

    def can_rise(self) -> bool:
        """Whether a future card could still change the throttle."""
        return self.enabled and self.pct < min(self.max_pct, CPU_THROTTLE_PCT_MAX)

    def on_period(self, *, dirty_bytes: float, xfer_bytes: float) -> int | None:
        """Evaluate one period closed by a sync; return the new throttle if it changed.

        Args:
            dirty_bytes: newly dirtied bytes counted at the period's syncs.
            xfer_bytes: every byte transferred during the period.
        """
        if not self.too_dirty(dirty_bytes=dirty_bytes, xfer_bytes=xfer_bytes):
            return None
        self.high_cnt += 1
        if self.high_cnt < DIRTY_RATE_HIGH_CNT:
            return None
        self.high_cnt = 0
        if not self.enabled:
            return None
        if self.pct == 0:
            new = self.initial_pct
        else:
            inc = self.increment_pct
            if self.tailslow:
                threshold = int(xfer_bytes) * self.trigger_pct // 100
                cpu_now = 100 - self.pct
                cpu_ideal = cpu_now * threshold / max(dirty_bytes, 1.0)
                inc = min(int(cpu_now - cpu_ideal), self.increment_pct)
            new = min(self.pct + inc, self.max_pct)
        new = max(CPU_THROTTLE_PCT_MIN, min(new, CPU_THROTTLE_PCT_MAX))
        changed = new != self.pct
        self.pct = new
        return new if changed else None

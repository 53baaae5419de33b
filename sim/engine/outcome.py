"""Turn a finished :class:`~sim.engine.loop.MigrationLoop` into a :class:`~sim.result.Result`.

This is the scoreboard clerk: the loop keeps tallies as floats in bulk; the clerk rounds
them into what ``query-migrate`` would print (§19), fills the guest's bill
(:class:`~sim.result.GuestCost`) and, for a run that never switched over, writes down why.

    >>> from sim.engine import simulate
    >>> from sim.scenario import load_scenario
    >>> simulate(load_scenario({"vm": {"memory": "1G"}})).status
    'completed'

§ numbers are sections of ``docs/qemu-migration.md`` (QEMU's algorithm, with its source files).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.engine import loop as L
from sim.engine.constants import TARGET_PAGE_BYTES
from sim.result import GuestCost, RamStats, Result, XbzrleStats
from sim.units import format_size

if TYPE_CHECKING:
    from sim.engine.precopy import Run

__all__ = ["build_result"]


def build_result(run: Run, *, seed: int) -> Result:
    """The :class:`~sim.result.Result` of a run that has ended.

    Long because it maps every engine counter to its ``query-migrate`` field, one field per
    line.
    """
    loop = run.loop
    sc, c, s = loop.sc, loop.c, loop.s
    completed = run.status == "completed"
    total_ms = c[L.T] * 1000.0
    setup_ms = sc.host.setup_s * 1000.0
    transferred = c[L.TRANSFERRED]
    mbps = (transferred * 8.0 / (total_ms - setup_ms) / 1000.0
            if completed and total_ms > setup_ms else s.mbps)
    ram = RamStats(
        transferred=round(transferred), total=sc.vm.memory_bytes,
        remaining=0 if completed else round(loop.pending),
        duplicate=round(c[L.ZERO_PAGES]), normal=round(c[L.NORMAL_PAGES]),
        normal_bytes=round(c[L.NORMAL_PAGES]) * TARGET_PAGE_BYTES,
        dirty_sync_count=s.sync_count,
        dirty_pages_rate=0 if completed else round(s.dirty_pages_rate),
        mbps=mbps, pages_per_second=round(s.pages_per_second),
        precopy_bytes=round(c[L.MAIN_PRE]), downtime_bytes=round(loop.downtime_bytes),
        multifd_bytes=round(c[L.MULTIFD]), page_size=TARGET_PAGE_BYTES,
    )
    xbzrle = None
    if sc.capabilities.xbzrle:
        handled = c[L.XBZ_PAGES] + c[L.XBZ_MISS]
        xbzrle = XbzrleStats(
            cache_size=sc.parameters.xbzrle_cache_size, bytes=round(c[L.XBZ_BYTES]),
            pages=round(c[L.XBZ_PAGES]), cache_miss=round(c[L.XBZ_MISS]),
            cache_miss_rate=c[L.XBZ_MISS] / handled if handled else 0.0,
            encoding_rate=(c[L.XBZ_PAGES] * TARGET_PAGE_BYTES / c[L.XBZ_BYTES]
                           if c[L.XBZ_BYTES] else 0.0),
            overflow=round(c[L.XBZ_OVERFLOW]))
    guest = GuestCost(throttle_peak_pct=float(max(s.throttle_peak_pct, loop.ac.pct)),
                      throttle_cpu_s=c[L.THROTTLE_CPU_S], throttle_seconds=c[L.THROTTLE_S])
    if run.paused_at_s is not None:
        switch_s = run.postcopy.switch_s if run.postcopy is not None else c[L.T]
        if completed and run.postcopy is None:
            switch_s = c[L.T] - sum(run.downtime_parts_s.values())
        guest.paused_s = max(switch_s - run.paused_at_s, 0.0)
    blocktime_ms: float | None = None
    pc = run.postcopy
    if pc is not None:
        # query-migrate on the source: postcopy-bytes and postcopy-requests (§12.3,
        # §12.4); the destination reports postcopy-blocktime only with the capability.
        ram.postcopy_bytes = round(pc.bytes)
        ram.postcopy_requests = round(pc.requests)
        guest.postcopy_blocktime_ms = pc.blocktime_s * 1000.0
        guest.postcopy_vcpu_blocktime_ms = pc.vcpu_blocktime_s * 1000.0
        guest.postcopy_faults = round(pc.requests)
        guest.postcopy_latency_ms = pc.mean_latency_s * 1000.0
        guest.exposure_s = pc.exposure_s
        guest.loss_probability = pc.loss_probability
        if sc.capabilities["postcopy-blocktime"]:
            blocktime_ms = pc.blocktime_s * 1000.0
    parts_ms = {k: v * 1000.0 for k, v in run.downtime_parts_s.items()}
    result = Result(
        status=run.status, converged=completed, total_time_ms=total_ms,
        downtime_ms=sum(parts_ms.values()), setup_time_ms=setup_ms,
        expected_downtime_ms=s.expected_downtime_ms, ram=ram,
        cpu_throttle_percentage=0.0 if run.status != "active" else float(loop.ac.pct),
        xbzrle_cache=xbzrle, postcopy_blocktime_ms=blocktime_ms, guest=guest,
        downtime_breakdown_ms=parts_ms, actions=list(run.actions), timeline=s.rows, seed=seed,
    )
    if not completed:
        result.plateau_bytes = round(s.dirty_bytes_last_sync)
        result.reason = _why(run)
        if run.status == "active":
            result.reason += " (a longer control.timeout follows it further)"
    return result


def _why(run: Run) -> str:
    """Plain words for a run that did not switch over: only what the run itself measured.

    The cause is named here only when the numbers prove it: the hot set, when (nearly) all
    of it is pending again after each sync and it alone exceeds the threshold. Everything
    else (the sync cycle, the dirty rate against the send rate, a timeout that came too
    early) needs counterfactual runs: :func:`sim.diagnosis.diagnose` does those.
    """
    loop = run.loop
    s = loop.s
    threshold = s.threshold_bytes
    plateau = s.dirty_bytes_last_sync
    stop = run.reason
    if s.pass_index <= 1:
        return f"{stop} during the first pass over RAM"
    parts = [f"{stop}; pending settled at {_size(plateau)} after each sync, above the "
             f"switchover threshold bandwidth × downtime-limit ({_size(threshold)} in the "
             f"last window)"]
    hot = loop.model.hot_bytes
    if hot > threshold > 0 and plateau >= 0.9 * hot:
        parts.append(f"the hot set alone ({_size(hot)}) exceeds it and is dirty again "
                     f"after each sync")
    if loop.ac.enabled and loop.ac.pct:
        parts.append(f"auto-converge reached {loop.ac.pct} %")
    return "; ".join(parts)


def _size(n_bytes: float) -> str:
    """``format_size`` that switches to GiB at 1000 MiB (no ``1.02e+03 MiB``)."""
    if 1000 * 2**20 <= n_bytes < 2**30:
        return f"{n_bytes / 2**30:.3g} GiB"
    return format_size(n_bytes)

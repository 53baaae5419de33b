"""oVirt/RHV convergence schedules: actions keyed to how many iterations have stalled.

oVirt's schedule is a ladder: an initial ``setDowntime``, then for each ``limit`` of stalled
iterations one more rung (a larger downtime, ``postcopy``, or ``abort`` at ``-1``), executed
by Vdsm's migration monitor.

Sources: docs/management-policies.md §3.6 (the policies and the *minimal downtime* schedule:
``setDowntime 100``, stalling limits 1/2/3/4/6 → 150/200/300/400/500 ms, then ``abort``;
auto-convergence on for built-in policies, compression off for minimal downtime, on for
*suspend workload*); Vdsm ``virt/migration.py`` ``MonitorThread`` as recalled
**[U]**: the monitor wakes every ``migration_monitor_interval`` = 10 s; an iteration that
ends without a new low of remaining data is *stalling*; the schedule's head runs when its
``limit < stalling`` (``-1`` always); Vdsm also aborts after ``migration_max_time_per_gib_mem``
= 64 s per GiB. The *suspend workload* rungs past 500 ms (5000 ms) and the *post-copy*
ladder (the same rungs, then ``postcopy``) are miglab's reading of the policy descriptions
**[U]**. Stalled iterations are counted cumulatively **[inference]**.

    >>> [limit for limit, _ in SCHEDULES["minimal-downtime"]["stalling"]]
    [1, 2, 3, 4, 6, -1]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from pydantic import Field

from sim.policies.base import Policy, PolicyOptions, choice, integer, option, options_table
from sim.units import GiB

if TYPE_CHECKING:
    from sim.engine.precopy import ProcessGenerator, Run
    from sim.scenario import Scenario

__all__ = ["MONITOR_INTERVAL_S", "OPTIONS", "SCHEDULES", "OVirtOptions", "OVirtPolicy"]

MONITOR_INTERVAL_S: Final = 10.0
"""Vdsm ``migration_monitor_interval``."""

_LADDER: Final = [(1, 150), (2, 200), (3, 300), (4, 400), (6, 500)]

SCHEDULES: Final[dict[str, dict[str, Any]]] = {
    "minimal-downtime": {"init": 100, "stalling": [*_LADDER, (-1, "abort")],
                         "auto-converge": True, "xbzrle": False},
    "suspend-workload": {"init": 100, "stalling": [*_LADDER, (8, 5000), (-1, "abort")],
                         "auto-converge": True, "xbzrle": True},
    "post-copy": {"init": 100, "stalling": [*_LADDER, (-1, "postcopy")],
                  "auto-converge": False, "xbzrle": False, "postcopy": True},
}
"""The built-in convergence schedules: ``(stalling limit, downtime ms | action)``."""

class OVirtOptions(PolicyOptions):
    """``schedule`` picks the built-in policy; Vdsm's per-GiB time limit (0 disables)."""

    kind: Literal["ovirt"] = "ovirt"
    schedule: Annotated[Literal["minimal-downtime", "suspend-workload", "post-copy"],
                        option(choice(*SCHEDULES))] = Field(
        "minimal-downtime", description="the built-in convergence schedule")
    max_time_per_gib_mem: Annotated[int, option(integer(0))] = Field(
        64, description="Vdsm's time limit in seconds per GiB of RAM (0 disables it)")


OPTIONS: Final = options_table(OVirtOptions)
"""oVirt's options: name → (default, reader), derived from :class:`OVirtOptions`."""


class OVirtPolicy(Policy):
    """Vdsm's migration monitor running an oVirt convergence schedule."""

    actor = "ovirt"

    def setup_changes(self, sc: Scenario) -> dict[str, Any]:
        """The policy's auto-convergence, compression (XBZRLE) and postcopy flags."""
        s = SCHEDULES[self.options["schedule"]]
        changes: dict[str, Any] = {}
        for cap in ("auto-converge", "xbzrle", "postcopy"):
            if s.get(cap):
                changes[f"capabilities.{cap}-ram" if cap == "postcopy"
                        else f"capabilities.{cap}"] = True
        return changes

    def process(self, run: Run) -> ProcessGenerator:
        """``init`` at the start, then one rung per monitor tick when due."""
        s = SCHEDULES[self.options["schedule"]]
        ladder = list(s["stalling"])
        yield run.at(0.0)
        if run.ended:
            return
        run.set_downtime_limit(s["init"], actor=self.actor, reason="convergence schedule init")
        per_gib = self.options["max_time_per_gib_mem"]
        max_s = per_gib * run.memory_bytes / GiB if per_gib else float("inf")
        lowmark: float | None = None
        seen = run.sync_count
        stalling = 0
        k = 1
        while True:
            yield run.at(k * MONITOR_INTERVAL_S)
            k += 1
            if run.ended:
                return
            if run.now_s > max_s:
                run.cancel(actor=self.actor, reason=f"migration_max_time_per_gib_mem: more "
                           f"than {max_s:g} s")
                return
            if run.sync_count > seen:  # a new iteration since the last tick
                seen = run.sync_count
                low = run.pre_sync_bytes
                if lowmark is None or low < lowmark:
                    lowmark = low
                else:
                    stalling += 1
            if not ladder or not (ladder[0][0] < stalling):
                continue
            _, action = ladder.pop(0)
            why = f"stalling for {stalling} iterations"
            if action == "abort":
                run.cancel(actor=self.actor, reason=why)
                return
            if action == "postcopy":
                run.start_postcopy(actor=self.actor, reason=why)
                continue
            run.set_downtime_limit(float(action), actor=self.actor, reason=why)

"""OpenStack Nova's libvirt driver: stepped downtime, a completion timeout, then act.

Nova is a patient lift operator: it opens the doors a little wider at fixed intervals
(``live_migration_downtime`` reached in ``_steps`` steps, one every ``_delay`` seconds per
GiB), and when the ride has taken too long (``live_migration_completion_timeout`` seconds
per GiB) it either stops it (``abort``) or forces it to finish (``force_complete``:
postcopy if permitted, otherwise pause the guest).

Sources (docs/management-policies.md §3.4, nova/conf/libvirt.py and nova/virt/libvirt/migration.py):

* defaults: downtime 500 ms (min 100), steps 10 (min 3), delay 75 s/GiB (min 3),
  completion timeout 800 s/GiB (0 disables), timeout action ``abort``, permit post-copy and
  auto-converge false, bandwidth 0 (libvirt's own: unlimited);
* ``downtime_steps()``: ``delay = int(delay_per_GiB × data_GiB)``, ``base = downtime/steps``,
  ``offset = (downtime − base)/steps``, step ``i`` = ``(delay·i, int(base + offset·i))`` for
  ``i = 0..steps``; ``data_GiB = max(RAM GiB, 2)`` + disks (none here);
* the monitor loop polls the job every 0.5 s and applies a step once ``elapsed > delay·i``,
  and the timeout action once ``elapsed > completion_timeout × data_GiB``;
* ``live_migration_permit_post_copy`` sets ``VIR_MIGRATE_POSTCOPY`` (``postcopy-ram``);
  ``live_migration_permit_auto_converge`` sets ``auto-converge`` only when post-copy is not
  permitted; both before ``migrate``.

    >>> downtime_steps(data_gib=4.0, downtime_ms=500, steps=10, delay_s_per_gib=75)[:3]
    [(0, 50), (300, 95), (600, 140)]
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from pydantic import Field

from sim.policies.base import (
    Policy,
    PolicyOptions,
    boolean,
    choice,
    integer,
    option,
    options_table,
)
from sim.units import GiB, MiB

if TYPE_CHECKING:
    from sim.engine.precopy import ProcessGenerator, Run
    from sim.scenario import Scenario

__all__ = ["MONITOR_POLL_S", "OPTIONS", "NovaOptions", "NovaPolicy", "data_gib", "downtime_steps",
           "poll_after"]

MONITOR_POLL_S: Final = 0.5
"""``_live_migration_monitor`` sleeps 0.5 s between ``get_job_info`` polls."""

MIN_DOWNTIME_MS: Final = 100
"""Nova's smallest ``live_migration_downtime`` (nova/conf/libvirt.py, ``min=100``)."""
MIN_STEPS: Final = 3
"""Nova's smallest ``live_migration_downtime_steps`` (``min=3``)."""
MIN_DELAY_S_PER_GIB: Final = 3
"""Nova's smallest ``live_migration_downtime_delay`` (``min=3``)."""
MIN_DATA_GIB: Final = 2.0
"""Nova counts at least 2 GiB of data when it scales the delay (nova/virt/libvirt/
driver.py, ``_live_migration_data_gb``)."""


class NovaOptions(PolicyOptions):
    """Nova's ``[libvirt]`` options with their defaults (docs/management-policies.md §3.4)."""

    kind: Literal["nova"] = "nova"
    live_migration_downtime: Annotated[int, option(integer(MIN_DOWNTIME_MS))] = Field(
        500, description="the downtime Nova steps up to (ms, at least 100)")
    live_migration_downtime_steps: Annotated[int, option(integer(MIN_STEPS))] = Field(
        10, description="steps to reach it (at least 3)")
    live_migration_downtime_delay: Annotated[int, option(integer(MIN_DELAY_S_PER_GIB))] = Field(
        75, description="seconds per GiB of RAM between steps (at least 3)")
    live_migration_completion_timeout: Annotated[int, option(integer(0))] = Field(
        800, description="seconds per GiB before the timeout action (0 disables it)")
    live_migration_timeout_action: Annotated[
        Literal["abort", "force_complete"], option(choice("abort", "force_complete"))] = Field(
        "abort", description="abort, or force_complete (postcopy if permitted, else pause)")
    live_migration_permit_post_copy: Annotated[bool, option(boolean)] = Field(
        False, description="set postcopy-ram before migrate")
    live_migration_permit_auto_converge: Annotated[bool, option(boolean)] = Field(
        False, description="set auto-converge before migrate (when post-copy is not permitted)")
    live_migration_bandwidth: Annotated[int, option(integer(0))] = Field(
        0, description="MiB/s (0: libvirt's unlimited)")


OPTIONS: Final = options_table(NovaOptions)
"""Nova's options: name → (default, reader), derived from :class:`NovaOptions`."""


def data_gib(memory_bytes: float) -> float:
    """``_live_migration_data_gb``: RAM in GiB, at least 2, plus disks (none here)."""
    return max(memory_bytes / GiB, MIN_DATA_GIB)


def downtime_steps(*, data_gib: float, downtime_ms: int, steps: int,
                   delay_s_per_gib: int) -> list[tuple[int, int]]:
    """Nova's ``downtime_steps()``: ``(elapsed s, downtime ms)`` for ``i = 0..steps``."""
    delay = int(delay_s_per_gib * data_gib)
    base = downtime_ms / steps
    offset = (downtime_ms - base) / steps
    return [(int(delay * i), int(base + offset * i)) for i in range(steps + 1)]


def poll_after(t_s: float) -> float:
    """The first monitor poll with ``elapsed > t_s`` (the first poll, 0, for ``t_s = 0``)."""
    if t_s <= 0:
        return 0.0
    return (math.floor(t_s / MONITOR_POLL_S) + 1) * MONITOR_POLL_S


class NovaPolicy(Policy):
    """Nova's live-migration monitor (see the module docstring)."""

    actor = "nova"

    def setup_changes(self, sc: Scenario) -> dict[str, Any]:
        """Capabilities from the permit flags; libvirt's migration speed."""
        o = self.options
        changes: dict[str, Any] = {"parameters.max-bandwidth": o["live_migration_bandwidth"] * MiB}
        if o["live_migration_permit_post_copy"]:
            changes["capabilities.postcopy-ram"] = True
        elif o["live_migration_permit_auto_converge"]:
            changes["capabilities.auto-converge"] = True
        return changes

    def schedule(self, memory_bytes: float) -> list[tuple[float, str, float]]:
        """``(poll time s, "downtime" | "timeout", value)`` in time order."""
        o = self.options
        gib = data_gib(memory_bytes)
        out = [(poll_after(t), "downtime", float(ms)) for t, ms in downtime_steps(
            data_gib=gib, downtime_ms=o["live_migration_downtime"],
            steps=o["live_migration_downtime_steps"],
            delay_s_per_gib=o["live_migration_downtime_delay"])]
        if o["live_migration_completion_timeout"]:
            limit = int(o["live_migration_completion_timeout"] * gib)
            out.append((poll_after(limit), "timeout", float(limit)))
        return sorted(out, key=lambda e: e[0])

    def process(self, run: Run) -> ProcessGenerator:
        """Apply the downtime steps and the timeout action at their polls."""
        o = self.options
        for t, what, value in self.schedule(run.memory_bytes):
            yield run.at(t)
            if run.ended:
                return
            if what == "downtime":
                run.set_downtime_limit(value, actor=self.actor,
                                       reason=f"downtime step at {t:g} s")
                continue
            why = f"live_migration_completion_timeout: {value:g} s elapsed"
            if o["live_migration_timeout_action"] == "abort":
                run.cancel(actor=self.actor, reason=why)
            elif not (o["live_migration_permit_post_copy"]
                      and run.start_postcopy(actor=self.actor, reason=why)):
                run.pause(actor=self.actor, reason=why)
            return

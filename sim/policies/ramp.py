"""A downtime ramp: start tight, loosen step by step once the migration has had its chance.

Like a host who waits for the guests to find seats before opening more tables: the ramp sets
``initialMs`` at the start, and from iteration ``startAfterIteration`` on raises
``downtime-limit`` by one of ``steps`` equal steps towards ``maxMs`` at a sync, at most once
per ``cooldownSeconds``.

Source: KubeVirt VEP 291 ``spec.experimental.downtimeTuning`` {``initialMs`` 150, ``steps``
7, ``startAfterIteration`` 3, ``cooldownSeconds`` 10} (docs/management-policies.md §3.3). The VEP
names the knobs; the linear steps and ``maxMs`` = 900 (VEP 248's ``maxDowntimeMs`` default)
are miglab's reading **[inference]**. An iteration is a completed pass: ``dirty-sync-count − 1``.

    >>> ramp_values(initial_ms=150, max_ms=900, steps=3)
    [400, 650, 900]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Final, Literal

from pydantic import Field

from sim.policies.base import Policy, PolicyOptions, integer, number, option, options_table

if TYPE_CHECKING:
    from sim.engine.precopy import ProcessGenerator, Run

__all__ = ["OPTIONS", "DowntimeRamp", "RampOptions", "RampPolicy", "ramp_values"]

class RampOptions(PolicyOptions):
    """VEP 291's knobs and defaults, plus ``maxMs`` (VEP 248's ``maxDowntimeMs``, 900)."""

    kind: Literal["downtime-ramp"] = "downtime-ramp"
    initialMs: Annotated[int, option(integer(1, 2_000_000))] = Field(
        150, description="the downtime-limit at the start (ms)")
    steps: Annotated[int, option(integer(1, 1000))] = Field(
        7, description="equal steps from initialMs to maxMs")
    startAfterIteration: Annotated[int, option(integer(0, 100_000))] = Field(
        3, description="completed passes before the first step")
    cooldownSeconds: Annotated[float, option(number(0.0, 86400.0))] = Field(
        10.0, description="at most one step per this many seconds")
    maxMs: Annotated[int, option(integer(1, 2_000_000))] = Field(
        900, description="the downtime-limit of the last step (ms)")


OPTIONS: Final = options_table(RampOptions)
"""The ramp's options: name → (default, reader), derived from :class:`RampOptions`."""


def ramp_values(*, initial_ms: int, max_ms: int, steps: int) -> list[int]:
    """The downtime after step ``1..steps``: ``initial + (max − initial)·i/steps``."""
    return [round(initial_ms + (max_ms - initial_ms) * i / steps) for i in range(1, steps + 1)]


class DowntimeRamp:
    """The ramp as a process that other policies (KubeVirt) can run as well.

    Args:
        options: the typed :data:`OPTIONS`.
        actor: the name recorded with each action.
    """

    def __init__(self, options: dict[str, float], actor: str) -> None:
        self.o = options
        self.actor = actor

    def process(self, run: Run) -> ProcessGenerator:
        """Set ``initialMs``, then step at syncs after ``startAfterIteration``."""
        o = self.o
        yield run.at(0.0)
        if run.ended:
            return
        run.set_downtime_limit(o["initialMs"], actor=self.actor, reason="downtime ramp start")
        values = ramp_values(initial_ms=int(o["initialMs"]), max_ms=int(o["maxMs"]),
                             steps=int(o["steps"]))
        yield run.next_sync(int(o["startAfterIteration"]) + 1)
        last = -float("inf")
        for i, ms in enumerate(values, start=1):
            while run.now_s - last < o["cooldownSeconds"]:
                yield run.next_sync()
            if run.ended:
                return
            run.set_downtime_limit(ms, actor=self.actor,
                                   reason=f"downtime ramp step {i}/{len(values)} at pass "
                                   f"{run.sync_count - 1}")
            last = run.now_s
            if i < len(values):
                yield run.next_sync()


class RampPolicy(Policy):
    """``{kind: downtime-ramp, initialMs, steps, startAfterIteration, cooldownSeconds, maxMs}``."""

    actor = "downtime-ramp"

    def process(self, run: Run) -> ProcessGenerator:
        """Run the ramp."""
        yield from DowntimeRamp(self.options, self.actor).process(run)

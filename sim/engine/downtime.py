"""What the guest's pause is made of, as QEMU's source-side clock measures it.

The downtime is a pit stop: the car stops (``host.stop``), waits for the crew chief's
signal when ``pause-before-switchover`` is on, the crew reads the last dirty pages off KVM
(final sync), refuels (final dirty RAM and the device state at full link speed: the rate
limit is off during switchover), waits for every multifd channel to finish its packet, and
when a return path is open the source also waits for the destination to load, start and
say SHUT (``host.resume`` + ½ RTT). §5.6 and §0.1:

``downtime = stop + [pause] + final sync + (final RAM + device state)/link + multifd drain
+ [destination load + vm_start + ½ RTT if a return path is open]``

    >>> parts = compose(stop_s=0.005, pause_s=0.0, sync_s=0.001, ram_s=0.02, device_s=0.001,
    ...                 drain_s=0.0, return_path_s=0.0)
    >>> round(sum(parts.values()) * 1000, 3)
    27.0

§ numbers are sections of ``docs/qemu-migration.md`` (QEMU's algorithm, with its source files).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.engine.constants import MIGRATE_CONTINUE_LATENCY_S

if TYPE_CHECKING:
    from sim.scenario import Scenario

__all__ = ["compose", "has_return_path", "pause_s", "return_path_s"]


def has_return_path(sc: Scenario) -> bool:
    """A return path is opened iff ``postcopy-ram`` or ``return-path`` (§14)."""
    return bool(sc.capabilities["postcopy-ram"] or sc.capabilities["return-path"])


def return_path_s(sc: Scenario) -> float:
    """Destination load + ``vm_start`` + the SHUT message's half round trip, or 0."""
    return sc.host.resume_s + sc.host.rtt_s / 2.0 if has_return_path(sc) else 0.0


def pause_s(sc: Scenario) -> float:
    """The ``pre-switchover`` wait for ``migrate-continue`` (counts as downtime)."""
    return MIGRATE_CONTINUE_LATENCY_S if sc.capabilities["pause-before-switchover"] else 0.0


def compose(*, stop_s: float, pause_s: float, sync_s: float, ram_s: float, device_s: float,
            drain_s: float, return_path_s: float) -> dict[str, float]:
    """The downtime's parts in seconds, in the order QEMU spends them."""
    return {"stop": stop_s, "pause-before-switchover": pause_s, "final-sync": sync_s,
            "ram": ram_s, "device-state": device_s, "multifd-drain": drain_s,
            "return-path": return_path_s}

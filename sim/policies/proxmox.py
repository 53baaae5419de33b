"""Proxmox VE (qemu-server): a small downtime that doubles whenever the migration stalls.

Proxmox is a driver who brakes gently first: it starts with ``migrate_downtime`` (0.1 s) and
every time more than five polls have seen the remaining RAM grow (or hit 0) it doubles the
downtime. Before ``migrate`` it turns on ``auto-converge`` and ``xbzrle`` (cache 10 % of RAM,
rounded to a power of two) and sets the speed.

Sources: docs/management-policies.md §3.5 (``migrate_downtime`` s, default 0.1, doubled after more
than 5 polls where remaining grew or hit 0; ``migrate_speed`` MB/s, 0 = no limit;
``set_migration_caps`` turns on auto-converge and xbzrle). qemu-server ``QemuMigrate.pm``
``phase2`` as recalled **[U]**: polls ``query-migrate`` about once a second, and with no
limit sets a "basically unlimited" 8192 MiB/s; the power of two is taken downwards.

    >>> xbzrle_cache_bytes(4 * 2**30) // 2**20  # 4 GiB → MiB
    256
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from pydantic import Field

from sim.policies.base import Policy, PolicyOptions, integer, number, option, options_table
from sim.units import MiB

if TYPE_CHECKING:
    from sim.engine.precopy import ProcessGenerator, Run
    from sim.scenario import Scenario

__all__ = [
    "OPTIONS",
    "POLL_S",
    "STALL_POLLS",
    "ProxmoxPolicy",
    "UNLIMITED_MiBps",
    "xbzrle_cache_bytes",
]

POLL_S: Final = 1.0
"""``phase2`` polls ``query-migrate`` about once a second."""

STALL_POLLS: Final = 5
"""Doubling happens when the stall counter exceeds 5."""

UNLIMITED_MiBps: Final = 8192
"""qemu-server's "basically unlimited" migration speed when no limit is set."""


class ProxmoxOptions(PolicyOptions):
    """Proxmox VE's ``migrate_downtime`` (s) and ``migrate_speed`` (MiB/s, 0 = unlimited)."""

    kind: Literal["proxmox"] = "proxmox"
    migrate_downtime: Annotated[float, option(number(0.0, 2000.0))] = Field(
        0.1, description="the downtime Proxmox starts from, in seconds (0–2000)")
    migrate_speed: Annotated[int, option(integer(0))] = Field(
        0, description="MiB/s (0: unlimited)")


OPTIONS: Final = options_table(ProxmoxOptions)
"""Proxmox's options: name → (default, reader), derived from :class:`ProxmoxOptions`."""


def xbzrle_cache_bytes(memory_bytes: int) -> int:
    """10 % of RAM, rounded down to a power of two."""
    return int(2 ** math.floor(math.log2(memory_bytes / 10)))


class ProxmoxPolicy(Policy):
    """qemu-server's migration phase 2 (see the module docstring)."""

    actor = "proxmox"

    def setup_changes(self, sc: Scenario) -> dict[str, Any]:
        """auto-converge + xbzrle with its cache, the speed and the first downtime."""
        o = self.options
        speed = o["migrate_speed"] or UNLIMITED_MiBps
        return {"capabilities.auto-converge": True, "capabilities.xbzrle": True,
                "parameters.xbzrle-cache-size": xbzrle_cache_bytes(sc.vm.memory_bytes),
                "parameters.max-bandwidth": speed * MiB,
                "parameters.downtime-limit": int(o["migrate_downtime"] * 1000)}

    def process(self, run: Run) -> ProcessGenerator:
        """Poll once a second; double the downtime after more than five stalled polls."""
        downtime_s = float(self.options["migrate_downtime"])
        last = run.remaining_bytes
        counter = 0
        k = 1
        while True:
            yield run.at(k * POLL_S)
            k += 1
            if run.ended:
                return
            rem = run.remaining_bytes
            if rem > last or rem == 0:
                counter += 1
            last = rem
            if counter > STALL_POLLS:
                counter = 0
                downtime_s *= 2
                run.set_downtime_limit(int(downtime_s * 1000), actor=self.actor,
                                       reason="auto-increased downtime to continue migration")

"""Host drains: many guests leaving their hosts through shared links under concurrency limits.

A drain is an evacuation through a few doors: every source host is a door (its NIC) that
all the guests leaving it at the same moment must squeeze through together, and the
management layer is the usher who lets only so many leave at once per door
(``parallelOutboundMigrationsPerNode``, Nova's ``max_concurrent_live_migrations``) and in
the building (``parallelMigrationsPerCluster``), in a chosen order.

The model, stated plainly so its answers can be checked:

* **Fair sharing of each host's link.** The migrations active on a host split its link
  max-min fairly: each gets an equal share, except one that cannot use its share (capped
  by its ``max-bandwidth``, or by the pace the engine gives its first pass: its sending
  threads, the cores they share, the destination's landing) which takes only what it can
  use, the rest going to the others. Shares are re-divided whenever a
  migration on that host starts or ends. Destinations are assumed to have room and
  inbound links are not limited.
* **Processor sharing of the engine's answer.** Each migration is run in the engine
  (:func:`sim.engine.simulate`) with ``host.link`` set to the capacity it can reach (the
  link minus what the others on its host take). If that run lasts ``D`` seconds, the
  migration advances at ``1/D`` of its whole course per second; when its share changes,
  the engine is run again at the new share and the fraction already done carries over.
  The migration ends when the fraction reaches 1, with the status, downtime and guest
  cost of the run in force at that moment; bytes are the fraction-weighted sum. This is
  exact while a migration's share never changes (alone on its host, or in a constant
  group), and for a pure transfer (``D ∝ 1/share``) it equals byte-for-byte fluid
  sharing. Runs are memoised by (VM settings, share), so a fleet of similar guests
  costs a handful of engine runs. Everything is deterministic.

Usage::

    from sim.fleet import load_inventory, plan_drain

    inv = load_inventory("data/fleets/two-racks.yaml")
    plan = plan_drain(inv, policy="kubevirt", order="smallest-first", seed=1)
    print(plan.drain_time_s, plan.vms[["name", "start_s", "end_s", "downtime_ms"]])
"""

from __future__ import annotations

from sim._exceptions import FleetError
from sim.fleet.inventory import (
    PLATFORM_LIMITS,
    FleetVm,
    Inventory,
    InventoryFile,
    InventoryHost,
    InventoryVm,
    Limits,
    load_inventory,
)
from sim.fleet.plan import (
    ORDERS,
    DrainPlan,
    fair_shares,
    only_hosts,
    plan_drain,
    select_hosts,
    with_link,
    worst_vms,
)

__all__ = [
    "ORDERS",
    "PLATFORM_LIMITS",
    "DrainPlan",
    "FleetError",
    "FleetVm",
    "Inventory",
    "InventoryFile",
    "InventoryHost",
    "InventoryVm",
    "Limits",
    "fair_shares",
    "load_inventory",
    "only_hosts",
    "plan_drain",
    "select_hosts",
    "with_link",
    "worst_vms",
]

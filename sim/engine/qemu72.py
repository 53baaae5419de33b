"""QEMU 7.2's migration loop where it differs from 8.x: kept apart, called from the loop.

A dialect sheet: the engine speaks 8.2's migration loop, and this module lists the
phrases 7.2 says differently, each keyed on ``scenario.qemu.version < (8, 0)`` so that
every later release is untouched.

* **multifd flush after every section.** 7.2 calls ``multifd_send_sync_main()`` at the end
  of every ``ram_save_iterate()`` call (each quantum of at most 50 ms or one rate-limit
  window), a barrier that waits for every channel to finish its packet. 8.0 ("multifd:
  Only flush once each full round of memory", ``x-multifd-flush-after-each-section``, off
  for 8.0+ machine types) keeps the barrier only at bitmap syncs, which the loop already
  charges. :func:`iterate_flush_s` is the extra barrier per quantum.

Reporting differences of 7.2 (``downtime-bytes`` stays 0 with multifd; ``completed``
shown before ``total-time`` is filled in) are handled by the lab, not here.

    >>> from sim.scenario import load_scenario
    >>> sc = load_scenario({"qemu": "8.2", "vm": {"memory": "1G"},
    ...                     "capabilities": {"multifd": True}})
    >>> iterate_flush_s(sc)
    0.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.engine import multifd

if TYPE_CHECKING:
    from sim.scenario import Scenario

__all__ = ["is_72", "iterate_flush_s"]


def is_72(sc: Scenario) -> bool:
    """The scenario runs a release before 8.0 (the 7.2 behaviour profile)."""
    return sc.qemu.version < (8, 0)


def iterate_flush_s(sc: Scenario) -> float:
    """Seconds of multifd barrier after each ``ram_save_iterate()`` quantum (7.2 only).

    Returns:
        :func:`sim.engine.multifd.sync_drain_s` for a pre-8.0 release with multifd on,
        else 0.
    """
    if not is_72(sc) or not sc.capabilities.multifd:
        return 0.0
    return multifd.sync_drain_s(sc)

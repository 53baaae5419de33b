"""XBZRLE: send only what changed in a page, against a cache of what was sent before.

XBZRLE is a tailor keeping paper patterns of suits already delivered: when a customer
returns with a small alteration, the tailor sends only the change. The pattern shelf
(``xbzrle-cache-size``) is direct-mapped (one slot per address bucket) and a pattern younger
than two syncs (``CACHED_PAGE_LIFETIME``) cannot be thrown out, so with ``N`` distinct pages
competing for ``M`` slots only ``M·(1 − e^(−N/M))`` of them can be on the shelf: that is the
hit fraction :func:`hit_fraction` gives (balls into bins, first one wins).

QEMU's rules (§9): XBZRLE starts after the scan cursor's first wrap (the first round
over RAM), so the pages of the first pass are never encoded and the cache is filled by the
misses of the second pass; hits start in the third. A hit sends header + 3 +
``delta-ratio × 4096`` bytes, unless the encoding would exceed a page (``delta-ratio ≥ 1``):
then it overflows, counts 4096 in ``bytes`` and goes as a normal page. Never on multifd.

    >>> from sim.engine.xbzrle import hit_fraction
    >>> round(hit_fraction(cache_bytes=64 * 2**20, dirty_bytes=64 * 2**20), 3)  # 1 − 1/e
    0.632

§ numbers are sections of ``docs/qemu-migration.md`` (QEMU's algorithm, with its source files).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim.engine.constants import (
    NORMAL_PAGE_WIRE_BYTES,
    TARGET_PAGE_BYTES,
    XBZRLE_PAGE_OVERHEAD_BYTES,
)
from sim.engine.pages import PageCost

if TYPE_CHECKING:
    from sim.scenario import Scenario

__all__ = ["FIRST_HIT_PASS", "hit_cost", "hit_fraction", "miss_cost"]

FIRST_HIT_PASS = 3
"""Pass 1 precedes the first wrap, pass 2 fills the cache with misses, pass 3 hits."""


def hit_fraction(*, cache_bytes: float, dirty_bytes: float) -> float:
    """Share of ``dirty_bytes`` of re-dirtied pages found in a direct-mapped cache."""
    slots = cache_bytes / TARGET_PAGE_BYTES
    pages = dirty_bytes / TARGET_PAGE_BYTES
    if pages <= 0.0 or slots <= 0.0:
        return 0.0
    return min(1.0, slots * -math.expm1(-pages / slots) / pages)


def hit_cost(sc: Scenario) -> PageCost:
    """A cache hit: encode against the cached copy and send the delta (or overflow)."""
    encode_s = TARGET_PAGE_BYTES / sc.host.xbzrle_Bps
    encoded = sc.workload.delta_ratio * TARGET_PAGE_BYTES
    if encoded >= TARGET_PAGE_BYTES:  # xbzrle_encode_buffer returns -1: overflow
        return PageCost(main_s=encode_s + NORMAL_PAGE_WIRE_BYTES / sc.host.channel_rate_Bps,
                        main_wire=NORMAL_PAGE_WIRE_BYTES, xbzrle_hit=True,
                        xbzrle_overflow=True, xbzrle_bytes=TARGET_PAGE_BYTES)
    wire = XBZRLE_PAGE_OVERHEAD_BYTES + encoded
    return PageCost(main_s=encode_s + wire / sc.host.channel_rate_Bps, main_wire=wire,
                    xbzrle_hit=True, xbzrle_bytes=wire - 8)


def miss_cost(sc: Scenario) -> PageCost:
    """A cache miss: the page is inserted and sent in full."""
    return PageCost(main_s=NORMAL_PAGE_WIRE_BYTES / sc.host.channel_rate_Bps,
                    main_wire=NORMAL_PAGE_WIRE_BYTES, xbzrle_miss=True)

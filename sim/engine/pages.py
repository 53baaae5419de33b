"""What one page costs to send: CPU on the migration thread, CPU in a thread pool, bytes.

A page is a parcel at a sorting office. The clerk (the migration thread) looks inside every
parcel (zero check), stamps it and either hands it to the van himself (main channel) or to
one of several couriers (multifd channels, legacy compression threads), who may first
shrink it (zlib/zstd) or replace it by a note of what changed (XBZRLE). The office's speed is
set by whichever is slowest: the clerk, the couriers together, the road (the link), or the
receiving warehouse, which must put up a new shelf for every parcel of a kind it has never
stored (the destination's first touch of a page of guest RAM, ``host.first-touch-rate``).

Per page kind this module gives a :class:`PageCost`; :func:`blend` mixes kinds into a
:class:`SendRates` per byte of guest RAM drained from the dirty bitmap:

``seconds per page = max(Σ main-thread CPU, Σ pool CPU / pool size, Σ wire bytes / link,
Σ landing time at the destination / receiving threads)``

and, when the threads share fewer cores than they are (``host.migration-cpus``), at least
``(Σ main + Σ pool CPU + Σ landing in the pool) / cores``. A thread that spins while it
waits (7.2's multifd migration thread, :func:`sim.engine.multifd.main_thread_spins`) is one
more thread on those cores: the Linux scheduler gives every runnable thread an equal share,
so ``n`` busy channels get ``n/(n + 1)`` of the cores and the spinner the rest

(the three stages work in a pipeline; §10 "throughput = min(link, Σ channel rates,
producer rate, max-bandwidth)"; the rate limit is applied separately as a window budget,
:mod:`sim.engine.rates`).

    >>> from sim.engine.pages import PageCost, blend
    >>> r = blend([(1.0, PageCost(main_s=4104 / 1e9, main_wire=4104))], link_Bps=1e9, pool=1)
    >>> round(1 / r.sec_per_byte / 1e6)  # 4096 RAM bytes per 4104 wire bytes at 1 GB/s
    998

§ numbers are sections of ``docs/qemu-migration.md`` (QEMU's algorithm, with its source files).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from sim.engine.constants import TARGET_PAGE_BYTES

__all__ = ["PageCost", "SendRates", "blend"]


@dataclass(frozen=True)
class PageCost:
    """The cost of sending one 4 KiB target page of one kind.

    Attributes:
        main_s: migration-thread CPU seconds (zero check, XBZRLE encode, main-channel write).
        pool_s: seconds of one pool thread (multifd channel or compression thread).
        main_wire: bytes on the main channel.
        multifd_wire: bytes on multifd channels (payload + share of the packet header).
        zero: counts as a zero page (``duplicate``); otherwise as ``normal``.
        xbzrle_hit: handled by XBZRLE (``xbzrle-cache.pages``).
        xbzrle_miss: an XBZRLE cache miss (``cache-miss``).
        xbzrle_overflow: encoding overflowed (``overflow``; sent as a normal page).
        xbzrle_bytes: bytes counted in ``xbzrle-cache.bytes``.
    """

    main_s: float = 0.0
    pool_s: float = 0.0
    main_wire: float = 0.0
    multifd_wire: float = 0.0
    zero: bool = False
    xbzrle_hit: bool = False
    xbzrle_miss: bool = False
    xbzrle_overflow: bool = False
    xbzrle_bytes: float = 0.0


@dataclass(frozen=True)
class SendRates:
    """A mix of page kinds, per byte of guest RAM drained from the bitmap.

    Attributes:
        sec_per_byte: sending time (unthrottled by the rate limit).
        wire_per_byte: bytes on the wire (main + multifd).
        main_wire_per_byte: main-channel bytes (``precopy-bytes`` / ``downtime-bytes``).
        multifd_wire_per_byte: multifd bytes (``multifd-bytes``).
        zero_pages_per_byte: zero pages (``duplicate``).
        normal_pages_per_byte: full pages (``normal``).
        xbzrle_pages_per_byte, xbzrle_miss_per_byte, xbzrle_overflow_per_byte,
        xbzrle_bytes_per_byte: XBZRLE counters.
    """

    sec_per_byte: float
    wire_per_byte: float
    main_wire_per_byte: float
    multifd_wire_per_byte: float
    zero_pages_per_byte: float
    normal_pages_per_byte: float
    xbzrle_pages_per_byte: float = 0.0
    xbzrle_miss_per_byte: float = 0.0
    xbzrle_overflow_per_byte: float = 0.0
    xbzrle_bytes_per_byte: float = 0.0

    @property
    def ram_Bps(self) -> float:
        """Guest RAM drained per second while sending."""
        return 1.0 / self.sec_per_byte

    @property
    def wire_Bps(self) -> float:
        """Wire bytes per second while sending."""
        return self.wire_per_byte / self.sec_per_byte


def blend(mix: Iterable[tuple[float, PageCost]], *, link_Bps: float, pool: int,
          cpus: float = math.inf, land_s: float = 0.0,
          land_in_pool: bool = False, spinner: bool = False) -> SendRates:
    """Mix page kinds by share and find the pipeline's pace.

    With ``cpus`` cores for all sending threads, no thread runs faster than its share of
    them and the work of all threads together takes at least ``(main + pool CPU) / cpus``.
    The destination is the pipeline's last stage: a page cannot arrive faster than it
    lands (``land_s``). With one receiving thread (the main channel) that is one queue of
    its own; multifd channels each have a receiving thread that lands its own pages
    (``land_in_pool``), so the landing is spread over the channels, runs beside their
    sending threads (another process) and shares their cores.

    Args:
        mix: ``(share, cost)`` pairs whose shares sum to 1.
        link_Bps: what the wire carries.
        pool: threads in the pool (multifd channels or compression threads; 1 if none).
        cpus: cores the sending threads share (``inf``: one each).
        land_s: the destination's seconds per page of the mix (first touches of guest RAM).
        land_in_pool: the pool threads land their own pages (multifd receive threads read
            straight into guest RAM), instead of one receiving thread doing all of it.
        spinner: one more thread is runnable on the ``cpus`` cores whenever the pool is
            busy and does no work (7.2's multifd migration thread waiting for a channel).

    Returns:
        The :class:`SendRates` per byte of RAM.
    """
    main_s = pool_s = main_w = mfd_w = zero = normal = 0.0
    xh = xm = xo = xb = 0.0
    for share, c in mix:
        if share <= 0.0:
            continue
        main_s += share * c.main_s
        pool_s += share * c.pool_s
        main_w += share * c.main_wire
        mfd_w += share * c.multifd_wire
        zero += share if c.zero else 0.0
        normal += 0.0 if c.zero else share
        xh += share if c.xbzrle_hit else 0.0
        xm += share if c.xbzrle_miss else 0.0
        xo += share if c.xbzrle_overflow else 0.0
        xb += share * c.xbzrle_bytes
    threads = max(pool, 1)
    work_cpus = cpus * threads / (threads + 1) if spinner else cpus
    pool_cores = min(threads, work_cpus)
    pool_land_s = land_s if land_in_pool else 0.0
    page_s = max(main_s / min(1.0, work_cpus), pool_s / pool_cores,
                 pool_land_s / pool_cores, land_s - pool_land_s,
                 (main_s + pool_s + pool_land_s) / work_cpus,
                 (main_w + mfd_w) / link_Bps, 1e-15)
    k = 1.0 / TARGET_PAGE_BYTES
    return SendRates(
        sec_per_byte=page_s * k, wire_per_byte=(main_w + mfd_w) * k,
        main_wire_per_byte=main_w * k, multifd_wire_per_byte=mfd_w * k,
        zero_pages_per_byte=zero * k, normal_pages_per_byte=normal * k,
        xbzrle_pages_per_byte=xh * k, xbzrle_miss_per_byte=xm * k,
        xbzrle_overflow_per_byte=xo * k, xbzrle_bytes_per_byte=xb * k,
    )

"""The migration thread's send path: which route each dirty page takes, and its pace.

Per page QEMU tries, in order (``ram_save_target_page_legacy``, §5.4): legacy
compression → zero page → multifd queue → XBZRLE (after the first round) → a normal page.
The :class:`Sender` turns that order into a mix of :class:`~sim.engine.pages.PageCost` for
one pass (the share of zero pages still pending, how many pages XBZRLE finds in its cache)
and blends it into :class:`~sim.engine.pages.SendRates`.

Routes and their costs:

* zero page (legacy detection, the migration thread, §11.2): ``4096/host.zero-scan-rate``
  of CPU and 9 bytes; 9.0+ with ``zero-page-detection=multifd`` the check moves to the
  channels and the page is an 8-byte offset; ``none`` sends it as a normal page.
* normal page on the main channel: ``4104/host.channel-rate`` of migration-thread time.
* multifd (:mod:`sim.engine.multifd`), legacy ``compress`` (below), XBZRLE
  (:mod:`sim.engine.xbzrle`).
* the first copy of a non-zero page also lands in destination RAM never touched before
  (a page fault, the kernel zeroing the page): ``4096/host.first-touch-rate`` of the
  receiving thread, guest running or stopped (precopy and the final copy; the postcopy
  push has its own pace, :mod:`sim.engine.postcopy`). On the main channel that is the one
  thread of ``ram_load_precopy`` (migration/ram.c) copying into the new RAMBlock, a queue
  of its own;
  a multifd channel's receive thread reads its pages straight into guest RAM
  (``multifd_recv_thread``, migration/multifd.c), so each channel lands its own pages,
  beside its sending thread, on the cores the channels share. A zero page is not written
  there (7.2's ``ram_handle_compressed`` only reads an untouched page, finds it zero and
  leaves it), so it costs nothing.
  Which pages are first copies is the loop's business (:mod:`sim.engine.loop`, ``PF``).

Legacy ``compress`` (7.2–8.2, §11.1): each page is deflated on its own by one of
``compress-threads`` threads at ``host.zlib-rate``, then written by the migration thread as
header + 4 + ``compress-ratio × 4096`` bytes. In 8.1 with XBZRLE also on, compression stops
once XBZRLE starts.

    >>> from sim.scenario import load_scenario
    >>> s = Sender(load_scenario({"vm": {"memory": "1G"}, "parameters": {"max-bandwidth": 0}}))
    >>> round(s.rates(zero_share=0.0, pass_index=1, dirty_bytes=0.0).wire_Bps / 1e6)
    1250

§ numbers are sections of ``docs/qemu-migration.md`` (QEMU's algorithm, with its source files).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

from sim.engine import multifd, xbzrle
from sim.engine.constants import (
    COMPRESS_PAGE_OVERHEAD_BYTES,
    NORMAL_PAGE_WIRE_BYTES,
    TARGET_PAGE_BYTES,
    ZERO_PAGE_WIRE_BYTES,
)
from sim.engine.pages import PageCost, SendRates, blend

if TYPE_CHECKING:
    from sim.scenario import Scenario

__all__ = ["Sender"]


class Sender:
    """Page routes and their pace for one scenario.

    Args:
        sc: the validated scenario.
        guest_running: pace the pages while the guest runs (precopy passes, postcopy): the
            sending threads then push ``host.running-channel-rate`` each and share
            ``host.migration-cpus`` cores (with 7.2's spinning multifd migration thread,
            :func:`sim.engine.multifd.main_thread_spins`, among them); ``False`` for the
            final copy with the guest stopped, where each thread has a core and pushes
            ``host.channel-rate``.
    """

    def __init__(self, sc: Scenario, *, guest_running: bool = True) -> None:
        self.cpus = math.inf
        if guest_running:
            sc = replace(sc, host=sc.host.while_running())
            self.cpus = sc.host.migration_cpus or math.inf
        host, caps = sc.host, sc.capabilities
        self.link_Bps = host.link_Bps
        self.multifd = bool(caps.multifd)
        self.xbzrle = bool(caps.xbzrle) and not self.multifd
        self.compress = bool(caps["compress"]) and sc.parameters.compress_threads > 0
        self.compress_stops_with_xbzrle = self.compress and self.xbzrle
        self.cache_bytes = float(sc.parameters.xbzrle_cache_size)
        detection = str(sc.parameters.get("zero-page-detection", "legacy"))
        normal_main = PageCost(main_s=NORMAL_PAGE_WIRE_BYTES / host.channel_rate_Bps,
                               main_wire=NORMAL_PAGE_WIRE_BYTES)
        self.pool = 1
        self.spinner = guest_running and multifd.main_thread_spins(sc)
        if self.multifd:
            self.normal = multifd.normal_page_cost(sc)
            self.pool = max(sc.parameters.multifd_channels, 1)
        else:
            self.normal = normal_main
        self.compressed = self.normal
        if self.compress and not self.multifd:
            wire = COMPRESS_PAGE_OVERHEAD_BYTES + sc.workload.compress_ratio * TARGET_PAGE_BYTES
            self.compressed = PageCost(pool_s=TARGET_PAGE_BYTES / host.zlib_Bps,
                                       main_s=wire / host.channel_rate_Bps, main_wire=wire)
            self.pool = max(sc.parameters.compress_threads, 1)
        if detection == "none":
            self.zero = PageCost(**{**self.normal.__dict__, "zero": False})
        elif detection == "multifd" and self.multifd:
            self.zero = multifd.zero_page_cost(sc)
        else:
            self.zero = PageCost(main_s=TARGET_PAGE_BYTES / host.zero_scan_Bps
                                 + ZERO_PAGE_WIRE_BYTES / host.channel_rate_Bps,
                                 main_wire=ZERO_PAGE_WIRE_BYTES, zero=True)
        self.land_s = (TARGET_PAGE_BYTES / host.first_touch_Bps
                       if host.first_touch_Bps else 0.0)
        """Destination seconds to land the first copy of a non-zero page."""
        self.hit = xbzrle.hit_cost(sc)
        self.miss = xbzrle.miss_cost(sc)
        self._cache: dict[tuple[float, int, float, float], SendRates] = {}

    def rates(self, *, zero_share: float, pass_index: int, dirty_bytes: float,
              first_share: float = 0.0) -> SendRates:
        """The blended pace of a pass.

        Args:
            zero_share: share of the pending bytes that are zero pages.
            first_share: share of the pending non-zero bytes never sent before (they land
                in untouched destination RAM, see the module docstring).
            pass_index: 1 for the first pass (before the cursor's first wrap), 2, 3, …
            dirty_bytes: re-dirtied bytes competing for the XBZRLE cache in this pass.

        Returns:
            :class:`SendRates` per byte of RAM drained.
        """
        land_s = self.land_s * (1.0 - zero_share) * first_share
        key = (zero_share, min(pass_index, xbzrle.FIRST_HIT_PASS),
               dirty_bytes if self.xbzrle else 0.0, land_s)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        normal_share = 1.0 - zero_share
        mix: list[tuple[float, PageCost]] = [(zero_share, self.zero)]
        xbzrle_on = self.xbzrle and pass_index >= 2
        if self.compress and not (self.compress_stops_with_xbzrle and xbzrle_on):
            mix.append((normal_share, self.compressed))
        elif xbzrle_on:
            hit = (xbzrle.hit_fraction(cache_bytes=self.cache_bytes, dirty_bytes=dirty_bytes)
                   if pass_index >= xbzrle.FIRST_HIT_PASS else 0.0)
            mix += [(normal_share * hit, self.hit), (normal_share * (1 - hit), self.miss)]
        else:
            mix.append((normal_share, self.normal))
        rates = blend(mix, link_Bps=self.link_Bps, pool=self.pool, cpus=self.cpus,
                      land_s=land_s, land_in_pool=self.multifd, spinner=self.spinner)
        if len(self._cache) < 4096:
            self._cache[key] = rates
        return rates

"""QEMU's migration constants, each named as QEMU names it and cited to its source.

This module is the engine's spec sheet: every number that comes from QEMU's source lives here
with the file it was read from (docs/qemu-migration.md §1). Numbers that depend on the
host (CPU per channel, stop/start cost, compression speed) are *not* here: they come from
:class:`sim.scenario.Host`.

    >>> from sim.engine.constants import BUFFER_DELAY_S, XFER_LIMIT_RATIO
    >>> BUFFER_DELAY_S, XFER_LIMIT_RATIO
    (0.1, 10)
"""

from __future__ import annotations

from typing import Final

TARGET_PAGE_BYTES: Final = 4096
"""``TARGET_PAGE_SIZE`` on x86: every page count in the stats uses it (§1)."""

BUFFER_DELAY_S: Final = 0.100
"""``BUFFER_DELAY`` (100 ms, ``migration-stats.h``): bandwidth window and rate-limit window."""

XFER_LIMIT_RATIO: Final = 10
"""``XFER_LIMIT_RATIO = 1000 / BUFFER_DELAY``: budget per window is ``max_bandwidth / 10``."""

MAX_WAIT_S: Final = 0.050
"""``MAX_WAIT`` (50 ms, ``ram.c``): longest one ``ram_save_iterate()`` call keeps sending."""

EXPECTED_DOWNTIME_MIN_BYTES: Final = 10000
"""``migration_update_counters``: expected-downtime is recomputed only above this (§5.2)."""

PAGE_HEADER_BYTES: Final = 8
"""``save_page_header()``: be64 ``offset | flags`` before every page on the main channel."""

ZERO_PAGE_WIRE_BYTES: Final = PAGE_HEADER_BYTES + 1
"""``save_zero_page()``: header + 1 byte (§5.4 table, §11.2)."""

NORMAL_PAGE_WIRE_BYTES: Final = PAGE_HEADER_BYTES + TARGET_PAGE_BYTES
"""``ram_save_page()``: header + 4096 bytes."""

XBZRLE_PAGE_OVERHEAD_BYTES: Final = PAGE_HEADER_BYTES + 1 + 2
"""``save_xbzrle_page()``: header + ``ENCODING_FLAG_XBZRLE`` + be16 length (§9)."""

COMPRESS_PAGE_OVERHEAD_BYTES: Final = PAGE_HEADER_BYTES + 4
"""Legacy ``compress``: header + be32 length before the deflate output (§5.4 table)."""

MULTIFD_PACKET_BYTES: Final = 512 * 1024
"""``MULTIFD_PACKET_SIZE`` (``multifd.h``): payload of one multifd packet, 128 pages."""

MULTIFD_PAGES_PER_PACKET: Final = MULTIFD_PACKET_BYTES // TARGET_PAGE_BYTES
"""128 pages per packet."""

MULTIFD_HEADER_BYTES: Final = 320 + 8 * MULTIFD_PAGES_PER_PACKET
"""``MultiFDPacket_t`` with its ``offset[128]`` array: 1344 bytes in 8.2 (§10)."""

MULTIFD_ZERO_PAGE_WIRE_BYTES: Final = 8
"""9.0+ ``zero-page-detection=multifd``: a zero page is one 8-byte offset in a packet."""

DIRTY_RATE_PERIOD_S: Final = 1.0
"""``migration_bitmap_sync``: ``end_time > time_last_bitmap_sync + 1000`` (§6.1)."""

DIRTY_RATE_HIGH_CNT: Final = 2
"""``migration_trigger_throttle``: ``++dirty_rate_high_cnt >= 2`` (§7.1)."""

CPU_THROTTLE_TIMESLICE_S: Final = 0.010
"""``CPU_THROTTLE_TIMESLICE_NS`` (10 ms, ``cpu-throttle.c``): a vCPU runs this long per tick."""

CPU_THROTTLE_PCT_MIN: Final = 1
"""``CPU_THROTTLE_PCT_MIN``: ``cpu_throttle_set()`` clamps to [1, 99]."""

CPU_THROTTLE_PCT_MAX: Final = 99
"""``CPU_THROTTLE_PCT_MAX``."""

CACHED_PAGE_LIFETIME: Final = 2
"""``page_cache.c``: an XBZRLE slot younger than this many syncs cannot be evicted."""

DEFAULT_HORIZON_S: Final = 3600.0
"""miglab, not QEMU: a run with no ``control.timeout`` that never converges is cut here.

QEMU itself has no limit (§5.9); one hour matches the community predictor
``predict_migration.py``. Such a run ends with status ``active`` and ``converged: false``."""

MIGRATE_CONTINUE_LATENCY_S: Final = 0.001
"""miglab, not QEMU: with ``pause-before-switchover`` the operator's ``migrate-continue``
arrives this long after ``pre-switchover`` (one QMP round trip on a local socket). The wait
counts as downtime (§5.6 step 4)."""

WORK_BASE: Final = 50_000
"""miglab, not QEMU: steps (loop passes, controller stops) any run may take, whatever its
simulated length. The reference path takes ~30–60 steps per simulated second (20 quanta,
10 windows, a poll or two); the fast path far fewer."""

WORK_PER_S: Final = 2_000
"""miglab: further steps allowed per simulated second (≥ 30× what a real run needs), so a
run whose clock stops advancing (a 1 ns poll, a link of 1e-308 B/s) ends in well under
a second of work instead of hanging."""

WORK_MAX: Final = 500_000
"""miglab: steps no run may exceed (~2–5 s of CPU), however long its simulated time;
a 16 TiB guest followed for 30 days under a polling policy ends here, with the reason."""

TIMELINE_MAX_ROWS: Final = 20_000
"""miglab: timeline rows kept; beyond this the coarse samples are thinned (every other one
dropped, the sampling interval doubled) so memory stays bounded on month-long runs."""

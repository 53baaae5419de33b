"""Multifd: several sending channels, each a thread with its own socket.

Multifd is a supermarket with several tills: the migration thread (the queue manager) fills
baskets of 128 pages (512 KiB, ``MULTIFD_PACKET_SIZE``) and hands each to an idle till; each
till (channel thread) may compress the basket and then writes it to its socket; all tills
share one road out (the link). Throughput is ``min(link, n × per-channel rate)``, the
channel rate being what one thread can push (``host.channel-rate``) slowed by compression
at ``host.zlib-rate`` / ``host.zstd-rate`` and shrunk by ``workload.compress-ratio``
(docs/qemu-migration.md §10). At every wrap of the scan cursor and at completion
``multifd_send_sync_main()`` waits for every channel to finish its packet (a barrier):
:func:`sync_drain_s`.

Before 8.1 the queue manager does not sit down while every till is busy: it keeps walking
past the tills (:func:`main_thread_spins`), and on a host with few cores that walk takes
CPU the tills need.

The engine uses the closed form (:func:`normal_page_cost`); :func:`packet_throughput_Bps` is
the same system as SimPy resources, packet by packet, which the tests use to check the
closed form.

    >>> from sim.engine.multifd import packet_throughput_Bps
    >>> round(packet_throughput_Bps(channels=2, channel_Bps=1e9, link_Bps=10e9) / 1e9, 2)
    2.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import simpy

from sim.engine.constants import (
    MULTIFD_HEADER_BYTES,
    MULTIFD_PACKET_BYTES,
    MULTIFD_PAGES_PER_PACKET,
    MULTIFD_ZERO_PAGE_WIRE_BYTES,
    TARGET_PAGE_BYTES,
)
from sim.engine.pages import PageCost

if TYPE_CHECKING:
    from collections.abc import Generator

    from sim.scenario import Scenario

__all__ = [
    "compression_speed_Bps",
    "main_thread_spins",
    "normal_page_cost",
    "packet_throughput_Bps",
    "sync_drain_s",
    "zero_page_cost",
]

HEADER_SHARE_BYTES = MULTIFD_HEADER_BYTES / MULTIFD_PAGES_PER_PACKET
"""One full packet's header spread over its 128 pages (10.5 bytes per page)."""


def compression_speed_Bps(sc: Scenario) -> float | None:
    """Per-thread compression speed for ``multifd-compression``, ``None`` when off.

    ``zlib``/``zstd`` use ``host.zlib-rate``/``host.zstd-rate``; the hardware offloads
    (``qpl``, ``uadk``, ``qatzip``) cost no channel CPU in this model.
    """
    method = sc.parameters.multifd_compression
    if method == "zlib":
        return sc.host.zlib_Bps
    if method == "zstd":
        return sc.host.zstd_Bps
    if method in ("qpl", "uadk", "qatzip"):
        return float("inf")
    return None


def normal_page_cost(sc: Scenario) -> PageCost:
    """A full page sent through a multifd packet (the main thread only queues it)."""
    speed = compression_speed_Bps(sc)
    payload = TARGET_PAGE_BYTES if speed is None else sc.workload.compress_ratio * TARGET_PAGE_BYTES
    wire = payload + HEADER_SHARE_BYTES
    compress_s = 0.0 if speed is None else TARGET_PAGE_BYTES / speed
    return PageCost(pool_s=compress_s + wire / sc.host.channel_rate_Bps, multifd_wire=wire)


def zero_page_cost(sc: Scenario) -> PageCost:
    """9.0+ ``zero-page-detection=multifd``: found in the channel, sent as an offset."""
    return PageCost(pool_s=TARGET_PAGE_BYTES / sc.host.zero_scan_Bps,
                    multifd_wire=MULTIFD_ZERO_PAGE_WIRE_BYTES, zero=True)


def main_thread_spins(sc: Scenario) -> bool:
    """The migration thread busy-waits for a free channel (multifd on a release before 8.1).

    ``multifd_send_pages()`` (migration/multifd.c) waits on the ``channels_ready``
    semaphore, then walks the channels for one without a pending job. Before 8.1 every
    channel posted ``channels_ready`` after each packet, sync packets included, while
    ``multifd_send_sync_main()`` never took it back, so the count grows by one per channel
    at every sync (7.2 syncs after each ``ram_save_iterate()`` quantum): the wait passes
    at once and the walk repeats, mutex by mutex, until a channel is done. QEMU 8.1 fixed
    the count ("multifd: Fix the number of channels ready", Juan Quintela, 2023). The
    lab's 7.2 runs show it (``benchmarks/accuracy/thread_cpu.py``): ``live_migration``
    runs 0.3–0.7 of a core while it only queues pages, and 4 channels finish 1.9× sooner
    than 1 on two cores, because the spinner's share falls as channels are added.
    """
    return bool(sc.capabilities.multifd) and sc.qemu.version < (8, 1)


def sync_drain_s(sc: Scenario) -> float:
    """The barrier of ``multifd_send_sync_main()``: every channel finishes one packet."""
    cost = normal_page_cost(sc)
    return cost.pool_s * MULTIFD_PAGES_PER_PACKET


def packet_throughput_Bps(*, channels: int, channel_Bps: float, link_Bps: float,
                          packets: int = 400) -> float:
    """Payload throughput of ``channels`` threads sharing one link, packet by packet.

    Each channel is a slot of a :class:`simpy.Resource`: a packet holds a channel while the
    thread prepares and writes it (``packet/channel_Bps``), then sits in the socket buffer
    until the link (a one-slot resource) carries it (``packet/link_Bps``). The producer is
    never the bottleneck here.

    Args:
        channels: ``multifd-channels``.
        channel_Bps: what one thread pushes.
        link_Bps: the link.
        packets: how many 512 KiB packets to send.

    Returns:
        Payload bytes per second over the whole transfer.
    """
    env = simpy.Environment()
    tills = simpy.Resource(env, capacity=channels)
    road = simpy.Resource(env, capacity=1)
    cpu_s = MULTIFD_PACKET_BYTES / channel_Bps
    wire_s = MULTIFD_PACKET_BYTES / link_Bps

    def on_the_wire() -> Generator[simpy.events.Event, object, None]:
        with road.request() as lane:
            yield lane
            yield env.timeout(wire_s)

    def packet() -> Generator[simpy.events.Event, object, None]:
        with tills.request() as till:
            yield till
            yield env.timeout(cpu_s)
        env.process(on_the_wire())

    for _ in range(packets):
        env.process(packet())
    env.run()
    return packets * MULTIFD_PACKET_BYTES / float(env.now)

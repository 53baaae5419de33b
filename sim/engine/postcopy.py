"""Postcopy: run the guest on the destination and fetch its memory as it asks for it.

Postcopy is moving house while already living in the new one: the furniture van (the
background push) keeps bringing boxes at ``max-postcopy-bandwidth``, and whenever you reach
for something not yet delivered (a page fault on a missing host page) you phone the old house
and wait for a courier: half a round trip for the call, the courier's queue behind the van's
load (without ``postcopy-preempt`` he rides in the same van), the time to carry one *whole*
host page (4 KiB, 2 MiB or 1 GiB), half a round trip back. Until the last box arrives neither
house holds all of your things: a broken road then can lose the guest (§12.6).

The model follows §12 and the checklist §22 item 6:

* **switch** (``postcopy_start``, §12.2): with ``postcopy-preempt`` the second channel is
  opened first (a PONG and a connect, 2 × RTT, *not* downtime); then the downtime =
  ``stop [+ pause-before-switchover] + final sync + discard messages + package`` where the
  final sync runs with the VM stopped, huge pages that are partly dirty become wholly dirty
  (``postcopy_chunk_hostpages_pass``), discard ranges go 12 to a command, and the package
  carries the device state (no return-path wait: ``downtime`` is fixed right after it);
* **background push** (§12.3): the migration thread alone (no multifd, no XBZRLE) sends the
  rest from the scan cursor at ``min(max-postcopy-bandwidth or ∞, link, channel-rate)``;
* **page requests** (§12.3): the destination's vCPUs touch their working set at the
  workload's rate, uniformly over it; a touch of a missing host page faults and costs

  - without preempt: ``RTT/2 + (QEMUFile buffer + u · socket buffer)/link + page/link + RTT/2``
    where ``u`` is the link share the background stream uses (it keeps the socket buffer
    full when it saturates the link) **[inference, §12.3]**;
  - with preempt: ``RTT + page/share`` with ``share = max(link − background, link/2)``
    (two TCP flows split a saturated link) **[inference, §12.3]**;

  a faulting vCPU stops until its page arrives, so with per-vCPU fault rate ``f`` (per
  running second) and latency ``L`` its blocked share is ``fL/(1 + fL)``; the missing part
  ``m`` of the working set ``W`` shrinks by one host page per fault and by ``m/u`` of every
  background byte (the cursor is not correlated with the working set);
* **blocktime** (§12.5): QEMU's ``postcopy-blocktime`` counts time when *all* vCPUs are
  blocked; with independent vCPUs that share is ``β^n`` (with one vCPU every fault blocks
  the guest: blocktime = Σ latencies);
* **end** (§12.4, §20): 8.2 completes when pending < ``threshold`` and sends that last part
  unthrottled; 10.1+ only at pending = 0; then the SHUT message (½ RTT);
* **exposure** = from the package (the last point of recovery, §12.6) to the end, and the
  chance of losing the guest to a link failure in it: ``1 − exp(−rate/h × exposure)``
  (failures as a Poisson process; recovery with ``migrate-recover`` may save it, so this is
  the chance that a failure *puts the guest at risk*).

    >>> latency = fault_latency_s(page_bytes=4096, rtt_s=200e-6, link_Bps=1.25e9,
    ...                           background_Bps=1.25e9, preempt=True)
    >>> round(latency * 1e6, 1)  # 200 µs + 4104 B at half of 10 Gbit/s
    206.6
    >>> round(loss_probability(rate_per_hour=1.0, exposure_s=36.0), 4)  # 1 − e^(−0.01)
    0.01

§ numbers are sections of ``docs/qemu-migration.md`` (QEMU's algorithm, with its source files).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from sim.engine import downtime
from sim.engine import loop as L
from sim.engine.constants import (
    NORMAL_PAGE_WIRE_BYTES,
    PAGE_HEADER_BYTES,
    TARGET_PAGE_BYTES,
    ZERO_PAGE_WIRE_BYTES,
)
from sim.units import KiB, MiB

if TYPE_CHECKING:
    from sim.engine.loop import MigrationLoop

__all__ = [
    "DISCARD_RANGE_BYTES",
    "QEMUFILE_BUFFER_BYTES",
    "SOCKET_BUFFER_BYTES",
    "PostcopyStats",
    "fault_latency_s",
    "loss_probability",
    "run_postcopy",
]

QEMUFILE_BUFFER_BYTES: Final = 32 * KiB
"""``IO_BUF_SIZE`` (``qemu-file.c``): what a queued page may wait behind in the QEMUFile."""

SOCKET_BUFFER_BYTES: Final = 4 * MiB
"""miglab, not QEMU: the socket send buffer a busy stream keeps full (Linux autotunes it up
to ``net.ipv4.tcp_wmem``'s maximum, 4 MiB by default). Host-dependent; a candidate for a
``host`` field."""

DISCARD_RANGE_BYTES: Final = 16
"""``qemu_savevm_send_postcopy_ram_discard``: be64 start + be64 length per range."""

DISCARD_RANGES_PER_CMD: Final = 12
"""``MAX_DISCARDS_PER_COMMAND`` (``migration/postcopy-ram.c``)."""

DISCARD_CMD_BYTES: Final = 4 + 2 + 8
"""Command header (be16 cmd + be16 len) + version + name length + a short block name."""

PREEMPT_SETUP_RTTS: Final = 2
"""``migration_wait_main_channel`` (a PING/PONG) + the preempt socket's connect (§12.2)."""

_STEPS: Final = 400
"""Integration steps over the push's no-fault duration (a few hundred µs of CPU)."""


@dataclass
class PostcopyStats:
    """What the postcopy phase did (times in seconds since the migrate command).

    Attributes:
        switch_s: when the VM stopped for the switch.
        package_s: when the package was sent (downtime ends; exposure starts).
        end_s: when the migration completed.
        downtime_parts_s: the switch's downtime parts.
        bytes: RAM wire bytes sent after the switch (``postcopy-bytes``).
        requests: page requests (``postcopy-requests``).
        blocktime_s: time all vCPUs were blocked (``postcopy-blocktime``).
        vcpu_blocktime_s: Σ over vCPUs of their blocked time (``postcopy-vcpu-blocktime``).
        latency_sum_s: Σ fault latencies (mean = ``latency_sum_s / requests``).
        exposure_s: from the package to the end.
        loss_probability: chance of a link failure within the exposure.
    """

    switch_s: float = 0.0
    package_s: float = 0.0
    end_s: float = 0.0
    downtime_parts_s: dict[str, float] = field(default_factory=dict)
    bytes: float = 0.0
    requests: float = 0.0
    blocktime_s: float = 0.0
    vcpu_blocktime_s: float = 0.0
    latency_sum_s: float = 0.0
    exposure_s: float = 0.0
    loss_probability: float = 0.0

    @property
    def mean_latency_s(self) -> float:
        """Mean fault latency (10.1's ``postcopy-latency``), 0 without faults."""
        return self.latency_sum_s / self.requests if self.requests else 0.0


def fault_latency_s(*, page_bytes: float, rtt_s: float, link_Bps: float,
                    background_Bps: float, preempt: bool) -> float:
    """Latency of one remote page fault (§12.3's latency model).

    Args:
        page_bytes: the host page fetched (4 KiB, 2 MiB or 1 GiB).
        rtt_s: round-trip time.
        link_Bps: what the wire carries.
        background_Bps: wire rate of the background push at this moment.
        preempt: ``postcopy-preempt`` is on (the page has its own channel).

    Returns:
        Seconds from the fault to the page being placed.
    """
    wire = page_bytes + PAGE_HEADER_BYTES * max(page_bytes / TARGET_PAGE_BYTES, 1.0)
    if preempt:
        share = max(link_Bps - background_Bps, link_Bps / 2.0)
        return rtt_s + wire / share
    busy = min(background_Bps / link_Bps, 1.0)
    queue = QEMUFILE_BUFFER_BYTES + SOCKET_BUFFER_BYTES * busy
    return rtt_s + (queue + wire) / link_Bps


def loss_probability(*, rate_per_hour: float, exposure_s: float) -> float:
    """``1 − exp(−rate × exposure)``: a link failure within the exposure (Poisson)."""
    return -math.expm1(-rate_per_hour * exposure_s / 3600.0)


def _expand_host_pages(loop: MigrationLoop, page_bytes: int) -> None:
    """``postcopy_chunk_hostpages_pass``: partly dirty host pages become wholly dirty.

    Dirty 4 KiB pages of the working set are spread at random (density ``d``), so a host
    page of ``k`` target pages is dirty with probability ``1 − (1 − d)^k`` **[inference]**;
    the not-yet-sent rest of the first pass is contiguous and needs no rounding.
    """
    c = loop.c
    k = page_bytes // TARGET_PAGE_BYTES
    if k <= 1 or c[L.PWS] <= 0.0:
        return
    hot = loop.hot_bytes
    d = min(c[L.PWS] / hot, 1.0)
    expanded = hot * -math.expm1(k * math.log1p(-d)) if d < 1.0 else hot
    extra = max(expanded - c[L.PWS], 0.0)
    c[L.PN] += extra
    c[L.PWS] += extra


def _discard_bytes(loop: MigrationLoop, page_bytes: int) -> float:
    """Bytes of the DISCARD commands: one range per run of dirty host pages."""
    hot = loop.hot_bytes
    pages = max(hot / page_bytes, 1.0)
    d = min(loop.c[L.PWS] / hot, 1.0) if hot > 0 else 0.0
    ranges = pages * d * (1.0 - d) + (1.0 if loop.pending > loop.c[L.PWS] else 0.0)
    ranges = max(ranges, 1.0 if loop.pending > 0 else 0.0)
    return ranges * DISCARD_RANGE_BYTES + math.ceil(ranges / DISCARD_RANGES_PER_CMD) \
        * DISCARD_CMD_BYTES


def _switch(loop: MigrationLoop, stats: PostcopyStats) -> None:
    """``postcopy_start`` (§12.2): open the preempt channel, stop, sync, discard, package."""
    sc, c, s = loop.sc, loop.c, loop.s
    host = sc.host
    if sc.capabilities["postcopy-preempt"]:
        c[L.T] += PREEMPT_SETUP_RTTS * host.rtt_s  # before the VM stops: not downtime
    stats.switch_s = c[L.T]
    loop.row("postcopy", phase="switchover")
    new = loop.collect_dirty()  # the final bitmap sync, VM stopped
    c[L.PN] += new
    loop.add_pending_hot(new)
    s.sync_count += 1
    _expand_host_pages(loop, sc.vm.page_size_bytes)
    discard = _discard_bytes(loop, sc.vm.page_size_bytes)
    device = float(sc.vm.device_state_bytes)
    parts = {"stop": host.stop_s, "pause-before-switchover": downtime.pause_s(sc),
             "final-sync": loop.sync_s, "discard": discard / host.link_Bps,
             "device-state": device / host.link_Bps}
    c[L.TRANSFERRED] += discard + device
    stats.downtime_parts_s = parts
    c[L.T] += sum(parts.values())
    stats.package_s = c[L.T]


def run_postcopy(loop: MigrationLoop) -> PostcopyStats:
    """Switch to postcopy and run it to the end; advances ``loop``'s clock and counters.

    Long because it mirrors QEMU's postcopy path step for step: ``postcopy_start``, then the
    push and page-fault loop to completion (docs/qemu-migration.md §12).

    Args:
        loop: a precopy loop whose :meth:`~sim.engine.loop.MigrationLoop.advance` returned
            :data:`~sim.engine.loop.POSTCOPY`.

    Returns:
        The :class:`PostcopyStats`.
    """
    sc, c = loop.sc, loop.c
    host = sc.host.while_running()  # the guest runs on the destination meanwhile
    stats = PostcopyStats()
    _switch(loop, stats)
    page = float(sc.vm.page_size_bytes)
    link = host.link_Bps
    cap = float(sc.parameters.max_postcopy_bandwidth) or math.inf
    preempt = bool(sc.capabilities["postcopy-preempt"])
    u = loop.pending
    z = c[L.PZ] / u if u > 0 else 0.0
    wire_pb = ((1.0 - z) * NORMAL_PAGE_WIRE_BYTES + z * ZERO_PAGE_WIRE_BYTES) / TARGET_PAGE_BYTES
    cpu_pb = ((1.0 - z) * NORMAL_PAGE_WIRE_BYTES / host.channel_rate_Bps
              + z * (TARGET_PAGE_BYTES / host.zero_scan_Bps
                     + ZERO_PAGE_WIRE_BYTES / host.channel_rate_Bps)) / TARGET_PAGE_BYTES
    page_wire = page * NORMAL_PAGE_WIRE_BYTES / TARGET_PAGE_BYTES

    def push_Bps(fault_wire_Bps: float, capped: bool) -> float:
        """RAM bytes/s of the background push (faults' pages take their link share)."""
        free = max(link - fault_wire_Bps, 0.05 * link)
        limit = cap if capped else math.inf
        return min(free / wire_pb, 1.0 / cpu_pb, limit / wire_pb)

    b0 = push_Bps(0.0, True)
    # 8.2: done when pending < threshold = bandwidth × downtime-limit, the rest unthrottled.
    end_capped = 0.0 if sc.qemu.postcopy_completes_at_zero else \
        b0 * wire_pb * loop.levers.downtime_limit_ms / 1000.0
    hot = loop.hot_bytes
    m = min(c[L.PWS], u)
    n = max(sc.vm.vcpus, 1)
    touch = loop.model.nominal_rate_Bps / TARGET_PAGE_BYTES / n  # per vCPU, per running s
    dt = max(u / b0 / _STEPS, 1e-6) if u > 0 else 0.0
    t = c[L.T]
    fault_wire = 0.0
    last_row = t
    while u > 1e-6:
        capped = u > end_capped
        b = push_Bps(fault_wire, capped)
        lat = fault_latency_s(page_bytes=page, rtt_s=host.rtt_s, link_Bps=link,
                              background_Bps=b * wire_pb, preempt=preempt)
        f = touch * (m / hot) if hot > 0 else 0.0
        beta = f * lat / (1.0 + f * lat)
        faults_Bps = n * (1.0 - beta) * f  # faults per wall second
        out = b + faults_Bps * page
        step = min(dt, u / out)
        if capped and u - out * step < end_capped:
            step = max((u - end_capped) / out, 1e-12)
        faults = faults_Bps * step
        if faults * page > m:
            faults = m / page
        bg = b * step
        gone = bg + faults * page
        if gone > u:
            bg = max(u - faults * page, 0.0)
            gone = u
        m = max(m - faults * page - (bg * m / u if u > 0 else 0.0), 0.0)
        u -= gone
        t += step
        stats.requests += faults
        stats.latency_sum_s += faults * lat
        stats.blocktime_s += beta ** n * step
        stats.vcpu_blocktime_s += n * beta * step
        stats.bytes += bg * wire_pb + faults * page_wire
        fault_wire = faults_Bps * page_wire
        zero_bg = bg * z
        c[L.ZERO_PAGES] += zero_bg / TARGET_PAGE_BYTES
        c[L.NORMAL_PAGES] += (bg - zero_bg + faults * page) / TARGET_PAGE_BYTES
        c[L.TRANSFERRED] += bg * wire_pb + faults * page_wire
        c[L.PZ] = u * z
        c[L.PN] = u * (1.0 - z)
        c[L.PWS] = m
        if loop.record and t - last_row >= loop.sample_s and u > 1e-6:
            c[L.T] = t
            loop.row("", phase="postcopy")
            last_row = t
    loop.clear_pending()
    t += host.rtt_s / 2.0  # the destination's SHUT on the return path (§12.4)
    c[L.T] = t
    stats.end_s = t
    stats.exposure_s = t - stats.package_s
    stats.loss_probability = loss_probability(rate_per_hour=host.link_failure_per_hour,
                                              exposure_s=stats.exposure_s)
    loop.row("done", phase="done")
    return stats

"""The destination's first touch of guest RAM (``host.first-touch-rate``), worked by hand.

Defaults as in ``test_golden.py``: link 1.25e9 B/s, channel-rate 1.5 GiB/s, setup 10 ms,
stop 5 ms, bitmap sync 1 ms per GiB, device state 1 MiB, a normal page 4104 wire bytes.
The first copy of a non-zero page lands in destination RAM never touched before, at most
``first-touch-rate``; a page sent again lands in RAM already there, at the sender's pace
(``sim/engine/sender.py``). What the lab showed (benchmarks/accuracy/RESULTS.md): with
max-bandwidth unlimited, QEMU's threshold (bandwidth × downtime-limit) lets the switchover
come while much of the first pass is still unsent, and the final copy of those pages runs
at the first-touch pace, not at the stopped guest's channel rate.
"""

from __future__ import annotations

from typing import Any

import pytest

from sim.engine import simulate
from sim.result import Result
from sim.scenario import load_scenario
from sim.units import MiB

LINK_Bps = 1.25e9
TOUCH_Bps = 300 * MiB


def run(data: dict[str, Any]) -> Result:
    return simulate(load_scenario(data))


def test_first_copies_left_at_the_switchover_land_at_the_first_touch_rate() -> None:
    """The idle 1 GiB guest of ``test_golden.py``'s first test, first-touch 300 MiB/s.

    Under the default 128 MiB/s limit a window's 13 395 609.6 RAM bytes need 42.6 ms at
    300 MiB/s, inside the 50 ms quantum, so the windows, the sync and the 28 884 345 bytes
    left at the switchover are as in that test. None of them was ever sent (the first pass
    had not ended), so the final copy lands at 300 MiB/s = 314 572 800 B/s, slower than the
    link: 28 884 345 / 314 572 800 = 91.821 ms of RAM (23.153 ms without first touches).
    Downtime = stop 5 + final sync 1 + 91.821 + device 1 MiB/1.25e9 (0.839) = 98.660 ms.
    """
    r = run({"vm": {"memory": "1G"}, "host": {"first-touch-rate": "300MiB/s"}})
    assert r.ram.dirty_sync_count == 3
    assert r.downtime_breakdown_ms["ram"] == pytest.approx(28_884_345 / TOUCH_Bps * 1000,
                                                           rel=1e-6)
    assert r.downtime_ms == pytest.approx(5 + 1 + 91.8207 + 0.8389, abs=1e-3)
    assert r.total_time_ms == pytest.approx(7801 + r.downtime_ms, abs=1e-6)


def test_unlimited_first_pass_goes_at_the_first_touch_pace() -> None:
    """Idle 1 GiB guest, max-bandwidth unlimited, first-touch 300 MiB/s.

    Every page of the first pass is a first copy: RAM drains at 314 572 800 B/s (the link
    would take 1.2476e9), so a mid-pass window reports 314 572 800 × 4104/4096 =
    315 187 200 wire B/s.
    """
    r = run({"vm": {"memory": "1G"}, "host": {"first-touch-rate": "300MiB/s"},
             "parameters": {"max-bandwidth": 0}})
    mid = [row["bandwidth_Bps"] for row in r.timeline if row["event"] == ""]
    assert mid, "no mid-pass window row"
    assert mid[len(mid) // 2] == pytest.approx(TOUCH_Bps * 4104 / 4096, rel=1e-9)


def test_pages_sent_again_go_at_the_senders_pace() -> None:
    """A sequential writer at 50 MiB/s over 64 MiB of a 1 GiB guest, unlimited, 1 ms limit.

    The first pass takes 1 GiB / 300 MiB/s = 3.41 s and ends with the bitmap empty (the
    1.25 MB threshold is never crossed before that in 50 ms quanta of 15.7 MB), so nothing
    of it is left unsent. Its sync finds the whole 64 MiB working set dirty again (3.4 s of
    writing at 50 MiB/s), pages the destination already holds: the second pass drains at
    the link's 1.25e9 × 4096/4104 = 1.24756e9 B/s, 67 108 864 / 1.24756e9 = 53.792 ms, plus
    the next sync's 1 ms. At the first-touch pace it would take 213 ms.
    """
    r = run({"vm": {"memory": "1G"}, "host": {"first-touch-rate": "300MiB/s"},
             "workload": {"dirty-rate": "50MiB/s", "working-set": "64MiB",
                          "pattern": "sequential"},
             "parameters": {"max-bandwidth": 0, "downtime-limit": 1}})
    syncs = [row for row in r.timeline if row["event"] == "sync"]
    assert syncs[1]["remaining_bytes"] == pytest.approx(64 * MiB, rel=1e-9)
    pass2_s = syncs[2]["time_s"] - syncs[1]["time_s"]
    drain_Bps = LINK_Bps * 4096 / 4104
    assert pass2_s == pytest.approx(64 * MiB / drain_Bps + 0.001, rel=1e-6)


def test_unset_is_no_limit() -> None:
    """``first-touch-rate`` unset (every shipped profile but the lab's) means no limit: the
    run is the one a destination landing pages faster than anything else gives (1 TiB/s),
    and a slow one (300 MiB/s, under the 1.25 GB/s link) does change it."""
    base: dict[str, Any] = {"vm": {"memory": "1G"}, "parameters": {"max-bandwidth": 0}}
    unset = run(base)
    fast = run({**base, "host": {"first-touch-rate": "1TiB/s"}})
    slow = run({**base, "host": {"first-touch-rate": "300MiB/s"}})
    assert fast.total_time_ms == pytest.approx(unset.total_time_ms, rel=1e-12)
    assert fast.downtime_ms == pytest.approx(unset.downtime_ms, rel=1e-12)
    assert slow.total_time_ms > unset.total_time_ms * 1.5


def test_multifd_channels_land_their_own_pages() -> None:
    """Idle 8 GiB guest, unlimited, link 100 Gbit/s, first-touch 300 MiB/s, multifd.

    A multifd receive thread reads its pages straight into guest RAM, beside the sending
    thread on the other side of the socket: per page the send takes 4096 + 10.5 header
    bytes at channel-rate 1.5 GiB/s = 2.5497 µs and the landing 4096 B at 314 572 800 B/s
    = 13.0208 µs, in a pipeline, so one channel drains 4096 / 13.0208 µs = 314.57 MB/s of
    RAM, as the main channel does (its single receiving thread is a stage of its own).
    Four channels, each with a core, land four pages at once: 4 × 314.57 = 1258.3 MB/s.
    The mid-pass window reports wire bytes: × 4106.5/4096 (× 4104/4096 on the main channel).
    """
    def mid_bw(extra: dict[str, Any]) -> float:
        data: dict[str, Any] = {"vm": {"memory": "8G"},
                                "host": {"first-touch-rate": "300MiB/s", "link": "100Gbit/s"},
                                "parameters": {"max-bandwidth": 0}}
        for key, value in extra.items():
            data.setdefault(key, {}).update(value)
        mid = [row["bandwidth_Bps"] for row in run(data).timeline if row["event"] == ""]
        return float(mid[len(mid) // 2])

    mf = {"capabilities": {"multifd": True}}
    assert mid_bw({**mf, "parameters": {"multifd-channels": 1}}) == pytest.approx(
        TOUCH_Bps * 4106.5 / 4096, rel=1e-6)
    assert mid_bw({**mf, "parameters": {"multifd-channels": 4}}) == pytest.approx(
        4 * TOUCH_Bps * 4106.5 / 4096, rel=1e-6)
    assert mid_bw({}) == pytest.approx(TOUCH_Bps * 4104 / 4096, rel=1e-6)


@pytest.mark.parametrize(("qemu", "channels", "ram_Bps"), [
    ("7.2", 1, 263.06e6), ("8.1", 1, 314.57e6), ("7.2", 4, 420.90e6), ("8.1", 4, 526.13e6),
])
def test_the_72_migration_thread_spins_and_takes_a_share_of_the_cores(
        qemu: str, channels: int, ram_Bps: float) -> None:
    """Multifd first pass on a host whose sending threads share 2 cores (``migration-cpus``).

    Per page: send 4106.5 B at 1.5 GiB/s = 2.5497 µs on a channel's sending thread,
    landing 4096 B at 300 MiB/s = 13.0208 µs on its receiving thread; both run on the 2
    cores, so the channels' work is 15.5705 µs of CPU per page.

    * 8.1, 1 channel: the landing thread has a core: 13.0208 µs → 314.57 MB/s (the work
      needs 15.5705 / 2 = 7.785 µs of the two cores, less).
    * 7.2, 1 channel: the migration thread spins while the channel is busy
      (:func:`sim.engine.multifd.main_thread_spins`), one thread among 2 on the cores, so
      the channel's threads keep 2 × 1/2 = 1 core: 15.5705 µs → 263.06 MB/s.
    * 8.1, 4 channels: 2 cores: 15.5705 / 2 = 7.7853 µs → 526.13 MB/s.
    * 7.2, 4 channels: the spinner is one of 5: 2 × 4/5 = 1.6 cores: 9.7316 µs → 420.90 MB/s.
    """
    from sim.engine.sender import Sender

    sc = load_scenario({"qemu": qemu, "vm": {"memory": "1G"},
                        "host": {"first-touch-rate": "300MiB/s", "link": "100Gbit/s",
                                 "migration-cpus": 2},
                        "capabilities": {"multifd": True},
                        "parameters": {"max-bandwidth": 0, "multifd-channels": channels}})
    rates = Sender(sc).rates(zero_share=0.0, pass_index=1, dirty_bytes=0.0, first_share=1.0)
    assert rates.ram_Bps == pytest.approx(ram_Bps, rel=1e-4)
    stopped = Sender(sc, guest_running=False).rates(
        zero_share=0.0, pass_index=1, dirty_bytes=0.0, first_share=1.0)
    assert stopped.ram_Bps == pytest.approx(channels * TOUCH_Bps, rel=1e-6)  # a core each

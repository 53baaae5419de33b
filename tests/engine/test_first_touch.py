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


def test_without_the_field_nothing_changes() -> None:
    """``first-touch-rate`` unset (every shipped profile but the lab's): the golden figures."""
    r = run({"vm": {"memory": "1G"}})
    assert r.downtime_breakdown_ms["ram"] == pytest.approx(28_884_345 * 4104 / 4096 / LINK_Bps
                                                           * 1000, rel=1e-6)


def test_multifd_channels_land_their_own_pages() -> None:
    """Idle 8 GiB guest, unlimited, link 100 Gbit/s, first-touch 300 MiB/s, multifd.

    A multifd receive thread reads its pages straight into guest RAM, so a channel's time
    per page is its send, 4096 + 10.5 header bytes at channel-rate 1.5 GiB/s = 2.5497 µs,
    plus the landing, 4096 B at 314 572 800 B/s = 13.0208 µs: 15.5705 µs. One channel
    drains 4096 / 15.5705 µs = 263.06 MB/s of RAM, slower than the main channel (whose
    single receiving thread is a stage of its own: max(2.5497, 13.0208) µs → 314.57 MB/s);
    four channels, each with a core, drain 4 × 263.06 = 1052.2 MB/s. The mid-pass window
    reports wire bytes: × 4106.5/4096.
    """
    def mid_bw(extra: dict[str, Any]) -> float:
        data: dict[str, Any] = {"vm": {"memory": "8G"},
                                "host": {"first-touch-rate": "300MiB/s", "link": "100Gbit/s"},
                                "parameters": {"max-bandwidth": 0}}
        for key, value in extra.items():
            data.setdefault(key, {}).update(value)
        mid = [row["bandwidth_Bps"] for row in run(data).timeline if row["event"] == ""]
        return float(mid[len(mid) // 2])

    channel_s = 4106.5 / (1.5 * 2**30) + 4096 / TOUCH_Bps
    one = 4096 / channel_s
    assert one == pytest.approx(263.06e6, rel=1e-4)
    mf = {"capabilities": {"multifd": True}}
    assert mid_bw({**mf, "parameters": {"multifd-channels": 1}}) == pytest.approx(
        one * 4106.5 / 4096, rel=1e-6)
    assert mid_bw({**mf, "parameters": {"multifd-channels": 4}}) == pytest.approx(
        4 * one * 4106.5 / 4096, rel=1e-6)
    assert mid_bw({}) == pytest.approx(TOUCH_Bps * 4104 / 4096, rel=1e-6)

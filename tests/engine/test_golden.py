"""Golden runs worked out by hand: each docstring shows the arithmetic the assertion checks.

Defaults used below (sim.scenario.Host): link 10 Gbit/s = 1.25e9 B/s, channel-rate 1.5 GiB/s,
setup 10 ms, stop 5 ms, resume 5 ms, RTT 200 µs, bitmap sync 1 ms per GiB, zero-scan
8 GiB/s, device state 1 MiB. A normal page is 8 + 4096 = 4104 wire bytes, a zero page 9.

§ numbers are sections of ``docs/qemu-migration.md`` (QEMU's algorithm, with its source files).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from sim.engine import simulate
from sim.engine.multifd import packet_throughput_Bps
from sim.result import Result
from sim.scenario import load_scenario
from sim.units import GiB, MiB

LINK_Bps = 1.25e9


def run(data: dict[str, Any], **kw: Any) -> Result:
    return simulate(load_scenario(data), **kw)


def test_idle_guest_under_the_default_rate_limit() -> None:
    """An idle 1 GiB guest at QEMU's default max-bandwidth 128 MiB/s and 300 ms limit.

    Budget per 100 ms window = 134217728 // 10 = 13 421 772 wire bytes, i.e.
    13 421 772 · 4096/4104 = 13 395 609.6 RAM bytes. The threshold is the achieved
    13 421.772 B/ms × 300 ms = 40 265 316 bytes. A check happens at each window start, so
    the sync comes at the first window k with 1 073 741 824 − k·13 395 609.6 < 40 265 316:
    k = 78 (k = 77 leaves 42.27 MB), remaining 28 884 345 bytes, at t = 78 × 0.1 = 7.8 s
    (the first window began before the 10 ms setup), plus the 1 ms sync. Nothing new is
    dirty, so it switches over: downtime = stop 5 + final sync 1 + 28 884 345·4104/4096 B /
    1.25e9 B/s (23.153 ms, no rate limit) + 1 MiB/1.25e9 (0.839 ms) = 29.991 ms.
    Syncs: setup, end of pass, final = 3.
    """
    r = run({"vm": {"memory": "1G"}})
    assert r.status == "completed"
    assert r.converged
    assert r.ram.dirty_sync_count == 3
    assert r.downtime_breakdown_ms["ram"] == pytest.approx(28_884_345 * 4104 / 4096 / LINK_Bps
                                                           * 1000, rel=1e-6)
    assert r.downtime_ms == pytest.approx(5 + 1 + 23.1526 + 0.8389, abs=1e-3)
    assert r.total_time_ms == pytest.approx(7801 + r.downtime_ms, abs=1e-6)
    assert r.ram.normal == 262_144
    assert r.ram.duplicate == 0
    assert r.ram.transferred == 262_144 * 4104 + MiB
    assert r.ram.remaining == 0
    assert r.ram.dirty_pages_rate == 0


def test_uniform_dirtying_below_bandwidth_shrinks_each_pass_by_dirty_over_bandwidth() -> None:
    """A sequential writer at a quarter of the drain rate over all of an 8 GiB guest.

    Unlimited max-bandwidth: the link binds (1.25e9 wire B/s < 1.5 GiB/s of CPU), so RAM
    drains at R = 1.25e9·4096/4104 = 1.2476e9 B/s. The guest writes r = R/4 over 8 GiB with
    a sequential walk, so a pass of D bytes lasts D/R and leaves U = r·D/R = D/4 newly dirty
    bytes (§5.9: passes shrink geometrically by w/B). With a 1 ms downtime-limit the
    threshold is ~1.25 MB, so the leftover at each sync is small (and the bitmap sync is made
    ~free, 1 µs/GiB, so that it adds no dirtying of its own): pass sizes 8 GiB, 2 GiB,
    512 MiB, 128 MiB … within 1 %. Converged total ≈ 8 GiB/R · (1 + ¼ + ¹⁄₁₆ + …) ≈ 9.18 s.
    """
    drain_Bps = LINK_Bps * 4096 / 4104
    r = run({"vm": {"memory": "8G"},
             "workload": {"dirty-rate": drain_Bps / 4, "pattern": "sequential"},
             "host": {"sync-per-gib": "1us"},
             "parameters": {"max-bandwidth": 0, "downtime-limit": 1}})
    assert r.converged
    after_sync = [row["remaining_bytes"] for row in r.timeline if row["event"] == "sync"]
    assert after_sync[0] == 8 * GiB
    for before, after in itertools.pairwise(after_sync):
        assert after / before == pytest.approx(0.25, rel=0.01)
    assert r.total_time_s == pytest.approx(8 * GiB / drain_Bps * 4 / 3, rel=0.01)


def test_hot_set_larger_than_bandwidth_times_limit_never_converges() -> None:
    """A 1 GiB hot set rewritten at 1 GiB/s on a 1 Gbit/s link, 300 ms limit, 2 min timeout.

    Threshold = 125 000 B/ms × 300 ms = 37.5 MB, far below the hot set. A pass lasts
    ~1 GiB/125 MB/s ≈ 8.6 s, in which a random walk dirties 1 GiB·(1 − e^(−8.6)) ≈ all of
    it, so the pending bytes settle at ≈ 1 GiB after every sync and never drop under 37.5 MB.
    The timeout cancels it: status cancelled, not converged, plateau ≈ 1 GiB, and the
    reason names the hot set.
    """
    r = run({"vm": {"memory": "4G"}, "workload": {"dirty-rate": "1GiB/s", "working-set": "1G"},
             "host": {"link": "1Gbit/s"}, "parameters": {"max-bandwidth": 0},
             "control": {"timeout": "2min"}})
    assert r.status == "cancelled"
    assert not r.converged
    assert r.total_time_ms == pytest.approx(120_000)
    assert r.downtime_ms == 0
    assert r.plateau_bytes == pytest.approx(GiB, rel=0.01)
    assert "hot set" in r.reason
    assert "timeout" in r.reason


def test_auto_converge_raises_the_throttle_on_every_second_too_dirty_period() -> None:
    """A 4 GiB guest dirtying 2 GiB/s at random over all RAM on a 1 Gbit/s link.

    Every pass lasts ~34 s (> 1 s), so every sync closes a period, and each period is too
    dirty (the guest re-dirties ~all 4 GiB while ~4.3 GB are sent; 4 GiB > 50 % of that).
    Sync 1 is setup; syncs 2, 4, 6 … are first cards; syncs 3, 5, 7 … second cards, each
    raising the throttle: 20 (cpu-throttle-initial), then +10: 30, 40, …, 90, then 99
    (capped by max-cpu-throttle 99).
    """
    r = run({"vm": {"memory": "4G", "vcpus": 2}, "workload": {"dirty-rate": "2GiB/s"},
             "host": {"link": "1Gbit/s"}, "parameters": {"max-bandwidth": 0},
             "capabilities": {"auto-converge": True}, "control": {"timeout": "15min"}})
    steps = [(row["dirty_sync_count"], row["throttle_pct"]) for row in r.timeline
             if row["event"] == "throttle"]
    assert steps == [(3, 20), (5, 30), (7, 40), (9, 50), (11, 60), (13, 70), (15, 80),
                     (17, 90), (19, 99)]
    assert r.guest.throttle_peak_pct == 99
    # the guest's bill: ∑ throttle × vCPUs × time, at least 20 % × 2 vCPUs × 2 passes × 34 s
    assert r.guest.throttle_cpu_s > 0.2 * 2 * 2 * 34


def test_auto_converge_tailslow_takes_only_what_the_overshoot_asks() -> None:
    """tailslow (§7.2 example): throttle 20 %, dirty 1.05 GB against a threshold of
    1.0 GB (xfer 2.0 GB × 50 %) → cpu_now = 80, cpu_ideal = 80 × 1.0/1.05 = 76.19, so the
    step is min(80 − 76.19, 10) → 3 (integer), not 10."""
    from sim.engine.throttle import AutoConverge

    ac = AutoConverge(20, 10, 99, 50, tailslow=True, pct=20, high_cnt=1)
    assert ac.on_period(dirty_bytes=1.05e9, xfer_bytes=2.0e9) == 23


def test_multifd_throughput_is_min_of_link_and_channels() -> None:
    """Idle 8 GiB guest, multifd, unlimited, channel-rate 200 MiB/s (slow CPUs).

    4 channels: 4 × 200 MiB/s = 838 860 800 B/s < link 1.25e9, so windows measure
    838.86 MB/s of wire (payload + 1344-byte header per 128 pages). 16 channels: 3.36e9 >
    link, so the link's 1.25e9 binds. The same system stepped packet by packet with SimPy
    resources agrees with the formula within 1 %.
    """
    def bw(n: int) -> float:
        r = run({"vm": {"memory": "8G"}, "host": {"channel-rate": "200MiB/s"},
                 "parameters": {"max-bandwidth": 0, "multifd-channels": n},
                 "capabilities": {"multifd": True}})
        mid = [row["bandwidth_Bps"] for row in r.timeline if row["event"] == ""]
        return float(mid[len(mid) // 2])

    assert bw(4) == pytest.approx(4 * 200 * MiB, rel=1e-9)
    assert bw(16) == pytest.approx(LINK_Bps, rel=1e-9)
    assert packet_throughput_Bps(channels=4, channel_Bps=200 * MiB, link_Bps=LINK_Bps) == \
        pytest.approx(4 * 200 * MiB, rel=0.01)
    assert packet_throughput_Bps(channels=16, channel_Bps=200 * MiB, link_Bps=LINK_Bps,
                                 packets=2000) == \
        pytest.approx(LINK_Bps, rel=0.01)


def test_sending_threads_share_the_cores_the_running_guest_leaves() -> None:
    """Idle 8 GiB guest, unlimited, ``running-channel-rate`` 100 MiB/s, ``migration-cpus`` 1.5.

    While the guest runs each sending thread pushes 100 MiB/s and all of them together use
    at most 1.5 cores: one thread (main channel or multifd-channels=1) moves 100 MiB/s of
    wire, 4 channels min(4, 1.5) × 100 = 150 MiB/s (not 400), and with 0.5 cores the main
    thread gets half a core, 50 MiB/s. Without the two fields 4 channels take 4 × 1.5 GiB/s,
    capped by the 1.25e9 B/s link.
    """
    def bw(host: dict[str, Any], channels: int | None) -> float:
        data: dict[str, Any] = {"vm": {"memory": "8G"}, "host": host,
                                "parameters": {"max-bandwidth": 0}}
        if channels is not None:
            data["parameters"]["multifd-channels"] = channels
            data["capabilities"] = {"multifd": True}
        mid = [row["bandwidth_Bps"] for row in run(data).timeline if row["event"] == ""]
        return float(mid[len(mid) // 2])

    slow = {"running-channel-rate": "100MiB/s", "migration-cpus": 1.5}
    assert bw(slow, None) == pytest.approx(100 * MiB, rel=1e-9)
    assert bw(slow, 1) == pytest.approx(100 * MiB, rel=1e-9)
    assert bw(slow, 4) == pytest.approx(150 * MiB, rel=1e-9)
    assert bw({**slow, "migration-cpus": 0.5}, None) == pytest.approx(50 * MiB, rel=1e-9)
    assert bw({}, 4) == pytest.approx(LINK_Bps, rel=1e-9)


def test_the_final_copy_runs_at_the_stopped_guest_rate() -> None:
    """The idle 1 GiB guest of the first golden test with ``running-channel-rate`` 300 MiB/s.

    300 MiB/s moves a window's 13 421 772-byte budget in 42.7 ms, inside the 50 ms after
    which ``ram_save_iterate`` returns for a pending check, so every window, the sync and
    the 28 884 345 bytes left at the switchover are as in that test. The final copy runs
    with the guest stopped, at min(link, channel-rate 1.5 GiB/s) = 1.25e9 B/s, not at
    300 MiB/s: the RAM part of the downtime stays 28 884 345 · 4104/4096 / 1.25e9 =
    23.153 ms (at 300 MiB/s it would be 92 ms).
    """
    r = run({"vm": {"memory": "1G"}, "host": {"running-channel-rate": "300MiB/s"}})
    assert r.ram.dirty_sync_count == 3
    assert r.downtime_breakdown_ms["ram"] == pytest.approx(28_884_345 * 4104 / 4096 / LINK_Bps
                                                           * 1000, rel=1e-6)
    assert r.total_time_ms == pytest.approx(7801 + r.downtime_ms, abs=1e-6)


def test_zero_pages_at_the_end_go_last() -> None:
    """An idle 1 GiB guest, 75 % zero pages at the top of RAM (``zero-layout: end``),
    QEMU's default 128 MiB/s and 300 ms.

    The 65 536 non-zero pages (268 435 456 bytes) go first at the window budget of
    13 421 772 wire bytes = 13 395 609.6 RAM bytes per 100 ms: after 20 windows (t = 2.0 s)
    523 264 bytes are left, and the 805 306 368 zero bytes are still pending, far above the
    threshold (13 421.772 B/ms × 300 ms = 40 265 316). In the 21st window the last 127.75
    pages take 127.75 × 4104 / 1.25e9 = 0.419 ms (the link binds), then the 196 608 zero
    pages 196 608 × (4096 / 8 GiB/s + 9 / 1.5 GiB/s) = 94.849 ms of scanning (1.77 MB of
    wire, inside the budget), over two 50 ms quanta. Only then is the bitmap empty: sync
    (1 ms) at 2.095268 s, nothing left, switchover. Downtime = stop 5 + sync 1 + RAM 0 +
    device 1 MiB / 1.25e9 (0.839) = 6.839 ms; total 2 103.107 ms.

    Spread among the others (the default), every quantum drains the 1 : 3 blend, the
    pending bytes fall under the threshold before the pass is over and the switchover
    carries ~9.1 MB of it: a RAM part in the downtime that the layout ``end`` does not have.
    """
    base = {"vm": {"memory": "1G"}, "workload": {"zero-fraction": 0.75}}
    end = run({**base, "workload": {"zero-fraction": 0.75, "zero-layout": "end"}})
    assert end.ram.normal == 65_536
    assert end.ram.duplicate == 196_608
    assert end.ram.dirty_sync_count == 3
    assert end.downtime_breakdown_ms["ram"] == 0.0
    assert end.ram.downtime_bytes == 0
    normal_s = 127.75 * 4104 / LINK_Bps
    zero_s = 196_608 * (4096 / (8 * GiB) + 9 / (1.5 * GiB))
    switchover_s = 2.0 + normal_s + zero_s + 0.001
    assert end.downtime_ms == pytest.approx(5 + 1 + MiB / LINK_Bps * 1000, abs=1e-6)
    assert end.total_time_ms == pytest.approx(switchover_s * 1000 + end.downtime_ms, abs=1e-3)
    spread = run(base)
    assert (spread.ram.normal, spread.ram.duplicate) == (65_536, 196_608)
    assert spread.ram.downtime_bytes > 0
    assert spread.downtime_breakdown_ms["ram"] > 0.0
    assert spread.total_time_ms < end.total_time_ms


def test_zero_pages_cost_nine_bytes_and_a_scan() -> None:
    """An idle 4 GiB guest with 75 % zero pages, unlimited bandwidth.

    1 048 576 pages: 786 432 zero (sent as 9 bytes each, counted in duplicate) and 262 144
    normal (4104 bytes each). transferred = 786 432·9 + 262 144·4104 + 1 MiB device state
    = 7 077 888 + 1 075 838 976 + 1 048 576 = 1 083 965 440 bytes. Pace per page: the
    migration thread spends 0.75·(4096/8 GiB/s + 9/1.5 GiB/s) + 0.25·4104/1.5 GiB/s
    = 0.999 µs, more than the wire's (0.75·9 + 0.25·4104)/1.25e9 = 0.826 µs, so the pass
    takes ≈ 1 048 576 × 0.999 µs ≈ 1.05 s: bounded by zero scanning, not by the network.
    """
    r = run({"vm": {"memory": "4G"}, "workload": {"zero-fraction": 0.75},
             "parameters": {"max-bandwidth": 0}})
    assert r.ram.duplicate == 786_432
    assert r.ram.normal == 262_144
    assert r.ram.transferred == 1_083_965_440
    page_s = 0.75 * (4096 / (8 * GiB) + 9 / (1.5 * GiB)) + 0.25 * 4104 / (1.5 * GiB)
    assert r.total_time_s == pytest.approx(0.010 + 1_048_576 * page_s, rel=0.05)


@pytest.mark.parametrize("max_bandwidth", [0, 9])
def test_max_bandwidth_zero_or_below_ten_means_unlimited(max_bandwidth: int) -> None:
    """max-bandwidth / 10 = 0 is RATE_LIMIT_DISABLED (§5.2), so 0 and 9 B/s are
    unlimited: an idle 1 GiB guest goes at link speed, 262 144 × 4104 B / 1.25e9 B/s =
    0.861 s, instead of 8 s at the default 128 MiB/s."""
    r = run({"vm": {"memory": "1G"}, "parameters": {"max-bandwidth": max_bandwidth}})
    assert r.total_time_s == pytest.approx(0.010 + 262_144 * 4104 / LINK_Bps, rel=0.02)


def test_downtime_with_and_without_a_return_path() -> None:
    """The idle 1 GiB guest of the first test switches over with 28 884 345 bytes left.

    Without a return path: stop 5 + sync 1 + RAM 23.153 + device 0.839 = 29.991 ms.
    With ``return-path`` the source also waits for the destination's load + vm_start
    (host.resume 5 ms) and half an RTT for SHUT (0.1 ms): 35.091 ms. With
    ``pause-before-switchover`` the operator's migrate-continue (1 ms) is downtime too.
    """
    plain = run({"vm": {"memory": "1G"}})
    rp = run({"vm": {"memory": "1G"}, "capabilities": {"return-path": True}})
    paused = run({"vm": {"memory": "1G"}, "capabilities": {"pause-before-switchover": True}})
    assert plain.downtime_ms == pytest.approx(29.991, abs=1e-3)
    assert plain.downtime_breakdown_ms["return-path"] == 0
    assert rp.downtime_ms - plain.downtime_ms == pytest.approx(5.1, abs=1e-9)
    assert paused.downtime_ms - plain.downtime_ms == pytest.approx(1.0, abs=1e-9)


def test_switchover_ack_waits_while_the_guest_runs() -> None:
    """With switchover-ack the switch waits for the destination (vm.ack-ready 20 s + ½ RTT)
    while the guest keeps running: the idle 1 GiB guest, ready at 7.8 s, switches at ≈ 20 s;
    total time grows, syncs grow (one per window while waiting), downtime does not."""
    plain = run({"vm": {"memory": "1G"}})
    ack = run({"vm": {"memory": "1G", "ack-ready": 20},
               "capabilities": {"return-path": True, "switchover-ack": True}})
    assert ack.total_time_s == pytest.approx(20.0, abs=0.2)
    assert ack.ram.dirty_sync_count > plain.ram.dirty_sync_count
    assert ack.downtime_ms < plain.downtime_ms + 5.1 + 1e-6


def test_run_without_timeout_is_cut_at_the_horizon() -> None:
    """QEMU has no limit of its own: the stuck guest of the hot-set test, with no timeout,
    is cut at the horizon with status active (not cancelled), converged false."""
    r = run({"vm": {"memory": "4G"}, "workload": {"dirty-rate": "1GiB/s", "working-set": "1G"},
             "host": {"link": "1Gbit/s"}, "parameters": {"max-bandwidth": 0}}, horizon_s=300)
    assert r.status == "active"
    assert not r.converged
    assert r.total_time_ms == pytest.approx(300_000)
    assert "horizon" in r.reason


def test_postcopy_capability_without_a_trigger_just_runs_precopy() -> None:
    """postcopy-ram on but no control.postcopy-after: plain precopy, with the return path
    postcopy opens (so downtime includes the destination's 5.1 ms)."""
    r = run({"vm": {"memory": "1G"}, "capabilities": {"postcopy-ram": True}})
    assert r.status == "completed"
    assert r.downtime_ms == pytest.approx(29.991 + 5.1, abs=1e-3)


def test_a_timeout_beyond_the_default_horizon_is_followed() -> None:
    """An idle 1 TiB guest at the default 128 MiB/s drains 13 395 609.6 RAM bytes per 100 ms
    window: 2^40 / 133 956 096 B/s = 8 208 s. With ``control.timeout: 3h`` the simulation
    follows it to the end; without one it stops at the one-hour horizon (status active) and
    says how to look further."""
    done = run({"vm": {"memory": "1T"}, "control": {"timeout": "3h"}}, timeline=False)
    assert done.status == "completed"
    assert done.total_time_s == pytest.approx(2**40 / 133_956_096, rel=1e-3)
    cut = run({"vm": {"memory": "1T"}}, timeline=False)
    assert cut.status == "active"
    assert cut.total_time_s == 3600.0
    assert "control.timeout" in cut.reason

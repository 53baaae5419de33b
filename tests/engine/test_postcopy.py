"""Postcopy (§12): the switch, the background push, page faults, blocktime, exposure.

Defaults used below (sim.scenario.Host): link 10 Gbit/s = 1.25e9 B/s, RTT 200 µs, stop 5 ms,
bitmap sync 1 ms per GiB, device state 1 MiB. A normal page is 8 + 4096 = 4104 wire bytes.
The guest used for most tests does not converge in precopy: 2 GiB/s of random writes over a
2 GiB hot set, while the link drains at most 1.25e9 B/s.

§ numbers are sections of ``docs/qemu-migration.md`` (QEMU's algorithm, with its source files).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from sim.engine import simulate
from sim.engine.postcopy import (
    QEMUFILE_BUFFER_BYTES,
    SOCKET_BUFFER_BYTES,
    fault_latency_s,
    loss_probability,
)
from sim.result import Result
from sim.scenario import load_scenario
from sim.units import GiB, KiB, MiB

LINK_Bps = 1.25e9
RTT_S = 200e-6


def hot_guest(**sections: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "vm": {"memory": "4G", "vcpus": 1},
        "workload": {"dirty-rate": "2GiB/s", "working-set": "2G"},
        "parameters": {"max-bandwidth": 0},
        "control": {"timeout": "10min"},
    }
    for key, value in sections.items():
        data.setdefault(key, {}).update(value)
    return data


def postcopy_run(**sections: dict[str, Any]) -> Result:
    sections.setdefault("capabilities", {}).update({"postcopy-ram": True})
    sections.setdefault("control", {}).update({"postcopy-after": {"passes": 2}})
    return simulate(load_scenario(hot_guest(**sections)))


def test_a_non_converging_precopy_completes_in_postcopy() -> None:
    """Plain precopy runs into the 10-min timeout; with postcopy after 2 passes it completes,
    sends the rest as postcopy-bytes and serves page requests; remaining ends at 0."""
    plain = simulate(load_scenario(hot_guest()))
    assert plain.status == "cancelled"
    r = postcopy_run()
    assert r.status == "completed"
    assert r.converged
    assert r.ram.remaining == 0
    assert r.ram.postcopy_bytes > 0
    assert r.ram.postcopy_requests > 0
    assert r.guest.postcopy_faults == r.ram.postcopy_requests
    assert r.total_time_s < 60
    assert [a.action for a in r.actions] == ["start-postcopy"]
    assert r.actions[0].actor == "operator"
    phases = {row["phase"] for row in r.timeline}
    assert {"precopy", "switchover", "done"} <= phases
    assert any(row["event"] == "postcopy" for row in r.timeline)


def test_switch_downtime_is_stop_sync_discard_and_package() -> None:
    """Postcopy downtime (§12.2) = stop 5 ms + final sync 4 GiB × 1 ms/GiB = 4 ms + discard
    messages + 1 MiB device state / 1.25e9 B/s = 0.839 ms; no RAM and no return-path wait.
    RAM sent during it (downtime-bytes) is 0."""
    r = postcopy_run()
    parts = r.downtime_breakdown_ms
    assert parts["stop"] == pytest.approx(5.0)
    assert parts["final-sync"] == pytest.approx(4.0)
    assert parts["device-state"] == pytest.approx(MiB / LINK_Bps * 1000)
    assert 0 <= parts["discard"] < 2.0
    assert "ram" not in parts
    assert "return-path" not in parts
    assert r.downtime_ms == pytest.approx(sum(parts.values()))
    assert r.ram.downtime_bytes == 0


def test_fault_latency_by_hand() -> None:
    """Without preempt behind a link-saturating push: RTT + (32 KiB QEMUFile buffer + 4 MiB
    socket buffer + 4104 B)/link = 200 µs + 4 231 176 B / 1.25e9 = 3.585 ms; with preempt:
    RTT + 4104 B at half the link = 200 µs + 6.566 µs = 206.6 µs; a 2 MiB page carries
    512 headers: 2 101 248 B."""
    busy = fault_latency_s(page_bytes=4 * KiB, rtt_s=RTT_S, link_Bps=LINK_Bps,
                           background_Bps=LINK_Bps, preempt=False)
    assert busy == pytest.approx(RTT_S + (QEMUFILE_BUFFER_BYTES + SOCKET_BUFFER_BYTES + 4104)
                                 / LINK_Bps)
    assert busy * 1000 == pytest.approx(3.585, abs=1e-3)
    pre = fault_latency_s(page_bytes=4 * KiB, rtt_s=RTT_S, link_Bps=LINK_Bps,
                          background_Bps=LINK_Bps, preempt=True)
    assert pre == pytest.approx(RTT_S + 4104 / (LINK_Bps / 2))
    idle = fault_latency_s(page_bytes=4 * KiB, rtt_s=RTT_S, link_Bps=LINK_Bps,
                           background_Bps=0.0, preempt=False)
    assert idle == pytest.approx(RTT_S + (QEMUFILE_BUFFER_BYTES + 4104) / LINK_Bps)
    huge = fault_latency_s(page_bytes=2 * MiB, rtt_s=RTT_S, link_Bps=LINK_Bps,
                           background_Bps=0.0, preempt=False)
    assert huge == pytest.approx(RTT_S + (QEMUFILE_BUFFER_BYTES + 2 * MiB + 512 * 8) / LINK_Bps)


@pytest.mark.parametrize("page", ["2MiB", "1GiB"])
def test_huge_pages_make_each_fault_costlier(page: str) -> None:
    """Each fault fetches a whole host page: the mean fault latency grows from ~3.6 ms
    (4 KiB) to ~5 ms (2 MiB: + 2 MiB/1.25e9 = 1.68 ms) and ~0.86 s (1 GiB: 1 GiB/1.25e9),
    the docs' "~1 second per 1GB hugepage at 10Gbps"; partly dirty huge pages are re-sent
    whole, so more bytes go in postcopy."""
    small = postcopy_run()
    big = postcopy_run(vm={"page-size": page})
    assert big.guest.postcopy_latency_ms > small.guest.postcopy_latency_ms
    expected_ms = (RTT_S + (QEMUFILE_BUFFER_BYTES + 4104 / 4096 * (2 * MiB if page == "2MiB"
                   else GiB)) / LINK_Bps) * 1000
    assert big.guest.postcopy_latency_ms >= expected_ms * 0.99
    assert big.ram.postcopy_bytes > small.ram.postcopy_bytes
    assert big.guest.postcopy_blocktime_ms / max(big.ram.postcopy_requests, 1) > \
        small.guest.postcopy_blocktime_ms / small.ram.postcopy_requests


def test_preempt_lowers_fault_latency_under_a_busy_background_stream() -> None:
    """With the push saturating the link, a request on the main channel waits behind the
    socket buffer (~3.6 ms); on the preempt channel it takes ~RTT (0.21 ms), and the guest
    is blocked for less time."""
    plain = postcopy_run()
    pre = postcopy_run(capabilities={"postcopy-preempt": True})
    assert plain.guest.postcopy_latency_ms == pytest.approx(3.585, rel=0.01)
    assert pre.guest.postcopy_latency_ms == pytest.approx(0.2066, rel=0.01)
    assert pre.guest.postcopy_blocktime_ms < plain.guest.postcopy_blocktime_ms


def test_one_vcpu_every_fault_blocks_the_guest() -> None:
    """With one vCPU, blocktime (all vCPUs blocked) equals the vCPU's own blocked time, and
    is Σ latencies; with four vCPUs the all-blocked time is at most a quarter of the sum."""
    one = postcopy_run()
    g = one.guest
    assert g.postcopy_blocktime_ms == pytest.approx(g.postcopy_vcpu_blocktime_ms)
    # (≈: requests are rounded to whole ones, and the last fault may find its page arriving)
    assert g.postcopy_blocktime_ms == pytest.approx(g.postcopy_latency_ms * g.postcopy_faults,
                                                    rel=5e-3)
    four = postcopy_run(vm={"vcpus": 4}).guest
    assert four.postcopy_blocktime_ms <= four.postcopy_vcpu_blocktime_ms / 4 + 1e-9


def test_exposure_and_loss_probability() -> None:
    """Exposure runs from the package to the end; with 2 failures per hour the chance of a
    failure in it is 1 − exp(−2 × exposure/3600); without a failure rate it is 0."""
    r = postcopy_run(host={"link-failure-rate": 2})
    g = r.guest
    switch_row = next(row for row in r.timeline if row["event"] == "postcopy")
    assert g.exposure_s == pytest.approx(r.total_time_s - switch_row["time_s"]
                                         - r.downtime_ms / 1000, rel=1e-9)
    assert g.loss_probability == pytest.approx(1 - math.exp(-2 * g.exposure_s / 3600))
    assert postcopy_run().guest.loss_probability == 0.0
    assert loss_probability(rate_per_hour=1.0, exposure_s=3600.0) == pytest.approx(1 - 1 / math.e)


def test_max_postcopy_bandwidth_slows_the_push() -> None:
    """Capping the push at 100 MiB/s lengthens the postcopy phase (and the exposure) about
    tenfold against the 1.25e9 B/s link."""
    fast = postcopy_run()
    slow = postcopy_run(parameters={"max-postcopy-bandwidth": 100 * MiB})
    assert slow.guest.exposure_s > 8 * fast.guest.exposure_s


def test_blocktime_is_reported_only_with_the_capability() -> None:
    """``postcopy-blocktime`` appears in query-migrate only with the capability (§12.5); the
    guest block always carries the model's estimate."""
    without = postcopy_run()
    with_cap = postcopy_run(capabilities={"postcopy-blocktime": True})
    assert without.postcopy_blocktime_ms is None
    assert "postcopy-blocktime" not in without.to_dict()
    assert with_cap.postcopy_blocktime_ms == pytest.approx(with_cap.guest.postcopy_blocktime_ms)
    assert with_cap.to_dict()["postcopy-blocktime"] == round(with_cap.postcopy_blocktime_ms)


def test_postcopy_after_seconds_and_an_idle_guest() -> None:
    """``postcopy-after: {seconds: 2}`` switches at 2 s; an idle guest never faults."""
    data = {"vm": {"memory": "8G"}, "capabilities": {"postcopy-ram": True},
            "control": {"postcopy-after": {"seconds": 2}}}
    r = simulate(load_scenario(data))
    assert r.status == "completed"
    assert r.actions[0].time_s == pytest.approx(2.0)
    assert r.ram.postcopy_requests == 0
    assert r.guest.postcopy_blocktime_ms == 0.0
    assert r.ram.postcopy_bytes > 0


def test_preempt_opens_its_channel_before_the_vm_stops() -> None:
    """The preempt channel costs 2 RTT before the stop, in total time, not in downtime."""
    plain = postcopy_run()
    pre = postcopy_run(capabilities={"postcopy-preempt": True})
    assert pre.downtime_ms == pytest.approx(plain.downtime_ms)
    t_plain = next(row["time_s"] for row in plain.timeline if row["event"] == "postcopy")
    t_pre = next(row["time_s"] for row in pre.timeline if row["event"] == "postcopy")
    assert t_pre - t_plain == pytest.approx(2 * RTT_S)

"""The closed-form fast path and the window-by-window reference tell the same story.

The fast path skips repeated windows inside a pass and whole cycles of passes once the run
repeats itself; the reference (``sim.engine.reference``) steps every ≤ 50 ms send quantum and
every 100 ms window. Window jumps are exact (every counter is linear in the number of
identical windows), so converging runs agree to rounding; steady-state jumps on
non-converging runs match cycles within 1e-3, so they agree within a fraction of a percent.
"""

from __future__ import annotations

from typing import Any

import pytest

from sim.engine import simulate
from sim.engine.reference import simulate_reference
from sim.scenario import load_scenario

CONVERGING: dict[str, dict[str, Any]] = {
    "rate-limited idle": {"vm": {"memory": "2G"}},
    "unlimited, random writes": {
        "vm": {"memory": "16G"}, "workload": {"dirty-rate": "300MiB/s"},
        "parameters": {"max-bandwidth": 0}},
    "auto-converge": {
        "vm": {"memory": "16G"}, "workload": {"dirty-rate": "2GiB/s", "working-set": "8G"},
        "parameters": {"max-bandwidth": 0}, "capabilities": {"auto-converge": True}},
    "multifd zstd": {
        "vm": {"memory": "8G"}, "workload": {"dirty-rate": "200MiB/s", "working-set": "2G"},
        "parameters": {"max-bandwidth": 0, "multifd-compression": "zstd",
                       "multifd-channels": 4},
        "capabilities": {"multifd": True}},
    "xbzrle": {
        "vm": {"memory": "8G"}, "workload": {"dirty-rate": "100MiB/s", "working-set": "1G"},
        "capabilities": {"xbzrle": True}},
    "zero pages at the top of RAM, rate-limited": {
        "vm": {"memory": "4G"},
        "workload": {"dirty-rate": "20MiB/s", "working-set": "256M", "pattern": "sequential",
                     "zero-fraction": 0.8, "zero-layout": "end"},
        "parameters": {"max-bandwidth": 67108864, "downtime-limit": 500}},
    "zero pages at the top of RAM, unlimited": {
        "vm": {"memory": "16G"},
        "workload": {"dirty-rate": "300MiB/s", "zero-fraction": 0.6, "zero-layout": "end"},
        "parameters": {"max-bandwidth": 0}},
    "memcached curve, 9.2+ periodic sync": {
        "qemu": "10.1", "vm": {"memory": "32G"}, "workload": {"preset": "memcached"},
        "host": {"link": "5Gbit/s"}, "parameters": {"max-bandwidth": 0, "downtime-limit": 5000},
        "capabilities": {"auto-converge": True}},
}


@pytest.mark.parametrize("name", list(CONVERGING))
def test_fast_path_matches_reference_on_converging_runs(name: str) -> None:
    """Same status, same number of syncs, same throttle, and time/bytes equal to 1e-9."""
    sc = load_scenario(CONVERGING[name])
    fast, ref = simulate(sc, timeline=False), simulate_reference(sc)
    assert fast.status == ref.status == "completed"
    assert fast.ram.dirty_sync_count == ref.ram.dirty_sync_count
    assert fast.guest.throttle_peak_pct == ref.guest.throttle_peak_pct
    assert fast.total_time_ms == pytest.approx(ref.total_time_ms, rel=1e-9)
    assert fast.downtime_ms == pytest.approx(ref.downtime_ms, rel=1e-9)
    assert fast.ram.transferred == pytest.approx(ref.ram.transferred, rel=1e-9)


def test_fast_path_matches_reference_on_a_stuck_run() -> None:
    """A 64 GiB guest with a 4 GiB hot set rewritten at 1 GiB/s on 10 Gbit/s, cut by a
    10-minute timeout: the pending bytes saw-tooth around ~600 MB in a cycle of several
    passes. The fast path skips whole cycles; syncs and bytes agree within 0.5 %."""
    sc = load_scenario({"vm": {"memory": "64G"},
                        "workload": {"dirty-rate": "1GiB/s", "working-set": "4G"},
                        "parameters": {"max-bandwidth": 0}, "control": {"timeout": "10min"}})
    fast, ref = simulate(sc, timeline=False), simulate_reference(sc)
    assert fast.status == ref.status == "cancelled"
    assert fast.total_time_ms == ref.total_time_ms == pytest.approx(600_000)
    assert fast.ram.dirty_sync_count == pytest.approx(ref.ram.dirty_sync_count, rel=0.005)
    assert fast.ram.transferred == pytest.approx(ref.ram.transferred, rel=0.005)
    assert fast.plateau_bytes == pytest.approx(ref.plateau_bytes, rel=0.03)


def test_nova_downtime_step_ends_a_stuck_run_on_both_paths() -> None:
    """Issue 13: the fast path jumped 2997 passes right after Nova raised the limit.

    Hand calculation (nova/virt/libvirt/migration.py ``downtime_steps``; 4 GiB guest):
    delay = int(75 s/GiB × 4 GiB) = 300 s, base = 500/10 = 50 ms, offset = (500 − 50)/10
    = 45 ms, so step i is 50 + 45·i ms at 300·i s, applied at the first 0.5 s monitor poll
    after it. With max-bandwidth = 128 MiB/s the threshold is 128 MiB/s × limit: step 7
    (365 ms, 2100.5 s) gives 46.7 MiB, under the 48 MiB hot set that the sequential sweep
    (500 MiB/s) re-dirties every pass, so the run stays stuck; step 8 (410 ms, 2400.5 s)
    gives 52.5 MiB > 48 MiB, so the first window closed after 2400.5 s (≤ 100 ms later)
    lets the next check sync (4 ms: 1 ms/GiB) and switch over (migration.c
    ``migration_iteration_run``); a sync already under way at 2400.5 s may delay it 4 ms.
    """
    sc = load_scenario({"vm": {"memory": "4GiB"},
                        "workload": {"pattern": "sequential", "working-set": "48MiB",
                                     "dirty-rate": "500MiB/s"},
                        "control": {"policy": {"kind": "nova", "live_migration_bandwidth": 128}}})
    mib = 1 << 20
    assert 128 * mib * 0.365 < 48 * mib < 128 * mib * 0.410
    for result in (simulate(sc, timeline=False), simulate_reference(sc)):
        assert result.status == "completed"
        steps = [(a.time_s, a.value) for a in result.actions if a.action == "set-downtime-limit"]
        assert steps[-1] == (pytest.approx(2400.5), 410.0)
        assert 2400.5 < result.total_time_s < 2400.5 + 0.1 + 2 * 0.004 + result.downtime_ms / 1000
        assert result.downtime_ms < 410.0


def test_no_jump_crosses_the_switchover_ack() -> None:
    """Found by the differential test: a guest whose pending bytes are under the threshold
    long before the destination can acknowledge (``switchover-ack``, ``vm.ack-ready`` 5 s)
    waits in a steady cycle; the fast path jumped that cycle to the one-hour horizon.

    Hand calculation: 8 GiB, 70 % zero pages at the top, max-bandwidth 1 GiB/s: the first
    pass sends 2.4 GiB of data in ~2.4 s (the zero pages cost 9 bytes each), then the
    threshold is ~1 GiB/s × 1 s, far above what 50 MiB/s re-dirties, so switchover waits
    only for the ack at 5 s + rtt/2 (migration.c ``migration_can_switchover``) and happens
    within the next 100 ms window.
    """
    sc = load_scenario({"qemu": "8.1", "vm": {"memory": "8GiB", "vcpus": 4, "ack-ready": "5s"},
                        "workload": {"dirty-rate": "50MiB/s", "zero-fraction": 0.7,
                                     "zero-layout": "end"},
                        "host": {"link": "25Gbit/s"},
                        "capabilities": {"switchover-ack": True, "return-path": True},
                        "parameters": {"max-bandwidth": 1073741824, "downtime-limit": 1000}})
    for result in (simulate(sc, timeline=False), simulate_reference(sc)):
        assert result.status == "completed"
        switch_s = result.total_time_s - result.downtime_ms / 1000
        assert 5.0 < switch_s <= 5.0 + 0.1 + 1e-6

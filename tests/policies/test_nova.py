"""Nova: the downtime step schedule worked by hand, the completion timeout and its actions."""

from __future__ import annotations

import pytest

from sim.policies.base import read_options
from sim.policies.nova import OPTIONS as NOVA
from sim.policies.nova import NovaPolicy, data_gib, downtime_steps, poll_after
from sim.result import Result
from sim.units import GiB
from tests.policies.conftest import run


@pytest.mark.parametrize(("memory_gib", "expected"), [
    # 1 GiB counts as 2 GiB: delay = int(75 × 2) = 150 s; base = 500/10 = 50 ms,
    # offset = (500 − 50)/10 = 45 ms → 50, 95, 140, … 500 ms every 150 s.
    (1, [(150 * i, 50 + 45 * i) for i in range(11)]),
    # 4 GiB: delay 300 s → 500 ms at 3000 s (docs/management-policies.md §3.4's example).
    (4, [(300 * i, 50 + 45 * i) for i in range(11)]),
    # 16 GiB: delay 1200 s → 500 ms at 12 000 s.
    (16, [(1200 * i, 50 + 45 * i) for i in range(11)]),
    # 1.5 GiB → 2 GiB as well.
    (1.5, [(150 * i, 50 + 45 * i) for i in range(11)]),
])
def test_default_step_schedule_by_hand(memory_gib: float, expected: list[tuple[int, int]]) -> None:
    """Nova's defaults (500 ms, 10 steps, 75 s/GiB) reproduce the hand-computed table."""
    steps = downtime_steps(data_gib=data_gib(memory_gib * GiB), downtime_ms=500, steps=10,
                           delay_s_per_gib=75)
    assert steps == expected


def test_custom_step_schedule_by_hand() -> None:
    """6 GiB, 400 ms in 3 steps, 10 s/GiB: delay = 60 s, base = 133.33, offset = 88.89 →
    int(133.33) = 133, int(222.22) = 222, int(311.11) = 311, int(400.0) = 400."""
    assert downtime_steps(data_gib=6.0, downtime_ms=400, steps=3, delay_s_per_gib=10) == \
        [(0, 133), (60, 222), (120, 311), (180, 400)]


def test_steps_and_timeout_land_on_the_half_second_polls() -> None:
    """The monitor polls every 0.5 s and acts once elapsed > the step time: 300 → 300.5 s;
    the completion timeout for 4 GiB is int(800 × 4) = 3200 s → acted on at 3200.5 s."""
    assert poll_after(0) == 0.0
    assert poll_after(300) == 300.5
    assert poll_after(300.2) == 300.5
    policy = NovaPolicy(read_options({}, NOVA))
    schedule = policy.schedule(4 * GiB)
    assert schedule[1] == (300.5, "downtime", 95.0)
    assert schedule[-1] == (3200.5, "timeout", 3200.0)


def test_nova_aborts_a_migration_that_would_run_forever(plain: Result) -> None:
    """Without a policy the stuck guest runs to the horizon; under Nova's defaults (and
    libvirt's unlimited speed) the steps reach 500 ms without converging and the timeout
    aborts it at 3200.5 s; every step is in the actions and the timeline."""
    assert plain.status == "active"
    r = run({"kind": "nova"})
    assert r.status == "cancelled"
    assert r.total_time_s == pytest.approx(3200.5)
    assert [a.value for a in r.actions[:11]] == [50.0 + 45 * i for i in range(11)]
    assert r.actions[1].time_s == pytest.approx(300.5)
    assert r.actions[-1].action == "cancel"
    assert r.actions[-1].time_s == pytest.approx(3200.5)
    events = [row["event"] for row in r.timeline]
    assert "nova: set-downtime-limit 95" in events
    assert "nova: cancel" in events


def test_force_complete_switches_to_postcopy_when_permitted(plain: Result) -> None:
    """``force_complete`` with post-copy permitted: Nova set postcopy-ram before migrate, and
    at the timeout (60 s/GiB × 4 = 240 s → 240.5 s) it starts postcopy, which completes."""
    r = run({"kind": "nova", "live_migration_completion_timeout": 60,
             "live_migration_timeout_action": "force_complete",
             "live_migration_permit_post_copy": True})
    assert r.status == "completed"
    start = [a for a in r.actions if a.action == "start-postcopy"]
    assert len(start) == 1
    assert start[0].time_s == pytest.approx(240.5)
    assert r.ram.postcopy_bytes > 0


def test_force_complete_pauses_without_postcopy() -> None:
    """Without post-copy, ``force_complete`` pauses the guest; it stops dirtying, precopy
    converges, and the paused time is reported."""
    r = run({"kind": "nova", "live_migration_completion_timeout": 60,
             "live_migration_timeout_action": "force_complete"})
    assert r.status == "completed"
    assert [a.action for a in r.actions][-1] == "pause"
    assert r.guest.paused_s > 0


def test_permit_auto_converge_is_set_before_migrate() -> None:
    """``live_migration_permit_auto_converge`` turns the capability on (post-copy not
    permitted), so the throttle shows up in the guest's bill."""
    r = run({"kind": "nova", "live_migration_permit_auto_converge": True})
    assert r.guest.throttle_peak_pct > 0


def test_the_summary_shows_the_settings_the_policy_starts_with() -> None:
    """Nova migrates with ``live_migration_bandwidth = 0`` (no cap) whatever the scenario's
    128 MiB/s says, so the summary's link line shows "unlimited" and says why; the scenario
    alone shows 128 MiB/s."""
    from sim.engine import simulate
    from sim.scenario import load_scenario
    from sim.summary import describe

    data = {"vm": {"memory": "16GiB", "vcpus": 4},
            "workload": {"dirty-rate": "300MiB/s", "working-set": "4GiB"}}
    with_policy = load_scenario({**data, "control": {"policy": {"kind": "nova"}}})
    text = describe(with_policy, simulate(with_policy, timeline=False))
    assert "max-bandwidth unlimited" in text
    assert "as the policy sets them" in text
    plain = load_scenario(data)
    assert "max-bandwidth 128 MiB/s" in describe(plain, simulate(plain, timeline=False))

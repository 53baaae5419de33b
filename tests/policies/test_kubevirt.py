"""KubeVirt: the completion budget, the progress watchdog, forced completion, the ramp."""

from __future__ import annotations

import itertools

import pytest

from sim.policies.kubevirt import acceptable_completion_s, k8s_quantity_Bps
from sim.result import Result
from sim.units import GiB, MiB
from tests.policies.conftest import run


@pytest.mark.parametrize(("memory_gib", "per_gib", "expected_s"), [
    (4, 150, 600.0),     # today's default: 150 s/GiB × 4 GiB
    (16, 150, 2400.0),   # VEP 248's complaint: a 16 GiB VM may run 40 min
    (16, 20, 320.0),     # HCO PR #4426's proposed 20 s/GiB
    (4, 800, 3200.0),    # older releases' 800 s/GiB
])
def test_acceptable_completion_time_by_hand(memory_gib: int, per_gib: int,
                                            expected_s: float) -> None:
    """``acceptableCompletionTime = completionTimeoutPerGiB × GiB``."""
    assert acceptable_completion_s(memory_bytes=memory_gib * GiB, per_gib=per_gib) == expected_s


def test_quantities() -> None:
    """``64Mi`` = 64 MiB/s, ``1G`` = 1e9 B/s, ``0Mi`` = 0 (unlimited)."""
    assert k8s_quantity_Bps("64Mi") == 64 * MiB
    assert k8s_quantity_Bps("1G") == 1e9
    assert k8s_quantity_Bps("0Mi") == 0.0


def test_progress_watchdog_aborts_a_stuck_migration(plain: Result) -> None:
    """The passes stop reaching a new low of remaining data; once more than 150 s pass
    without one (``int(now − lastProgress) > 150``), the monitor aborts with KubeVirt's
    message, well before the 600 s budget."""
    assert plain.status == "active"
    r = run({"kind": "kubevirt"})
    assert r.status == "cancelled"
    (cancel,) = r.actions
    assert cancel.reason.startswith("Live migration stuck for 151 seconds")
    assert 150 < r.total_time_s < 600


def test_completion_budget_aborts_at_the_first_poll_past_it() -> None:
    """10 s/GiB × 4 GiB = 40 s; polls every 0.4 s and ``int(elapsed) > 40`` → 41.2 s."""
    r = run({"kind": "kubevirt", "completionTimeoutPerGiB": 10, "progressTimeout": 0})
    assert r.status == "cancelled"
    assert r.actions[-1].time_s == pytest.approx(41.2)
    assert "not completed after 40 seconds" in r.actions[-1].reason


def test_allow_post_copy_completes_at_the_budget() -> None:
    """With ``allowPostCopy`` (disruption follows it), the budget starts postcopy instead
    of aborting, and the migration completes."""
    r = run({"kind": "kubevirt", "completionTimeoutPerGiB": 10, "progressTimeout": 0,
             "allowPostCopy": True})
    assert r.status == "completed"
    assert [a.action for a in r.actions] == ["start-postcopy"]
    assert r.actions[0].time_s == pytest.approx(41.2)


def test_workload_disruption_without_postcopy_pauses_then_completes() -> None:
    """``allowWorkloadDisruption`` without postcopy pauses the guest at the budget; a
    paused guest dirties nothing, so precopy completes before the 2× hard abort."""
    r = run({"kind": "kubevirt", "completionTimeoutPerGiB": 10, "progressTimeout": 0,
             "allowWorkloadDisruption": True})
    assert r.status == "completed"
    assert [a.action for a in r.actions] == ["pause"]
    assert r.guest.paused_s > 0


def test_downtime_ramp_converges(plain: Result) -> None:
    """VEP 291's ramp: 150 ms at the start, then after iteration 3 steps of (900 − 150)/7
    at most every 10 s; it reaches a limit that lets the stuck guest converge."""
    r = run({"kind": "kubevirt", "progressTimeout": 0,
             "downtimeTuning": {"initialMs": 150, "steps": 7, "startAfterIteration": 3,
                                "cooldownSeconds": 10, "maxMs": 5000}})
    assert plain.status == "active"
    assert r.status == "completed"
    values = [a.value for a in r.actions if a.action == "set-downtime-limit"]
    assert values[0] == 150.0
    assert values[1] == pytest.approx(150 + 4850 / 7, abs=1)
    times = [a.time_s for a in r.actions]
    assert all(b - a >= 10 for a, b in itertools.pairwise(times))

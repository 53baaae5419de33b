"""Every simulation ends within a work budget, with a clear reason (issue 12, item 3).

The engine counts its steps (loop passes and controller stops) against
``WORK_BASE + WORK_PER_S × simulated seconds``, at most ``WORK_MAX``
(:mod:`sim.engine.constants`). A run that exceeds it ends as ``failed`` with a reason
naming the budget, instead of hanging, growing without bound or raising.
"""

from __future__ import annotations

import dataclasses
import time

import pytest

from sim import InvalidScenarioError
from sim.engine import simulate
from sim.engine.constants import TIMELINE_MAX_ROWS, WORK_MAX
from sim.engine.loop import MigrationLoop
from sim.policies import build_policy
from sim.scenario import load_scenario


def test_a_link_of_1e_308_bytes_per_second_ends() -> None:
    """``host.link: 1e-308`` looped forever in ``_send_quantum``: nothing could be sent and
    the idle step waited until a switchover-ack time of 0. Built past validation (which
    will refuse rates under 1 B/s) to check the engine itself is safe: no byte leaves, the
    clock still advances a window at a time, and the run is cut at the one-hour horizon."""
    sc = load_scenario({"vm": {"memory": "1GiB"}})
    sc = dataclasses.replace(sc, host=sc.host.model_copy(update={"link_Bps": 1e-308}))
    t0 = time.perf_counter()
    r = simulate(sc, timeline=False)
    assert time.perf_counter() - t0 < 10.0
    assert r.status == "active"
    assert r.total_time_s == 3600.0 or abs(r.total_time_s - 3600.0) < 1e-6
    assert r.ram.transferred < 1.0


def test_a_nanosecond_poller_is_refused_and_the_fastest_one_ends() -> None:
    """``poll-s: 1ns`` ran > 300 s. It is refused when the scenario loads and again when a
    policy is built from a mapping (:func:`sim.policies.build_policy`), so the engine never
    sees it; the fastest poller accepted (one 100 ms window) on a 30-day run that never
    converges ends within the budget (50 000 steps + 2 000 per simulated second)."""
    rules = [{"when": {"after-s": 10**6}, "do": {"cancel": True}}]
    with pytest.raises(InvalidScenarioError, match="at least 100ms"):
        load_scenario({"vm": {"memory": "1GiB"}, "control": {"policy": {
            "kind": "custom", "poll-s": "1ns", "rules": rules}}})
    with pytest.raises(InvalidScenarioError, match="at least 100ms"):
        build_policy({"kind": "custom", "poll-s": 1e-9, "rules": rules})
    sc = load_scenario({"vm": {"memory": "16GiB"},
                        "workload": {"dirty-rate": "4GiB/s", "working-set": "8GiB"},
                        "control": {"timeout": "720h", "policy": {
                            "kind": "custom", "poll-s": "100ms", "rules": rules}}})
    t0 = time.perf_counter()
    r = simulate(sc, timeline=False)
    assert time.perf_counter() - t0 < 60.0
    assert not r.converged
    assert r.status in ("failed", "cancelled")


def test_a_16_tib_guest_followed_for_30_days_by_a_polling_policy_ends() -> None:
    """16 TiB, 30-day timeout, KubeVirt's 400 ms monitor with both of its timeouts off: the
    monitor would stop the run 6.5 million times. It ends on ``WORK_MAX`` with the reason,
    its timeline bounded."""
    sc = load_scenario({"vm": {"memory": "16TiB"},
                        "workload": {"dirty-rate": "1GiB/s", "working-set": "1TiB"},
                        "control": {"timeout": "720h", "policy": {
                            "kind": "kubevirt", "progressTimeout": 0,
                            "completionTimeoutPerGiB": 0}}})
    t0 = time.perf_counter()
    r = simulate(sc)
    assert time.perf_counter() - t0 < 60.0
    assert r.status == "failed"
    assert f"at most {WORK_MAX:,}" in r.reason
    assert 0 < r.total_time_s < 30 * 86400
    assert len(r.timeline) <= TIMELINE_MAX_ROWS + 1000


def test_the_timeline_is_thinned_past_its_cap_keeping_every_event() -> None:
    """Past ``TIMELINE_MAX_ROWS`` rows every other coarse sample goes and sampling halves;
    rows that carry an event (syncs, actions) all stay."""
    loop = MigrationLoop(load_scenario({"vm": {"memory": "1GiB"}}))
    loop.s.rows[:] = [{"time_s": float(i), "event": "sync" if i % 10 == 0 else ""}
                      for i in range(TIMELINE_MAX_ROWS + 1)]
    loop.trim_timeline()
    rows = loop.s.rows
    assert len(rows) <= TIMELINE_MAX_ROWS * 0.6
    assert sum(r["event"] == "sync" for r in rows) == TIMELINE_MAX_ROWS // 10 + 1
    assert [r["time_s"] for r in rows] == sorted(r["time_s"] for r in rows)
    assert loop.sample_s == 2.0
    loop.trim_timeline()  # under the cap now: untouched
    assert loop.s.rows == rows

"""oVirt schedules, Proxmox's doubling, the plain downtime ramp and the custom rules."""

from __future__ import annotations

import itertools

import pytest

from sim.policies.proxmox import xbzrle_cache_bytes
from sim.result import Result
from sim.units import GiB, MiB
from tests.policies.conftest import run


def test_ovirt_minimal_downtime_climbs_its_ladder_then_aborts(plain: Result) -> None:
    """``setDowntime 100`` at the start, then 150/200/300/400/500 ms as stalled iterations
    pass the limits 1/2/3/4/6 (one rung per 10 s monitor tick), then ``abort``: a run that
    would go on forever is stopped."""
    r = run({"kind": "ovirt"})
    assert plain.status == "active"
    assert r.status == "cancelled"
    values = [a.value for a in r.actions if a.action == "set-downtime-limit"]
    assert values == [100.0, 150.0, 200.0, 300.0, 400.0, 500.0]
    assert r.actions[-1].action == "cancel"
    assert all(a.time_s == pytest.approx(round(a.time_s / 10) * 10, abs=0.011)
               for a in r.actions)


def test_ovirt_suspend_workload_converges(plain: Result) -> None:
    """*Suspend workload if needed* adds XBZRLE and larger rungs; the stuck guest completes."""
    r = run({"kind": "ovirt", "schedule": "suspend-workload"})
    assert plain.status == "active"
    assert r.status == "completed"
    assert r.xbzrle_cache is not None


def test_proxmox_doubles_its_downtime_until_it_converges(plain: Result) -> None:
    """Proxmox sets 100 ms, auto-converge, XBZRLE with a 256 MiB cache (10 % of 4 GiB
    = 409.6 MiB → 2^28) and 8192 MiB/s before migrate; more than five polls where remaining
    grew double the limit to 200 ms; the stuck guest completes."""
    assert xbzrle_cache_bytes(4 * GiB) == 256 * MiB
    r = run({"kind": "proxmox"})
    assert plain.status == "active"
    assert r.status == "completed"
    values = [a.value for a in r.actions]
    assert values
    assert values[0] == 200.0
    assert all(b == 2 * a for a, b in itertools.pairwise(values))
    assert r.xbzrle_cache is not None


def test_plain_downtime_ramp() -> None:
    """``kind: downtime-ramp`` runs the same ramp alone: 150 ms, then 7 linear steps."""
    r = run({"kind": "downtime-ramp", "maxMs": 1200}, parameters={"max-bandwidth": 0})
    values = [a.value for a in r.actions]
    assert values[0] == 150.0
    assert values[1:] == [round(150 + 1050 * i / 7) for i in range(1, len(values))]


def test_custom_rules_change_the_outcome(plain: Result) -> None:
    """Rules lifting the bandwidth cap after 3 passes and raising the limit to 5 s after 4
    make the stuck guest converge; each action is recorded at a whole-second poll."""
    r = run({"kind": "custom", "rules": [
        {"when": {"passes-at-least": 3}, "do": {"set-max-bandwidth": 0}},
        {"when": {"passes-at-least": 4}, "do": {"set-downtime-limit": 5000}},
        {"when": {"after-s": "10min"}, "do": {"cancel": True}}]})
    assert plain.status == "active"
    assert r.status == "completed"
    assert [(a.action, a.value) for a in r.actions] == [("set-max-bandwidth", 0.0),
                                                         ("set-downtime-limit", 5000.0)]
    assert all(a.time_s == pytest.approx(round(a.time_s)) for a in r.actions)


def test_custom_cancel_and_no_progress() -> None:
    """``no-progress-s`` fires once remaining has not hit a new low for that long."""
    r = run({"kind": "custom", "rules": [{"when": {"no-progress-s": 30}, "do": {"cancel": True}}]})
    assert r.status == "cancelled"
    assert r.actions[0].reason.startswith("rule 0: no-progress-s=30")


def test_custom_start_postcopy_is_refused_without_the_capability() -> None:
    """QEMU refuses ``migrate-start-postcopy`` without ``postcopy-ram``; the action is
    recorded with QEMU's words and nothing changes."""
    r = run({"kind": "custom", "rules": [{"when": {"after-s": 5}, "do": {"start-postcopy": True}},
                                         {"when": {"after-s": 20}, "do": {"cancel": True}}]})
    assert r.status == "cancelled"
    assert "Enable postcopy with migrate_set_capability before the start of migration" in \
        r.actions[0].reason


def test_custom_setup_and_file(tmp_path: object) -> None:
    """The shipped example file sets postcopy-ram in its setup and starts postcopy when the
    migration stalls; the stuck guest completes in postcopy."""
    r = run({"kind": "custom", "file": "custom-postcopy-on-stall"})
    assert r.status == "completed"
    assert r.ram.postcopy_bytes > 0

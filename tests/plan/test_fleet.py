"""Host drains: hand-worked schedules, fair link sharing, limits, orders and inventories."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest

from sim.engine import simulate
from sim.fleet import (
    FleetError,
    Inventory,
    Limits,
    fair_shares,
    load_inventory,
    plan_drain,
    with_link,
)
from sim.result import RamStats, Result
from sim.scenario import Scenario, load_scenario, set_path

FLEETS = Path(__file__).resolve().parents[2] / "data" / "fleets"


def fluid(scenario: Scenario, seed: int | None) -> Result:
    """A pure transfer: memory / link seconds, 7 ms downtime (hand-checkable stand-in)."""
    t_s = scenario.vm.memory_bytes / scenario.host.link_Bps
    return Result(status="completed", converged=True, total_time_ms=t_s * 1000,
                  downtime_ms=7.0, setup_time_ms=0.0, expected_downtime_ms=7.0,
                  ram=RamStats(transferred=scenario.vm.memory_bytes,
                               total=scenario.vm.memory_bytes),
                  seed=scenario.seed if seed is None else seed)


def two_hosts(**extra: Any) -> dict[str, Any]:
    """Host A (1e9 B/s): a1 4e9 B, a2 2e9 B; host B (1e9 B/s): b1 3e9 B; idle guests."""
    return {
        "defaults": {"parameters": {"max-bandwidth": 0}},
        "hosts": {"A": {"link": "8Gbit/s"}, "B": {"link": "8Gbit/s"}},
        "vms": [
            {"name": "a1", "host": "A", "memory": 4_000_000_000 - 4_000_000_000 % 4096},
            {"name": "a2", "host": "A", "memory": 2_000_000_000 - 2_000_000_000 % 4096},
            {"name": "b1", "host": "B", "memory": 3_000_000_000 - 3_000_000_000 % 4096},
        ],
    } | extra


def test_fair_shares_give_capped_demand_its_cap_and_split_the_rest() -> None:
    """10 B/s among demands 1, ∞, ∞ → 1, then (10 − 1)/2 = 4.5 each."""
    assert fair_shares(10.0, [1.0, math.inf, math.inf]) == [1.0, 4.5, 4.5]
    assert fair_shares(10.0, [math.inf, math.inf]) == [5.0, 5.0]
    assert fair_shares(10.0, [20.0]) == [10.0]


@pytest.mark.parametrize(("host", "caps", "demand_Bps"), [
    ({}, {}, 1.5 * 2**30),
    ({"first-touch-rate": "300MiB/s"}, {}, 300 * 2**20 * 4104 / 4096),
    ({"first-touch-rate": "300MiB/s", "migration-cpus": 2}, {"multifd": True},
     4096 / (4106.5 / (1.5 * 2**30) + 4096 / (300 * 2**20)) * 4106.5 / 4096),
])
def test_a_migrations_demand_on_the_link_is_its_first_pass_pace(
        host: dict[str, Any], caps: dict[str, bool], demand_Bps: float) -> None:
    """What a drain lets a migration take from a shared link, as the engine would send.

    Unlimited, channel-rate 1.5 GiB/s: the main channel pushes 1.5 GiB/s of wire bytes.
    With the destination landing first copies at 300 MiB/s of RAM it sends 300 MiB/s ×
    4104/4096 wire bytes (a page and its header). QEMU 7.2, one multifd channel, the
    threads sharing 2 cores: the spinning migration thread leaves the channel 1 core for
    its send (4106.5 B at 1.5 GiB/s) and landing (4096 B at 300 MiB/s), one after the other
    (tests/engine/test_first_touch.py), × 4106.5/4096 on the wire.
    """
    from sim.fleet.plan import _demand_Bps

    sc = load_scenario({"qemu": "7.2", "vm": {"memory": "1G"}, "host": host,
                        "capabilities": caps,
                        "parameters": {"max-bandwidth": 0, "multifd-channels": 1}})
    assert _demand_Bps(sc) == pytest.approx(demand_Bps, rel=1e-9)
    capped = load_scenario({"vm": {"memory": "1G"}, "parameters": {"max-bandwidth": 64 * 2**20}})
    assert _demand_Bps(capped) == 64 * 2**20


def test_hand_worked_drain_listed_order_two_per_node() -> None:
    """Two per node, listed order: a1 and a2 share A at 0.5e9 B/s each; a2 (2e9 B) ends at
    4 s with a1 half done (2e9 of 4e9); a1 then has all 1e9 B/s: 2e9 more B → ends at 6 s.
    b1 alone on B: 3e9 / 1e9 = 3 s. Drain time 6 s."""
    plan = plan_drain(two_hosts(), per_node=2, runner=fluid)
    v = plan.vms.set_index("name")
    mem_a1 = 4_000_000_000 - 4_000_000_000 % 4096
    assert v.loc["a2", "start_s"] == 0.0
    assert v.loc["a2", "end_s"] == pytest.approx(2 * (2e9 - 2e9 % 4096) / 1e9)
    assert v.loc["a1", "end_s"] == pytest.approx(mem_a1 / 1e9 + (2e9 - 2e9 % 4096) / 1e9)
    assert v.loc["b1", "end_s"] == pytest.approx((3e9 - 3e9 % 4096) / 1e9)
    assert plan.drain_time_s == pytest.approx(6.0, rel=1e-5)
    assert v.loc["a1", "reshares"] == 1
    assert v.loc["a1", "min_link_Bps"] == pytest.approx(0.5e9)
    assert v.loc["a1", "transferred_bytes"] == pytest.approx(mem_a1)
    assert (v["outcome"] == "completed").all()
    assert (v["downtime_ms"] == 7.0).all()


def test_hand_worked_drain_cluster_limit_makes_b1_wait() -> None:
    """Two per node but two in the cluster: a1, a2 start; b1 waits for a2 (ends 4 s) and
    runs 4 → 7 s, so the drain takes 7 s instead of 6."""
    plan = plan_drain(two_hosts(), per_node=2, per_cluster=2, runner=fluid)
    v = plan.vms.set_index("name")
    assert v.loc["b1", "start_s"] == pytest.approx(4.0, rel=1e-5)
    assert v.loc["b1", "wait_s"] == pytest.approx(4.0, rel=1e-5)
    assert v.loc["b1", "end_s"] == pytest.approx(7.0, rel=1e-5)
    assert plan.drain_time_s == pytest.approx(7.0, rel=1e-5)
    assert plan.peak_active == 2


def test_hand_worked_drain_smallest_first() -> None:
    """Smallest first (a2, b1, a1), two in the cluster: a2 alone on A ends at 2 s, b1 at 3 s;
    a1 starts at 2 s alone on A and ends at 2 + 4 = 6 s."""
    plan = plan_drain(two_hosts(), per_node=2, per_cluster=2, order="smallest-first",
                      runner=fluid)
    v = plan.vms.set_index("name")
    assert v["order"].to_dict() == {"a1": 2, "a2": 0, "b1": 1}
    assert v.loc["a2", "end_s"] == pytest.approx(2.0, rel=1e-5)
    assert v.loc["a1", "start_s"] == pytest.approx(2.0, rel=1e-5)
    assert v.loc["a1", "end_s"] == pytest.approx(6.0, rel=1e-5)


def test_one_per_node_runs_each_host_serially() -> None:
    """One per node (Nova): A runs a1 (4 s) then a2 (2 s) → 6 s; B runs b1 → 3 s."""
    plan = plan_drain(two_hosts(), policy="nova", runner=fluid)
    v = plan.vms.set_index("name")
    assert plan.limits == Limits(per_node=1, per_cluster=None)
    assert v.loc["a2", "start_s"] == pytest.approx(4.0, rel=1e-5)
    assert plan.drain_time_s == pytest.approx(6.0, rel=1e-5)


def test_link_usage_over_time_is_recorded_per_host() -> None:
    """Host A is full (1e9 of 1e9 B/s) with 2 migrations for 0–4 s, then 1 for 4–6 s."""
    plan = plan_drain(two_hosts(), per_node=2, runner=fluid)
    a = plan.links[plan.links["host"] == "A"].reset_index(drop=True)
    assert a["active"].tolist() == [2, 1]
    assert a["start_s"].tolist()[0] == 0.0
    assert a["end_s"].tolist() == pytest.approx([4.0, 6.0], rel=1e-5)
    assert a["utilisation"].tolist() == pytest.approx([1.0, 1.0])


def test_capped_migration_leaves_the_rest_of_the_link_to_the_other() -> None:
    """a2 capped at 0.2e9 B/s takes only that; a1 reaches 1e9 − 0.2e9 = 0.8e9 B/s."""
    inv = two_hosts()
    inv["vms"][1]["overrides"] = {"parameters.max-bandwidth": 200_000_000}
    plan = plan_drain(inv, per_node=2, runner=fluid)
    v = plan.vms.set_index("name")
    assert v.loc["a1", "min_link_Bps"] == pytest.approx(0.8e9)


def test_alone_on_its_host_a_vm_gets_exactly_the_engine_answer() -> None:
    """With one VM per host the drain's numbers are the engine's own for that scenario."""
    inv = load_inventory(FLEETS / "two-racks.yaml")
    first = [vm for vm in inv.vms if vm.host == "r1-h1"][:1]
    plan = plan_drain(Inventory(tuple(first), inv.links_Bps, inv.defaults), seed=4)
    data = copy.deepcopy(dict(inv.defaults))
    for path, value in (dict(first[0].changes) | {"host.link": "10Gbit/s"}).items():
        set_path(data, path, value)
    sc = load_scenario(data)
    direct = simulate(sc, seed=4, timeline=False)
    row = plan.vms.iloc[0]
    assert row["end_s"] == pytest.approx(direct.total_time_s)
    assert row["downtime_ms"] == pytest.approx(direct.downtime_ms)
    assert row["transferred_bytes"] == pytest.approx(direct.ram.transferred)


def test_with_link_equals_the_validating_path(web: Scenario) -> None:
    """The cheap link change simulates exactly like Scenario.with_changes."""
    fast = simulate(with_link(web, 3.3e8), timeline=False)
    slow = simulate(web.with_changes({"host.link": 3.3e8}), timeline=False)
    assert fast.to_dict() == slow.to_dict()
    assert with_link(web, 3.3e8).to_dict() == web.with_changes({"host.link": 3.3e8}).to_dict()


def test_csv_and_yaml_inventories_plan_the_same_drain() -> None:
    """The example fleet in CSV and in YAML gives the same schedule with the real engine."""
    a = plan_drain(FLEETS / "two-racks.csv", policy="kubevirt", order="largest-first")
    b = plan_drain(FLEETS / "two-racks.yaml", policy="kubevirt", order="largest-first")
    assert len(a.vms) == 20
    assert a.limits == Limits(per_node=2, per_cluster=5)
    assert a.vms[["name", "start_s", "end_s", "downtime_ms"]].equals(
        b.vms[["name", "start_s", "end_s", "downtime_ms"]])
    assert a.peak_active <= 5
    assert (a.vms["outcome"] == "completed").all()


def test_orders_are_deterministic_and_differ() -> None:
    """Running a plan twice gives the same table; orders give different schedules."""
    one = plan_drain(FLEETS / "two-racks.yaml", order="most-dirty-first", per_node=2)
    two = plan_drain(FLEETS / "two-racks.yaml", order="most-dirty-first", per_node=2)
    other = plan_drain(FLEETS / "two-racks.yaml", order="least-dirty-first", per_node=2)
    assert one.vms.equals(two.vms)
    assert not one.vms["start_s"].equals(other.vms["start_s"])
    assert one.vms.sort_values("order")["name"].iloc[0].startswith("cache")


def test_invalid_vm_is_reported_not_moved() -> None:
    """A VM whose settings QEMU refuses gets outcome 'invalid' and the reason; others move."""
    inv = two_hosts()
    inv["vms"][2]["overrides"] = {"parameters.downtime-limit": 3_000_000}
    plan = plan_drain(inv, per_node=2, runner=fluid)
    v = plan.vms.set_index("name")
    assert v.loc["b1", "outcome"] == "invalid"
    assert "downtime_limit" in v.loc["b1", "error"]
    assert plan.drain_time_s == pytest.approx(6.0, rel=1e-5)


@pytest.mark.parametrize(("inventory", "fragment"), [
    ({"vms": []}, "non-empty list"),
    ({"vms": [{"name": "x", "host": "h"}]}, "memory is required"),
    ({"vms": [{"name": "x", "host": "h", "memory": "1G", "colour": 1}]}, "unknown column"),
    ({"vms": [{"name": "x", "host": "h", "memory": "1G"}] * 2}, "unique"),
    ({"vms": [{"name": "x", "host": "h", "memory": "1G", "link": "fast"}]}, "hosts.h.link"),
])
def test_bad_inventory_names_the_problem(inventory: dict[str, Any], fragment: str) -> None:
    """Inventory mistakes raise FleetError naming the row or field."""
    with pytest.raises(FleetError, match=fragment):
        load_inventory(inventory)


def test_bad_order_and_limits_are_refused() -> None:
    """An unknown order or a limit below 1 is a clear error."""
    with pytest.raises(FleetError, match="order"):
        plan_drain(two_hosts(), order="random", runner=fluid)
    with pytest.raises(FleetError, match="per_node"):
        plan_drain(two_hosts(), per_node=0, runner=fluid)


def test_a_dashboard_cell_and_a_csv_cell_read_the_same(tmp_path: Path) -> None:
    """``on`` and ``1e3`` in the drain table mean what they mean in a CSV
    inventory (issue 15: the two readers disagreed on ``on``/``off``)."""
    from sim.ui import inventory_mapping

    row = {"name": "a", "host": "h1", "memory": "1GiB",
           "capabilities.auto-converge": "on", "parameters.downtime-limit": "1e3"}
    csv = tmp_path / "inv.csv"
    csv.write_text(",".join(row) + "\n" + ",".join(row.values()) + "\n")
    from_csv = load_inventory(csv).vms[0].changes
    from_table = load_inventory(inventory_mapping([row], {})).vms[0].changes
    assert from_csv == from_table
    assert from_table["capabilities.auto-converge"] is True

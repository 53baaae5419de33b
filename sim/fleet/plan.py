"""The drain plan: who moves when when source hosts are emptied, the links shared fairly by
concurrent migrations (:func:`plan_drain`)."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sim._exceptions import FleetError, InvalidScenarioError, Problem
from sim.fleet.inventory import (
    PLATFORM_LIMITS,
    FleetVm,
    Inventory,
    Limits,
    load_inventory,
)
from sim.scenario import POLICY_KINDS, Scenario, load_scenario, set_path

if TYPE_CHECKING:
    import pandas as pd

    from sim.result import Result

Runner = Callable[[Scenario, int | None], "Result"]
"""``runner(scenario, seed) -> Result``; the default is the engine with ``timeline=False``."""

_LINK_EPS: Final = 1e-6
"""Links closer than this (relative) are the same link; no share falls under it."""

ORDERS: Final = ("listed", "smallest-first", "largest-first", "least-dirty-first",
                 "most-dirty-first")
"""Ordering strategies: inventory order, by memory, or by nominal dirty rate (stable)."""


# --------------------------------------------------------------------------- planning


def with_link(scenario: Scenario, link_Bps: float) -> Scenario:
    """The scenario with ``host.link`` changed, without re-validating.

    Equal to ``scenario.with_changes({"host.link": link_Bps})`` for any link > 0 (the only
    check the loader makes on a link), but ~100× cheaper; the source is updated too.
    """
    if not link_Bps > 0:
        raise FleetError(f"link_Bps(={link_Bps}) must be > 0")
    source = copy.deepcopy(dict(scenario.source))
    set_path(source, "host.link", link_Bps)
    return replace(scenario, host=scenario.host.model_copy(update={"link_Bps": float(link_Bps)}),
                   source=source)


def _engine_runner(scenario: Scenario, seed: int | None) -> Result:
    from sim.engine import simulate

    return simulate(scenario, seed=seed, timeline=False)


def _demand_Bps(sc: Scenario) -> float:
    """The most a migration could take from the link: its cap, or its first pass's pace.

    The pace is the engine's own (:class:`sim.engine.sender.Sender`) with the link out of
    the way: full pages sent for the first time, so the sending threads, the cores they
    share and the destination's landing all count, as they do when the migration runs.
    """
    from sim.engine.sender import Sender

    cap = float(sc.parameters.max_bandwidth) or math.inf
    unlinked = replace(sc, host=sc.host.model_copy(update={"link_Bps": math.inf}))
    first_pass = Sender(unlinked).rates(zero_share=0.0, pass_index=1, dirty_bytes=0.0,
                                        first_share=1.0)
    return min(cap, first_pass.wire_Bps)


def fair_shares(link_Bps: float, demands_Bps: Sequence[float]) -> list[float]:
    """Max-min fair split of a link: equal shares, except demands below the share.

    >>> fair_shares(10.0, [1.0, math.inf, math.inf])
    [1.0, 4.5, 4.5]
    """
    alloc = [0.0] * len(demands_Bps)
    left = link_Bps
    todo = sorted(range(len(demands_Bps)), key=lambda i: (demands_Bps[i], i))
    while todo:
        share = left / len(todo)
        i = todo[0]
        if demands_Bps[i] <= share:
            alloc[i] = demands_Bps[i]
            left -= demands_Bps[i]
            todo.pop(0)
        else:
            for j in todo:
                alloc[j] = share
            break
    return alloc


@dataclass
class _Active:
    index: int
    start_s: float
    frac: float = 0.0
    link_Bps: float = -1.0
    alloc_Bps: float = 0.0
    result: Any = None
    rate: float = 0.0
    transferred: float = 0.0
    throttle_cpu_s: float = 0.0
    shares: list[float] = field(default_factory=list)


@dataclass
class DrainPlan:
    """The outcome of :func:`plan_drain`.

    Attributes:
        drain_time_s: from the first start to the last end.
        vms: one row per VM: ``name, host, order, start_s, end_s, wait_s, duration_s,
            downtime_ms, status, converged, outcome, transferred_bytes, throttle_cpu_s,
            min_link_Bps, max_link_Bps, reshares, error``.
        links: link usage over time, one row per host and interval between events:
            ``host, start_s, end_s, active, allocated_Bps, link_Bps, utilisation``.
        limits: the concurrency limits used.
        order: the ordering strategy.
        seed: the seed every run used (``None``: each scenario's own).
        engine_runs: distinct engine runs made (after memoisation).
        peak_active: most migrations running at once.
        problems: for each VM not moved because its settings are invalid, by name, the
            validator's first problem (field, value and reason).
    """

    drain_time_s: float
    vms: pd.DataFrame
    links: pd.DataFrame
    limits: Limits
    order: str
    seed: int | None
    engine_runs: int
    peak_active: int = 0
    problems: dict[str, Problem] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """A flat record: drain time, counts by outcome, worst downtime, peak concurrency."""
        v = self.vms
        done = v[v["outcome"] == "completed"]
        return {
            "drain_time_s": self.drain_time_s,
            "vms": len(v),
            "completed": int((v["outcome"] == "completed").sum()),
            "not_completed": int((v["outcome"] != "completed").sum()),
            "invalid": int((v["outcome"] == "invalid").sum()),
            "max_downtime_ms": float(done["downtime_ms"].max()) if len(done) else math.nan,
            "mean_wait_s": float(v["wait_s"].mean()),
            "peak_active": self.peak_active,
            "per_node": self.limits.per_node,
            "per_cluster": self.limits.per_cluster,
            "order": self.order,
            "seed": self.seed,
            "engine_runs": self.engine_runs,
        }


def _vm_scenario(inv: Inventory, vm: FleetVm, policy: str | None) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(inv.defaults, default=str))
    data["name"] = vm.name
    set_path(data, "host.link", inv.links_Bps[vm.host])
    if policy is not None and policy != "none":
        set_path(data, "control.policy", {"kind": policy})
    for path, value in vm.changes.items():
        set_path(data, path, value)
    return data


def _sort_key(order: str, sc: Scenario | None) -> float:
    if sc is None:
        return 0.0
    if order in ("smallest-first", "largest-first"):
        return float(sc.vm.memory_bytes)
    from sim.workload import dirty_model

    return float(dirty_model(sc.workload, sc.vm.memory_bytes).nominal_rate_Bps)


def select_hosts(available: Sequence[str], wanted: Sequence[str]) -> list[str]:
    """The hosts of ``available`` that ``wanted`` names, in ``available``'s order.

    Each entry is a host name or a shell pattern (``r1-*``: every host whose name starts
    with ``r1-``).

        >>> select_hosts(["r1-h1", "r1-h2", "r2-h1"], ["r1-*"])
        ['r1-h1', 'r1-h2']

    Raises:
        FleetError: ``wanted`` is empty, or an entry matches no host (the message lists
            the hosts there are).
    """
    from fnmatch import fnmatchcase

    entries = [w.strip() for w in wanted if w.strip()]
    if not entries:
        raise FleetError("hosts: name at least one host to drain")
    chosen: set[str] = set()
    for entry in entries:
        found = {h for h in available if fnmatchcase(h, entry)}
        if not found:
            raise FleetError(f"hosts: {entry!r} matches no host of the inventory; there are "
                             + ", ".join(available))
        chosen |= found
    return [h for h in available if h in chosen]


def worst_vms(plan: DrainPlan, n: int = 3) -> list[str]:
    """The plan's worst VMs in words, worst first: every VM that was not moved or did not
    complete, then the ``n`` longest downtimes of those that did.

        ``['db-21 (cancelled)', 'db-11 (downtime 1.21 s)']``
    """
    from sim.units import format_duration

    v = plan.vms
    out = [f"{r['name']} ({r['outcome']})" for _, r in v[v["outcome"] != "completed"].iterrows()]
    done = v[v["outcome"] == "completed"].sort_values("downtime_ms", ascending=False)
    out += [f"{r['name']} (downtime {format_duration(float(r['downtime_ms']) / 1000)})"
            for _, r in done.head(n).iterrows()]
    return out


def only_hosts(inventory: Inventory, hosts: Sequence[str]) -> Inventory:
    """``inventory`` with only the VMs on ``hosts`` (the hosts being drained)."""
    keep = set(hosts)
    return replace(inventory, vms=tuple(vm for vm in inventory.vms if vm.host in keep),
                   links_Bps={h: b for h, b in inventory.links_Bps.items() if h in keep})

def _limits(order: str, policy: str | None, per_node: int | None, per_cluster: int | None,
            no_limit: bool) -> Limits:
    """Step 1: check ``order`` and ``policy``; the concurrency limits that apply."""
    if order not in ORDERS:
        raise FleetError(f"order(={order!r}) must be one of {', '.join(ORDERS)}")
    if policy is not None and policy not in (*POLICY_KINDS, "none"):
        raise FleetError(f"policy(={policy!r}) must be one of "
                         f"{', '.join((*POLICY_KINDS, 'none'))}")
    platform = Limits(None, None) if no_limit else PLATFORM_LIMITS.get(policy or "", Limits())
    return Limits(per_node if per_node is not None else platform.per_node,
                  per_cluster if per_cluster is not None else platform.per_cluster)


@dataclass
class _Validated:
    """Each VM's scenario (``None`` when invalid), its error text and configuration key."""

    scenarios: list[Scenario | None]
    errors: list[str]
    keys: list[str]
    first_problem: dict[str, Problem]


def _validate_vms(inv: Inventory, policy: str | None) -> _Validated:
    """Step 2: load each distinct VM configuration once (VMs that differ only by name share)."""
    out = _Validated([], [], [], {})
    by_key: dict[str, Scenario | str] = {}
    for vm in inv.vms:
        data = _vm_scenario(inv, vm, policy)
        key = json.dumps({k: v for k, v in data.items() if k != "name"}, sort_keys=True,
                         default=str)
        if key not in by_key:
            try:
                by_key[key] = load_scenario(data)
            except InvalidScenarioError as err:
                p = err.problems[0] if err.problems else None
                if p is not None:
                    out.first_problem[key] = p
                by_key[key] = (f"{p.field}: {p.message} (got {p.value!r})" if p is not None
                               else str(err))
        got = by_key[key]
        out.scenarios.append(got if isinstance(got, Scenario) else None)
        out.errors.append("" if isinstance(got, Scenario) else got)
        out.keys.append(key)
    return out


def _rank(inv: Inventory, scenarios: Sequence[Scenario | None], order: str) -> list[int]:
    """Step 3: the VMs' indices in drain order (ties keep the listed order)."""
    return sorted(range(len(inv.vms)),
                  key=lambda i: (_sort_key(order, scenarios[i]) *
                                 (-1 if order in ("largest-first", "most-dirty-first")
                                  else 1) if order != "listed" else 0.0, i))


class _Runs:
    """The engine runs of a drain, one per (configuration, link), cached."""

    def __init__(self, val: _Validated, run: Runner, seed: int | None) -> None:
        self.val, self.run, self.seed = val, run, seed
        self.cache: dict[tuple[str, float], Result] = {}

    def result_at(self, i: int, link_Bps: float) -> Result:
        sc = self.val.scenarios[i]
        assert sc is not None
        ck = (self.val.keys[i], round(link_Bps, 3))
        if ck not in self.cache:
            self.cache[ck] = self.run(with_link(sc, link_Bps), self.seed)
        return self.cache[ck]


@dataclass
class _Drain:
    """The event loop's state: who waits, who migrates, what has ended, the link rows."""

    inv: Inventory
    limits: Limits
    pending: list[int]
    demand: dict[int, float]
    active: dict[int, _Active] = field(default_factory=dict)
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    link_rows: list[dict[str, Any]] = field(default_factory=list)
    open_rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    per_host: dict[str, int] = field(default_factory=dict)
    peak: int = 0
    t: float = 0.0


def _admit(d: _Drain) -> None:
    """Loop step: start the waiting VMs, in order, that the per-host and cluster limits allow."""
    for i in list(d.pending):
        host = d.inv.vms[i].host
        if d.limits.per_cluster is not None and len(d.active) >= d.limits.per_cluster:
            break
        if d.limits.per_node is not None and d.per_host[host] >= d.limits.per_node:
            continue
        d.pending.remove(i)
        d.active[i] = _Active(i, d.t)
        d.per_host[host] += 1


def _reshare(d: _Drain, runs: _Runs) -> None:
    """Loop step: re-divide each host's link and re-run the engine where a share changed."""
    for host in d.inv.hosts:
        members = [a for a in d.active.values() if d.inv.vms[a.index].host == host]
        if not members:
            continue
        link = d.inv.links_Bps[host]
        alloc = fair_shares(link, [d.demand[a.index] for a in members])
        total = sum(alloc)
        for a, share in zip(members, alloc, strict=True):
            reach = max(link - (total - share), _LINK_EPS)
            a.alloc_Bps = share
            if abs(reach - a.link_Bps) > _LINK_EPS * max(1.0, reach):
                a.link_Bps = reach
                a.shares.append(reach)
                a.result = runs.result_at(a.index, reach)
                a.rate = 1.0 / max(a.result.total_time_ms / 1000.0, 1e-9)
        last = d.open_rows.get(host)
        if last is not None and last["active"] == len(members) and \
                last["allocated_Bps"] == total and last["end_s"] == d.t:
            last["end_s"] = math.nan  # same usage continues: extend the interval
        else:
            row: dict[str, Any] = {
                "host": host, "start_s": d.t, "end_s": math.nan, "active": len(members),
                "allocated_Bps": total, "link_Bps": link, "utilisation": total / link}
            d.link_rows.append(row)
            d.open_rows[host] = row


def _advance(d: _Drain) -> None:
    """Loop step: move the clock to the next end of a migration; record the ones that end."""
    d.peak = max(d.peak, len(d.active))
    dt = min((1.0 - a.frac) / a.rate for a in d.active.values())
    t_next = d.t + dt
    for row in d.open_rows.values():
        if math.isnan(float(row["end_s"])):
            row["end_s"] = t_next
    for a in list(d.active.values()):
        step = min(1.0 - a.frac, a.rate * dt)
        a.transferred += step * a.result.ram.transferred
        a.throttle_cpu_s += step * a.result.guest.throttle_cpu_s
        a.frac += step
        if a.frac >= 1.0 - 1e-9 or (1.0 - a.frac) / a.rate <= 1e-9 * max(1.0, t_next):
            res = a.result
            vm = d.inv.vms[a.index]
            d.rows[a.index] = {
                "start_s": a.start_s, "end_s": t_next, "wait_s": a.start_s,
                "duration_s": t_next - a.start_s, "downtime_ms": res.downtime_ms,
                "status": res.status, "converged": res.converged,
                "outcome": res.status, "transferred_bytes": a.transferred,
                "throttle_cpu_s": a.throttle_cpu_s, "min_link_Bps": min(a.shares),
                "max_link_Bps": max(a.shares), "reshares": len(a.shares) - 1,
                "error": "",
            }
            del d.active[a.index]
            d.per_host[vm.host] -= 1
    d.t = t_next


def _vm_records(d: _Drain, ranked: Sequence[int], errors: Sequence[str]) -> list[dict[str, Any]]:
    """Final step: one row per VM in inventory order; invalid VMs stay with their error."""
    position = {i: k for k, i in enumerate(ranked)}
    records = []
    for i, vm in enumerate(d.inv.vms):
        base = {"name": vm.name, "host": vm.host, "order": position[i]}
        if i in d.rows:
            records.append(base | d.rows[i])
        else:
            records.append(base | {
                "start_s": math.nan, "end_s": math.nan, "wait_s": math.nan,
                "duration_s": math.nan, "downtime_ms": math.nan, "status": "invalid",
                "converged": False, "outcome": "invalid", "transferred_bytes": 0.0,
                "throttle_cpu_s": 0.0, "min_link_Bps": math.nan, "max_link_Bps": math.nan,
                "reshares": 0, "error": errors[i]})
    return records


def plan_drain(inventory: Inventory | str | Path | Mapping[str, Any], *,
               policy: str | None = None,
               order: str = "listed",
               per_node: int | None = None,
               per_cluster: int | None = None,
               no_limit: bool = False,
               seed: int | None = None,
               runner: Runner | None = None,
               hosts: Sequence[str] | None = None) -> DrainPlan:
    """Drain the inventory's source hosts (all, or ``hosts``) and report who moved when.

    The drain runs in named steps: :func:`_limits` (check the request), :func:`_validate_vms`
    (each distinct VM configuration loaded once), :func:`_rank` (the order), then an event
    loop of :func:`_admit` (start what the limits allow), :func:`_reshare` (re-divide each
    host's link, re-run the engine where a share changed) and :func:`_advance` (to the next
    end), and finally :func:`_vm_records` (one row per VM).

    Args:
        inventory: an :class:`Inventory` or what :func:`load_inventory` reads.
        policy: a management policy kind for every VM without its own
            (``kubevirt``, ``nova``, ``ovirt``, ``proxmox``, ``downtime-ramp``, ``none``);
            it also sets the platform's concurrency limits (:data:`PLATFORM_LIMITS`) unless
            ``per_node``/``per_cluster`` are given.
        order: one of :data:`ORDERS`; ties keep the listed order.
        per_node: outbound migrations per host at once (default: the platform's, else 1).
        per_cluster: migrations at once in total (default: the platform's, else no limit).
        no_limit: ignore platform defaults; only the limits given apply.
        seed: the seed for every run (``None``: each scenario's own); recorded.
        runner: ``runner(scenario, seed) -> Result`` instead of the engine.
        hosts: the hosts going into maintenance: names or shell patterns (``r1-*`` for a
            name prefix, :func:`select_hosts`); ``None``: every host. The other hosts'
            VMs stay where they are and are not in the plan.

    Returns:
        The :class:`DrainPlan`. VMs whose settings are invalid are not moved: their row
        has ``outcome="invalid"`` and the first problem in ``error``.

    Raises:
        FleetError: an unknown order or policy, limits below 1, or a ``hosts`` entry that
            names no host of the inventory.
    """
    import pandas as pd

    inv = inventory if isinstance(inventory, Inventory) else load_inventory(inventory)
    if hosts is not None:
        inv = only_hosts(inv, select_hosts(inv.hosts, hosts))
    limits = _limits(order, policy, per_node, per_cluster, no_limit)
    val = _validate_vms(inv, policy)
    runs = _Runs(val, runner or _engine_runner, seed)
    ranked = _rank(inv, val.scenarios, order)
    d = _Drain(inv, limits, pending=[i for i in ranked if val.scenarios[i] is not None],
               demand={i: _demand_Bps(sc) for i, sc in enumerate(val.scenarios)
                       if sc is not None},
               per_host=dict.fromkeys(inv.hosts, 0))
    while d.pending or d.active:
        _admit(d)
        _reshare(d, runs)
        _advance(d)

    vms_df = pd.DataFrame.from_records(_vm_records(d, ranked, val.errors))
    links_df = pd.DataFrame.from_records(
        d.link_rows, columns=["host", "start_s", "end_s", "active", "allocated_Bps",
                              "link_Bps", "utilisation"])
    ends = [r["end_s"] for r in d.rows.values()]
    return DrainPlan(drain_time_s=max(ends, default=0.0), vms=vms_df, links=links_df,
                     limits=limits, order=order, seed=seed, engine_runs=len(runs.cache),
                     peak_active=d.peak,
                     problems={vm.name: val.first_problem[val.keys[i]]
                               for i, vm in enumerate(inv.vms)
                               if val.scenarios[i] is None and val.keys[i] in val.first_problem})

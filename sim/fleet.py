"""Host drains: many guests leaving their hosts through shared links under concurrency limits.

A drain is an evacuation through a few doors: every source host is a door (its NIC) that
all the guests leaving it at the same moment must squeeze through together, and the
management layer is the usher who lets only so many leave at once per door
(``parallelOutboundMigrationsPerNode``, Nova's ``max_concurrent_live_migrations``) and in
the building (``parallelMigrationsPerCluster``), in a chosen order.

The model, stated plainly so its answers can be checked:

* **Fair sharing of each host's link.** The migrations active on a host split its link
  max-min fairly: each gets an equal share, except one that cannot use its share (capped
  by its ``max-bandwidth`` or by its sending threads' ``channel-rate``) which takes only
  what it can use, the rest going to the others. Shares are re-divided whenever a
  migration on that host starts or ends. Destinations are assumed to have room and
  inbound links are not limited.
* **Processor sharing of the engine's answer.** Each migration is run in the engine
  (:func:`sim.engine.simulate`) with ``host.link`` set to the capacity it can reach (the
  link minus what the others on its host take). If that run lasts ``D`` seconds, the
  migration advances at ``1/D`` of its whole course per second; when its share changes,
  the engine is run again at the new share and the fraction already done carries over.
  The migration ends when the fraction reaches 1, with the status, downtime and guest
  cost of the run in force at that moment; bytes are the fraction-weighted sum. This is
  exact while a migration's share never changes (alone on its host, or in a constant
  group), and for a pure transfer (``D ∝ 1/share``) it equals byte-for-byte fluid
  sharing. Runs are memoised by (VM settings, share), so a fleet of similar guests
  costs a handful of engine runs. Everything is deterministic.

Usage::

    from sim.fleet import load_inventory, plan_drain

    inv = load_inventory("data/fleets/two-racks.yaml")
    plan = plan_drain(inv, policy="kubevirt", order="smallest-first", seed=1)
    print(plan.drain_time_s, plan.vms[["name", "start_s", "end_s", "downtime_ms"]])
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

from pydantic import BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from sim._bounded import load_yaml, read_text
from sim._exceptions import FleetError, InvalidScenarioError, Problem, UnitError
from sim._modelkit import FileModel, fail, problems_from
from sim.scenario import POLICY_KINDS, Scenario, load_scenario, set_path
from sim.units import parse_rate

if TYPE_CHECKING:
    import pandas as pd

    from sim.result import Result

__all__ = [
    "ORDERS",
    "PLATFORM_LIMITS",
    "DrainPlan",
    "FleetError",
    "FleetVm",
    "Inventory",
    "InventoryFile",
    "InventoryHost",
    "InventoryVm",
    "Limits",
    "load_inventory",
    "only_hosts",
    "plan_drain",
    "select_hosts",
    "with_link",
    "worst_vms",
]

Runner = Callable[[Scenario, int | None], "Result"]
"""``runner(scenario, seed) -> Result``; the default is the engine with ``timeline=False``."""

ORDERS: Final = ("listed", "smallest-first", "largest-first", "least-dirty-first",
                 "most-dirty-first")
"""Ordering strategies: inventory order, by memory, or by nominal dirty rate (stable)."""

_VM_KEYS: Final = {
    "memory": "vm.memory", "vcpus": "vm.vcpus", "page-size": "vm.page-size",
    "preset": "workload.preset", "dirty-rate": "workload.dirty-rate",
    "working-set": "workload.working-set", "zero-fraction": "workload.zero-fraction",
    "qemu": "qemu",
}
_LINK_EPS: Final = 1e-6


# --------------------------------------------------------------------------- the file's models

_ROW_KNOWN: Final = ("name, host, link, policy, " + ", ".join(_VM_KEYS)
                     + ", or a dotted scenario path such as parameters.downtime-limit")


def _raw(shown: Any) -> BeforeValidator:
    """A value kept exactly as written (the scenario loader checks it for each VM, so a bad
    one makes that VM ``invalid``, not the inventory); ``shown`` is what the JSON Schema
    shows."""
    return BeforeValidator(lambda v: v, json_schema_input_type=shown)


def _row_text(what: str) -> Callable[[object], str]:
    def read(value: object) -> str:
        if not isinstance(value, str) or not value:
            fail(what)
        return value
    return read


def _overrides(value: object) -> object:
    if value is not None and not isinstance(value, Mapping):
        fail("must map dotted paths to values")
    return value


class InventoryVm(FileModel):
    """One row: a guest on its source host, with per-VM settings (CSV columns or YAML keys).

    Keys other than the listed ones must be dotted scenario paths
    (``parameters.downtime-limit``); their values, and ``memory`` and the rest, are checked
    by the scenario loader when the guest's scenario is built.
    """

    model_config = ConfigDict(extra="allow", json_schema_extra={
        "patternProperties": {r"^[a-z]+\.[a-z0-9.-]+$": {}}, "additionalProperties": False})

    name: Annotated[str, BeforeValidator(_row_text("every VM needs a name"))] = Field(
        description="the VM's name, unique in the inventory")
    host: Annotated[str, BeforeValidator(_row_text("every VM needs a source host"))] = Field(
        description="the source host it leaves")
    memory: Annotated[Any, _raw(int | str)] = Field(
        description="guest RAM (vm.memory), e.g. 8GiB")
    link: Annotated[Any, _raw(float | str | None)] = Field(
        None, description="the source host's link (rate)")
    policy: Annotated[Any, _raw(str | dict[str, Any] | None)] = Field(
        None, description="a policy kind (nova, kubevirt, …) or a control.policy mapping")
    vcpus: Annotated[Any, _raw(int | None)] = Field(None, description="vm.vcpus")
    page_size: Annotated[Any, _raw(int | str | None)] = Field(
        None, description="vm.page-size")
    preset: Annotated[Any, _raw(str | None)] = Field(None, description="workload.preset")
    dirty_rate: Annotated[Any, _raw(float | str | None)] = Field(
        None, description="workload.dirty-rate")
    working_set: Annotated[Any, _raw(int | str | None)] = Field(
        None, description="workload.working-set")
    zero_fraction: Annotated[Any, _raw(float | None)] = Field(
        None, description="workload.zero-fraction")
    qemu: Annotated[Any, _raw(str | None)] = Field(None, description="the QEMU release")
    overrides: Annotated[dict[str, Any] | None, BeforeValidator(_overrides)] = Field(
        None, description="dotted scenario paths → values for this VM")

    @model_validator(mode="before")
    @classmethod
    def _columns(cls, data: Any) -> Any:
        """Values stay as written (checked by the scenario loader); unknown columns that
        are not dotted paths are refused; empty cells are "not set"."""
        if not isinstance(data, Mapping):
            return data
        known = {f.alias or n for n, f in cls.model_fields.items()}
        for key in data:
            if key not in known and "." not in str(key) and data[key] not in (None, ""):
                fail(f"unknown column {key!r}; known: {_ROW_KNOWN}")
        return {k: v for k, v in data.items()
                if k in ("name", "host") or (v is not None and v != "")}

    @classmethod
    def missing_key_message(cls, key: str) -> str:
        """``memory is required, e.g. 8GiB``, as a row names its column."""
        if key in ("name", "host"):
            return "every VM needs a name" if key == "name" else "every VM needs a source host"
        return f"{key} is required, e.g. 8GiB"


class InventoryHost(FileModel):
    """A source host."""

    link: Annotated[Any, _raw(float | str | None)] = Field(
        None, description="its link (rate), e.g. 25Gbit/s")


def _hosts(value: object) -> object:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        fail("must map host names to {link: …}")
    for name, host in value.items():
        if host is not None and not (isinstance(host, Mapping) and set(host) <= {"link"}):
            fail("must be a mapping {link: …} such as {link: 25Gbit/s}", at=str(name),
                 value=host)
    return {k: v or {} for k, v in value.items()}


def _defaults(value: object) -> object:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        fail("must be a partial scenario mapping")
    host = value.get("host") or {}
    if not isinstance(host, Mapping):
        fail(f"must be a mapping such as {{link: 25Gbit/s}}, got {type(host).__name__}",
             at="host", value=host)
    return value


def _vms(value: object) -> object:
    if not isinstance(value, list) or not value:
        fail("must be a non-empty list of VMs")
    return value


class InventoryFile(FileModel):
    """A drain inventory: shared defaults, the hosts' links and the VMs (YAML form; a CSV
    file is its ``vms`` rows)."""

    name: str = Field("fleet", description="a label")
    defaults: Annotated[dict[str, Any], BeforeValidator(_defaults)] = Field(
        default_factory=dict, description="a partial scenario every VM starts from")
    hosts: Annotated[dict[str, InventoryHost], BeforeValidator(_hosts)] = Field(
        default_factory=dict, description="source hosts: {name: {link: rate}}")
    vms: Annotated[list[InventoryVm], BeforeValidator(_vms)] = Field(
        description="the VMs to move, in listed order")

    @classmethod
    def unknown_key_message(cls) -> str:
        """The keys an inventory has."""
        return "unknown key; an inventory has name, defaults, hosts, vms"


def _fleet_error(err: ValidationError, where: str, rows: list[Any]) -> FleetError:
    """The first of pydantic's errors as the FleetError miglab has always raised."""
    problem = problems_from(err, "", InventoryFile)[0]
    field = problem.field
    if field.startswith("vms["):
        i = int(field[4:field.index("]")])
        row = rows[i] if i < len(rows) and isinstance(rows[i], Mapping) else {}
        name = row.get("name")
        rest = field[field.index("]") + 2:]
        label = f"VM #{i + 1}" + (f" ({name})" if isinstance(name, str) and name else "")
        if not isinstance(rows[i], Mapping):
            return FleetError(f"{where}: {label} must be a mapping")
        said = problem.message
        if rest and not said.startswith((rest, "every VM")):
            said = f"{rest} {said}"
        return FleetError(f"{where}: {label}: {said}")
    return FleetError(f"{where}: '{field}' {problem.message}")


@dataclass(frozen=True)
class Limits:
    """How many migrations may run at once.

    Attributes:
        per_node: outbound migrations per source host (``None`` = no limit).
        per_cluster: migrations in the whole drain (``None`` = no limit).
    """

    per_node: int | None = 1
    per_cluster: int | None = None

    def __post_init__(self) -> None:
        for name in ("per_node", "per_cluster"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise FleetError(f"{name}(={value}) must be ≥ 1 (or None for no limit)")


PLATFORM_LIMITS: Final[dict[str, Limits]] = {
    "kubevirt": Limits(per_node=2, per_cluster=5),   # parallelOutbound…PerNode / …PerCluster
    "nova": Limits(per_node=1, per_cluster=None),    # max_concurrent_live_migrations = 1
    "ovirt": Limits(per_node=2, per_cluster=None),   # "Minimal downtime" maxMigrations = 2
}
"""The concurrency defaults of each platform, used when a policy is named and no limit is."""


@dataclass(frozen=True)
class FleetVm:
    """One guest to move.

    Attributes:
        name: its name (unique in the inventory).
        host: the source host it leaves.
        changes: dotted scenario paths → values applied over the inventory's defaults
            (``vm.memory``, ``workload.dirty-rate``, ``parameters.downtime-limit``, …).
    """

    name: str
    host: str
    changes: Mapping[str, Any]


@dataclass(frozen=True)
class Inventory:
    """Guests on their source hosts.

    Attributes:
        vms: in listed order.
        links_Bps: each source host's link.
        defaults: a partial scenario (file form) every guest starts from.
        name: a label.
    """

    vms: tuple[FleetVm, ...]
    links_Bps: Mapping[str, float]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    name: str = "fleet"

    @property
    def hosts(self) -> list[str]:
        """Source hosts in order of first appearance."""
        return list(dict.fromkeys(vm.host for vm in self.vms))


# --------------------------------------------------------------------------- inventory


def _scalar(text: str) -> Any:
    from sim.sweep import _scalar as read

    return read(text)


def _vm_from_row(row: InventoryVm, order: Sequence[str]) -> tuple[FleetVm, Any]:
    """A :class:`FleetVm` and the row's ``link`` (or ``None``) from one validated row;
    ``order`` is the row's keys as written (the changes keep it)."""
    changes: dict[str, Any] = {}
    dumped = row.model_dump(by_alias=True, exclude_none=True)
    given = {k: dumped[k] for k in order if k in dumped}
    for key, value in given.items():
        if key in ("name", "host", "link"):
            continue
        if key == "policy":
            changes["control.policy"] = value if isinstance(value, Mapping) else {"kind": value}
        elif key == "overrides":
            changes.update(value)
        elif key in _VM_KEYS:
            changes[_VM_KEYS[key]] = value
        else:
            changes[key] = value
    return FleetVm(row.name, row.host, changes), row.link


def load_inventory(source: str | Path | Mapping[str, Any], *,  # noqa: C901
                   default_link: str | float | None = None) -> Inventory:
    """Read an inventory from a CSV or YAML file, or a mapping.

    Long and branchy because it reads three forms (CSV, YAML, a mapping) into one model and
    reports each row's problems.

    CSV: one VM per row with columns ``name, host, memory`` and any of ``link`` (the
    host's link), ``policy`` (a policy kind), ``vcpus, preset, dirty-rate, working-set,
    zero-fraction, qemu``, or dotted scenario paths (``parameters.downtime-limit``) as
    per-VM overrides; empty cells are "not set". YAML: ``defaults`` (a partial scenario for
    every VM), ``hosts`` (``{name: {link: 25Gbit/s}}``) and ``vms`` (rows as above, plus an
    optional ``overrides`` mapping).

    Args:
        source: a ``.csv``/``.yaml``/``.yml``/``.json`` path or the YAML form as a mapping.
        default_link: the link of hosts that name none (else ``defaults.host.link``, else
            the scenario default, 10Gbit/s); checked even when every host names one.

    Raises:
        FleetError: naming the row and the problem.
    """
    if isinstance(source, Mapping):
        data: dict[str, Any] = dict(source)
        where = "inventory"
    else:
        p = Path(source)
        where = str(p)
        if not p.exists():
            raise FleetError(f"{p}: no such inventory file")
        text = read_text(p, what="inventory", error=FleetError)
        if p.suffix.lower() == ".csv":
            try:
                rows = [{str(k).strip(): (_scalar(v) if isinstance(v, str) and v.strip()
                                          else None)
                         for k, v in r.items() if k is not None}
                        for r in csv.DictReader(io.StringIO(text, newline=""))]
            except csv.Error as err:
                raise FleetError(f"{p}: not a readable CSV file: {err}") from None
            for r in rows:  # names stay text even when they look like numbers
                for key in ("name", "host"):
                    if r.get(key) is not None:
                        r[key] = str(r[key])
            data = {"name": p.stem, "vms": rows}
        else:
            loaded = load_yaml(text, str(p), error=FleetError)
            if not isinstance(loaded, dict):
                raise FleetError(f"{p}: an inventory must be a mapping with a 'vms' list")
            data = loaded
            data.setdefault("name", p.stem)
    try:
        model = InventoryFile.model_validate(data)
    except ValidationError as err:
        given = data.get("vms")
        raise _fleet_error(err, where, given if isinstance(given, list) else []) from None
    defaults = model.defaults
    hosts_raw = {h: v.link for h, v in model.hosts.items()}
    fallback: Any = default_link
    if default_link is not None:  # checked even when every host names its own link
        try:
            given = float(parse_rate(default_link, field="default_link"))
        except UnitError as err:
            raise FleetError(str(err)) from err
        if not given > 0:
            raise FleetError(f"default_link(={default_link!r}) must be a rate > 0, "
                             f"e.g. 25Gbit/s")
    default_host = defaults.get("host") or {}
    if fallback is None:
        fallback = default_host.get("link", 10e9 / 8)
    vms: list[FleetVm] = []
    links: dict[str, Any] = dict(hosts_raw)
    for row, raw_row in zip(model.vms, data["vms"], strict=True):
        vm, link = _vm_from_row(row, [str(k) for k in raw_row])
        if link is not None:
            if links.get(vm.host) not in (None, link):
                raise FleetError(f"{where}: host {vm.host!r} is given two links "
                                 f"({links[vm.host]!r} and {link!r})")
            links[vm.host] = link
        vms.append(vm)
    names = [vm.name for vm in vms]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise FleetError(f"{where}: VM names must be unique; repeated: {dupes}")
    links_Bps: dict[str, float] = {}
    for vm in vms:
        raw = links.get(vm.host)
        value = fallback if raw is None else raw
        try:
            links_Bps[vm.host] = float(parse_rate(value, field=f"hosts.{vm.host}.link"))
        except UnitError as err:
            raise FleetError(f"{where}: {err}") from err
        if links_Bps[vm.host] <= 0:
            raise FleetError(f"{where}: host {vm.host!r} link must be > 0")
    return Inventory(tuple(vms), links_Bps, dict(defaults), model.name)


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
    """The most a migration could take from the link: its cap and its sending threads."""
    cap = float(sc.parameters.max_bandwidth) or math.inf
    threads = sc.parameters.multifd_channels if sc.capabilities["multifd"] else 1
    host = sc.host.while_running()
    return min(cap, host.channel_rate_Bps * min(max(1, threads), host.migration_cpus or math.inf))


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


def plan_drain(inventory: Inventory | str | Path | Mapping[str, Any], *,  # noqa: C901
               policy: str | None = None,
               order: str = "listed",
               per_node: int | None = None,
               per_cluster: int | None = None,
               no_limit: bool = False,
               seed: int | None = None,
               runner: Runner | None = None,
               hosts: Sequence[str] | None = None) -> DrainPlan:
    """Drain the inventory's source hosts (all, or ``hosts``) and report who moved when.

    Long and branchy because it is the drain's event loop: admission per host and cluster, link
    sharing and each VM's result share its state (a split into named steps is open work).

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
    if order not in ORDERS:
        raise FleetError(f"order(={order!r}) must be one of {', '.join(ORDERS)}")
    if policy is not None and policy not in (*POLICY_KINDS, "none"):
        raise FleetError(f"policy(={policy!r}) must be one of "
                         f"{', '.join((*POLICY_KINDS, 'none'))}")
    platform = Limits(None, None) if no_limit else PLATFORM_LIMITS.get(policy or "", Limits())
    limits = Limits(per_node if per_node is not None else platform.per_node,
                    per_cluster if per_cluster is not None else platform.per_cluster)
    run = runner or _engine_runner

    # Validate each distinct VM configuration once.
    scenarios: list[Scenario | None] = []
    errors: list[str] = []
    keys: list[str] = []
    by_key: dict[str, Scenario | str] = {}
    first_problem: dict[str, Problem] = {}
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
                    first_problem[key] = p
                by_key[key] = (f"{p.field}: {p.message} (got {p.value!r})" if p is not None
                               else str(err))
        got = by_key[key]
        scenarios.append(got if isinstance(got, Scenario) else None)
        errors.append("" if isinstance(got, Scenario) else got)
        keys.append(key)

    cache: dict[tuple[str, float], Result] = {}

    def result_at(i: int, link_Bps: float) -> Result:
        sc = scenarios[i]
        assert sc is not None
        ck = (keys[i], round(link_Bps, 3))
        if ck not in cache:
            cache[ck] = run(with_link(sc, link_Bps), seed)
        return cache[ck]

    ranked = sorted(range(len(inv.vms)),
                    key=lambda i: (_sort_key(order, scenarios[i]) *
                                   (-1 if order in ("largest-first", "most-dirty-first")
                                    else 1) if order != "listed" else 0.0, i))
    pending = [i for i in ranked if scenarios[i] is not None]
    demand = {i: _demand_Bps(sc) for i, sc in enumerate(scenarios) if sc is not None}
    active: dict[int, _Active] = {}
    rows: dict[int, dict[str, Any]] = {}
    link_rows: list[dict[str, Any]] = []
    per_host: dict[str, int] = dict.fromkeys(inv.hosts, 0)
    open_rows: dict[str, dict[str, Any]] = {}
    peak = 0
    t = 0.0
    while pending or active:
        for i in list(pending):
            host = inv.vms[i].host
            if limits.per_cluster is not None and len(active) >= limits.per_cluster:
                break
            if limits.per_node is not None and per_host[host] >= limits.per_node:
                continue
            pending.remove(i)
            active[i] = _Active(i, t)
            per_host[host] += 1
        # Re-divide each host's link and re-run the engine where a share changed.
        for host in inv.hosts:
            members = [a for a in active.values() if inv.vms[a.index].host == host]
            if not members:
                continue
            link = inv.links_Bps[host]
            alloc = fair_shares(link, [demand[a.index] for a in members])
            total = sum(alloc)
            for a, share in zip(members, alloc, strict=True):
                reach = max(link - (total - share), _LINK_EPS)
                a.alloc_Bps = share
                if abs(reach - a.link_Bps) > _LINK_EPS * max(1.0, reach):
                    a.link_Bps = reach
                    a.shares.append(reach)
                    a.result = result_at(a.index, reach)
                    a.rate = 1.0 / max(a.result.total_time_ms / 1000.0, 1e-9)
            last = open_rows.get(host)
            if last is not None and last["active"] == len(members) and \
                    last["allocated_Bps"] == total and last["end_s"] == t:
                last["end_s"] = math.nan  # same usage continues: extend the interval
            else:
                row: dict[str, Any] = {
                    "host": host, "start_s": t, "end_s": math.nan, "active": len(members),
                    "allocated_Bps": total, "link_Bps": link, "utilisation": total / link}
                link_rows.append(row)
                open_rows[host] = row
        peak = max(peak, len(active))
        dt = min((1.0 - a.frac) / a.rate for a in active.values())
        t_next = t + dt
        for row in open_rows.values():
            if math.isnan(float(row["end_s"])):
                row["end_s"] = t_next
        for a in list(active.values()):
            step = min(1.0 - a.frac, a.rate * dt)
            a.transferred += step * a.result.ram.transferred
            a.throttle_cpu_s += step * a.result.guest.throttle_cpu_s
            a.frac += step
            if a.frac >= 1.0 - 1e-9 or (1.0 - a.frac) / a.rate <= 1e-9 * max(1.0, t_next):
                res = a.result
                vm = inv.vms[a.index]
                rows[a.index] = {
                    "start_s": a.start_s, "end_s": t_next, "wait_s": a.start_s,
                    "duration_s": t_next - a.start_s, "downtime_ms": res.downtime_ms,
                    "status": res.status, "converged": res.converged,
                    "outcome": res.status, "transferred_bytes": a.transferred,
                    "throttle_cpu_s": a.throttle_cpu_s, "min_link_Bps": min(a.shares),
                    "max_link_Bps": max(a.shares), "reshares": len(a.shares) - 1,
                    "error": "",
                }
                del active[a.index]
                per_host[vm.host] -= 1
        t = t_next

    position = {i: k for k, i in enumerate(ranked)}
    records = []
    for i, vm in enumerate(inv.vms):
        base = {"name": vm.name, "host": vm.host, "order": position[i]}
        if i in rows:
            records.append(base | rows[i])
        else:
            records.append(base | {
                "start_s": math.nan, "end_s": math.nan, "wait_s": math.nan,
                "duration_s": math.nan, "downtime_ms": math.nan, "status": "invalid",
                "converged": False, "outcome": "invalid", "transferred_bytes": 0.0,
                "throttle_cpu_s": 0.0, "min_link_Bps": math.nan, "max_link_Bps": math.nan,
                "reshares": 0, "error": errors[i]})
    vms_df = pd.DataFrame.from_records(records)
    links_df = pd.DataFrame.from_records(
        link_rows, columns=["host", "start_s", "end_s", "active", "allocated_Bps",
                            "link_Bps", "utilisation"])
    ends = [r["end_s"] for r in rows.values()]
    return DrainPlan(drain_time_s=max(ends, default=0.0), vms=vms_df, links=links_df,
                     limits=limits, order=order, seed=seed, engine_runs=len(cache),
                     peak_active=peak,
                     problems={vm.name: first_problem[keys[i]]
                               for i, vm in enumerate(inv.vms)
                               if scenarios[i] is None and keys[i] in first_problem})

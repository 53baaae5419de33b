"""The inventory: which VMs live on which hosts, read from CSV, YAML or a mapping, checked
row by row (:func:`load_inventory`), and the platforms' concurrency limits."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final

from pydantic import BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from sim._bounded import load_yaml, read_text
from sim._exceptions import FleetError, UnitError
from sim._modelkit import FileModel, fail, problems_from
from sim.units import parse_rate

_VM_KEYS: Final = {
    "memory": "vm.memory", "vcpus": "vm.vcpus", "page-size": "vm.page-size",
    "preset": "workload.preset", "dirty-rate": "workload.dirty-rate",
    "working-set": "workload.working-set", "zero-fraction": "workload.zero-fraction",
    "qemu": "qemu",
}


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
    from sim.sweep import read_scalar as read

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

"""The scenario: one guest, one link, one QEMU release, one set of migration settings.

A scenario is the flight plan miglab files before anything flies: the guest (memory,
vCPUs, page size, device state), how it dirties memory (a rate over a working set, or a
measured curve), the hosts and link, the exact ``migrate-set-parameters`` and
``migrate-set-capabilities`` arguments, and what the operator or management layer does
(postcopy after N passes, a timeout, a policy). The file format is YAML or JSON with dash
names, as QMP spells them::

    name: web-8g
    qemu: "8.2"
    vm: {memory: 8GiB, vcpus: 4}
    workload: {dirty-rate: 200MiB/s, working-set: 2GiB}
    host: {link: 10Gbit/s}
    parameters: {max-bandwidth: 134217728, downtime-limit: 300}
    capabilities: {auto-converge: true}

Loading reads units once (:mod:`sim.units`), fills defaults, applies presets, and checks the
parameters and capabilities through :mod:`sim.qemu` exactly as the named release would. If
anything is wrong nothing is built: :func:`load_scenario` raises
:class:`~sim.InvalidScenarioError` listing QEMU's own first error first, then every other
problem, each naming the field, the value and what is accepted.

    >>> sc = load_scenario({"vm": {"memory": "8G"}, "workload": {"dirty-rate": "100MiB/s"}})
    >>> sc.vm.memory_bytes, sc.parameters.downtime_limit
    (8589934592, 300)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sim._bounded import MAX_INPUT_BYTES, load_yaml, read_text
from sim._exceptions import InvalidScenarioError, Problem, QemuError, ScenarioError, UnitError
from sim._modelkit import FileModel
from sim.models import (
    POLICY_KINDS,
    PRESET_POLICY_KINDS,
    Control,
    Host,
    PostcopyAfter,
    ScenarioFile,
    ValidationError,
    Vm,
    Workload,
    problems_from,
)
from sim.qemu import (
    HostSupport,
    VersionProfile,
    check_capabilities,
    check_parameters,
    profile,
    visit_set_parameters,
)
from sim.qemu.catalog import PARAMETERS
from sim.qemu.qapi import visit_capability_status
from sim.qemu.versions import DEFAULT_VERSION
from sim.units import GiB, parse_duration, parse_rate, parse_size

__all__ = [
    "POLICY_KINDS",
    "PRESET_POLICY_KINDS",
    "Capabilities",
    "Control",
    "Host",
    "MigrationParameters",
    "PostcopyAfter",
    "Scenario",
    "ValidationReport",
    "Vm",
    "Workload",
    "load_scenario",
    "read_scenario_file",
    "set_path",
    "validate",
]

DATA_DIR: Final = Path(__file__).resolve().parent.parent / "data"
_PACKAGED_DATA: Final = Path(__file__).resolve().parent / "_data"
MAX_FILE_BYTES: Final = MAX_INPUT_BYTES
"""Largest scenario file accepted (1 MiB)."""



def data_path(*parts: str) -> Path:
    """A file under ``data/`` in a checkout, or under the installed package's ``_data``."""
    here = DATA_DIR.joinpath(*parts)
    return here if here.exists() else _PACKAGED_DATA.joinpath(*parts)


def preset_files(kind: str) -> list[str]:
    """The names of the shipped ``data/<kind>/*.yaml`` presets (checkout or package)."""
    roots = (DATA_DIR, _PACKAGED_DATA)
    return sorted({p.stem for root in roots for p in root.joinpath(kind).glob("*.yaml")})


# ------------------------------------------------------------------------- the model


class MigrationParameters(Mapping[str, object]):
    """Every migration parameter of the release, QEMU's defaults overlaid with the scenario's.

    Behaves as a read-only mapping by QMP name; the values the engine needs are also typed
    attributes (``downtime_limit`` in ms, ``max_bandwidth`` in bytes/s, …).
    """

    def __init__(self, values: Mapping[str, object], given: frozenset[str]) -> None:
        self._values = dict(values)
        self.given = given
        """The names the scenario set explicitly (what an export must emit)."""

    def __getitem__(self, name: str) -> object:
        return self._values[name]

    def __iter__(self) -> Any:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        given = {k: self._values[k] for k in sorted(self.given)}
        return f"MigrationParameters({given})"

    def _int(self, name: str) -> int:
        value = self._values.get(name, PARAMETERS[name].default)
        return int(value) if isinstance(value, (int, bool)) else 0

    @property
    def max_bandwidth(self) -> int:
        """``max-bandwidth`` in bytes/s (0 and anything below 10 mean unlimited)."""
        return self._int("max-bandwidth")

    @property
    def downtime_limit(self) -> int:
        """``downtime-limit`` in ms."""
        return self._int("downtime-limit")

    @property
    def avail_switchover_bandwidth(self) -> int:
        """``avail-switchover-bandwidth`` in bytes/s (0 = use the measured rate)."""
        return self._int("avail-switchover-bandwidth")

    @property
    def throttle_trigger_threshold(self) -> int:
        """``throttle-trigger-threshold`` in %."""
        return self._int("throttle-trigger-threshold")

    @property
    def cpu_throttle_initial(self) -> int:
        """``cpu-throttle-initial`` in %."""
        return self._int("cpu-throttle-initial")

    @property
    def cpu_throttle_increment(self) -> int:
        """``cpu-throttle-increment`` in %."""
        return self._int("cpu-throttle-increment")

    @property
    def cpu_throttle_tailslow(self) -> bool:
        """``cpu-throttle-tailslow``."""
        return bool(self._values.get("cpu-throttle-tailslow", False))

    @property
    def max_cpu_throttle(self) -> int:
        """``max-cpu-throttle`` in %."""
        return self._int("max-cpu-throttle")

    @property
    def multifd_channels(self) -> int:
        """``multifd-channels``."""
        return self._int("multifd-channels")

    @property
    def multifd_compression(self) -> str:
        """``multifd-compression``: ``none``, ``zlib``, ``zstd``, …"""
        return str(self._values.get("multifd-compression", "none"))

    @property
    def xbzrle_cache_size(self) -> int:
        """``xbzrle-cache-size`` in bytes."""
        return self._int("xbzrle-cache-size")

    @property
    def max_postcopy_bandwidth(self) -> int:
        """``max-postcopy-bandwidth`` in bytes/s (0 = unlimited)."""
        return self._int("max-postcopy-bandwidth")

    @property
    def compress_threads(self) -> int:
        """Legacy ``compress-threads`` (0 when the release has none)."""
        return self._int("compress-threads") if "compress-threads" in self._values else 0

    @property
    def vcpu_dirty_limit(self) -> int:
        """``vcpu-dirty-limit`` in MB/s per vCPU."""
        return self._int("vcpu-dirty-limit") if "vcpu-dirty-limit" in self._values else 1


class Capabilities(Mapping[str, bool]):
    """Every capability of the release with its state; ``caps["multifd"]`` or ``caps.multifd``."""

    def __init__(self, values: Mapping[str, bool]) -> None:
        self._values = dict(values)

    def __getitem__(self, name: str) -> bool:
        return self._values.get(name, False)

    def __iter__(self) -> Any:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Capabilities({sorted(self.enabled)})"

    @property
    def enabled(self) -> frozenset[str]:
        """The names of the capabilities that are on."""
        return frozenset(k for k, v in self._values.items() if v)

    def __getattr__(self, attr: str) -> bool:
        if attr.startswith("_"):
            raise AttributeError(attr)
        return self._values.get(attr.replace("_", "-"), False)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario; build it with :func:`load_scenario`.

    Attributes:
        name: a label.
        qemu: the QEMU release profile.
        vm: the guest.
        workload: how it dirties memory.
        host: hosts and link.
        parameters: every migration parameter (defaults + the scenario's).
        capabilities: every capability of the release.
        control: operator/management actions.
        seed: recorded with the result and seeding recommend's sampler; the engine is
            deterministic and does not read it.
        assumptions: host facts that QEMU's host-dependent checks relied on.
        source: the scenario as given (dash names), for saving and exporting.
    """

    name: str
    qemu: VersionProfile
    vm: Vm
    workload: Workload
    host: Host
    parameters: MigrationParameters
    capabilities: Capabilities
    control: Control
    seed: int
    assumptions: tuple[str, ...] = ()
    source: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The scenario in file form (dash names), as it was given plus its name and seed."""
        out = json.loads(json.dumps(self.source, default=str))
        out.setdefault("name", self.name)
        out.setdefault("qemu", self.qemu.name)
        out.setdefault("seed", self.seed)
        return dict(out)

    def with_changes(self, changes: Mapping[str, Any]) -> Scenario:
        """A new validated scenario with dotted-path changes, e.g.
        ``{"parameters.downtime-limit": 500, "host.link": "25Gbit/s"}``."""
        data = self.to_dict()
        for path, value in changes.items():
            set_path(data, path, value)
        return load_scenario(data)


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``data["a"]["b"] = value`` for ``path == "a.b"``, creating sections as needed.

    A bare parameter name such as ``"downtime-limit"`` means ``"parameters.downtime-limit"``.
    """
    parts = path.split(".")
    if len(parts) == 1 and parts[0] in PARAMETERS:
        parts = ["parameters", parts[0]]
    node = data
    for key in parts[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[parts[-1]] = value


# ------------------------------------------------------------------------- validation


@dataclass
class ValidationReport:
    """The outcome of :func:`validate`.

    Attributes:
        problems: every problem; the first is the error QEMU would give when QEMU's checks
            fail, otherwise the first of miglab's.
        assumptions: host facts that passing host-dependent checks relied on.
        scenario: the built scenario when valid.
    """

    problems: list[Problem] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    scenario: Scenario | None = None

    @property
    def valid(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    @property
    def qemu_error(self) -> Problem | None:
        """QEMU's own first failure, if QEMU would refuse the settings."""
        return next((p for p in self.problems if p.source == "qemu"), None)

    def as_dict(self) -> dict[str, Any]:
        """``{"valid": bool, "errors": [{"field", "value", "message"}, …]}``."""
        return {"valid": self.valid, "errors": [p.as_dict() for p in self.problems],
                "assumptions": list(self.assumptions)}


_TOP_KEYS: Final = tuple(f.alias or n for n, f in ScenarioFile.model_fields.items())
"""The keys of a scenario file, in :class:`~sim.models.ScenarioFile`'s order."""


def read_scenario_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON scenario file into a dict (no validation).

    The file is read through :mod:`sim._bounded`: a regular file of at most 1 MiB, UTF-8,
    YAML 1.2 numbers, no duplicate keys, no Python objects, nesting and aliases capped.

    Raises:
        ScenarioError: the file is missing, too large, not YAML/JSON, or not a mapping.
    """
    p = Path(path)
    text = read_text(p, what="scenario file", limit=MAX_FILE_BYTES, error=ScenarioError)
    return parse_scenario_text(text, str(p))


def parse_scenario_text(text: str, where: str = "scenario") -> dict[str, Any]:
    """Parse scenario text (YAML, of which JSON is a subset) into a dict, bounded as
    :func:`read_scenario_file` is.

    Raises:
        ScenarioError: not YAML/JSON, beyond the limits, or not a mapping at the top.
    """
    data = load_yaml(text, where, limit=MAX_FILE_BYTES, error=ScenarioError)
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: a scenario must be a mapping (YAML/JSON object) "
                            f"with keys such as vm, workload, parameters; got "
                            f"{type(data).__name__}")
    return data


def _load_preset(kind: str, name: object, problems: list[Problem], where: str) -> dict[str, Any]:
    if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
        problems.append(Problem(where, name, f"expected the name of a {kind} preset"))
        return {}
    path = data_path(kind, f"{name}.yaml")
    if not path.exists():
        available = preset_files(kind)
        problems.append(Problem(where, name, f"no such {kind} preset; available: "
                                              + (", ".join(available) or "none")))
        return {}
    loaded = load_yaml(read_text(path, what=f"{kind} preset"), str(path))
    values = loaded.get("values", loaded) if isinstance(loaded, dict) else {}
    return dict(values) if isinstance(values, dict) else {}


def _section(model: type[FileModel], prefix: str, raw: object,
             problems: list[Problem]) -> Any:
    """``raw`` validated by ``model``; its defaults (and problems) when it is refused."""
    try:
        return model.model_validate({} if raw is None else raw)
    except ValidationError as err:
        problems.extend(problems_from(err, prefix, model))
        return None


def _with_preset(kind: str, raw: object, key: str, problems: list[Problem]) -> object:
    """``raw`` over the values of the preset it names (``workload.preset``, ``host.profile``)."""
    if not isinstance(raw, Mapping) or raw.get(key) is None:
        return raw
    section = "host" if kind == "hosts" else "workload"
    merged = _load_preset(kind, raw[key], problems, f"{section}.{key}")
    merged.pop(key, None)
    return merged | dict(raw)


def _read_vm(raw: object, problems: list[Problem]) -> Vm:
    vm = _section(Vm, "vm", raw, problems)
    return vm if vm is not None else Vm(memory_bytes=GiB)


def _read_workload(raw: object, vm: Vm, problems: list[Problem]) -> Workload:
    merged = _with_preset("workloads", raw, "preset", problems)
    if isinstance(merged, dict) and isinstance(raw, Mapping):
        # the scenario's own form overrides the form a preset gives
        if "dirty-rate" in raw and "dirty-curve" not in raw:
            merged.pop("dirty-curve", None)
        if ("dirty-rate" in raw or "dirty-curve" in raw) and "classes" not in raw:
            merged.pop("classes", None)
        if "classes" in raw and "dirty-curve" not in raw:
            merged.pop("dirty-curve", None)
    wl: Workload | None = _section(Workload, "workload", merged, problems)
    if wl is None:
        return Workload()
    memory_known = not any(p.field == "vm.memory" for p in problems)
    if wl.working_set_bytes is not None and wl.working_set_bytes > vm.memory_bytes \
            and memory_known:
        given = merged.get("working-set") if isinstance(merged, Mapping) else None
        problems.append(Problem("workload.working-set", given,
                                f"larger than vm.memory ({vm.memory_bytes} bytes)"))
    classes_bytes = sum(size for size, _ in wl.dirty_classes or ())
    if classes_bytes > vm.memory_bytes and memory_known:
        given = merged.get("classes") if isinstance(merged, Mapping) else None
        problems.append(Problem("workload.classes", given,
                                f"the classes add up to {classes_bytes} bytes, more than "
                                f"vm.memory ({vm.memory_bytes} bytes)"))
    return wl


def _read_host(raw: object, problems: list[Problem]) -> Host:
    host = _section(Host, "host", _with_preset("hosts", raw, "profile", problems), problems)
    return host if host is not None else Host()


def _read_control(raw: object, problems: list[Problem]) -> Control:
    before = len(problems)
    control: Control | None = _section(Control, "control", raw, problems)
    policy = control.policy if control is not None else None
    if control is None and isinstance(raw, Mapping) and raw.get("policy") is not None and \
            not any(p.field.startswith("control.policy") for p in problems[before:]):
        policy = raw["policy"]  # another control key failed: still check the options
    if policy is None:
        return control if control is not None else Control()
    from sim.policies import check_policy, resolve_policy  # imports sim.scenario

    found = check_policy(policy)
    problems.extend(found)
    if control is None:
        return Control()
    # keep the options a file gave, so that nothing later opens the file again
    return control.model_copy(update={"policy": None if found else resolve_policy(policy)})


def _qemu_problem(err: QemuError, section: str, raw: Mapping[str, Any]) -> Problem:
    name = err.field
    key = f"{section}.{name}" if name else section
    value = raw.get(name) if name else None
    return Problem(key, value, err.desc, source="qemu")


def _hint_for_strings(raw: Mapping[str, Any], prof: VersionProfile,
                      problems: list[Problem]) -> None:
    """Add a miglab hint when a human-form string was given where QMP wants a number."""
    for name, value in raw.items():
        if not isinstance(value, str) or not prof.has_parameter(name):
            continue
        kind = prof.parameter(name).qapi_type
        if kind not in ("size", "uint64", "uint8", "uint32"):
            continue
        unit = PARAMETERS[name].unit
        try:
            number = (parse_rate(value) if unit == "bytes/s" else
                      parse_duration(value) * 1000 if unit == "ms" else parse_size(value))
        except UnitError:
            continue
        if not 0 <= number < 2**64:
            continue  # no integer to suggest: QEMU's own type error says it all
        problems.append(Problem(f"parameters.{name}", value,
                                f"parameters take QMP's plain integers ({unit or 'a count'}); "
                                f"write {int(number)}"))


def _check_qemu(raw_params: object, raw_caps: object, prof: VersionProfile, host: HostSupport,
                problems: list[Problem], assumptions: list[str]
                ) -> tuple[dict[str, object], dict[str, bool]]:
    """Apply capabilities then parameters as ``migrate-set-*`` would, collecting every error."""
    params = prof.default_parameters()
    caps = prof.default_capabilities()
    qemu_problems: list[Problem] = []
    if raw_caps is None:
        raw_caps = {}
    if not isinstance(raw_caps, Mapping):
        problems.append(Problem("capabilities", raw_caps,
                                "expected a mapping of capability names to true/false"))
        raw_caps = {}
    # YAML allows keys JSON cannot have (1, true, null); QMP would receive them as text.
    raw_caps = {str(k): v for k, v in raw_caps.items()}
    new_caps = dict(caps)
    for i, (name, state) in enumerate(raw_caps.items()):
        # As one migrate-set-capabilities listing them in file order: item i.
        try:
            cap, on = visit_capability_status({"capability": name, "state": state}, i, prof)
            new_caps[cap] = on
        except QemuError as err:
            qemu_problems.append(Problem(f"capabilities.{name}", state, err.desc, "qemu"))
    outcome = check_capabilities(caps, new_caps, params, prof, host, incoming=True,
                                 collect=True)
    qemu_problems += [_qemu_problem(e, "capabilities", raw_caps) for e in outcome.errors]
    assumptions += outcome.assumptions
    if not outcome.errors:
        caps = new_caps

    if raw_params is None:
        raw_params = {}
    if not isinstance(raw_params, Mapping):
        problems.append(Problem("parameters", raw_params,
                                "expected a mapping of migrate-set-parameters arguments"))
        raw_params = {}
    raw_params = {str(k): v for k, v in raw_params.items()}
    typed: dict[str, object] = {}
    # QEMU's visitor walks the schema's members in order and finds unknown ones last.
    order = {p.name: i for i, p in enumerate(prof.parameters)}
    for name, value in sorted(raw_params.items(), key=lambda kv: order.get(kv[0], len(order))):
        try:
            typed.update(visit_set_parameters({name: value}, prof))
        except QemuError as err:
            qemu_problems.append(Problem(f"parameters.{name}", value, err.desc, "qemu"))
    merged = params | typed
    # QEMU's mapped-ram rule reads the stored (pre-request) values: here, the defaults.
    outcome = check_parameters(merged, new_caps, prof, host, current=params, collect=True)
    qemu_problems += [_qemu_problem(e, "parameters", raw_params) for e in outcome.errors]
    assumptions += outcome.assumptions
    problems[:0] = qemu_problems
    _hint_for_strings(raw_params, prof, problems)
    return merged, new_caps


def _check_cross(sc_caps: Mapping[str, bool], control: Control,
                 problems: list[Problem]) -> None:
    if control.postcopy_after is not None and not sc_caps.get("postcopy-ram"):
        after = control.postcopy_after
        given = {"passes": after.passes} if after.passes is not None else {
            "seconds": after.seconds}
        problems.append(Problem("control.postcopy-after", given,
                                "needs capabilities.postcopy-ram: true (QEMU refuses "
                                "migrate-start-postcopy without it)"))


class _Header(FileModel):
    """The name and seed of a scenario file, read with :class:`~sim.models.ScenarioFile`'s
    own fields (defaults and messages written once, there)."""

    name: str = ScenarioFile.model_fields["name"]  # type: ignore[assignment]
    seed: int = ScenarioFile.model_fields["seed"]  # type: ignore[assignment]


def validate(source: str | Path | Mapping[str, Any]) -> ValidationReport:
    """Check a scenario and report every problem, QEMU's first failure first.

    Args:
        source: a path to a YAML/JSON file, or the scenario as a mapping.

    Returns:
        A :class:`ValidationReport`; ``report.scenario`` is set when it is valid.
    """
    report = ValidationReport()
    try:
        data = dict(source) if isinstance(source, Mapping) else read_scenario_file(source)
    except ScenarioError as err:
        # the Problem names the file already: keep only what is wrong with it
        report.problems.append(Problem("file", str(source),
                                       str(err).removeprefix(f"{source}: ")))
        return report
    problems = report.problems
    for key in data:
        if key not in _TOP_KEYS:
            problems.append(Problem(str(key), data[key],
                                    "unknown key; a scenario has " + ", ".join(_TOP_KEYS)))
    try:
        prof = profile(data.get("qemu", DEFAULT_VERSION))
    except UnitError as err:
        problems.append(Problem("qemu", data.get("qemu"), err.detail))
        prof = profile(DEFAULT_VERSION)
    head = {k: data[k] for k in ("name", "seed") if k in data}
    try:
        header = _Header.model_validate(head)
    except ValidationError as err:
        problems.extend(problems_from(err, "", _Header))
        header = _Header.model_validate({k: v for k, v in head.items()
                                         if k not in {str(p.field) for p in problems}})
    name, seed = header.name, header.seed
    vm = _read_vm(data.get("vm"), problems)
    workload = _read_workload(data.get("workload"), vm, problems)
    host = _read_host(data.get("host"), problems)
    control = _read_control(data.get("control"), problems)
    params, caps = _check_qemu(data.get("parameters"), data.get("capabilities"), prof,
                               host.support, problems, report.assumptions)
    _check_cross(caps, control, problems)
    if problems:
        return report
    given = data.get("parameters") or {}
    report.scenario = Scenario(
        name=name, qemu=prof, vm=vm, workload=workload, host=host,
        parameters=MigrationParameters(params, frozenset(given)),
        capabilities=Capabilities(caps), control=control, seed=seed,
        assumptions=tuple(report.assumptions), source=data,
    )
    return report


def load_scenario(source: str | Path | Mapping[str, Any]) -> Scenario:
    """Load and validate a scenario.

    Args:
        source: a path to a YAML/JSON file, or the scenario as a mapping.

    Returns:
        The validated :class:`Scenario`.

    Raises:
        InvalidScenarioError: with every problem, QEMU's first failure first.
    """
    report = validate(source)
    if report.scenario is None:
        raise InvalidScenarioError(report.problems)
    return report.scenario

"""Loading: a scenario file or mapping checked section by section into a :class:`Scenario`.

The loader is the check-in desk: it takes the file as given, reads each section with its
model (:mod:`sim.models`), lays a named preset (``workload.preset``, ``host.profile``) under
the section's own keys, has QEMU inspect the settings (:mod:`sim.scenario._qemu_bridge`),
and checks what spans sections (postcopy after N passes needs ``postcopy-ram``). Every
problem is collected, QEMU's first failure first; only a scenario with none is built.

    >>> report = validate({"vm": {"memory": "8G"}, "parameters": {"downtime-limit": -1}})
    >>> report.valid, report.qemu_error.field
    (False, 'parameters.downtime-limit')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sim._exceptions import InvalidScenarioError, Problem, ScenarioError, UnitError
from sim._modelkit import FileModel
from sim.models import (
    SCENARIO_KEYS,
    Control,
    Host,
    ScenarioFile,
    ValidationError,
    Vm,
    Workload,
    problems_from,
)
from sim.qemu import profile
from sim.qemu.versions import DEFAULT_VERSION
from sim.scenario._qemu_bridge import check_qemu
from sim.scenario.data import read_preset
from sim.scenario.files import read_scenario_file
from sim.scenario.model import Capabilities, MigrationParameters, Scenario
from sim.units import GiB

__all__ = ["ValidationReport", "load_scenario", "validate"]


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


"""The keys of a scenario file, in :class:`~sim.models.ScenarioFile`'s order."""


def _load_preset(kind: str, name: object, problems: list[Problem], where: str) -> dict[str, Any]:
    """The values of preset ``name`` (:func:`~sim.scenario.data.read_preset`), or a problem
    on ``where`` and nothing."""
    if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
        problems.append(Problem(where, name, f"expected the name of a {kind} preset"))
        return {}
    try:
        return read_preset(kind, name)
    except ScenarioError as err:
        problems.append(Problem(where, name, str(err)))
        return {}


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


_WORKLOAD_FORMS: Final = {"rate": ("dirty-rate", ("dirty-rate", "working-set")),
                          "curve": ("dirty-curve", ("dirty-curve",)),
                          "classes": ("classes", ("classes",))}
"""How a workload says how fast it writes: the key that names each form, and its keys."""


def _read_workload(raw: object, vm: Vm, problems: list[Problem]) -> Workload:
    merged = _with_preset("workloads", raw, "preset", problems)
    if isinstance(merged, dict) and isinstance(raw, Mapping):
        # the scenario's own form overrides the form a preset gives: the preset's keys of
        # every other form go (a form the scenario writes twice is still refused)
        own = {form for form, (name, _) in _WORKLOAD_FORMS.items() if name in raw}
        for form, (_, keys) in _WORKLOAD_FORMS.items():
            if own and form not in own:
                for key in keys:
                    if key not in raw:
                        merged.pop(key, None)
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
        if key not in SCENARIO_KEYS:
            problems.append(Problem(str(key), data[key],
                                    "unknown key; a scenario has " + ", ".join(SCENARIO_KEYS)))
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
    params, caps = check_qemu(data.get("parameters"), data.get("capabilities"), prof,
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

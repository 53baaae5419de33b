"""Management policies: the controllers that drive QEMU's migration from above.

Each policy is a small module with the product's own defaults and formulas, cited in its
docstring: :mod:`~sim.policies.nova` (OpenStack), :mod:`~sim.policies.kubevirt`,
:mod:`~sim.policies.ovirt` (convergence schedules), :mod:`~sim.policies.proxmox`,
:mod:`~sim.policies.ramp` (a downtime ramp, KubeVirt VEP 291) and
:mod:`~sim.policies.custom` (the user's own rules). A scenario picks one with
``control.policy: {kind: …, options…}``; ``file: name`` reads the options from a file in
``data/policies/`` (or a folder the caller allows, :func:`policy_dirs`), inline keys
override it. No other file is ever opened because an input named it.

Like a registry of driving instructors, this module finds the instructor for a ``kind``,
checks their options (:func:`check_policy`, called by :mod:`sim.scenario` while loading) and
builds them (:func:`build_policy`, called by :func:`sim.engine.simulate`).

    >>> [p.message.split(";")[0] for p in check_policy({"kind": "proxmox", "downtime": 1})]
    ['unknown option for policy kind proxmox']
    >>> build_policy({"kind": "nova"}).options["live_migration_downtime"]
    500
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Final

from pydantic import Field, TypeAdapter, ValidationError

from sim._bounded import load_yaml, read_text, resolve_named_file
from sim._exceptions import InputError, InvalidScenarioError, Problem
from sim._modelkit import problems_from
from sim.policies import custom, kubevirt, nova, ovirt, proxmox, ramp
from sim.policies.base import Option, Policy, PolicyOptions, options_table

__all__ = ["KINDS", "MODELS", "AnyPolicyOptions", "Policy", "PolicyOptions", "allow_policy_dirs",
           "build_policy", "check_policy", "load_policy_file", "parse_policy", "policy_dirs",
           "resolve_policy"]

MODELS: Final[dict[str, tuple[type[Policy], type[PolicyOptions]]]] = {
    "nova": (nova.NovaPolicy, nova.NovaOptions),
    "kubevirt": (kubevirt.KubeVirtPolicy, kubevirt.KubeVirtOptions),
    "ovirt": (ovirt.OVirtPolicy, ovirt.OVirtOptions),
    "proxmox": (proxmox.ProxmoxPolicy, proxmox.ProxmoxOptions),
    "downtime-ramp": (ramp.RampPolicy, ramp.RampOptions),
    "custom": (custom.CustomPolicy, custom.CustomOptions),
}
"""``kind`` → (policy class, its options model)."""

KINDS: Final[dict[str, tuple[type[Policy], Mapping[str, Option] | None]]] = {
    kind: (cls, None if model is custom.CustomOptions else options_table(model))
    for kind, (cls, model) in MODELS.items()}
"""``kind`` → (policy class, its options as ``{name: Option(default, reader)}``; ``None``
for custom, whose options are rules), derived from :data:`MODELS`."""

AnyPolicyOptions = Annotated[
    nova.NovaOptions | kubevirt.KubeVirtOptions | ovirt.OVirtOptions
    | proxmox.ProxmoxOptions | ramp.RampOptions | custom.CustomOptions,
    Field(discriminator="kind"),
]
"""Every policy's options, told apart by ``kind`` (``control.policy``; a policy file)."""

POLICY_ADAPTER: Final = TypeAdapter(AnyPolicyOptions)
"""Validates and describes (JSON Schema) any policy's options."""


_EXTRA_DIRS: ContextVar[tuple[Path, ...]] = ContextVar("policy_dirs", default=())


def _data_dir() -> Path:
    from sim.scenario import data_path

    return data_path("policies")


@contextmanager
def policy_dirs(dirs: Iterable[str | Path]) -> Iterator[tuple[Path, ...]]:
    """Let ``control.policy.file`` also name files in ``dirs`` while the block runs.

    Policy files are otherwise looked up only in ``data/policies``: a scenario, an
    inventory or a dashboard link can never make miglab open another file. The command
    line's ``miglab --policy-dir DIR`` does the same for one run.

        >>> with policy_dirs(["."]):
        ...     pass
    """
    token = _EXTRA_DIRS.set((*_EXTRA_DIRS.get(), *(Path(d) for d in dirs)))
    try:
        yield _EXTRA_DIRS.get()
    finally:
        _EXTRA_DIRS.reset(token)


def allow_policy_dirs(dirs: Iterable[str | Path]) -> None:
    """Like :func:`policy_dirs`, for the rest of the current context (the CLI's flag)."""
    _EXTRA_DIRS.set((*_EXTRA_DIRS.get(), *(Path(d) for d in dirs)))


def load_policy_file(name: object) -> dict[str, Any]:
    """Read a policy file (YAML/JSON mapping) named inside ``data/policies`` or a folder
    allowed by :func:`policy_dirs`; ``nova-default`` and ``nova-default.yaml`` both work.

    Raises:
        InvalidScenarioError: the name points outside those folders, the file is missing,
            unreadable or not a mapping. The message echoes nothing of any file's content.
    """
    field = "control.policy.file"
    try:
        extra = _EXTRA_DIRS.get()
        shelves = " or ".join(["data/policies", *(str(d) for d in extra)])
        found = resolve_named_file(name, roots=(_data_dir(), *extra), field=field,
                                   shelves=shelves)
        data = load_yaml(read_text(found, what="policy file"), str(name))
    except InputError as err:
        raise InvalidScenarioError([Problem(field, name, _tail(str(err), field))]) from None
    if not isinstance(data, dict):
        raise InvalidScenarioError([Problem(field, name,
                                            "expected a YAML mapping of policy options")])
    return data


def _tail(message: str, field: str) -> str:
    """``message`` without a leading ``field: `` (the Problem names the field itself)."""
    return message.removeprefix(f"{field}: ")


def resolve_policy(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Options from ``file`` overlaid with the inline ones (no ``file`` key left).

    Raises:
        InvalidScenarioError: the file cannot be used (:func:`load_policy_file`) or is for
            another kind.
    """
    data = dict(raw)
    if "file" in data:
        base = load_policy_file(data.pop("file"))
        if base.get("kind", data.get("kind")) != data.get("kind"):
            raise InvalidScenarioError([Problem("control.policy.file", raw["file"],
                                                f"the file is for kind {base.get('kind')}, "
                                                f"not {data.get('kind')}")])
        data = base | data
    return data


def check_policy(raw: Mapping[str, Any]) -> list[Problem]:
    """Every problem with a ``control.policy`` mapping (its ``kind`` is known).

    Each problem names the option, its value and what is accepted.
    """
    try:
        data = resolve_policy(raw)
    except InvalidScenarioError as err:
        return list(err.problems)
    kind = str(data.get("kind"))
    if kind not in KINDS:
        return [Problem("control.policy.kind", kind, "expected one of " + ", ".join(KINDS))]
    model = MODELS[kind][1]
    try:
        model.model_validate(data)
    except ValidationError as err:
        return problems_from(err, "control.policy", model)
    return []


def parse_policy(raw: Mapping[str, Any]) -> PolicyOptions:
    """The typed options of a ``control.policy`` mapping (``file`` read first).

    Raises:
        InvalidScenarioError: the mapping has problems (:func:`check_policy`).
    """
    problems = check_policy(raw)
    if problems:
        raise InvalidScenarioError(problems)
    data = resolve_policy(raw)
    return MODELS[str(data["kind"])][1].model_validate(data)


def build_policy(raw: Mapping[str, Any]) -> Policy:
    """The policy for a checked ``control.policy`` mapping.

    Raises:
        InvalidScenarioError: the mapping has problems (:func:`check_policy`).
    """
    options = parse_policy(raw)
    return MODELS[options.kind][0](options.options())

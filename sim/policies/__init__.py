"""Management policies: the controllers that drive QEMU's migration from above.

Each policy is a small module with the product's own defaults and formulas, cited in its
docstring: :mod:`~sim.policies.nova` (OpenStack), :mod:`~sim.policies.kubevirt`,
:mod:`~sim.policies.ovirt` (convergence schedules), :mod:`~sim.policies.proxmox`,
:mod:`~sim.policies.ramp` (a downtime ramp, KubeVirt VEP 291) and
:mod:`~sim.policies.custom` (the user's own rules). A scenario picks one with
``control.policy: {kind: …, options…}``; ``file: path.yaml`` reads the options from a file
(``data/policies/`` holds examples), inline keys override it.

Like a registry of driving instructors, this module finds the instructor for a ``kind``,
checks their options (:func:`check_policy`, called by :mod:`sim.scenario` while loading) and
builds them (:func:`build_policy`, called by :func:`sim.engine.simulate`).

    >>> [p.message.split(";")[0] for p in check_policy({"kind": "proxmox", "downtime": 1})]
    ['unknown option for policy kind proxmox']
    >>> build_policy({"kind": "nova"}).options["live_migration_downtime"]
    500
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml

from sim._exceptions import InvalidScenarioError, Problem
from sim.policies import custom, kubevirt, nova, ovirt, proxmox, ramp
from sim.policies.base import Option, Policy, check_options, read_options

__all__ = ["KINDS", "Policy", "build_policy", "check_policy", "load_policy_file"]

KINDS: Final[dict[str, tuple[type[Policy], Mapping[str, Option] | None]]] = {
    "nova": (nova.NovaPolicy, nova.OPTIONS),
    "kubevirt": (kubevirt.KubeVirtPolicy, kubevirt.OPTIONS),
    "ovirt": (ovirt.OVirtPolicy, ovirt.OPTIONS),
    "proxmox": (proxmox.ProxmoxPolicy, proxmox.OPTIONS),
    "downtime-ramp": (ramp.RampPolicy, ramp.OPTIONS),
    "custom": (custom.CustomPolicy, None),
}
"""``kind`` → (policy class, its options; ``None``: custom reads its own shape)."""


def _data_dir() -> Path:
    from sim.scenario import data_path

    return data_path("policies")


def load_policy_file(path: str | Path) -> dict[str, Any]:
    """Read a policy file (YAML/JSON mapping); a bare name is looked up in ``data/policies``.

    Raises:
        InvalidScenarioError: the file is missing or not a mapping.
    """
    p = Path(path)
    candidates = [p, _data_dir() / p, _data_dir() / f"{p}.yaml"]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        raise InvalidScenarioError([Problem("control.policy.file", str(path),
                                            "no such policy file (looked in the working "
                                            "directory and data/policies)")])
    data = yaml.safe_load(found.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise InvalidScenarioError([Problem("control.policy.file", str(path),
                                            "expected a YAML mapping of policy options")])
    return data


def _resolve(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Options from ``file`` overlaid with the inline ones."""
    data = dict(raw)
    if "file" in data:
        base = load_policy_file(str(data.pop("file")))
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
        data = _resolve(raw)
    except InvalidScenarioError as err:
        return list(err.problems)
    kind = str(data.get("kind"))
    if kind not in KINDS:
        return [Problem("control.policy.kind", kind, "expected one of " + ", ".join(KINDS))]
    options = KINDS[kind][1]
    if options is None:
        return custom.check_custom(data)
    return check_options(kind, data, options)


def build_policy(raw: Mapping[str, Any]) -> Policy:
    """The policy for a checked ``control.policy`` mapping.

    Raises:
        InvalidScenarioError: the mapping has problems (:func:`check_policy`).
    """
    problems = check_policy(raw)
    if problems:
        raise InvalidScenarioError(problems)
    data = _resolve(raw)
    cls, options = KINDS[str(data["kind"])]
    if options is None:
        return cls(custom.read_custom(data)[0])
    return cls(read_options(data, options))

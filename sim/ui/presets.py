"""The preset pickers: host profiles and management policies chosen by name, or custom.

A preset is a label on a shelf: ``data/hosts/<name>.yaml`` or ``data/policies/<name>.yaml``
(listed and read by :func:`sim.scenario.preset_names` and :func:`sim.scenario.read_preset`,
the same two functions the scenario loader uses, so a picker offers exactly what a scenario
may name). Picking one writes a reference into the draft (``host.profile``, a policy's
``file``); picking :data:`CUSTOM` writes the preset's values out inline so every one can be
edited.

    >>> preset_choices("hosts")[0], preset_of({"host": {"link": "10Gbit/s"}}, "hosts")
    ('custom', 'custom')
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final, Literal

from sim.scenario import data_path, preset_names, read_preset
from sim.ui._shared import section_of

__all__ = [
    "CUSTOM",
    "PresetKind",
    "apply_preset",
    "form_view",
    "preset_choices",
    "preset_description",
    "preset_of",
]

PresetKind = Literal["hosts", "policies"]
"""Which preset folder of ``data/``: host profiles or management policies."""

CUSTOM: Final = "custom"
"""The preset pickers' entry for values that do not come from a shipped preset."""

_HOST_META: Final = ("description", "source", "calibrated")


def preset_choices(kind: PresetKind) -> list[str]:
    """What a preset picker offers: :data:`CUSTOM`, then the shipped presets by name
    (``data/hosts/*.yaml`` or ``data/policies/*.yaml``)."""
    return [CUSTOM, *preset_names(kind)]


def preset_description(kind: PresetKind, name: str) -> str:
    """A line on a shipped preset: a host profile's ``description`` (and ``source``), a
    policy file's leading comment."""
    if kind == "hosts":
        data = read_preset(kind, name)
        text = " ".join(str(data.get("description", "")).split())
        return f"{text} Source: {data['source']}." if "source" in data else text
    lines = []
    for line in data_path(kind, f"{name}.yaml").read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(lines)


def preset_of(scenario: Mapping[str, Any], kind: PresetKind) -> str:
    """The shipped preset ``scenario`` uses, or :data:`CUSTOM`.

    A host uses a preset when ``host.profile`` names one (its inline keys override the
    profile's, as in a scenario file); a policy when ``control.policy`` is exactly
    ``{kind, file}`` with ``file`` naming a shipped policy.
    """
    if kind == "hosts":
        name = section_of(scenario, "host").get("profile")
    else:
        policy = section_of(scenario, "control").get("policy")
        name = policy.get("file") if isinstance(policy, Mapping) \
            and set(policy) == {"kind", "file"} else None
    return name if isinstance(name, str) and name in preset_names(kind) else CUSTOM


def apply_preset(scenario: Mapping[str, Any], kind: PresetKind, name: str) -> dict[str, Any]:
    """A copy of ``scenario`` that uses preset ``name``, or its own values (:data:`CUSTOM`).

    - a host preset: ``host.profile`` is set, and the inline keys the profile defines are
      dropped so that the profile's values apply; other inline keys stay.
    - a policy preset: ``control.policy`` becomes ``{kind: <the file's kind>, file: name}``.
    - :data:`CUSTOM`: the current preset's values are written inline in place of the
      reference (the result does not change; every value can now be edited). A scenario
      that uses no preset is returned unchanged.

    Raises:
        ScenarioError: ``name`` is neither :data:`CUSTOM` nor a shipped preset.
    """
    out = copy.deepcopy(dict(scenario))
    current = preset_of(scenario, kind)
    if name == CUSTOM and current == CUSTOM:
        return out
    if kind == "hosts":
        host = section_of(out, "host")
        if name == CUSTOM:
            base = {k: v for k, v in read_preset(kind, current).items() if k not in _HOST_META}
            host.pop("profile", None)
            out["host"] = {**base, **host}
        else:
            preset = read_preset(kind, name)
            out["host"] = {"profile": name, **{k: v for k, v in host.items()
                                               if k != "profile" and k not in preset}}
        return out
    control = section_of(out, "control")
    if name == CUSTOM:
        control["policy"] = read_preset(kind, current)
    else:
        control["policy"] = {"kind": read_preset(kind, name).get("kind"), "file": name}
    out["control"] = control
    return out


def form_view(scenario: Mapping[str, Any]) -> dict[str, Any]:
    """The scenario as the form shows it: a host profile's values under the inline ones, so
    that the host fields show the values that apply."""
    name = preset_of(scenario, "hosts")
    if name == CUSTOM:
        return dict(scenario)
    out = copy.deepcopy(dict(scenario))
    out["host"] = {**read_preset("hosts", name), **section_of(scenario, "host")}
    return out

"""The scenario form: one widget per scenario field, and the copying both ways.

The form is the clerk's paper form: :func:`form_fields` prints one box per guest, workload,
host and control field and per parameter and capability of the chosen QEMU release (label,
unit, QEMU's default, what the box accepts); :func:`initial_values` fills the boxes in from
a scenario dict, as text that reads back exactly (``128MiB/s``, ``300ms``);
:func:`apply_form` copies the boxes back into a new scenario dict, parameters as the plain
integers QMP takes. It knows no physics and no Streamlit::

    >>> from sim.qemu import profile
    >>> from sim.ui.draft import default_scenario
    >>> fields = form_fields(profile("8.2"))
    >>> values = initial_values(fields, default_scenario())
    >>> values["parameters.max-bandwidth"]
    '128MiB/s'
    >>> new, _ = apply_form(default_scenario(), fields, {**values,
    ...                     "parameters.max-bandwidth": "1GiB/s"})
    >>> new["parameters"]["max-bandwidth"]
    1073741824

Unit problems found while reading the boxes come back as :class:`~sim.Problem`; QEMU's own
checks are :func:`sim.validate`'s job.
"""

from __future__ import annotations

import copy
import json
import re
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import BaseModel

from sim._bounded import loads_json
from sim._exceptions import Problem, UnitError
from sim._modelkit import unit_of
from sim.models import PAGE_SIZES, ScenarioFile
from sim.qemu.catalog import PARAMETERS as _CATALOG
from sim.qemu.catalog import Capability, Parameter
from sim.qemu.qapi import enum_values
from sim.qemu.versions import VersionProfile
from sim.scenario import PRESET_POLICY_KINDS, set_path
from sim.ui._shared import ACCEPTS, WidgetKind, drop_path, get_path, param_kind
from sim.ui.formatting import human_ms, human_rate, human_size
from sim.units import parse_duration, parse_rate, parse_size

__all__ = [
    "FORM_PATHS",
    "GROUPS",
    "FormField",
    "WidgetKind",
    "apply_form",
    "form_fields",
    "initial_values",
    "parse_param_text",
    "problems_by_field",
]

GROUPS: Final = ("bandwidth and downtime", "auto-converge", "multifd and compression",
                 "xbzrle", "postcopy", "switchover", "other")
"""The dashboard's parameter groups, in display order (the catalog's ``group`` values)."""


@dataclass(frozen=True)
class FormField:
    """One widget of the scenario form.

    Attributes:
        path: the dotted scenario path, e.g. ``"parameters.downtime-limit"``; also the
            ``Problem.field`` that :func:`sim.validate` reports for it.
        label: the widget label, with the unit.
        kind: how it is edited.
        group: the section it is shown in.
        help: one line of help text (QEMU's default included for parameters).
        choices: the options of a ``"choice"`` widget.
        default: QEMU's default for parameters and capabilities (``None`` otherwise).
    """

    path: str
    label: str
    kind: WidgetKind
    group: str
    help: str = ""
    choices: tuple[str, ...] = ()
    default: object = None


def _param_choices(p: Parameter, prof: VersionProfile) -> tuple[str, ...]:
    return enum_values(p.qapi_type, prof)


def _param_default_text(p: Parameter, kind: WidgetKind) -> str:
    return _param_text(p.default, kind) or "''"


FORM_PATHS: Final = (
    "vm.memory", "vm.vcpus", "vm.page-size", "vm.device-state",
    "workload.dirty-rate", "workload.working-set", "workload.pattern", "workload.zero-fraction",
    "workload.zero-layout", "workload.compress-ratio",
    "host.link", "host.rtt", "host.channel-rate", "host.running-channel-rate",
    "host.migration-cpus", "host.first-touch-rate",
    "control.timeout", "control.policy",
)
"""The scenario fields the form shows besides QEMU's, in order; their label (the model
field's ``title``), help (its ``description``), widget and choices come from the models."""

_UNIT_WIDGETS: Final[dict[str, WidgetKind]] = {"size": "size", "rate": "rate", "duration": "ms"}
"""The text box a field with a unit in its name gets (:func:`sim._modelkit.unit_of`)."""

_FORM_GROUPS: Final = {"vm": "guest", "workload": "workload", "host": "host",
                       "control": "control"}


def _model_form_field(path: str) -> FormField:
    """The widget of a guest, workload, host or control field, read off its model."""
    section, key = path.split(".", 1)
    model = ScenarioFile.model_fields[section].annotation
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"{section} is not a section of a scenario")
    name, info = next((n, f) for n, f in model.model_fields.items() if (f.alias or n) == key)
    choices: tuple[str, ...] = ()
    kind: WidgetKind
    if path == "control.policy":
        kind, choices = "choice", ("none", *PRESET_POLICY_KINDS)
    elif name == "page_size_bytes":
        kind, choices = "choice", tuple(human_size(n) for n in PAGE_SIZES)
    elif typing.get_origin(info.annotation) is Literal:
        kind, choices = "choice", tuple(str(a) for a in typing.get_args(info.annotation))
    elif unit_of(name):
        kind = _UNIT_WIDGETS[unit_of(name)]
    elif float in (info.annotation, *typing.get_args(info.annotation)):
        kind = "float"
    else:
        kind = "int"
    return FormField(path, info.title or key, kind, _FORM_GROUPS[section],
                     info.description or "", choices)


def form_fields(prof: VersionProfile) -> list[FormField]:
    """Every widget of the scenario form for QEMU release ``prof``.

    Guest, workload, host and control fields come first, then one field per parameter and
    capability the release has, with QEMU's default and unit in the help text.
    """
    fields = [_model_form_field(path) for path in FORM_PATHS]
    for p in prof.parameters:
        kind = param_kind(p)
        unit = f" ({p.unit})" if p.unit else ""
        accepts = f"; {ACCEPTS[kind]}" if kind in ACCEPTS else ""
        fields.append(FormField(
            f"parameters.{p.name}", f"{p.name}{unit}", kind, p.group,
            f"{p.doc}. QEMU's default: {_param_default_text(p, kind)}{accepts}",
            _param_choices(p, prof), p.default))
    for c in prof.capabilities:
        fields.append(_cap_field(c))
    return fields


def _cap_field(c: Capability) -> FormField:
    side = " (enable on both sides)" if c.both_sides else ""
    return FormField(f"capabilities.{c.name}", c.name, "bool", c.group,
                     f"{c.doc}{side}. QEMU's default: off", (), False)


def _param_text(value: object, kind: WidgetKind) -> str:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        if kind == "rate":
            return human_rate(value)
        if kind == "size":
            return human_size(value)
        if kind == "ms":
            return human_ms(value)
    if kind == "json":
        return json.dumps(value)
    return str(value)


def parse_param_text(f: FormField, text: str) -> tuple[object, Problem | None]:
    """Read a parameter's text box as the QMP value ``migrate-set-parameters`` takes.

    Returns:
        ``(value, problem)``: the QMP integer (or string/JSON) and ``None``; or, for text
        that cannot be read as the unit, the text itself (so QEMU's own type error is
        reported for it too) and a miglab problem saying what is accepted.
    """
    text = text.strip()
    try:
        if f.kind == "rate":
            return _whole(parse_rate(text, field=f.path)), None
        if f.kind == "size":
            return parse_size(text, field=f.path), None
        if f.kind == "ms":
            if re.fullmatch(r"-?[0-9]+", text):
                return int(text), None  # a bare number is QMP's unit, ms
            return _whole(parse_duration(text, field=f.path) * 1000), None
        if f.kind == "int":
            return int(text), None
        if f.kind == "json":
            return loads_json(text, f.path), None
    except UnitError as err:
        return text, Problem(f.path, text, f"cannot read this: {err.detail}")
    except ValueError:
        return text, Problem(f.path, text, f"cannot read this: expected {ACCEPTS[f.kind]}")
    return text, None


def _whole(x: float) -> int:
    return round(x)


def initial_values(fields: Sequence[FormField], scenario: Mapping[str, Any]
                   ) -> dict[str, object]:
    """The value each widget shows for ``scenario``: text for text boxes, bool, choice."""
    out: dict[str, object] = {}
    for f in fields:
        raw = get_path(scenario, f.path)
        section = f.path.split(".", 1)[0]
        if f.path == "control.policy":
            out[f.path] = raw.get("kind", "none") if isinstance(raw, Mapping) else "none"
        elif f.kind == "bool":
            out[f.path] = bool(raw if raw is not None else f.default)
        elif f.kind == "choice":
            value = raw if raw is not None else f.default
            out[f.path] = str(value) if value is not None else (f.choices or ("",))[0]
        elif section == "parameters":
            out[f.path] = _param_text(raw if raw is not None else f.default, f.kind)
        elif raw is None:
            out[f.path] = ""
        elif f.kind == "ms" and isinstance(raw, (int, float)) and not isinstance(raw, bool):
            out[f.path] = human_ms(raw * 1000)  # scenario durations are seconds
        else:
            out[f.path] = str(raw)
    return out


def _missing_value(f: FormField) -> object:
    """What :func:`initial_values` shows for a field the scenario leaves out."""
    return initial_values([f], {})[f.path]


def _scenario_value(f: FormField, value: object) -> object:
    """A guest/workload/host/control widget value in scenario-file form."""
    if f.kind in ("bool", "choice"):
        return value
    text = str(value).strip()
    if f.kind == "int" and re.fullmatch(r"[0-9]+", text):
        return int(text)
    if f.kind == "float":
        try:
            return float(text)
        except ValueError:
            return text
    if re.fullmatch(r"[0-9]+", text):
        return int(text)
    return text


def apply_form(scenario: Mapping[str, Any], fields: Sequence[FormField],  # noqa: C901
               values: Mapping[str, object]) -> tuple[dict[str, Any], list[Problem]]:
    """A new scenario dict with the widget ``values`` written in.

    Long and branchy because each section (guest, workload, host, parameters, capabilities,
    control) is written back with its own rules.

    Parameters are written as QMP values, and only when they differ from QEMU's default or
    the scenario already named them; capabilities likewise. Empty optional text boxes drop
    their key. Fields absent from ``values`` keep the scenario's value.

    Returns:
        ``(scenario, problems)``: the new dict and the unit problems found while reading
        parameter text (QEMU's own checks are :func:`sim.validate`'s job).
    """
    out = copy.deepcopy(dict(scenario))
    problems: list[Problem] = []
    for f in fields:
        if f.path not in values:
            continue
        value = values[f.path]
        section = f.path.split(".", 1)[0]
        already = get_path(scenario, f.path) is not None
        if f.path == "control.policy":
            if value in (None, "", "none"):
                drop_path(out, f.path)
            else:
                old = get_path(scenario, f.path)
                keep = dict(old) if isinstance(old, Mapping) and old.get("kind") == value else {}
                set_path(out, f.path, {**keep, "kind": value})
            continue
        if section in ("parameters", "capabilities"):
            if f.kind in ("bool", "choice"):
                qmp: object = value
            else:
                text = str(value).strip()
                if not text and f.kind in ("text", "json"):
                    if not already:
                        continue
                    qmp = "" if f.kind == "text" else None
                elif not text:
                    qmp, problem = text, Problem(f.path, text, "required: "
                                                 + ACCEPTS.get(f.kind, "a value"))
                    problems.append(problem)
                else:
                    qmp, maybe = parse_param_text(f, text)
                    if maybe is not None:
                        problems.append(maybe)
            if qmp == f.default and not already:
                continue
            if qmp is None:
                drop_path(out, f.path)
            else:
                set_path(out, f.path, qmp)
            continue
        if isinstance(value, str) and not value.strip():
            drop_path(out, f.path)
            continue
        if not already and value == _missing_value(f):
            continue
        set_path(out, f.path, _scenario_value(f, value))
    for section in ("parameters", "capabilities", "control"):
        if section in out and out[section] in ({}, None):
            del out[section]
    return out, problems


def problems_by_field(problems: Sequence[Problem]) -> dict[str, list[Problem]]:
    """Problems keyed by the field they name (``parameters.downtime-limit``, …)."""
    out: dict[str, list[Problem]] = {}
    for p in problems:
        out.setdefault(p.field, []).append(p)
    return out


def field_for(path: str) -> FormField:
    """A bare field for a dotted path outside the form (a Compare cell, a sweep axis): a
    catalog parameter with its widget kind, anything else as text."""
    name = path.split(".", 1)[1] if path.startswith("parameters.") else path
    if path.startswith("parameters.") and name in _CATALOG:
        p = _CATALOG[name]
        return FormField(path, name, param_kind(p), p.group)
    return FormField(path, path, "text", "other")

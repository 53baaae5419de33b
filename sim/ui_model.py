"""The dashboard's form model: scenario dicts in, widget values out, and back again.

The dashboard is a clerk at a counter: the operator fills in a paper form (text boxes that
accept ``128MiB/s`` or ``300ms``, check boxes, drop-downs), and the clerk copies it, field by
field, into the scenario file format that the rest of miglab reads. This module is that
clerk; it knows no physics and no Streamlit. It turns a scenario dict into the text each
widget shows (:func:`initial_values`), turns widget values back into a scenario dict
(:func:`apply_form`), packs a scenario into a URL-safe token (:func:`encode_scenario`) and
reads uploads safely (:func:`parse_upload`, :func:`parse_dirty_measurement`)::

    >>> from sim.qemu import profile
    >>> fields = form_fields(profile("8.2"))
    >>> values = initial_values(fields, default_scenario())
    >>> values["parameters.max-bandwidth"]
    '128MiB/s'
    >>> new, _ = apply_form(default_scenario(), fields, {**values,
    ...                     "parameters.max-bandwidth": "1GiB/s"})
    >>> new["parameters"]["max-bandwidth"]
    1073741824

Uploads are size-limited and parsed by :mod:`sim._bounded` (safe, capped YAML and strict
JSON); a bad upload raises :class:`~sim.ScenarioError` and changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import copy
import csv
import importlib.util
import io
import json
import math
import re
import typing
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import yaml
from pydantic import BaseModel

from sim._bounded import decode_utf8, dumps_json, load_yaml, loads_json
from sim._exceptions import Problem, ScenarioError, UnitError
from sim.models import PAGE_SIZES, ScenarioFile
from sim.qemu.catalog import PARAMETERS as _CATALOG
from sim.qemu.catalog import Capability, Parameter
from sim.qemu.qapi import enum_values
from sim.qemu.versions import DEFAULT_VERSION, VersionProfile
from sim.result import Result
from sim.scenario import (
    PRESET_POLICY_KINDS,
    ValidationReport,
    data_path,
    parse_scenario_text,
    preset_names,
    read_preset,
    set_path,
)
from sim.units import (
    GiB,
    KiB,
    MiB,
    TiB,
    format_action_value,
    format_bitrate,
    format_column_value,
    format_duration,
    format_number,
    format_rate,
    format_size,
    parse_duration,
    parse_rate,
    parse_size,
)

__all__ = [
    "BEST",
    "CUSTOM",
    "GROUPS",
    "INVENTORY_COLUMNS",
    "MAX_SWEEP_POINTS",
    "MAX_TOKEN_CHARS",
    "MAX_UPLOAD_BYTES",
    "NOT_CONVERGED",
    "REFUSED",
    "SWEEP_AXES",
    "WORKLOAD_TEMPLATES",
    "Download",
    "FormField",
    "Metric",
    "PresetKind",
    "WidgetKind",
    "WorkloadMode",
    "actions_frame",
    "apply_changes",
    "apply_editor_delta",
    "apply_form",
    "apply_preset",
    "axis_column",
    "axis_values",
    "check_structure",
    "compare_table",
    "decode_scenario",
    "default_scenario",
    "describe_changes",
    "dump_scenario",
    "encode_scenario",
    "export_downloads",
    "export_file_name",
    "form_fields",
    "form_view",
    "format_setting",
    "human_ms",
    "human_rate",
    "human_size",
    "initial_values",
    "inventory_mapping",
    "module_available",
    "parse_dirty_measurement",
    "parse_inventory_upload",
    "parse_param_text",
    "parse_upload",
    "preset_choices",
    "preset_description",
    "preset_of",
    "problems_by_field",
    "read_preset",
    "readable_frame",
    "replace_workload",
    "report_messages",
    "result_metrics",
    "scenario_json",
    "setting_name",
    "sweep_points",
    "sweep_view",
    "variant_changes",
    "workload_mode",
]

GROUPS: Final = ("bandwidth and downtime", "auto-converge", "multifd and compression",
                 "xbzrle", "postcopy", "switchover", "other")
"""The dashboard's parameter groups, in display order (the catalog's ``group`` values)."""

MAX_UPLOAD_BYTES: Final = 1 << 20
"""Largest upload accepted (scenario file, dirty-rate measurement, inventory): 1 MiB."""

MAX_TOKEN_CHARS: Final = 16_384
"""Longest ``?s=`` URL token accepted."""

_MAX_TOKEN_JSON: Final = 256 * KiB

WidgetKind = Literal["bool", "choice", "rate", "size", "ms", "int", "float", "text", "json"]
"""How a field is edited: a check box, a drop-down, or a text box read as a unit."""


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


def _param_kind(p: Parameter) -> WidgetKind:
    if p.qapi_type == "bool":
        return "bool"
    if p.qapi_type in ("MultiFDCompression", "MigMode", "ZeroPageDetection"):
        return "choice"
    if p.qapi_type == "StrOrNull":
        return "text"
    if p.qapi_type == "BitmapMigrationNodeAliasList":
        return "json"
    if p.unit == "bytes/s":
        return "rate"
    if p.unit == "bytes":
        return "size"
    if p.unit == "ms":
        return "ms"
    return "int"


def _param_choices(p: Parameter, prof: VersionProfile) -> tuple[str, ...]:
    return enum_values(p.qapi_type, prof)


_ACCEPTS: Final[dict[str, str]] = {
    "rate": "e.g. 128MiB/s, 10Gbit/s or bytes/s",
    "size": "e.g. 64MiB or bytes",
    "ms": "e.g. 300ms, 2s or a number of ms",
    "int": "a whole number",
    "json": "JSON, empty = not set",
}


def _param_default_text(p: Parameter, kind: WidgetKind) -> str:
    return _param_text(p.default, kind) or "''"


FORM_PATHS: Final = (
    "vm.memory", "vm.vcpus", "vm.page-size", "vm.device-state",
    "workload.dirty-rate", "workload.working-set", "workload.pattern", "workload.zero-fraction",
    "workload.zero-layout", "workload.compress-ratio",
    "host.link", "host.rtt", "host.channel-rate", "host.running-channel-rate",
    "host.migration-cpus",
    "control.timeout", "control.policy",
)
"""The scenario fields the form shows besides QEMU's, in order; their label (the model
field's ``title``), help (its ``description``), widget and choices come from the models."""

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
    elif name.endswith("_bytes"):
        kind = "size"
    elif name.endswith("_Bps"):
        kind = "rate"
    elif name.endswith("_s"):
        kind = "ms"
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
        kind = _param_kind(p)
        unit = f" ({p.unit})" if p.unit else ""
        accepts = f"; {_ACCEPTS[kind]}" if kind in _ACCEPTS else ""
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


# ------------------------------------------------------------------- human-form text


def _exact(n: int, units: Sequence[tuple[str, int]]) -> str:
    for name, mult in units:
        if n >= mult and n % mult == 0:
            return f"{n // mult}{name}"
    return str(n)


def human_size(n: int) -> str:
    """A byte count as QEMU-style text that reads back exactly: ``64MiB``, ``4097``."""
    return _exact(n, (("TiB", TiB), ("GiB", GiB), ("MiB", MiB), ("KiB", KiB)))


def human_rate(n: int) -> str:
    """Bytes/s as text that reads back exactly: ``128MiB/s``; ``0`` stays ``0``."""
    text = human_size(n)
    return text if text.isdigit() else f"{text}/s"


def human_ms(ms: float) -> str:
    """Milliseconds as text that reads back exactly: ``300ms``, ``2s``, ``10min``."""
    if ms and ms % 60000 == 0:
        return f"{ms / 60000:g}min"
    if ms and ms % 1000 == 0:
        return f"{ms / 1000:g}s"
    if ms == int(ms) or ms >= 1:
        return f"{ms:g}ms"
    return f"{ms * 1000:g}us"


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
        return text, Problem(f.path, text, f"cannot read this: expected {_ACCEPTS[f.kind]}")
    return text, None


def _whole(x: float) -> int:
    return round(x)


# ------------------------------------------------------------------- dict <-> form


def default_scenario() -> dict[str, Any]:
    """The dashboard's opening scenario: a busy 8 GiB web guest on 10 Gbit/s, default QEMU."""
    return {
        "name": "web-8g",
        "qemu": DEFAULT_VERSION,
        "vm": {"memory": "8GiB", "vcpus": 4, "page-size": "4KiB", "device-state": "1MiB"},
        "workload": {"dirty-rate": "200MiB/s", "working-set": "2GiB", "zero-fraction": 0.3,
                     "compress-ratio": 0.45},
        "host": {"link": "10Gbit/s", "rtt": "200us", "channel-rate": "1.5GiB/s"},
        "parameters": {"max-bandwidth": 134217728, "downtime-limit": 300},
        "capabilities": {"auto-converge": True},
        "control": {"timeout": "10min"},
        "seed": 1,
    }


WORKLOAD_TEMPLATES: Final[dict[str, dict[str, Any]]] = {
    "idle": {"dirty-rate": 0},
    "light (50MiB/s over 1GiB)": {"dirty-rate": "50MiB/s", "working-set": "1GiB"},
    "web (200MiB/s over 2GiB)": {"dirty-rate": "200MiB/s", "working-set": "2GiB",
                                 "zero-fraction": 0.3, "compress-ratio": 0.45},
    "database (1.5GiB/s over 8GiB)": {"dirty-rate": "1.5GiB/s", "working-set": "8GiB",
                                      "zero-fraction": 0.1, "compress-ratio": 0.6},
    "streaming (sequential 800MiB/s over 4GiB)": {"dirty-rate": "800MiB/s",
                                                  "working-set": "4GiB",
                                                  "pattern": "sequential"},
}
"""Workload values offered when ``data/workloads`` has no presets (plain scenario values)."""


def _get(data: Mapping[str, Any], path: str) -> object:
    node: object = data
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _drop(data: dict[str, Any], path: str) -> None:
    *parents, last = path.split(".")
    node: object = data
    for key in parents:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(last, None)


def initial_values(fields: Sequence[FormField], scenario: Mapping[str, Any]
                   ) -> dict[str, object]:
    """The value each widget shows for ``scenario``: text for text boxes, bool, choice."""
    out: dict[str, object] = {}
    for f in fields:
        raw = _get(scenario, f.path)
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
        already = _get(scenario, f.path) is not None
        if f.path == "control.policy":
            if value in (None, "", "none"):
                _drop(out, f.path)
            else:
                old = _get(scenario, f.path)
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
                                                 + _ACCEPTS.get(f.kind, "a value"))
                    problems.append(problem)
                else:
                    qmp, maybe = parse_param_text(f, text)
                    if maybe is not None:
                        problems.append(maybe)
            if qmp == f.default and not already:
                continue
            if qmp is None:
                _drop(out, f.path)
            else:
                set_path(out, f.path, qmp)
            continue
        if isinstance(value, str) and not value.strip():
            _drop(out, f.path)
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


# ------------------------------------------------------------------- files and URLs


def scenario_json(scenario: Mapping[str, Any]) -> str:
    """Canonical JSON of a scenario (sorted keys): a stable cache key and a file body."""
    return dumps_json(scenario, sort_keys=True, separators=(",", ":"))


def dump_scenario(scenario: Mapping[str, Any], fmt: Literal["yaml", "json"] = "yaml") -> str:
    """The scenario as a YAML or JSON file body."""
    if fmt == "json":
        return dumps_json(scenario, indent=2) + "\n"
    return yaml.safe_dump(dict(scenario), sort_keys=False, allow_unicode=True)


def encode_scenario(scenario: Mapping[str, Any]) -> str:
    """A compact URL-safe token (zlib + base64url of the JSON) for ``?s=``."""
    raw = zlib.compress(scenario_json(scenario).encode("utf-8"), 9)
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_scenario(token: str) -> dict[str, Any]:
    """Read a ``?s=`` token back into a scenario dict (not validated).

    Raises:
        ScenarioError: too long, not base64url, not zlib, too large unpacked, not JSON, or
            not a JSON object.
    """
    if len(token) > MAX_TOKEN_CHARS:
        raise ScenarioError(f"the scenario in the link is {len(token)} characters; at most "
                            f"{MAX_TOKEN_CHARS} are accepted")
    try:
        packed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        inflater = zlib.decompressobj()
        text = inflater.decompress(packed, _MAX_TOKEN_JSON)
        if inflater.unconsumed_tail:
            raise ScenarioError("the scenario in the link unpacks to more than "
                                f"{_MAX_TOKEN_JSON} bytes")
        data = loads_json(text.decode("utf-8"), "the scenario in the link")
    except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError) as err:
        raise ScenarioError(f"the scenario in the link cannot be read: {err}") from err
    if not isinstance(data, dict):
        raise ScenarioError("the scenario in the link is not a JSON object")
    _refuse_named_files(data)
    return data


def _refuse_named_files(data: Mapping[str, Any]) -> None:
    """A link may pick a shipped policy preset by name, never name a file."""
    control = data.get("control")
    policy = control.get("policy") if isinstance(control, Mapping) else None
    if isinstance(policy, Mapping) and "file" in policy \
            and policy["file"] not in preset_names("policies"):
        raise ScenarioError("the scenario in the link names a policy file; a link may only "
                            "name one of the shipped policy presets: "
                            + ", ".join(preset_names("policies")))


def _check_size(data: bytes, name: str) -> str:
    if len(data) > MAX_UPLOAD_BYTES:
        raise ScenarioError(f"{name}: {len(data)} bytes is larger than the "
                            f"{MAX_UPLOAD_BYTES} accepted")
    return decode_utf8(data, name, error=ScenarioError)


def parse_upload(data: bytes, name: str = "upload") -> dict[str, Any]:
    """Read an uploaded scenario file (YAML or JSON) safely; size-limited, no validation.

    Raises:
        ScenarioError: too large, not UTF-8, not YAML/JSON or not a mapping.
    """
    return parse_scenario_text(_check_size(data, name), name)


def parse_dirty_measurement(data: bytes | str, memory_bytes: int,
                            name: str = "measurement") -> dict[str, Any]:
    """Read a pasted or uploaded dirty-rate measurement into workload fields.

    Accepted forms:

    - QMP ``query-dirty-rate`` reply (``{"return": {"dirty-rate": 120, …}}`` or the inner
      object): ``dirty-rate`` is in MB/s as QEMU reports it → ``{"dirty-rate": "120MiB/s"}``.
    - ``virsh domstats --dirtyrate`` lines (``dirtyrate.megabytes_per_second=120``).
    - A curve: two columns per line (CSV or spaces), seconds since clean and either the
      fraction of RAM dirtied (0-1) or bytes dirtied (a size such as ``512MiB``)
      → ``{"dirty-curve": [[t, fraction], …]}``.

    Raises:
        ScenarioError: too large, or none of the forms above.
    """
    text = _check_size(data if isinstance(data, bytes) else data.encode("utf-8"), name)
    stripped = text.strip()
    if not stripped:
        raise ScenarioError(f"{name}: empty")
    if stripped.startswith("{"):
        obj = loads_json(stripped, name, error=ScenarioError)
        inner = obj.get("return", obj) if isinstance(obj, dict) else None
        rate = inner.get("dirty-rate") if isinstance(inner, dict) else None
        if isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate >= 0:
            return {"dirty-rate": f"{rate:g}MiB/s"}
        raise ScenarioError(f"{name}: a JSON measurement needs a numeric 'dirty-rate' "
                            "(MB/s), as query-dirty-rate returns")
    virsh = re.search(r"dirtyrate\.megabytes_per_second\s*=\s*([0-9.]+)", stripped)
    if virsh:
        return {"dirty-rate": f"{float(virsh.group(1)):g}MiB/s"}
    points: list[list[float]] = []
    rows = csv.reader(io.StringIO(stripped.replace("\t", ","), newline=""),
                      skipinitialspace=True)
    for lineno, row in enumerate(_csv_rows(rows, name), 1):
        cells = [c for cell in row for c in cell.split()] if len(row) < 2 else row
        cells = [c.strip() for c in cells if c.strip()]
        if not cells or cells[0].startswith("#"):
            continue
        if len(cells) != 2:
            raise ScenarioError(f"{name}, line {lineno}: expected two columns (seconds, "
                                f"fraction or bytes dirtied); got {row!r}")
        try:
            t = float(cells[0])
        except ValueError:
            if lineno == 1:
                continue  # a header
            raise ScenarioError(f"{name}, line {lineno}: {cells[0]!r} is not a number of "
                                "seconds") from None
        points.append([t, _fraction(cells[1], memory_bytes, name, lineno)])
        if len(points) > 10_000:
            raise ScenarioError(f"{name}: more than 10000 points")
    if not points:
        raise ScenarioError(f"{name}: no measurement found; paste a query-dirty-rate reply, "
                            "virsh domstats --dirtyrate output, or 'seconds,fraction' lines")
    return {"dirty-curve": points}


def _csv_rows(rows: Iterator[list[str]], name: str) -> Iterator[list[str]]:
    """``rows``, with the csv module's error as a ScenarioError naming the upload."""
    try:
        yield from rows
    except csv.Error as err:
        raise ScenarioError(f"{name}: not readable as columns: {err}") from None


def _fraction(cell: str, memory_bytes: int, name: str, lineno: int) -> float:
    try:
        value = float(cell)
        if math.isfinite(value) and 0 <= value <= 1:
            return value
    except ValueError:
        pass
    try:
        return parse_size(cell) / memory_bytes
    except UnitError:
        raise ScenarioError(f"{name}, line {lineno}: {cell!r} is neither a fraction 0-1 nor "
                            "a size such as 512MiB") from None


# ------------------------------------------------------------------- results


@dataclass(frozen=True)
class Metric:
    """One figure of the verdict row: label, shown value, and a tooltip."""

    label: str
    value: str
    help: str = ""


def result_metrics(result: Result, vcpus: int = 1) -> list[Metric]:
    """The verdict at a glance: converged, total time, downtime, data sent, throttle, cost."""
    guest = result.guest
    if guest.postcopy_faults or guest.postcopy_blocktime_ms:
        cost = Metric("guest cost", f"{guest.postcopy_blocktime_ms:.0f} ms blocked",
                      f"{guest.postcopy_faults} postcopy faults; exposure "
                      f"{format_duration(guest.exposure_s)}")
    else:
        cost = Metric("guest cost", f"{guest.throttle_cpu_s:.1f} vCPU·s",
                      f"vCPU time taken by throttling over {vcpus} vCPU(s), during "
                      f"{format_duration(guest.throttle_seconds)}")
    return [
        Metric("converged", "yes" if result.converged else "no",
               f"QEMU status: {result.status}" + (f"; {result.reason}" if result.reason else "")),
        Metric("total time", format_duration(result.total_time_ms / 1000),
               "from the migrate command to the end (query-migrate total-time)"),
        Metric("downtime", f"{result.downtime_ms:.0f} ms" if result.converged else "—",
               "the guest's pause at switchover"),
        Metric("data sent", format_size(result.ram.transferred),
               f"{result.ram.dirty_sync_count} dirty-bitmap syncs"),
        Metric("peak throttle", f"{guest.throttle_peak_pct:.0f} %", "auto-converge's highest"),
        cost,
    ]


def module_available(name: str) -> bool:
    """Whether module ``name`` (e.g. ``"sim.plots"``) can be imported."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def report_messages(report: ValidationReport) -> list[str]:
    """Each problem as one line, QEMU's first, for a summary box."""
    return [f"{p.field}: {p.message}" for p in report.problems]


_TOP_KEYS: Final = tuple(f.alias or n for n, f in ScenarioFile.model_fields.items())
_SECTIONS: Final = tuple(k for k, f in ScenarioFile.model_fields.items()
                         if (isinstance(f.annotation, type)
                         and issubclass(f.annotation, BaseModel | dict))
                         or typing.get_origin(f.annotation) is dict)
"""The keys of a scenario and those that are sections (mappings), from the model."""


def check_structure(scenario: Mapping[str, Any], name: str = "scenario") -> dict[str, Any]:
    """Refuse a dict the form could not show: unknown top-level keys or non-mapping sections.

    Field-level problems (a bad value, QEMU's refusals) are left to :func:`sim.validate`, so
    the dashboard can show them next to their widgets.

    Raises:
        ScenarioError: naming the first structural problem.
    """
    for key in scenario:
        if key not in _TOP_KEYS:
            raise ScenarioError(f"{name}: unknown key {key!r}; a scenario has "
                                + ", ".join(_TOP_KEYS))
    for key in _SECTIONS:
        if key in scenario and scenario[key] is not None and \
                not isinstance(scenario[key], Mapping):
            raise ScenarioError(f"{name}: {key!r} must be a mapping of names to values")
    if not isinstance(scenario.get("vm"), Mapping) or "memory" not in scenario["vm"]:
        raise ScenarioError(f"{name}: needs vm.memory (the guest's RAM, e.g. 8GiB)")
    return copy.deepcopy(dict(scenario))


WorkloadMode = Literal["rate", "curve", "preset"]


def workload_mode(scenario: Mapping[str, Any]) -> WorkloadMode:
    """How the scenario's workload is given: a preset, a measured curve, or a rate."""
    wl = scenario.get("workload")
    if isinstance(wl, Mapping):
        if wl.get("preset") is not None:
            return "preset"
        if wl.get("dirty-curve") is not None:
            return "curve"
    return "rate"


def replace_workload(scenario: Mapping[str, Any], workload: Mapping[str, Any]
                     ) -> dict[str, Any]:
    """A copy of ``scenario`` whose workload is ``workload`` (page-content fields kept)."""
    out = copy.deepcopy(dict(scenario))
    old = out.get("workload") if isinstance(out.get("workload"), dict) else {}
    keep = {k: v for k, v in (old or {}).items()
            if k in ("zero-fraction", "compress-ratio", "delta-ratio", "cpu-bound")}
    out["workload"] = {**keep, **copy.deepcopy(dict(workload))}
    return out


# ------------------------------------------------------------------- host and policy presets

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


def _section(scenario: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = scenario.get(key)
    return dict(value) if isinstance(value, Mapping) else {}


def preset_of(scenario: Mapping[str, Any], kind: PresetKind) -> str:
    """The shipped preset ``scenario`` uses, or :data:`CUSTOM`.

    A host uses a preset when ``host.profile`` names one (its inline keys override the
    profile's, as in a scenario file); a policy when ``control.policy`` is exactly
    ``{kind, file}`` with ``file`` naming a shipped policy.
    """
    if kind == "hosts":
        name = _section(scenario, "host").get("profile")
    else:
        policy = _section(scenario, "control").get("policy")
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
        host = _section(out, "host")
        if name == CUSTOM:
            base = {k: v for k, v in read_preset(kind, current).items() if k not in _HOST_META}
            host.pop("profile", None)
            out["host"] = {**base, **host}
        else:
            preset = read_preset(kind, name)
            out["host"] = {"profile": name, **{k: v for k, v in host.items()
                                               if k != "profile" and k not in preset}}
        return out
    control = _section(out, "control")
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
    out["host"] = {**read_preset("hosts", name), **_section(scenario, "host")}
    return out


# ------------------------------------------------------------------- compare, sweep, drain


def apply_changes(scenario: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``scenario`` with dotted-path ``changes`` written in (file form)."""
    out = copy.deepcopy(dict(scenario))
    for path, value in changes.items():
        if value is None:
            _drop(out, path)
        else:
            set_path(out, path, value)
    return out


def _field_for(path: str) -> FormField:
    name = path.split(".", 1)[1] if path.startswith("parameters.") else path
    if path.startswith("parameters.") and name in _CATALOG:
        p = _CATALOG[name]
        return FormField(path, name, _param_kind(p), p.group)
    return FormField(path, path, "text", "other")


def variant_changes(row: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The scenario changes of one Compare row.

    Row keys (all optional): ``downtime-limit`` and ``max-bandwidth`` (human text),
    ``auto-converge`` (bool), ``multifd-channels`` (0 = multifd off),
    ``postcopy-after-passes`` (empty = no postcopy), ``policy`` (``none`` or a kind).
    """
    changes: dict[str, Any] = {}
    problems: list[Problem] = []
    for name in ("downtime-limit", "max-bandwidth"):
        text = _cell_text(row.get(name))
        if text:
            value, problem = parse_param_text(_field_for(f"parameters.{name}"), text)
            changes[f"parameters.{name}"] = value
            if problem is not None:
                problems.append(problem)
    if row.get("auto-converge") is not None and not _is_nan(row.get("auto-converge")):
        changes["capabilities.auto-converge"] = bool(row["auto-converge"])
    channels = _cell_text(row.get("multifd-channels"))
    if channels:
        n = _int_or_text(channels)
        on = n != 0
        changes["capabilities.multifd"] = on
        if on:
            changes["parameters.multifd-channels"] = n
    passes = _cell_text(row.get("postcopy-after-passes"))
    if passes:
        changes["capabilities.postcopy-ram"] = True
        changes["control.postcopy-after"] = {"passes": _int_or_text(passes)}
    policy = _cell_text(row.get("policy"))
    if policy:
        changes["control.policy"] = None if policy == "none" else {"kind": policy}
    return changes, problems


def _is_nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _cell_text(value: object) -> str:
    if value is None or _is_nan(value):
        return ""
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value).strip()


def _int_or_text(text: str) -> int | str:
    return int(text) if re.fullmatch(r"-?[0-9]+", text) else text


SWEEP_AXES: Final[dict[str, tuple[str, str]]] = {
    "downtime-limit": ("parameters.downtime-limit", "100ms, 300ms, 1s, 2s"),
    "max-bandwidth": ("parameters.max-bandwidth", "64MiB/s, 128MiB/s, 512MiB/s, 1GiB/s"),
    "dirty rate": ("workload.dirty-rate", "50MiB/s, 200MiB/s, 500MiB/s, 1GiB/s"),
    "multifd-channels": ("parameters.multifd-channels", "1, 2, 4, 8"),
    "link": ("host.link", "1Gbit/s, 10Gbit/s, 25Gbit/s"),
    "working set": ("workload.working-set", "512MiB, 1GiB, 2GiB, 4GiB"),
    "cpu-throttle-increment": ("parameters.cpu-throttle-increment", "5, 10, 20, 40"),
}
"""Trade-off axes offered by the dashboard: label → (scenario path, default values)."""

MAX_SWEEP_POINTS: Final = 400
"""Most points one dashboard sweep may run."""


def axis_values(path: str, text: str) -> list[object]:
    """Read a comma-separated list of axis values; parameters become QMP values.

    Raises:
        ScenarioError: an empty list or a value that cannot be read.
    """
    cells = [c.strip() for c in text.split(",") if c.strip()]
    if not cells:
        raise ScenarioError(f"{path}: give at least one value, separated by commas")
    f = _field_for(path)
    out: list[object] = []
    for cell in cells:
        if path.startswith("parameters."):
            value, problem = parse_param_text(f, cell)
            if problem is not None:
                raise ScenarioError(f"{path}: {problem.message} (got {cell!r})")
            out.append(value)
        else:
            out.append(_int_or_text(cell))
    return out


def sweep_points(axes: Sequence[tuple[str, Sequence[object]]]) -> list[dict[str, Any]]:
    """Every combination of the axes as change dicts (multifd switched on for its channels).

    Raises:
        ScenarioError: more than :data:`MAX_SWEEP_POINTS` combinations.
    """
    total = math.prod(len(values) for _, values in axes)
    if total > MAX_SWEEP_POINTS:
        raise ScenarioError(f"{total} combinations; at most {MAX_SWEEP_POINTS} at once")
    points: list[dict[str, Any]] = [{}]
    for path, values in axes:
        points = [{**p, path: v} for p in points for v in values]
    for p in points:
        if "parameters.multifd-channels" in p:
            p["capabilities.multifd"] = True
    return points


INVENTORY_COLUMNS: Final = ("name", "host", "link", "memory", "vcpus", "dirty-rate",
                            "working-set", "policy")
"""The Drain planner's editable columns (dotted scenario paths may be added)."""


def parse_inventory_upload(data: bytes, name: str = "inventory"
                           ) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """Read an uploaded inventory (CSV or YAML) into editable rows and shared defaults.

    YAML hosts' links go into each row's ``link``; ``overrides`` become dotted columns.

    Raises:
        ScenarioError: too large, not UTF-8, unreadable, or without VMs.
    """
    text = _check_size(data, name)
    if name.lower().endswith(".csv"):
        try:
            rows = [{str(k).strip(): (v or "").strip() for k, v in r.items() if k is not None}
                    for r in csv.DictReader(io.StringIO(text, newline=""))]
        except csv.Error as err:
            raise ScenarioError(f"{name}: not a readable CSV file: {err}") from None
        if not rows or "name" not in rows[0] or "host" not in rows[0]:
            raise ScenarioError(f"{name}: a CSV inventory needs a header with at least "
                                "name, host, memory and one row per VM")
        return rows, {}
    loaded = load_yaml(text, name, error=ScenarioError)
    if not isinstance(loaded, dict) or not isinstance(loaded.get("vms"), list) \
            or not loaded["vms"]:
        raise ScenarioError(f"{name}: an inventory is a mapping with a non-empty 'vms' list "
                            "(and optional defaults, hosts), or a CSV file")
    hosts = loaded.get("hosts") if isinstance(loaded.get("hosts"), dict) else {}
    raw_defaults = loaded.get("defaults")
    defaults: dict[str, Any] = raw_defaults if isinstance(raw_defaults, dict) else {}
    out: list[dict[str, str]] = []
    for i, vm in enumerate(loaded["vms"]):
        if not isinstance(vm, dict):
            raise ScenarioError(f"{name}: VM #{i + 1} must be a mapping")
        row = {str(k): _cell_text(v) for k, v in vm.items()
               if k != "overrides" and not isinstance(v, (dict, list))}
        overrides = vm.get("overrides")
        if isinstance(overrides, dict):
            row.update({str(k): _cell_text(v) for k, v in overrides.items()})
        link = (hosts.get(row.get("host", "")) or {}) if isinstance(hosts, dict) else {}
        if isinstance(link, dict) and link.get("link") is not None and not row.get("link"):
            row["link"] = str(link["link"])
        out.append(row)
    return out, dict(defaults)


def inventory_mapping(rows: Sequence[Mapping[str, object]], defaults: Mapping[str, Any],
                      name: str = "inventory") -> dict[str, Any]:
    """The edited rows as the mapping :func:`sim.fleet.load_inventory` reads; cells are read
    as a CSV inventory's are (:func:`sim.sweep.read_scalar`)."""
    from sim.sweep import read_scalar

    vms = []
    for row in rows:
        vm = {str(k): read_scalar(_cell_text(v)) for k, v in row.items() if _cell_text(v)}
        for key in ("name", "host"):
            if key in vm:
                vm[key] = str(vm[key])
        if vm:
            vms.append(vm)
    return {"name": name, "defaults": copy.deepcopy(dict(defaults)), "vms": vms}


def axis_column(table: Any, path: str) -> tuple[Any, str]:
    """A readable numeric column for sweep axis ``path``: ``(table with it, its name)``.

    Rates show in MiB/s (links in Gbit/s), sizes in MiB, durations in ms, so heatmap axes
    read ``max-bandwidth (MiB/s)`` = 128 instead of 134217728 bytes/s. Values still sort as
    numbers.
    """
    name = path.split(".", 1)[1] if path.startswith(("parameters.", "workload.", "host."))\
        else path
    kind = _field_for(path).kind if path.startswith("parameters.") else ""
    source = f"{path}_Bps" if f"{path}_Bps" in table.columns else (
        f"{path}_bytes" if f"{path}_bytes" in table.columns else path)
    if path == "host.link":
        label, scale = f"{name} (Gbit/s)", 8 / 1e9
    elif kind == "rate" or source.endswith("_Bps"):
        label, scale = f"{name} (MiB/s)", 1 / MiB
    elif kind == "size" or source.endswith("_bytes"):
        label, scale = f"{name} (MiB)", 1 / MiB
    elif kind == "ms":
        label, scale = f"{name} (ms)", 1.0
    else:
        return table, path
    try:
        values = table[source].astype(float) * scale
    except (TypeError, ValueError):
        return table, path
    values = values.round(3)
    if bool((values == values.round()).all()):
        values = values.astype(int)
    return table.assign(**{label: values}), label


# ------------------------------------------------------------------- numbers for people


_RATE_PATHS: Final = ("workload.dirty-rate", "host.channel-rate", "host.running-channel-rate")
_SIZE_PATHS: Final = ("vm.memory", "vm.device-state", "workload.working-set")


def format_setting(path: str, value: object) -> str:
    """A scenario setting's value as people read it, with ``unlimited`` where 0 means that.

        >>> format_setting("parameters.max-bandwidth", 0)
        'unlimited'
        >>> format_setting("parameters.max-bandwidth", 134217728)
        '128 MiB/s'
        >>> format_setting("parameters.downtime-limit", 300)
        '300 ms'
        >>> format_setting("host.link", "25Gbit/s")
        '25 Gbit/s'
    """
    if value is None or _is_nan(value):
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    kind = _field_for(path).kind if path.startswith("parameters.") else ""
    try:
        if path == "host.link":
            return format_bitrate(parse_rate(value))
        if kind == "rate" or path in _RATE_PATHS:
            bps = parse_rate(value)
            if bps == 0 and path == "parameters.max-bandwidth":
                return "unlimited"
            return format_rate(bps, bits=False)
        if kind == "size" or path in _SIZE_PATHS:
            return format_size(parse_size(value))
        if kind == "ms" and isinstance(value, int | float):
            return format_duration(float(value) / 1000.0)
    except (UnitError, TypeError):
        return str(value)
    if isinstance(value, float):
        return format_number(value)
    return str(value)


def setting_name(path: str) -> str:
    """``parameters.max-bandwidth`` → ``max-bandwidth`` (the setting's own name)."""
    return path.split(".", 1)[1] if "." in path else path


def _cell_for_people(value: object) -> object:
    if value is None or _is_nan(value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value if isinstance(value, str) else str(value)


def readable_frame(frame: Any) -> Any:
    """A copy of ``frame`` for people: every number formatted by its column's unit, yes/no
    for booleans, nothing for a missing value (never ``None`` or ``nan``).

    Column names read as words (``lab_status`` → ``lab status``) and lose their unit suffix
    (``time_s`` → ``time``), the unit now being in each cell, unless that would leave a
    bare qualifier (``lab_bytes`` beside ``lab_status`` becomes ``lab bytes``).
    """
    out = frame.copy()
    for column in frame.columns:
        kind = frame[column].dtype.kind
        if kind in "iuf":
            out[column] = [format_column_value(column, v) for v in frame[column]]
        else:
            out[column] = [_cell_for_people(v) for v in frame[column]]
    rename = {c: str(c).replace("_", " ") for c in out.columns}
    for column in out.columns:
        for suffix in ("_bytes", "_Bps", "_ms", "_s", "_pct"):
            if column.endswith(suffix) and len(column) > len(suffix):
                stem = column[: -len(suffix)]
                bare = any(str(c).startswith(stem + "_") and c != column for c in out.columns)
                rename[column] = (column if bare else stem).replace("_", " ")
                break
    return out.rename(columns=rename)


NOT_CONVERGED: Final = "did not converge"
"""The Trade-offs charts' own category for runs that stopped without converging."""
REFUSED: Final = "refused"
"""... and for points QEMU or miglab would refuse."""


def sweep_view(table: Any, x_path: str, y_path: str) -> Any:
    """A sweep's table as the Trade-offs page draws it: one row per point.

    Columns: ``point``, ``x``/``y`` (the settings as text, e.g. ``unlimited``), ``x_rank``/
    ``y_rank`` (their order on the axes: the swept order), ``outcome`` (``converged``,
    :data:`NOT_CONVERGED` or :data:`REFUSED`), ``total_time_s`` and ``downtime_ms`` (missing
    unless converged: a cancelled run has no downtime and its time is not a migration's),
    ``hover`` (the settings by name and the outcome in human units).
    """
    import pandas as pd

    def ranks(path: str) -> dict[str, int]:
        seen: dict[str, int] = {}
        for v in table[path]:
            seen.setdefault(format_setting(path, v), len(seen))
        return seen

    xr, yr = ranks(x_path), ranks(y_path)
    rows = []
    for _, r in table.iterrows():
        x = format_setting(x_path, r[x_path])
        y = format_setting(y_path, r[y_path])
        if not r["valid"]:
            outcome, detail = REFUSED, str(r.get("error", ""))
        elif r["converged"]:
            outcome = "converged"
            detail = (f"total time {format_duration(float(r['total_time_s']))}, downtime "
                      f"{format_duration(float(r['downtime_ms']) / 1000.0)}")
        else:
            outcome = NOT_CONVERGED
            detail = f"{r['status']} after {format_duration(float(r['total_time_s']))}"
        ok = outcome == "converged"
        rows.append({
            "point": int(r["point"]), "x": x, "y": y, "x_rank": xr[x], "y_rank": yr[y],
            "outcome": outcome, "converged": ok,
            "total_time_s": float(r["total_time_s"]) if ok else math.nan,
            "downtime_ms": float(r["downtime_ms"]) if ok else math.nan,
            "hover": (f"{setting_name(x_path)}: {x}<br>{setting_name(y_path)}: {y}<br>"
                      f"{outcome}" + (f": {detail}" if detail else "")),
        })
    return pd.DataFrame(rows)


def describe_changes(changes: Mapping[str, Any]) -> str:
    """A sweep point's settings for people: ``max-bandwidth = unlimited, downtime-limit = 1 s``."""
    return ", ".join(f"{setting_name(k)} = {format_setting(k, v)}" for k, v in changes.items()
                     if not k.startswith("capabilities."))


# ------------------------------------------------------------------- compare, side by side

_COMPARE_ROWS: Final = (
    # (row label, value of a result, formatter, smaller is better; None: no winner)
    ("converged", lambda r: 1.0 if r.converged else 0.0, lambda v: "yes" if v else "no",
     None),
    ("total time", lambda r: r.total_time_ms / 1000.0, format_duration, True),
    ("downtime", lambda r: r.downtime_ms, lambda v: format_duration(v / 1000.0), True),
    ("data sent", lambda r: float(r.ram.transferred), format_size, True),
    ("dirty-bitmap syncs", lambda r: float(r.ram.dirty_sync_count), format_number, None),
    ("peak throttle", lambda r: r.guest.throttle_peak_pct, lambda v: f"{v:.3g} %", True),
    ("guest cost: throttled vCPU time", lambda r: r.guest.throttle_cpu_s,
     lambda v: f"{format_number(round(v, 1))} vCPU·s", True),
    ("guest cost: postcopy blocktime", lambda r: r.guest.postcopy_blocktime_ms,
     lambda v: format_duration(v / 1000.0), True),
    ("guest cost: postcopy exposure", lambda r: r.guest.exposure_s, format_duration, True),
    ("guest cost: paused by policy", lambda r: r.guest.paused_s, format_duration, True),
)
BEST: Final = "★ "
"""Marks the best value of a Compare row."""


def compare_table(results: Mapping[str, Result]) -> Any:
    """Settings side by side: one column per setting, one row per outcome, best marked.

    Time, downtime and costs count only for runs that converged (a cancelled run's short
    time is not a win); a row is marked only when its values differ. Guest-cost rows that
    are zero for every setting are left out, so each unit has its own row.
    """
    import pandas as pd

    labels = list(results)
    rows: dict[str, list[str]] = {}
    for name, get, fmt, smaller in _COMPARE_ROWS:
        values = [float(get(results[label])) for label in labels]
        if name.startswith("guest cost") and not any(values):
            continue
        cells = [fmt(v) for v in values]
        if name in ("downtime",):
            cells = [c if results[label].converged else "— (no switchover)"
                     for c, label in zip(cells, labels, strict=True)]
        ok = [v for v, label in zip(values, labels, strict=True) if results[label].converged]
        if smaller is not None and len(ok) > 1 and len(set(ok)) > 1:
            best = min(ok) if smaller else max(ok)
            cells = [BEST + c if v == best and results[label].converged else c
                     for c, v, label in zip(cells, values, labels, strict=True)]
        rows[name] = cells
    return pd.DataFrame.from_dict(rows, orient="index", columns=labels)


def apply_editor_delta(frame: Any, delta: Mapping[str, Any]) -> Any:
    """``frame`` with one ``st.data_editor`` edit applied (its ``edited_rows``, then
    ``deleted_rows``, then ``added_rows``), re-indexed from 0.

        >>> import pandas as pd
        >>> df = pd.DataFrame({"label": ["a", "b", "c"]})
        >>> apply_editor_delta(df, {"edited_rows": {0: {"label": "z"}}, "deleted_rows": [1],
        ...                         "added_rows": [{"label": "d"}]})["label"].tolist()
        ['z', 'c', 'd']
    """
    import pandas as pd

    out = frame.copy()
    for row, values in delta.get("edited_rows", {}).items():
        for column, value in values.items():
            out.loc[out.index[int(row)], column] = value
    out = out.drop(index=[out.index[int(i)] for i in delta.get("deleted_rows", [])])
    added = [dict(r) for r in delta.get("added_rows", [])]
    if added:
        out = pd.concat([out, pd.DataFrame(added, columns=out.columns)], ignore_index=True)
    return out.reset_index(drop=True)


def actions_frame(result: Result) -> Any:
    """The policy's and operator's actions as a table for people (time and value in units)."""
    import pandas as pd

    rows = []
    for a in result.actions:
        rows.append({"time": format_duration(a.time_s), "actor": a.actor, "action": a.action,
                     "value": format_action_value(a.action, a.value), "reason": a.reason})
    return pd.DataFrame(rows, columns=["time", "actor", "action", "value", "reason"])


# ------------------------------------------------------------------- export downloads


@dataclass(frozen=True)
class Download:
    """One file the dashboard offers for download: its name, content and MIME type."""

    file_name: str
    data: bytes
    mime: str


_MIMES: Final = {".jsonl": "application/jsonl", ".json": "application/json",
                 ".yaml": "application/yaml", ".sh": "text/x-shellscript",
                 ".zip": "application/zip"}


def export_file_name(fmt: str, name: str) -> str:
    """An export file's download name, its format before the extension so that files of
    several formats do not collide: ``source.jsonl`` of ``qmp`` → ``source.qmp.jsonl``.

        >>> export_file_name("qmp", "source.jsonl"), export_file_name("nova", "nova.conf")
        ('source.qmp.jsonl', 'nova.conf')
    """
    stem, dot, ext = name.rpartition(".")
    if not dot:
        return f"{name}.{fmt}"
    if fmt in (stem, ext) or stem.startswith(f"{fmt}.") or fmt in stem.split("-"):
        return name
    return f"{stem}.{fmt}.{ext}"


def export_downloads(fmt: str, files: Mapping[str, str], scenario_name: str
                     ) -> list[Download]:
    """The downloads of one export: each file on its own (valid for its own format, no
    headers glued in), then, when there are several, all of them as one zip."""
    import zipfile

    out = []
    for name, body in files.items():
        file_name = export_file_name(fmt, name)
        ext = "." + file_name.rpartition(".")[2]
        out.append(Download(file_name, body.encode("utf-8"), _MIMES.get(ext, "text/plain")))
    if len(files) > 1:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for d in out:
                zf.writestr(d.file_name, d.data)
        out.append(Download(f"{scenario_name}-{fmt}.zip", buf.getvalue(), _MIMES[".zip"]))
    return out

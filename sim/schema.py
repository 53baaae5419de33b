"""JSON Schemas and the scenario reference page, generated from the models.

The models are the one description of what a user writes; this module prints them for
editors (``# yaml-language-server: $schema=…`` at the top of a scenario file gives
completion and checking), for API users (``miglab schema scenario``) and for people
(docs/scenario.md). The files under docs/schema/ and docs/scenario.md are this module's
output, kept equal by tests/test_schema.py; regenerate them with::

    PYTHONPATH=. python -m sim.schema

    >>> json_schema("scenario")["title"]
    'ScenarioFile'
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo

from sim._modelkit import field_aliases, unit_of
from sim.units import GiB, KiB, MiB, TiB

__all__ = ["KINDS", "json_schema", "scenario_doc", "schema_text", "write_generated"]

SCHEMA_URL: Final = "https://json-schema.org/draft/2020-12/schema"


def _scenario() -> type[BaseModel]:
    from sim.models import ScenarioFile

    return ScenarioFile


def _policy() -> TypeAdapter[Any]:
    from sim.policies import POLICY_ADAPTER

    return POLICY_ADAPTER


def _result() -> type[BaseModel]:
    from sim.result import Result

    return Result


def _inventory() -> type[BaseModel]:
    from sim.fleet import InventoryFile

    return InventoryFile


KINDS: Final[dict[str, Callable[[], type[BaseModel] | TypeAdapter[Any]]]] = {
    "scenario": _scenario,
    "inventory": _inventory,
    "policy": _policy,
    "result": _result,
}
"""What ``miglab schema`` prints: the name → the model describing that file."""


def _schema_of(kind: str) -> dict[str, Any]:
    model = KINDS[kind]()
    if isinstance(model, TypeAdapter):
        return model.json_schema(by_alias=True, mode="validation")
    return model.model_json_schema(by_alias=True, mode="validation")


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``kind``'s files, with their dash names.

    A scenario's ``control.policy`` is any policy's options (the ``policy`` schema): the
    section model keeps it a mapping so that the policy modules, which build on the
    scenario, are checked by :mod:`sim.policies` while loading.

    Raises:
        KeyError: ``kind`` is not one of :data:`KINDS`.
    """
    schema = _schema_of(kind)
    if kind == "scenario":
        policy = _schema_of("policy")
        defs = schema["$defs"]
        defs.update(policy.pop("$defs"))
        defs["PolicyOptions"] = {**policy, "title": "PolicyOptions"}
        field = defs["Control"]["properties"]["policy"]
        field.pop("anyOf", None)
        field["anyOf"] = [{"$ref": "#/$defs/PolicyOptions"}, {"type": "null"}]
    if kind == "policy":
        schema["title"] = "PolicyOptions"
    return {"$schema": SCHEMA_URL, **schema}


def schema_text(kind: str) -> str:
    """:func:`json_schema` as the text of docs/schema/KIND.json."""
    return json.dumps(json_schema(kind), indent=2, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------ docs/scenario.md

_INTRO: Final = """\
# Scenario fields

<!-- Generated from sim/models.py by `PYTHONPATH=. python -m sim.schema`; do not edit. -->

Every key a scenario file accepts, with its unit and its default. Keys use dashes, as QMP
does. Sizes take QEMU's binary suffixes (`8G` = `8GiB` = 8 × 2³⁰ bytes; a plain integer is
bytes); rates take `10Gbit/s`, `1.25GB/s`, `200MiB/s` (a plain number is bytes/s);
durations take `300ms`, `2min`, `200us` (a plain number is seconds). An unknown key is an
error that lists the keys accepted where it stands. Editors with a YAML language server
check and complete scenario files against [schema/scenario.json](schema/scenario.json)
when the file's first line names it, by a path relative to the file or a URL
(data/examples/web-8g.yaml does):

```yaml
# yaml-language-server: $schema=../../docs/schema/scenario.json
```

`miglab schema scenario` prints the same schema.
"""

_SECTIONS: Final = {
    "vm": "",
    "workload": "Either a rate over a working set, or a measured curve; plus what the pages "
                "hold. `preset` starts from `data/workloads/NAME.yaml`; keys given here "
                "override it.",
    "host": "The two hosts and the link between them. The defaults describe a 10 Gbit/s LAN "
            "between current servers; `profile: lab-tcg` loads the values fitted on this "
            "project's lab (`data/hosts/lab-tcg.yaml`, `miglab lab calibrate`).",
    "control": "What the operator or the management layer does around QEMU.",
}


def _shown(value: object, unit: str) -> str:
    """A default as a user would write it (``1310720000.0`` B/s → ``10Gbit/s``)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f"`{value}`"
    if not isinstance(value, int | float):
        return "see below"
    if unit == "size":
        for suffix, mult in (("TiB", TiB), ("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
            if value and value % mult == 0:
                return f"`{value // mult}{suffix}`"
        return f"`{value}`"
    if unit == "rate":
        bits = value * 8
        if value and math.isclose(bits / 1e9, round(bits / 1e9)):
            return f"`{round(bits / 1e9)}Gbit/s`"
        for suffix, mult in (("GiB/s", GiB), ("MiB/s", MiB)):
            if value and value / mult >= 1:
                return f"`{value / mult:g}{suffix}`"
        return f"`{value:g}`"
    if unit == "duration":
        if value == 0 or value >= 1:
            return f"`{value:g}s`"
        if value >= 1e-3:
            return f"`{round(value * 1e3, 6):g}ms`"
        return f"`{round(value * 1e6, 6):g}us`"
    return f"{value:g}"


def _row(name: str, info: FieldInfo) -> str:
    key = info.alias or name
    unit = unit_of(name)
    meaning = (info.description or "").replace("|", "\\|")
    if unit:
        meaning += f" ({unit})"
    if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
        keys = ", ".join(f"`{k}`" for k in field_aliases(info.annotation))
        meaning += f": {keys} (table below)"
    if info.is_required():
        default = "required"
    elif info.default_factory is not None:
        default = "see below"
    else:
        default = _shown(info.get_default(call_default_factory=False), unit)
    return f"| `{key}` | {meaning} | {default} |"


def _table(model: type[BaseModel], skip: tuple[str, ...] = ()) -> list[str]:
    rows = ["| key | meaning | default |", "|---|---|---|"]
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        rows.append(_row(name, info))
    return rows


def scenario_doc() -> str:
    """docs/scenario.md: every key of every section with its meaning and default."""
    from sim.models import ScenarioFile
    from sim.qemu.host import HostSupport

    top = ScenarioFile.model_fields
    lines = [_INTRO, "## Top level", "", *_table(ScenarioFile, tuple(_SECTIONS)), "",
             "## `parameters` and `capabilities`", "",
             "Exactly the arguments of `migrate-set-parameters` and "
             "`migrate-set-capabilities` for the\nchosen release, in QMP's own units "
             "(`max-bandwidth` in bytes/s as an integer,\n`downtime-limit` in ms), checked as "
             "that release checks them. `miglab qmp --qemu 8.2` and\n`docs/qemu-versions.md` "
             "list them per release.", ""]
    for section, intro in _SECTIONS.items():
        model = _submodel(top[section])
        lines += [f"## `{section}`", ""]
        if intro:
            lines += [intro, ""]
        lines += [*_table(model), ""]
    lines += ["## `host.support`", "",
              "Host facts QEMU's host-dependent checks consult; a check that passed only "
              "because of one is\nreported as an assumption.", "", *_table(HostSupport), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _submodel(info: FieldInfo) -> type[BaseModel]:
    annotation = info.annotation
    if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        raise TypeError(f"{annotation!r} is not a model")
    return annotation


def write_generated(root: Path) -> list[Path]:
    """Write docs/schema/KIND.json and docs/scenario.md under ``root``; the paths written."""
    written = []
    for kind in KINDS:
        path = root / "docs" / "schema" / f"{kind}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(schema_text(kind), encoding="utf-8")
        written.append(path)
    doc = root / "docs" / "scenario.md"
    doc.write_text(scenario_doc(), encoding="utf-8")
    written.append(doc)
    return written


if __name__ == "__main__":
    for p in write_generated(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()):
        print(p)

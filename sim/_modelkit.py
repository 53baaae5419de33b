"""The building blocks of miglab's pydantic models: field types over sim/units, errors in
miglab's words, and the base class of every section a user writes.

Every field reads its value with a ``BeforeValidator`` that either returns the typed value
or refuses it with :func:`fail` (a ``PydanticCustomError`` carrying miglab's sentence), so
:func:`problems_from` can turn any ``ValidationError`` into :class:`~sim.Problem` objects
with the dashed path, the value and what is accepted::

    >>> from pydantic import Field
    >>> class Link(FileModel):
    ...     link_Bps: Rate = Field(1e9, alias="link")
    >>> try:
    ...     Link.model_validate({"link": "fast"})
    ... except ValidationError as err:
    ...     print(problems_from(err, "host")[0].field)
    host.link
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Final, Literal, NoReturn

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from sim._exceptions import Problem, UnitError
from sim.units import (
    MAX_DURATION_S,
    MAX_RATE_Bps,
    MIN_RATE_Bps,
    is_finite,
    parse_duration,
    parse_rate,
    parse_size,
)

__all__ = [
    "MAX_GUEST_BYTES",
    "Bool",
    "Duration",
    "FileModel",
    "Rate",
    "Size",
    "Text",
    "ValidationError",
    "boolean",
    "choice",
    "duration_s",
    "fail",
    "field_aliases",
    "integer",
    "number",
    "problems_from",
    "rate_Bps",
    "size_bytes",
    "text",
    "unit_of",
]

MAX_GUEST_BYTES: Final = 1 << 52
"""The largest guest RAM accepted, 4 PiB: x86-64's 52-bit physical address space (QEMU's
``-m`` cannot go past what the target can address)."""


ERROR_TYPE: Final = "miglab"


def fail(message: str, *, at: str | None = None, value: object = None) -> NoReturn:
    """Refuse a value with miglab's own sentence.

    Args:
        message: what is accepted (``"expected a whole number from 1 to 4096"``).
        at: a key below the validated location (an ``after`` model check names the field).
        value: the value to show with ``at`` (otherwise pydantic's input is shown).

    Raises:
        PydanticCustomError: always; :func:`problems_from` reads it back.
    """
    ctx: dict[str, Any] = {"message": message}
    if at is not None:
        ctx["at"] = at
        ctx["value"] = value
    raise PydanticCustomError(ERROR_TYPE, "{message}", ctx)


def _dashed(loc: Sequence[int | str], prefix: str) -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def _model_at(model: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model class that validated the mapping at ``loc`` below ``model``."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None or isinstance(part, int):
            continue
        by_alias = {f.alias or n: f for n, f in current.model_fields.items()}
        info = by_alias.get(part)
        current = None
        if info is not None:
            current = _submodel(info.annotation)
    return current


def _submodel(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``annotation`` (``Rule`` in ``tuple[Rule, ...] | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def field_aliases(model: type[BaseModel]) -> list[str]:
    """The keys ``model`` accepts, as a file spells them (sorted)."""
    return sorted(f.alias or n for n, f in model.model_fields.items())


def unit_of(name: str) -> Literal["size", "rate", "duration", ""]:
    """The unit a field's Python name carries (``memory_bytes`` → size, ``link_Bps`` → rate,
    ``stop_s`` → duration); the project names every unit-bearing field so (README, Style).
    """
    if name.endswith("_bytes"):
        return "size"
    if name.endswith("_Bps"):
        return "rate"
    if name.endswith(("_s", "_s_per_gib")):
        return "duration"
    return ""


def problems_from(err: ValidationError, prefix: str,
                  model: type[BaseModel] | None = None) -> list[Problem]:
    """pydantic's errors as miglab's :class:`~sim.Problem` objects.

    Args:
        err: the error of ``model.model_validate``.
        prefix: the dashed path of the validated section (``"host"``).
        model: the model validated; defaults to the one that raised ``err``.

    Returns:
        One problem per error, in pydantic's order (the model's fields, then unknown keys).
    """
    model = model or _model_by_title(err.title)
    out: list[Problem] = []
    for e in err.errors(include_url=False):
        loc = list(e["loc"])
        value = e.get("input")
        kind = e["type"]
        ctx = e.get("ctx") or {}
        if kind == ERROR_TYPE:
            message = str(ctx["message"])
            if "at" in ctx:
                loc.append(str(ctx["at"]))
                value = ctx["value"]
        elif kind == "extra_forbidden":
            below = _model_at(model, loc[:-1]) if model is not None else None
            if below is not None and issubclass(below, FileModel):
                message = below.unknown_key_message()
            else:
                known = ", ".join(field_aliases(below)) if below is not None else "nothing"
                message = f"unknown key; known keys here: {known}"
        elif kind == "missing":
            below = _model_at(model, loc[:-1]) if model is not None else None
            if below is not None and issubclass(below, FileModel):
                message = below.missing_key_message(str(loc[-1]))
            else:
                message = "required: this key must be given"
            value = None
        elif kind in ("model_type", "dict_type", "model_attributes_type"):
            message = "must be a mapping of names to values"
        else:  # a type pydantic checked itself: say what was accepted in our words
            message = f"expected {_expected(kind, e['msg'])}"
        out.append(Problem(_dashed(loc, prefix), value, message))
    return out


_MODELS: dict[str, type[BaseModel]] = {}


def _model_by_title(title: str) -> type[BaseModel] | None:
    return _MODELS.get(title)


def _expected(kind: str, msg: str) -> str:
    """What a type pydantic checked itself accepts, in miglab's words (no "Input should
    be …")."""
    words = {"bool_type": "true or false", "bool_parsing": "true or false",
             "int_type": "a whole number", "int_parsing": "a whole number",
             "int_from_float": "a whole number", "float_type": "a number",
             "float_parsing": "a number", "finite_number": "a finite number",
             "string_type": "a text", "list_type": "a list", "tuple_type": "a list",
             "dict_type": "a mapping of names to values"}
    if kind in words:
        return words[kind]
    return msg.removeprefix("Input should be ").removeprefix("input should be ") or kind


# ----------------------------------------------------------------------- field types


def _unit(parse: Callable[..., Any], value: object) -> Any:
    try:
        return parse(value)
    except UnitError as err:
        fail(f"cannot read this: {err.detail}")


def size_bytes(lo: int = 0, hi: int = MAX_GUEST_BYTES,
               accepted: str = "expected at most 4PiB") -> Callable[[object], int]:
    """A size in bytes (QEMU's binary suffixes) within ``[lo, hi]``."""
    def read(value: object) -> int:
        n: int = _unit(parse_size, value)
        if not lo <= n <= hi:
            fail(accepted)
        return n
    return read


def rate_Bps(zero: str = "") -> Callable[[object], float]:
    """A rate from 1 byte/s to 1 PB/s; 0 only where ``zero`` says what it means."""
    def read(value: object) -> float:
        r: float = _unit(parse_rate, value)
        if not ((r >= MIN_RATE_Bps or (zero and r == 0)) and r <= MAX_RATE_Bps):
            accepted = f"0 ({zero}) or " if zero else ""
            fail(f"expected {accepted}a rate from 1 byte/s to 1PB/s, e.g. 10Gbit/s or 200MiB/s")
        return r
    return read


def duration_s(value: object) -> float:
    """A duration in seconds from 0 to 30 days."""
    d: float = _unit(parse_duration, value)
    if d > MAX_DURATION_S:
        fail("expected a duration of at most 30 days, e.g. 300ms, 2min")
    return d


def number(lo: float, hi: float, what: str) -> Callable[[object], float]:
    """A finite plain number in ``[lo, hi]``; ``what`` says what is accepted."""
    def read(value: object) -> float:
        if not is_finite(value) or not lo <= value <= hi:  # type: ignore[operator]
            fail(f"expected {what}")
        return float(value)  # type: ignore[arg-type]
    return read


def integer(lo: int = 0, hi: int = 2**53) -> Callable[[object], int]:
    """A whole number in ``[lo, hi]`` (``true`` is not a number)."""
    def read(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            fail(f"expected a whole number from {lo} to {hi}")
        return value
    return read


def boolean(value: object) -> bool:
    """``true`` or ``false``, nothing YAML 1.1 would have turned into one."""
    if not isinstance(value, bool):
        fail("expected true or false")
    return value


def choice(*accepted: str) -> Callable[[object], str]:
    """One of ``accepted``."""
    def read(value: object) -> str:
        if value not in accepted:
            fail("expected one of " + ", ".join(accepted))
        return str(value)
    return read


def text(value: object) -> str:
    """A text label."""
    if not isinstance(value, str):
        fail("expected a text label")
    return value


_SIZE_IN = int | str
_NUMBER_IN = float | str

Size = Annotated[int, BeforeValidator(size_bytes(), json_schema_input_type=_SIZE_IN)]
Duration = Annotated[float, BeforeValidator(duration_s, json_schema_input_type=_NUMBER_IN)]
Rate = Annotated[float, BeforeValidator(rate_Bps(), json_schema_input_type=_NUMBER_IN)]
Bool = Annotated[bool, BeforeValidator(boolean)]
Text = Annotated[str, BeforeValidator(text)]


class FileModel(BaseModel):
    """A section of a user's file: dash-case keys, unknown keys refused, frozen."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True,
        serialize_by_alias=True, alias_generator=lambda name: name.replace("_", "-"),
        hide_input_in_errors=False,
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _MODELS[cls.__name__] = cls

    @classmethod
    def unknown_key_message(cls) -> str:
        """What an unknown key in this section is told: the keys accepted here."""
        return "unknown key; known keys here: " + ", ".join(field_aliases(cls))

    @classmethod
    def missing_key_message(cls, key: str) -> str:
        """What a missing required ``key`` is told: ``required:`` and the field's meaning."""
        info = {f.alias or n: f for n, f in cls.model_fields.items()}.get(key)
        return "required: " + (info.description if info and info.description else
                               "this key must be given")



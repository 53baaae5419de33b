"""What every policy shares: option checking, the pre-migration setup, the controller base.

A policy is a management layer's migration controller reduced to its rule book. Like a
pilot's checklist it has a *before take-off* part — the capabilities and parameters the
layer sets on both QEMUs before it issues ``migrate`` (:meth:`Policy.setup`, checked by
QEMU's own rules through :meth:`~sim.scenario.Scenario.with_changes`) — and an *in flight*
part, a SimPy process that polls the migration as the layer does and pulls the same levers
(:class:`~sim.engine.precopy.Run`).

    >>> from sim.policies.nova import NovaOptions
    >>> problems = check_options("nova", {"live_migration_downtim": 5}, NovaOptions)
    >>> print(problems[0].message)  # doctest: +ELLIPSIS
    unknown option for policy kind nova; accepted: live_migration_bandwidth, ...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from sim._exceptions import InvalidScenarioError, Problem, UnitError
from sim._modelkit import FileModel, boolean, choice, fail, integer, problems_from
from sim._modelkit import number as _number
from sim.units import (
    MAX_DURATION_S,
    MAX_RATE_Bps,
    MIN_RATE_Bps,
    parse_duration,
    parse_rate,
    parse_size,
)

if TYPE_CHECKING:
    from sim.engine.precopy import ProcessGenerator, Run
    from sim.scenario import Scenario

__all__ = [
    "Option",
    "Policy",
    "PolicyOptions",
    "boolean",
    "check_options",
    "choice",
    "duration_s",
    "integer",
    "number",
    "option",
    "options_table",
    "rate_Bps",
    "read_options",
    "size_bytes",
]

Reader = Callable[[Any], Any]
"""Turns a raw option value into its typed value or raises ``ValueError("expected …")`` (the
readers of :mod:`sim._modelkit` raise pydantic's error, itself a ``ValueError``)."""


@dataclass(frozen=True)
class Option:
    """One policy option: its default (the product's own) and how to read it."""

    default: Any
    read: Reader


def number(lo: float = 0.0, hi: float = 1e18) -> Reader:
    """A finite number in ``[lo, hi]`` (:func:`sim._modelkit.number`, saying its range)."""
    return _number(lo, hi, f"a number from {lo:g} to {hi:g}")


def _unit(parser: Callable[[Any], float], what: str,
          ok: Callable[[float], bool] = lambda _: True) -> Reader:
    def read(v: Any) -> float:
        try:
            value = float(parser(v))
        except (UnitError, TypeError, ValueError) as err:
            raise ValueError(f"expected {what}") from err
        if not ok(value):
            raise ValueError(f"expected {what}")
        return value
    return read


rate_Bps = _unit(parse_rate, "0 (no limit) or a rate from 1 byte/s to 1PB/s such as 1GiB/s, "
                 "10Gbit/s or bytes/s",
                 lambda x: x == 0 or MIN_RATE_Bps <= x <= MAX_RATE_Bps)
size_bytes = _unit(parse_size, "a size such as 1GiB or bytes")
duration_s = _unit(parse_duration, "a duration of at most 30 days such as 30s, 2min or "
                   "seconds", lambda x: x <= MAX_DURATION_S)


def option(read: Reader, input_type: Any = None) -> BeforeValidator:
    """A policy option's validator: ``read`` (a reader above), its ``ValueError`` as
    miglab's sentence; ``input_type`` is what the JSON Schema shows (default: the field's
    own type)."""
    def validate(value: object) -> Any:
        try:
            return read(value)
        except ValueError as err:
            fail(str(err))
    validate.read = read  # type: ignore[attr-defined]  # for options_table
    if input_type is None:
        return BeforeValidator(validate)
    return BeforeValidator(validate, json_schema_input_type=input_type)


class PolicyOptions(FileModel):
    """Base of every policy's options: the product's own option names (no dash aliases),
    unknown options refused naming the kind and the accepted ones.

    ``file`` names a policy file (``data/policies`` or a folder :func:`~sim.policies.
    policy_dirs` allows); :func:`~sim.policies.resolve_policy` reads it before the options
    are validated, so a validated model never holds it.
    """

    model_config = ConfigDict(alias_generator=None)

    kind: str
    file: Annotated[str | None, Field(description="start from the options of this file in "
                                                  "data/policies; keys given here override "
                                                  "them")] = None

    @classmethod
    def unknown_key_message(cls) -> str:
        """What an unknown option is told: the kind and the accepted options."""
        kind = cls.model_fields["kind"].default
        names = sorted(n for n in cls.model_fields if n not in ("kind", "file"))
        return f"unknown option for policy kind {kind}; accepted: " + ", ".join(names)

    def options(self) -> dict[str, Any]:
        """The typed options a :class:`Policy` takes (no ``kind``, no ``file``)."""
        return {name: getattr(self, name) for name in type(self).model_fields
                if name not in ("kind", "file")}


def options_table(model: type[BaseModel]) -> dict[str, Option]:
    """``{name: Option(default, reader)}`` of ``model``'s options, derived from its fields."""
    out: dict[str, Option] = {}
    for name, info in model.model_fields.items():
        if name in ("kind", "file"):
            continue
        read: Reader = next(m.func.read for m in info.metadata  # type: ignore[union-attr]
                            if isinstance(m, BeforeValidator))
        out[name] = Option(info.default, read)
    return out


def check_options(kind: str, raw: Mapping[str, Any], model: type[PolicyOptions],
                  where: str = "control.policy") -> list[Problem]:
    """Every problem with ``raw``'s options (unknown keys, bad values), none if fine.

    ``kind`` names the product for the caller; the model's own ``kind`` is what it checks.
    """
    try:
        model.model_validate({**raw, "kind": model.model_fields["kind"].default})
    except ValidationError as err:
        return problems_from(err, where, model)
    return []


def read_options(raw: Mapping[str, Any], options: Mapping[str, Option]) -> dict[str, Any]:
    """The typed options: defaults overlaid with ``raw`` (already checked)."""
    out = {k: o.default for k, o in options.items()}
    for key, value in raw.items():
        if key in options:
            out[key] = options[key].read(value)
    return out


class Policy:
    """Base of every policy.

    Args:
        options: the typed options (:func:`read_options`).

    Attributes:
        actor: the name recorded with each action (the policy's kind).
    """

    actor = "policy"

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = dict(options)

    def setup_changes(self, sc: Scenario) -> dict[str, Any]:
        """Dotted-path changes the layer makes before ``migrate`` (none by default)."""
        return {}

    def setup(self, sc: Scenario) -> Scenario:
        """The scenario as the layer leaves it just before ``migrate``.

        Raises:
            InvalidScenarioError: QEMU refuses what the layer sets, with QEMU's own text
                (e.g. ``Postcopy is not yet compatible with multifd`` on 8.2).
        """
        changes = self.setup_changes(sc)
        if not changes:
            return sc
        try:
            return sc.with_changes(changes)
        except InvalidScenarioError as err:
            what = ", ".join(f"{k}={v}" for k, v in changes.items())
            raise InvalidScenarioError(
                [Problem(p.field, p.value, f"{p.message} (policy {self.actor} set {what} "
                         "before migrate)", p.source) for p in err.problems]) from err

    def process(self, run: Run) -> ProcessGenerator:
        """The policy's SimPy process (does nothing by default)."""
        yield from ()

"""A user's own policy, written as rules: when these hold, do that.

A custom policy is a thermostat you program yourself: every ``poll-s`` seconds it reads the
migration (time, passes, remaining, progress) and fires each rule, once, the first time all
of its conditions hold. Before ``migrate`` it may set capabilities and parameters, checked by
QEMU's rules like any management layer's.

File shape (YAML; ``control.policy: {kind: custom, file: my-policy.yaml}`` or inline)::

    kind: custom
    poll-s: 1                      # how often to look (default 1 s, like a poller)
    setup:                         # optional, set before migrate
      capabilities: {postcopy-ram: true}
      parameters: {downtime-limit: 300}
    rules:
      - when: {passes-at-least: 3, remaining-above: 1GiB}
        do: {set-downtime-limit: 1000}
      - when: {no-progress-s: 20}
        do: {start-postcopy: true}
      - when: {after-s: 10min}
        do: {cancel: true}

Conditions (all must hold): ``after-s`` (duration since migrate), ``passes-at-least``
(completed passes = ``dirty-sync-count − 1``), ``remaining-above`` / ``remaining-below``
(size), ``no-progress-s`` (no new low of remaining for this long, as KubeVirt's
watchdog). Actions (one per rule): ``set-downtime-limit`` (ms), ``set-max-bandwidth``
(rate, 0 = unlimited), ``start-postcopy``, ``pause``, ``cancel`` (``true``).

    >>> check_custom({"kind": "custom", "rules": [{"when": {"after-s": 5},
    ...                                            "do": {"pause": "yes"}}]})[0].message
    'expected true'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Final, Literal

from pydantic import BeforeValidator, ConfigDict, Field, ModelWrapValidatorHandler, ValidationError
from pydantic import model_validator as _model_validator

from sim._exceptions import Problem
from sim._modelkit import FileModel, fail, problems_from
from sim.engine.constants import BUFFER_DELAY_S
from sim.policies.base import (
    Policy,
    PolicyOptions,
    duration_s,
    integer,
    option,
    rate_Bps,
    size_bytes,
)

if TYPE_CHECKING:
    from sim.engine.precopy import ProcessGenerator, Run
    from sim.scenario import Scenario

__all__ = ["ACTIONS", "CONDITIONS", "Actions", "Conditions", "CustomOptions", "CustomPolicy",
           "Rule", "Setup", "check_custom", "read_custom"]

MIN_POLL_S: Final = BUFFER_DELAY_S
"""The shortest poll interval accepted: one rate-limit window (``BUFFER_DELAY`` in QEMU's
migration/migration.c). ``query-migrate``'s figures change once per window, so a faster
poller sees nothing new, and a 1 ns poller would wake 10⁹ times per simulated second."""


def _poll_s(v: Any) -> float:
    poll = float(duration_s(v))
    if poll < MIN_POLL_S:
        raise ValueError(f"expected at least {MIN_POLL_S * 1000:g}ms: QEMU updates what a "
                         "poller reads once per 100 ms window")
    return poll


class _Section(FileModel):
    """``when`` or ``do`` of a rule: a non-empty mapping of known names, in the user's order."""

    model_config = ConfigDict(alias_generator=None)
    what: ClassVar[str] = "names"

    @classmethod
    def unknown_key_message(cls) -> str:
        """``unknown condition; accepted: after-s, …`` (the table's order)."""
        return f"unknown {cls.what[:-1]}; accepted: " + ", ".join(_names(cls))

    @_model_validator(mode="wrap")
    @classmethod
    def _mapping(cls, data: Any, handler: ModelWrapValidatorHandler[_Section]) -> _Section:
        if not isinstance(data, Mapping) or not data:
            fail(f"expected a mapping of {cls.what}: " + ", ".join(_names(cls)))
        section = handler(data)
        section.__pydantic_private__ = {"order": tuple(str(k) for k in data)}
        return section

    def given(self) -> dict[str, Any]:
        """The names given, with their typed values, in the order written."""
        order = (self.__pydantic_private__ or {}).get("order", ())
        values = self.model_dump(by_alias=True, exclude_none=True)
        return {k: values[k] for k in order if k in values}


def _names(model: type[FileModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


class Conditions(_Section):
    """When a rule fires: all the conditions given hold."""

    what: ClassVar[str] = "conditions"
    after_s: Annotated[float | None, option(duration_s, float | str)] = Field(
        None, alias="after-s", description="time since migrate (duration)")
    passes_at_least: Annotated[int | None, option(integer(0))] = Field(
        None, alias="passes-at-least", description="completed passes (dirty-sync-count − 1)")
    remaining_above: Annotated[int | None, option(size_bytes, int | str)] = Field(
        None, alias="remaining-above", description="remaining data above this size")
    remaining_below: Annotated[int | None, option(size_bytes, int | str)] = Field(
        None, alias="remaining-below", description="remaining data below this size")
    no_progress_s: Annotated[float | None, option(duration_s, float | str)] = Field(
        None, alias="no-progress-s",
        description="no new low of remaining for this long (KubeVirt's watchdog)")


def _true(v: Any) -> bool:
    if v is not True:
        raise ValueError("expected true")
    return True


class Actions(_Section):
    """What a rule does: exactly one action."""

    what: ClassVar[str] = "actions"
    set_downtime_limit: Annotated[int | None, option(integer(0, 2_000_000))] = Field(
        None, alias="set-downtime-limit", description="downtime-limit in ms")
    set_max_bandwidth: Annotated[float | None, option(rate_Bps, float | str)] = Field(
        None, alias="set-max-bandwidth", description="max-bandwidth (rate; 0: unlimited)")
    start_postcopy: Annotated[bool | None, option(_true)] = Field(
        None, alias="start-postcopy", description="true: migrate-start-postcopy")
    pause: Annotated[bool | None, option(_true)] = Field(
        None, description="true: pause the guest (it finishes stopped)")
    cancel: Annotated[bool | None, option(_true)] = Field(
        None, description="true: migrate_cancel")

    @_model_validator(mode="before")
    @classmethod
    def _exactly_one(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and len(data) > 1:
            fail("expected exactly one action: one of " + ", ".join(_names(cls)))
        return data


CONDITIONS: Final[dict[str, Callable[[Any], Any]]] = {
    name: next(m.func.read for m in f.metadata if hasattr(m, "func"))
    for name, f in ((f.alias or n, f) for n, f in Conditions.model_fields.items())}
"""Condition name → reader of its value (derived from :class:`Conditions`)."""
ACTIONS: Final[dict[str, Callable[[Any], Any]]] = {
    name: next(m.func.read for m in f.metadata if hasattr(m, "func"))
    for name, f in ((f.alias or n, f) for n, f in Actions.model_fields.items())}
"""Action name → reader of its value (derived from :class:`Actions`)."""

RULE_ACCEPTED: Final = "expected {when: {conditions}, do: {action}}"


class Rule(FileModel):
    """``{when: {conditions}, do: {action}}``."""

    when: Conditions = Field(description="conditions that must all hold")
    do: Actions = Field(description="the one action to take, once")

    @_model_validator(mode="before")
    @classmethod
    def _shape(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or set(data) != {"when", "do"}:
            fail(RULE_ACCEPTED)
        return data


class Setup(FileModel):
    """What the policy sets before ``migrate``, checked by QEMU's rules as in a scenario."""

    capabilities: dict[str, Any] | None = Field(None, description="as a scenario's")
    parameters: dict[str, Any] | None = Field(None, description="as a scenario's")

    @_model_validator(mode="before")
    @classmethod
    def _shape(cls, data: Any) -> Any:
        if data is None:
            return {}
        if not isinstance(data, Mapping) or set(data) - {"capabilities", "parameters"}:
            fail("expected a mapping with capabilities and/or parameters (as in a scenario)")
        return data


RULES_ACCEPTED: Final = "expected a list of rules, each {when: {...}, do: {...}}"


def _rules(v: Any) -> Any:
    if not isinstance(v, list) or not v:
        fail(RULES_ACCEPTED)
    return v


class CustomOptions(PolicyOptions):
    """A custom policy: a poll interval, an optional setup and the rules."""

    model_config = ConfigDict(alias_generator=None)

    kind: Literal["custom"] = "custom"
    poll_s: Annotated[float, option(_poll_s, float | str)] = Field(
        1.0, alias="poll-s", description="how often to look (at least 100ms)")
    setup: Annotated[Setup, BeforeValidator(lambda v: Setup() if v is None else v)] = Field(
        default_factory=Setup, description="set before migrate")
    rules: Annotated[tuple[Rule, ...], BeforeValidator(_rules)] = Field(
        description="each fires once, the first time its conditions hold")

    @classmethod
    def unknown_key_message(cls) -> str:
        """``unknown option for policy kind custom; accepted: poll-s, setup, rules``."""
        return ("unknown option for policy kind custom; accepted: "
                + ", ".join(_names(cls)[2:]))

    @classmethod
    def missing_key_message(cls, key: str) -> str:
        """A custom policy without rules is told what a rule looks like."""
        return RULES_ACCEPTED

    def options(self) -> dict[str, Any]:
        """``{"poll-s": s, "setup": {...}, "rules": [(when, do), …]}`` for the policy."""
        return {"poll-s": self.poll_s,
                "setup": self.setup.model_dump(by_alias=True, exclude_none=True),
                "rules": [(r.when.given(), r.do.given()) for r in self.rules]}


def read_custom(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The typed custom policy and the problems found (the policy is usable if none)."""
    try:
        return CustomOptions.model_validate(raw).options(), []
    except ValidationError as err:
        return {}, problems_from(err, "control.policy", CustomOptions)


def check_custom(raw: Mapping[str, Any]) -> list[Problem]:
    """Every problem with a custom policy."""
    return read_custom(raw)[1]


class CustomPolicy(Policy):
    """Rules from a file or inline (see the module docstring)."""

    actor = "custom"

    def setup_changes(self, sc: Scenario) -> dict[str, Any]:
        """The ``setup`` section as dotted-path changes."""
        out: dict[str, Any] = {}
        for section, values in self.options["setup"].items():
            for name, value in values.items():
                out[f"{section}.{name}"] = value
        return out

    def process(self, run: Run) -> ProcessGenerator:
        """Check every rule at each poll; fire each once."""
        poll = self.options["poll-s"]
        pending = list(enumerate(self.options["rules"]))
        watermark = run.remaining_bytes
        last_progress = 0.0
        k = 0
        while pending:
            yield run.at(k * poll)
            k += 1
            if run.ended:
                return
            now, rem = run.now_s, run.remaining_bytes
            if rem < watermark:
                watermark, last_progress = rem, now
            facts = {"after-s": now, "passes-at-least": run.sync_count - 1,
                     "remaining": rem, "no-progress-s": now - last_progress}
            for item in list(pending):
                i, (when, do) = item
                if not all(_holds(name, value, facts) for name, value in when.items()):
                    continue
                pending.remove(item)
                why = f"rule {i}: " + ", ".join(f"{k_}={v}" for k_, v in when.items())
                _do(run, do, self.actor, why)
                if run.ended or run.loop.levers.cancel_reason is not None:
                    return


def _holds(name: str, value: float, facts: Mapping[str, float]) -> bool:
    if name == "remaining-above":
        return facts["remaining"] > value
    if name == "remaining-below":
        return facts["remaining"] < value
    return facts[name] >= value


def _do(run: Run, do: Mapping[str, Any], actor: str, why: str) -> None:
    (name, value), = do.items()
    if name == "set-downtime-limit":
        run.set_downtime_limit(value, actor=actor, reason=why)
    elif name == "set-max-bandwidth":
        run.set_max_bandwidth(value, actor=actor, reason=why)
    elif name == "start-postcopy":
        run.start_postcopy(actor=actor, reason=why)
    elif name == "pause":
        run.pause(actor=actor, reason=why)
    else:
        run.cancel(actor=actor, reason=why)

"""The dashboard's controls for what the scenario form's field table does not cover.

The form's table (:func:`sim.ui.form.form_fields`) has one field per guest, workload, host
and QEMU setting. Two scenario keys need more than a text box and live here instead, so that
the table stays one row per key: ``control.postcopy-after`` (never, after N dirty-bitmap
syncs, or after a duration) and the chosen policy's options, read from the same
:data:`sim.policies.KINDS` definitions the engine builds the policy from (names, defaults,
what each accepts). The notes the Simulate page prints under its verdict (what a policy
changed before ``migrate``, postcopy armed but never started, a bandwidth cap far below the
link) are worked out here too, so that the page only renders them.

    >>> postcopy_after_text({"control": {"postcopy-after": {"passes": 3}}})
    '3 syncs'
    >>> set_postcopy_after({}, "30s")[0]["control"]
    {'postcopy-after': {'seconds': '30s'}}
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import yaml

from sim._exceptions import InvalidScenarioError, Problem, UnitError
from sim.policies import KINDS, build_policy
from sim.policies.base import Option, boolean
from sim.result import Result
from sim.scenario import Scenario
from sim.ui._shared import section_of
from sim.units import format_duration, format_rate, parse_duration

__all__ = [
    "POSTCOPY_AFTER",
    "POSTCOPY_AFTER_HELP",
    "OptionField",
    "bandwidth_hint",
    "policy_option_fields",
    "policy_option_text",
    "policy_setup_notes",
    "postcopy_after_text",
    "postcopy_note",
    "postcopy_started",
    "set_policy_option",
    "set_postcopy_after",
]

POSTCOPY_AFTER: Final = "control.postcopy-after"
"""The scenario key of the operator's ``migrate-start-postcopy``."""

POSTCOPY_AFTER_HELP: Final = (
    "when the operator issues migrate-start-postcopy: empty = never, `3` or `3 syncs` = "
    "after that many dirty-bitmap syncs, `30s` = after that long. Needs the postcopy-ram "
    "capability")

CAP_FRACTION: Final = 0.5
"""A max-bandwidth below this share of the link gets a hint."""


def postcopy_after_text(scenario: Mapping[str, Any]) -> str:
    """The ``control.postcopy-after`` box's text for ``scenario`` (empty: never)."""
    after = section_of(scenario, "control").get("postcopy-after")
    if not isinstance(after, Mapping):
        return ""
    if "passes" in after:
        n = after["passes"]
        return f"{n} sync" if n == 1 else f"{n} syncs"
    if "seconds" in after:
        s = after["seconds"]
        return f"{s:g}s" if isinstance(s, int | float) and not isinstance(s, bool) else str(s)
    return ""


def set_postcopy_after(scenario: Mapping[str, Any], text: str
                       ) -> tuple[dict[str, Any], Problem | None]:
    """``scenario`` with ``control.postcopy-after`` read from the box's ``text``.

    Returns:
        ``(scenario, problem)``: unreadable text leaves the key unchanged and says what is
        accepted.
    """
    out = copy.deepcopy(dict(scenario))
    control = section_of(out, "control")
    text = text.strip()
    value: dict[str, Any] | None
    m = re.fullmatch(r"([0-9]+)\s*(?:syncs?|passes|pass)?", text)
    if not text:
        value = None
    elif m:
        value = {"passes": int(m.group(1))}
    else:
        try:
            parse_duration(text, field=POSTCOPY_AFTER)
        except UnitError:
            return out, Problem(POSTCOPY_AFTER, text, "cannot read this: expected a number "
                                "of syncs (3, 3 syncs) or a duration (30s, 2min)")
        value = {"seconds": text}
    if value is None:
        control.pop("postcopy-after", None)
    else:
        control["postcopy-after"] = value
    if control:
        out["control"] = control
    else:
        out.pop("control", None)
    return out, None


# ------------------------------------------------------------------- policy options


OptionKind = Literal["bool", "choice", "text"]
"""How a policy option is edited: a check box, a drop-down, or a YAML scalar in a text box."""


@dataclass(frozen=True)
class OptionField:
    """One option of a policy kind as the form shows it.

    Attributes:
        path: ``control.policy.<name>`` (where validation reports its problems).
        name: the option's own name (``completionTimeoutPerGiB``).
        kind: the widget: ``bool`` (checkbox), ``choice`` or ``text`` (YAML scalar).
        default_text: the product's default as text (``150``, ``0Mi``, empty: unset).
        help: the default and what the option accepts, from its reader.
        choices: for ``choice``.
    """

    path: str
    name: str
    kind: OptionKind
    default_text: str
    help: str
    choices: tuple[str, ...] = ()


def _accepts(opt: Option) -> str:
    """What ``opt`` accepts, in its reader's own words (``expected …``)."""
    try:
        opt.read(object())
    except ValueError as err:
        return str(err)
    except Exception:
        return ""
    return ""


def _default_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def policy_option_fields(kind: str) -> list[OptionField]:
    """The form fields of policy ``kind``'s options, from :data:`sim.policies.KINDS`.

    ``custom`` (rules, not options) and an unknown kind have none.
    """
    entry = KINDS.get(kind)
    if entry is None or entry[1] is None:
        return []
    out = []
    for name, opt in entry[1].items():
        accepts = _accepts(opt)
        default = _default_text(opt.default)
        shown = default if default else "unset"
        help_text = f"{kind}'s default: {shown}. {accepts[:1].upper()}{accepts[1:]}".strip()
        if opt.read is boolean:
            out.append(OptionField(f"control.policy.{name}", name, "bool", default, help_text))
        elif accepts.startswith("expected one of "):
            choices = tuple(accepts.removeprefix("expected one of ").split(", "))
            out.append(OptionField(f"control.policy.{name}", name, "choice", default,
                                   help_text, choices))
        else:
            out.append(OptionField(f"control.policy.{name}", name, "text", default,
                                   help_text + ". Empty = the default"))
    return out


def _policy(scenario: Mapping[str, Any]) -> dict[str, Any] | None:
    value = section_of(scenario, "control").get("policy")
    return dict(value) if isinstance(value, Mapping) else None


def policy_option_text(scenario: Mapping[str, Any], f: OptionField) -> object:
    """The widget value of option ``f`` for ``scenario``: bool, choice or text."""
    policy = _policy(scenario) or {}
    raw = policy.get(f.name)
    if f.kind == "bool":
        return bool(raw) if isinstance(raw, bool) else f.default_text == "true"
    if f.kind == "choice":
        return str(raw) if raw is not None else f.default_text
    if raw is None:
        return ""
    if isinstance(raw, Mapping | list):
        return yaml.safe_dump(raw, default_flow_style=True, sort_keys=False).strip()
    return _default_text(raw)


def set_policy_option(scenario: Mapping[str, Any], f: OptionField, value: object
                      ) -> tuple[dict[str, Any], Problem | None]:
    """``scenario`` with policy option ``f`` set from its widget ``value``.

    Text is read as one YAML value (``150``, ``64Mi``, ``{initialMs: 50}``); empty text and
    the default drop the key, so the product's default applies. The policy's own check
    (:func:`sim.policies.check_policy`, run by validation) judges the value.
    """
    out = copy.deepcopy(dict(scenario))
    policy = _policy(out)
    if policy is None:
        return out, None
    parsed: object = value
    if f.kind == "text":
        text = str(value).strip()
        if not text:
            parsed = None
        else:
            try:
                parsed = yaml.safe_load(text)
            except yaml.YAMLError:
                return out, Problem(f.path, text, "cannot read this as one value")
    if parsed is None or _default_text(parsed) == f.default_text:
        policy.pop(f.name, None)
    else:
        policy[f.name] = parsed
    control = section_of(out, "control")
    control["policy"] = policy
    out["control"] = control
    return out, None


# ------------------------------------------------------------------- verdict notes


def _setting_text(path: str, value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if path.endswith("max-bandwidth") and isinstance(value, int | float):
        return "unlimited" if value == 0 else format_rate(float(value))
    if path.endswith("downtime-limit") and isinstance(value, int | float):
        return format_duration(float(value) / 1000)
    return str(value)


def _scenario_value(model: Scenario, path: str) -> object:
    section, _, name = path.partition(".")
    if section == "parameters":
        return model.parameters.get(name)
    if section == "capabilities":
        return model.capabilities.get(name, False)
    return None


def policy_setup_notes(model: Scenario) -> list[str]:
    """What the scenario's policy changes before ``migrate`` (empty: nothing, or no policy).

    E.g. ``kubevirt sets max-bandwidth to unlimited (the scenario says 128 MiB/s (1.07
    Gbit/s))``.
    """
    raw = model.control.policy
    if raw is None:
        return []
    try:
        policy = build_policy(raw)
        changes = policy.setup_changes(model)
    except InvalidScenarioError:
        return []
    notes = []
    for path, value in changes.items():
        before = _scenario_value(model, path)
        if before == value:
            continue
        name = path.partition(".")[2]
        notes.append(f"{policy.actor} sets {name} to {_setting_text(path, value)} "
                     f"(the scenario says {_setting_text(path, before)})")
    return notes


def postcopy_started(result: Result) -> bool:
    """Whether the run switched to postcopy."""
    if result.postcopy_blocktime_ms is not None:
        return True
    return any(row.get("event") == "postcopy" or row.get("phase") == "postcopy"
               for row in result.timeline)


def postcopy_note(model: Scenario, result: Result) -> str | None:
    """A sentence on postcopy: when it started and what it cost, or that it was armed
    (``postcopy-ram`` on) but never started; ``None`` when it was never armed."""
    armed = bool(model.capabilities.get("postcopy-ram"))
    after = model.control.postcopy_after
    if postcopy_started(result):
        start = next((row["time_s"] for row in result.timeline
                      if row.get("event") == "postcopy"), None)
        when = "" if start is None else f" at {format_duration(float(start))}"
        return (f"switched to postcopy{when}: the guest then ran on the destination, "
                f"blocked {format_duration(result.guest.postcopy_blocktime_ms / 1000)} in "
                f"all on {result.guest.postcopy_faults} remote page faults")
    if armed and after is None:
        return ("postcopy-ram is on but nothing starts postcopy: set *postcopy after* (or "
                "a policy that switches) to use it")
    if armed and after is not None:
        when = f"{after.passes} syncs" if after.passes is not None \
            else format_duration(after.seconds or 0.0)
        return (f"postcopy was armed (after {when}) but never started: the migration ended "
                "first")
    return None


def bandwidth_hint(model: Scenario) -> str | None:
    """A sentence when max-bandwidth caps the link below half its rate, or a policy sets it."""
    for note in policy_setup_notes(model):
        if "max-bandwidth" in note:
            return f"The policy overrides the bandwidth: {note}."
    cap = model.parameters.get("max-bandwidth")
    link = model.host.link_Bps
    if isinstance(cap, int | float) and not isinstance(cap, bool) and cap > 0 \
            and link > 0 and cap < CAP_FRACTION * link:
        return (f"max-bandwidth {format_rate(float(cap))} uses {cap / link:.0%} of the "
                f"{format_rate(float(link))} link; 0 = unlimited")
    return None

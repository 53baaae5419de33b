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
from typing import TYPE_CHECKING, Any, Final

from sim._exceptions import Problem
from sim.engine.constants import BUFFER_DELAY_S
from sim.policies.base import Policy, duration_s, integer, rate_Bps, size_bytes

if TYPE_CHECKING:
    from sim.engine.precopy import ProcessGenerator, Run
    from sim.scenario import Scenario

__all__ = ["ACTIONS", "CONDITIONS", "CustomPolicy", "check_custom", "read_custom"]

CONDITIONS: Final[dict[str, Callable[[Any], Any]]] = {
    "after-s": duration_s,
    "passes-at-least": integer(0),
    "remaining-above": size_bytes,
    "remaining-below": size_bytes,
    "no-progress-s": duration_s,
}
"""Condition name → reader of its value."""


def _true(v: Any) -> bool:
    if v is not True:
        raise ValueError("expected true")
    return True


ACTIONS: Final[dict[str, Callable[[Any], Any]]] = {
    "set-downtime-limit": integer(0, 2_000_000),
    "set-max-bandwidth": rate_Bps,
    "start-postcopy": _true,
    "pause": _true,
    "cancel": _true,
}
"""Action name → reader of its value."""

TOP_KEYS: Final = ("kind", "file", "poll-s", "setup", "rules")

MIN_POLL_S: Final = BUFFER_DELAY_S
"""The shortest poll interval accepted: one rate-limit window (``BUFFER_DELAY`` in QEMU's
migration/migration.c). ``query-migrate``'s figures change once per window, so a faster
poller sees nothing new, and a 1 ns poller would wake 10⁹ times per simulated second."""


def _section(problems: list[Problem], where: str, raw: Any, readers: Mapping[str, Any],
             what: str, exactly_one: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(raw, Mapping) or not raw:
        problems.append(Problem(where, raw, f"expected a mapping of {what}: "
                                + ", ".join(readers)))
        return out
    if exactly_one and len(raw) != 1:
        problems.append(Problem(where, dict(raw), f"expected exactly one {what[:-1]}: one of "
                                + ", ".join(readers)))
    for key, value in raw.items():
        reader = readers.get(key)
        if reader is None:
            problems.append(Problem(f"{where}.{key}", value, f"unknown {what[:-1]}; "
                                    "accepted: " + ", ".join(readers)))
            continue
        try:
            out[str(key)] = reader(value)
        except ValueError as err:
            problems.append(Problem(f"{where}.{key}", value, str(err)))
    return out


def read_custom(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The typed custom policy and the problems found (the policy is usable if none)."""
    problems: list[Problem] = []
    where = "control.policy"
    for key, value in raw.items():
        if key not in TOP_KEYS:
            problems.append(Problem(f"{where}.{key}", value, "unknown option for policy kind "
                                    "custom; accepted: " + ", ".join(TOP_KEYS[2:])))
    poll = 1.0
    if "poll-s" in raw:
        try:
            poll = duration_s(raw["poll-s"])
            if poll < MIN_POLL_S:
                raise ValueError(f"expected at least {MIN_POLL_S * 1000:g}ms: QEMU updates "
                                 "what a poller reads once per 100 ms window")
        except ValueError as err:
            problems.append(Problem(f"{where}.poll-s", raw["poll-s"], str(err)))
            poll = 1.0
    setup = raw.get("setup") or {}
    if not isinstance(setup, Mapping) or set(setup) - {"capabilities", "parameters"}:
        problems.append(Problem(f"{where}.setup", setup, "expected a mapping with "
                                "capabilities and/or parameters (as in a scenario)"))
        setup = {}
    rules_raw = raw.get("rules")
    rules: list[tuple[dict[str, Any], dict[str, Any]]] = []
    if not isinstance(rules_raw, list) or not rules_raw:
        problems.append(Problem(f"{where}.rules", rules_raw, "expected a list of rules, each "
                                "{when: {...}, do: {...}}"))
        rules_raw = []
    for i, rule in enumerate(rules_raw):
        at = f"{where}.rules[{i}]"
        if not isinstance(rule, Mapping) or set(rule) != {"when", "do"}:
            problems.append(Problem(at, rule, "expected {when: {conditions}, do: {action}}"))
            continue
        when = _section(problems, f"{at}.when", rule["when"], CONDITIONS, "conditions", False)
        do = _section(problems, f"{at}.do", rule["do"], ACTIONS, "actions", True)
        rules.append((when, do))
    return {"poll-s": poll, "setup": dict(setup), "rules": rules}, problems


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

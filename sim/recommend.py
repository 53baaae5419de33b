"""Recommendations: the settings that meet a migration's budget, and why.

Choosing migration settings is like choosing a route with a sat-nav that has three
meters on the dashboard — how long the guest is paused (downtime), how long the trip
takes (total time) and how rough the ride is for the guest (throttling and postcopy
blocking, in vCPU-seconds). The budget rules out some routes (``--max-downtime 500ms``,
``--max-total 2min``, no postcopy, at most half the link); among the rest, the objective
picks one, and the trade-off between the three meters is the Pareto set: the routes that
no other route beats on every meter at once.

A recommendation is *for a target* (:data:`sim.targets.TARGETS`): plain QEMU/libvirt, or a
platform — KubeVirt, Nova, oVirt, Proxmox — whose own knobs are searched in its own names
and units, every candidate simulated through that platform's policy, so the predicted
outcome is the outcome of exactly the settings :meth:`Recommendation.export` writes. When a
platform cannot meet the budget, the knobs it lacks (KubeVirt has no downtime limit) are
tried on its closest settings and both outcomes are reported.

For ``qemu`` the search is deterministic by default: a grid over ``downtime-limit``,
``max-bandwidth`` (as a share of the link), ``auto-converge``, multifd channels and postcopy,
each point validated as QEMU would and run in the engine, then one refinement round of
``downtime-limit`` and bandwidth around the winner. ``method="optuna"`` uses optuna's
NSGA-II multi-objective sampler over the same space instead. The answer comes with plain
reasons: which constraint binds, the next-best alternative and what it costs, or — when
nothing fits — that the budget is impossible and which setting comes closest::

    from sim.recommend import Constraints, recommend
    from sim.scenario import load_scenario

    rec = recommend(load_scenario("data/examples/web-8g.yaml"),
                    Constraints(max_downtime_ms=500, max_total_s=120), target="kubevirt")
    print(rec.settings, *rec.reasons, rec.export().text, sep="\\n")
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Final

import numpy as np
from pydantic import BeforeValidator, Field, ValidationError

from sim._exceptions import InvalidScenarioError, RecommendError
from sim._modelkit import FileModel, boolean, fail, problems_from
from sim.scenario import Scenario, load_scenario
from sim.sweep import Progress, Runner, run_points
from sim.targets import (
    LINK_SHARES,
    QEMU_BANDWIDTH_SHARES,
    QEMU_DOWNTIME_LIMITS_MS,
    QEMU_MULTIFD_CHANNELS,
    QEMU_POSTCOPY_AFTER_PASSES,
    TARGETS,
    Knob,
    Target,
    default_target,
    format_knob,
)
from sim.units import format_rate, is_finite

if TYPE_CHECKING:
    import pandas as pd

    from sim.export import Export, ExportOptions

__all__ = [
    "METRICS",
    "OBJECTIVES",
    "Constraints",
    "RecommendError",
    "Recommendation",
    "SearchSpace",
    "describe_knobs",
    "format_delta",
    "format_metric",
    "pareto_mask",
    "real_changes",
    "recommend",
]

OBJECTIVES: Final = {
    "downtime": "downtime_ms",
    "total-time": "total_time_s",
    "guest-cost": "guest_cost_s",
}
"""Objective name → the table column it minimises."""

METRICS: Final = ("downtime_ms", "total_time_s", "guest_cost_s")
"""The trade-off the Pareto set is taken over (all minimised)."""

_KNOBS: Final = ("downtime_limit_ms", "bandwidth_share", "auto_converge", "multifd_channels",
                 "postcopy_after_passes", "policy")
_NOT_CONVERGED: Final = 1e6
"""Violation charged to a setting that does not converge (ranks it after any that does)."""


def _budget(value: object) -> float | None:
    if value is not None and not (is_finite(value) and value >= 0):  # type: ignore[operator]
        fail("must be a number ≥ 0")
    return None if value is None else float(value)  # type: ignore[arg-type]


def _share(lo_open: bool) -> Callable[[object], float]:
    def read(value: object) -> float:
        ok = is_finite(value) and (0 < value <= 1 if lo_open  # type: ignore[operator]
                                   else 0 <= value <= 1)  # type: ignore[operator]
        if not ok:
            fail("must be in (0, 1]" if lo_open else "must be in [0, 1]")
        return float(value)  # type: ignore[arg-type]
    return read


_Budget = Annotated[float | None, BeforeValidator(_budget)]


class Constraints(FileModel):
    """The budget a recommended setting must meet (``None`` = no limit).

    A model (dash names in files and forms, ``Constraints(max_downtime_ms=500)`` in
    Python); a bad value raises :class:`RecommendError` naming the field and the value.

    Attributes:
        max_downtime_ms: the guest's pause.
        max_total_s: from the migrate command to the end.
        max_throttle_pct: the highest auto-converge throttle the guest may see.
        max_blocktime_ms: postcopy blocktime the guest may see.
        allow_postcopy: whether postcopy settings may be tried.
        max_bandwidth_share: the most of the link the migration may use (0–1].
        workloads: other ``workload`` sections (file form) the setting must also handle.
        min_converge_share: the share of ``workloads`` on which it must converge.
    """

    max_downtime_ms: _Budget = Field(None, description="the guest's pause (ms)")
    max_total_s: _Budget = Field(None, description="from the migrate command to the end (s)")
    max_throttle_pct: _Budget = Field(
        None, description="the highest auto-converge throttle the guest may see (%)")
    max_blocktime_ms: _Budget = Field(
        None, description="postcopy blocktime the guest may see (ms)")
    allow_postcopy: Annotated[bool, BeforeValidator(boolean)] = Field(
        False, description="whether postcopy settings may be tried")
    max_bandwidth_share: Annotated[float, BeforeValidator(_share(True))] = Field(
        1.0, description="the most of the link the migration may use, (0, 1]")
    workloads: tuple[dict[str, Any], ...] = Field(
        (), description="other workload sections the setting must also handle")
    min_converge_share: Annotated[float, BeforeValidator(_share(False))] = Field(
        1.0, description="the share of workloads on which it must converge, [0, 1]")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as err:
            p = problems_from(err, "", Constraints)[0]
            name = p.field.replace("-", "_")
            raise RecommendError(f"{name}(={p.value}) {p.message}") from None

    def limits(self) -> list[tuple[str, str, float, str]]:
        """``(label, column, limit, unit)`` for each limit that is set."""
        out = []
        for label, col, value, unit in (
                ("max downtime", "downtime_ms", self.max_downtime_ms, "ms"),
                ("max total time", "total_time_s", self.max_total_s, "s"),
                ("max throttle", "throttle_peak_pct", self.max_throttle_pct, "%"),
                ("max postcopy blocktime", "postcopy_blocktime_ms", self.max_blocktime_ms,
                 "ms")):
            if value is not None:
                out.append((label, col, float(value), unit))
        return out


@dataclass(frozen=True)
class SearchSpace:
    """The settings tried for the ``qemu`` target (defaults: :data:`sim.targets.TARGETS`).

    Attributes:
        downtime_limits_ms: ``downtime-limit`` values.
        bandwidth_shares: ``max-bandwidth`` as shares of the link (those above the
            constraint's share are dropped; the constraint's share is used if none is left).
        auto_converge: ``auto-converge`` states.
        multifd_channels: ``0`` = multifd off, else ``multifd-channels`` with multifd on.
        postcopy_after_passes: ``None`` = no postcopy, else postcopy after N syncs (only
            when postcopy is allowed).
        policies: management policy kinds to try (``None`` = the scenario's own).
    """

    downtime_limits_ms: tuple[int, ...] = QEMU_DOWNTIME_LIMITS_MS
    bandwidth_shares: tuple[float, ...] = QEMU_BANDWIDTH_SHARES
    auto_converge: tuple[bool, ...] = (False, True)
    multifd_channels: tuple[int, ...] = QEMU_MULTIFD_CHANNELS
    postcopy_after_passes: tuple[int | None, ...] = QEMU_POSTCOPY_AFTER_PASSES
    policies: tuple[str | None, ...] = (None,)


@dataclass
class Recommendation:
    """What :func:`recommend` found.

    Attributes:
        feasible: whether some setting met every constraint.
        best: the chosen row (knobs, metrics) — or ``None`` when nothing is feasible.
        closest: when nothing is feasible, the row that misses the budget by the least.
        changes: dotted scenario changes of ``best`` (or ``closest``): only those that
            differ from the scenario's effective settings (QEMU's defaults included).
        pareto: the feasible Pareto set over :data:`METRICS` (when nothing is feasible,
            that of the converging settings), sorted by the objective.
        table: every setting tried, with metrics, ``feasible`` and ``violations``.
        reasons: plain-language reasons, with numbers.
        objective: the objective used.
        constraints: the budget.
        seed: the seed every run used.
        method: ``"grid"`` or ``"optuna"``.
        base: the scenario the candidates were applied to: the given one, without what
            the target decides itself (:attr:`sim.targets.Target.owns`).
        target: the ``--for`` target (a key of :data:`sim.targets.TARGETS`).
        settings: the chosen setting in the target's own names and units.
        applied: every change the chosen setting makes to ``base`` (``scenario()`` applies
            them; ``changes`` is the part that differs from the given scenario).
        beyond: when the budget cannot be met on the target, what a knob it lacks would
            give: ``{"knob", "value", "unit", "why", "row", "feasible"}``; else ``None``.
        notes: what was taken out of the scenario because the target decides it.
    """

    feasible: bool
    best: dict[str, Any] | None
    closest: dict[str, Any] | None
    changes: dict[str, Any]
    pareto: pd.DataFrame
    table: pd.DataFrame
    reasons: list[str]
    objective: str
    constraints: Constraints
    seed: int | None
    method: str
    base: Mapping[str, Any] = field(default_factory=dict, repr=False)
    target: str = "qemu"
    settings: dict[str, Any] = field(default_factory=dict)
    applied: dict[str, Any] = field(default_factory=dict)
    beyond: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def chosen(self) -> dict[str, Any]:
        """The recommended row, or the closest when nothing is feasible."""
        row = self.best if self.best is not None else self.closest
        assert row is not None
        return row

    def scenario(self) -> Scenario:
        """The base scenario with the recommended (or closest) setting applied."""
        return load_scenario(self.base).with_changes(self.applied or self.changes)

    def export(self, options: ExportOptions | None = None) -> Export:
        """The chosen setting in the target's own files (:func:`sim.export.export`)."""
        from sim.export import export

        return export(self.scenario(), TARGETS[self.target].export_format, options)


# ----------------------------------------------------------------------------- helpers


def pareto_mask(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Rows of ``values`` (n × k, all minimised) that no other row dominates.

    >>> pareto_mask(np.array([[1, 2], [2, 1], [2, 2]])).tolist()
    [True, True, False]
    """
    v = np.asarray(values, dtype=float)
    n = len(v)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        if not keep[i]:
            continue
        dominated = np.all(v <= v[i], axis=1) & np.any(v < v[i], axis=1)
        if dominated.any():
            keep[i] = False
    return keep


def _changes(knobs: Mapping[str, Any], link_Bps: float) -> dict[str, Any]:
    out: dict[str, Any] = {
        "parameters.downtime-limit": int(knobs["downtime_limit_ms"]),
        "parameters.max-bandwidth": max(10, int(knobs["bandwidth_share"] * link_Bps)),
        "capabilities.auto-converge": bool(knobs["auto_converge"]),
        "capabilities.multifd": int(knobs["multifd_channels"]) > 0,
    }
    if int(knobs["multifd_channels"]) > 0:
        out["parameters.multifd-channels"] = int(knobs["multifd_channels"])
    passes = knobs.get("postcopy_after_passes")
    if passes is not None and not (isinstance(passes, float) and math.isnan(passes)):
        out["capabilities.postcopy-ram"] = True
        out["control.postcopy-after"] = {"passes": int(passes)}
    else:
        out["capabilities.postcopy-ram"] = False
    policy = knobs.get("policy")
    if isinstance(policy, str) and policy:
        out["control.policy"] = {"kind": policy}
    return out


def describe_knobs(row: Mapping[str, Any] | pd.Series[Any], link_Bps: float) -> str:
    """``downtime-limit 500 ms, max-bandwidth 75 % of the link (…), …`` for a table row."""
    share = float(row["bandwidth_share"])
    parts = [f"downtime-limit {int(row['downtime_limit_ms'])} ms",
             f"max-bandwidth {share:.0%} of the link = {format_rate(share * link_Bps)}",
             "auto-converge on" if row["auto_converge"] else "auto-converge off",
             f"multifd {int(row['multifd_channels'])} channels"
             if int(row["multifd_channels"]) else "no multifd"]
    passes = row.get("postcopy_after_passes")
    if passes is None or (isinstance(passes, float) and math.isnan(passes)):
        parts.append("no postcopy")
    else:
        parts.append(f"postcopy after {int(passes)} passes")
    if isinstance(row.get("policy"), str) and row["policy"]:
        parts.append(f"policy {row['policy']}")
    return ", ".join(parts)


_MINUS: Final = "\u2212"


def format_metric(value: float, unit: str) -> str:
    """A metric with sensible precision: ``140 ms``, ``7.9 s``, ``312 s``, ``0.3 vCPU·s``.

    >>> format_metric(139.916781, "ms"), format_metric(7.905917, "s"), format_metric(4.2, "ms")
    ('140 ms', '7.9 s', '4.2 ms')
    >>> format_metric(5.0, "ms"), format_metric(120.0, "s")
    ('5 ms', '120 s')
    """
    v = float(value)
    if not math.isfinite(v):
        return f"– {unit}"
    if v.is_integer() or unit == "%":
        return f"{v:.0f} {unit}"
    if unit == "ms":
        return f"{v:.0f} ms" if abs(v) >= 10 else f"{v:.1f} ms"
    return f"{v:.0f} {unit}" if abs(v) >= 100 else f"{v:.1f} {unit}"


def format_delta(value: float, unit: str) -> str:
    """A signed difference: ``+17 ms``, ``−0.7 s``, ``±0 ms`` (with a real minus sign).

    >>> format_delta(17.2, "ms"), format_delta(-0.66, "s"), format_delta(0.004, "s")
    ('+17 ms', '\u22120.7 s', '±0 s')
    """
    text = format_metric(abs(value), unit)
    if text.split(" ")[0].strip("0.") == "":
        return "±" + text.replace("0.0", "0")
    return ("+" if value > 0 else _MINUS) + text


def _metrics(row: Mapping[str, Any] | pd.Series[Any]) -> str:
    return (f"downtime {format_metric(row['downtime_ms'], 'ms')}, total "
            f"{format_metric(row['total_time_s'], 's')}, guest cost "
            f"{format_metric(row['guest_cost_s'], 'vCPU·s')}")


def _row(table: pd.DataFrame, i: int) -> dict[str, Any]:
    return {str(k): v for k, v in table.iloc[i].items()}


def _num(value: Any) -> float:
    return float(value)


def _prepare_base(sc: Scenario, constraints: Constraints) -> dict[str, Any]:
    data = sc.to_dict()
    if not constraints.allow_postcopy:
        caps = data.get("capabilities")
        if isinstance(caps, dict) and caps.get("postcopy-ram"):
            caps["postcopy-ram"] = False
        control = data.get("control")
        if isinstance(control, dict):
            control.pop("postcopy-after", None)
    return data


def _grid(space: SearchSpace, constraints: Constraints) -> list[dict[str, Any]]:
    shares = sorted({s for s in space.bandwidth_shares
                     if 0 < s <= constraints.max_bandwidth_share})
    if not shares:
        shares = [constraints.max_bandwidth_share]
    passes = space.postcopy_after_passes if constraints.allow_postcopy else (None,)
    if not constraints.allow_postcopy or not passes:
        passes = (None,)
    return [dict(zip(_KNOBS, combo, strict=True)) for combo in itertools.product(
        sorted(set(space.downtime_limits_ms)), shares, space.auto_converge,
        space.multifd_channels, tuple(dict.fromkeys(passes)),
        tuple(dict.fromkeys(space.policies)))]


ToChanges = Callable[[Mapping[str, Any]], dict[str, Any]]
"""A knob row → the dotted scenario changes it makes."""


def _evaluate(base: dict[str, Any], knobs: Sequence[Mapping[str, Any]], to_changes: ToChanges,
              constraints: Constraints, seed: int | None, workers: int | None,
              executor: Executor | None, progress: Progress | None,
              runner: Runner | None) -> pd.DataFrame:
    """Run each knob set on the base workload (and the distribution), one row per set."""
    import pandas as pd

    changes = [to_changes(k) for k in knobs]
    w = list(constraints.workloads)
    points: list[dict[str, Any]] = []
    for ch in changes:
        points.append(ch)
        points.extend(ch | {"workload": dict(wl)} for wl in w)
    raw = run_points(base, points, seed=seed, workers=workers, executor=executor,
                     progress=progress, runner=runner)
    per = 1 + len(w)
    main = raw.iloc[::per].reset_index(drop=True)
    table = pd.DataFrame.from_records([dict(k) for k in knobs])
    for col in ("valid", "error", "seed", "status", "converged", "total_time_s",
                "downtime_ms", "throttle_peak_pct", "throttle_cpu_s",
                "postcopy_blocktime_ms", "exposure_s", "transferred_bytes"):
        table[col] = main[col].to_numpy()
    table["guest_cost_s"] = (table["throttle_cpu_s"].fillna(0.0)
                             + table["postcopy_blocktime_ms"].fillna(0.0) / 1000.0)
    if w:
        conv = raw["converged"].fillna(False).to_numpy(dtype=bool).reshape(-1, per)[:, 1:]
        table["converge_share"] = conv.mean(axis=1)
    else:
        table["converge_share"] = table["converged"].astype(float)
    table["changes"] = [json.dumps(c, sort_keys=True) for c in changes]
    return table


def _judge(table: pd.DataFrame, constraints: Constraints) -> pd.DataFrame:
    """Add ``violation`` (normalised overshoot), ``violations`` (text) and ``feasible``."""
    total = np.zeros(len(table))
    texts: list[list[str]] = [[] for _ in range(len(table))]
    ok = table["valid"].to_numpy(dtype=bool) & table["converged"].fillna(False).to_numpy(
        dtype=bool)
    valid = table["valid"].to_numpy(dtype=bool)
    for i in np.flatnonzero(~ok):
        total[i] += _NOT_CONVERGED
        texts[i].append("invalid" if not valid[i] else "does not converge")
    for label, col, limit, unit in constraints.limits():
        values = table[col].to_numpy(dtype=float)
        over = np.where(ok, np.maximum(0.0, values - limit) / max(limit, 1e-9), 0.0)
        total += over
        for i in np.flatnonzero(over > 0):
            texts[i].append(f"{label} ({format_metric(values[i], unit)} > "
                            f"{format_metric(limit, unit)})")
    if constraints.workloads:
        short = np.maximum(0.0, constraints.min_converge_share
                           - table["converge_share"].to_numpy(dtype=float))
        total += np.where(ok, short * 10, 0.0)
        share = table["converge_share"].to_numpy(dtype=float)
        for i in np.flatnonzero(ok & (short > 0)):
            texts[i].append(f"converges on {share[i]:.0%} of the "
                            f"workloads (< {constraints.min_converge_share:.0%})")
    out = table.copy()
    out["violation"] = total
    out["violations"] = ["; ".join(t) for t in texts]
    out["feasible"] = total == 0
    return out


def _rank(table: pd.DataFrame, objective_col: str) -> np.ndarray[Any, Any]:
    """Row order: objective, then the other metrics, then less bandwidth, then fewer
    settings away from the target's defaults, then grid order."""
    others = [c for c in METRICS if c != objective_col]
    keys = [np.arange(len(table))]
    if "nondefault" in table:
        keys.append(table["nondefault"].to_numpy(dtype=float))
    keys.append(table["bandwidth_Bps" if "bandwidth_Bps" in table
                      else "bandwidth_share"].to_numpy(dtype=float))
    keys += [table[c].to_numpy(dtype=float) for c in reversed(others)]
    keys.append(table[objective_col].to_numpy(dtype=float))
    return np.lexsort(keys)


def _refine(knobs: Mapping[str, Any], space: SearchSpace,
            constraints: Constraints) -> list[dict[str, Any]]:
    """Geometric midpoints of downtime-limit and bandwidth share around ``knobs``."""
    dls = sorted(set(space.downtime_limits_ms))
    shares = sorted({s for s in space.bandwidth_shares if s <= constraints.max_bandwidth_share}
                    or {constraints.max_bandwidth_share})
    d0, s0 = int(knobs["downtime_limit_ms"]), float(knobs["bandwidth_share"])
    new_d = {round(math.sqrt(d0 * d)) for d in dls if d != d0 and d > 0 and
             abs(dls.index(d) - dls.index(d0)) == 1} if d0 in dls else set()
    new_s = {round(math.sqrt(s0 * s), 4) for s in shares if s != s0 and
             abs(shares.index(s) - shares.index(s0)) == 1} if s0 in shares else set()
    out = [dict(knobs) | {"downtime_limit_ms": d} for d in sorted(new_d - set(dls))]
    out += [dict(knobs) | {"bandwidth_share": s} for s in sorted(new_s - set(shares))]
    return out


def _optuna_table(base: dict[str, Any], link_Bps: float, space: SearchSpace,
                  constraints: Constraints, seed: int | None, n_trials: int,
                  runner: Runner | None) -> pd.DataFrame:
    try:
        import optuna
    except ImportError as err:  # pragma: no cover - depends on the install
        raise RecommendError("method='optuna' needs optuna: pip install 'miglab[search]'"
                             ) from err
    import pandas as pd

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    grid = _grid(space, constraints)
    choices = {k: list(dict.fromkeys(g[k] for g in grid)) for k in _KNOBS}
    rows: list[dict[str, Any]] = []

    def objective(trial: Any) -> tuple[float, float, float]:
        knobs = {k: (v[0] if len(v) == 1 else
                     v[trial.suggest_categorical(k, list(range(len(v))))])
                 for k, v in choices.items()}
        t = _evaluate(base, [knobs], lambda k: _changes(k, link_Bps), constraints, seed, 1,
                      None, None, runner)
        judged = _judge(t, constraints).iloc[0]
        rows.append(_row(t, 0))
        trial.set_constraint("violation", float(judged["violation"]))
        big = 1e12
        return tuple(float(judged[c]) if judged["converged"] else big  # type: ignore[return-value]
                     for c in METRICS)

    with warnings.catch_warnings():  # some optuna releases flag constraints as experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.NSGAIISampler(
            population_size=max(4, min(50, n_trials // 4)),
            seed=0 if seed is None else seed)
    study = optuna.create_study(directions=["minimize"] * 3, sampler=sampler)
    study.optimize(objective, n_trials=n_trials)
    table = pd.DataFrame.from_records(rows)
    return table.drop_duplicates(subset="changes").reset_index(drop=True)


def real_changes(scenario: Scenario, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The ``changes`` that alter ``scenario``'s effective settings (defaults included).

    A change is dropped when applying it alone leaves the validated scenario equal to
    ``scenario`` (e.g. ``capabilities.multifd: false`` on a scenario that never turned
    multifd on, or ``parameters.downtime-limit: 300`` where QEMU's default 300 applies).
    """
    out: dict[str, Any] = {}
    for path, value in changes.items():
        try:
            same = scenario.with_changes({path: value}) == scenario
        except InvalidScenarioError:
            same = False  # only valid together with the others: a real change
        if not same:
            out[path] = value
    return out


# ----------------------------------------------------------------------------- reasons


def _reasons(table: pd.DataFrame, best_i: int | None, closest_i: int | None,
             order: np.ndarray[Any, Any], objective: str, constraints: Constraints,
             describe: Callable[[Mapping[str, Any] | pd.Series[Any]], str]) -> list[str]:
    """Long because it is one sentence per constraint and outcome, in the order the report shows
    them.
    """
    col = OBJECTIVES[objective]
    reasons: list[str] = []
    limits = constraints.limits()
    ok = table["valid"].to_numpy(dtype=bool) & table["converged"].fillna(False).to_numpy(
        dtype=bool)
    if best_i is None:
        assert closest_i is not None
        row = table.iloc[closest_i]
        reasons.append(f"No setting meets all constraints: none of the {len(table)} "
                       f"settings searched ({int(ok.sum())} converge) fits the budget.")
        reasons.append(f"Closest: {describe(row)} → {_metrics(row)}; "
                       f"it misses {row['violations']}.")
        for label, c, limit, unit in limits:
            if ok.any():
                lowest = float(table.loc[ok, c].min())
                if lowest > limit:
                    reasons.append(f"{label.capitalize()} {format_metric(limit, unit)} "
                                   f"cannot be met by any setting searched: the lowest "
                                   f"reached is {format_metric(lowest, unit)}.")
        if not ok.any():
            reasons.append("No setting searched converges; try more bandwidth, allowing "
                           "postcopy, or a larger downtime limit.")
        return reasons
    row = table.iloc[best_i]
    reasons.append(f"Best for {objective}: {describe(row)} → {_metrics(row)}.")
    better = ok & (table[col].to_numpy(dtype=float) < float(row[col])) & ~table[
        "feasible"].to_numpy(dtype=bool)
    if better.any():
        counts: dict[str, int] = {}
        for text in table.loc[better, "violations"]:
            for part in str(text).split("; "):
                name = part.split(" (")[0]
                counts[name] = counts.get(name, 0) + 1
        binding = max(counts, key=lambda k: (counts[k], k))
        idx = [i for i in order if better[i]]
        top = table.iloc[idx[0]]
        reasons.append(f"The binding constraint is {binding}: {counts[binding]} of the "
                       f"{int(better.sum())} settings with a lower {objective} break it; the "
                       f"best of them ({describe(top)}) reaches "
                       f"{_metrics(top)} but misses {top['violations']}.")
    else:
        reasons.append(f"No constraint binds: this is also the lowest {objective} of any "
                       f"converging setting searched.")
    same = [i for i in order if table["feasible"].iat[i] and i != best_i
            and all(np.isclose(_num(table[c].iat[i]), _num(row[c])) for c in METRICS)]
    if same:
        reasons.append(f"{len(same)} other setting(s) give the same figures, e.g. "
                       f"{describe(table.iloc[same[0]])}; the simpler or "
                       f"lighter one was chosen.")
    feasible_order = [i for i in order if table["feasible"].iat[i] and i != best_i
                      and i not in same]
    if feasible_order:
        nxt = table.iloc[feasible_order[0]]
        deltas = ", ".join(
            f"{name} {format_delta(float(nxt[c]) - float(row[c]), unit)}"
            for name, c, unit in (("downtime", "downtime_ms", "ms"),
                                  ("total", "total_time_s", "s"),
                                  ("guest cost", "guest_cost_s", "vCPU·s")))
        reasons.append(f"Next best: {describe(nxt)} → {_metrics(nxt)} "
                       f"({deltas}).")
    else:
        reasons.append("It is the only setting searched that meets every constraint.")
    if limits:
        margins = ", ".join(f"{label} {format_metric(float(row[c]), unit)} of "
                            f"{format_metric(limit, unit)}" for label, c, limit, unit in limits)
        reasons.append(f"Margins: {margins}.")
    return reasons


# ----------------------------------------------------------------------------- targets


def _target_base(sc: Scenario, target: Target,
                 constraints: Constraints) -> tuple[dict[str, Any], list[str]]:
    """The scenario without what ``target`` decides itself, and a note of what was dropped."""
    data = _prepare_base(sc, constraints)
    dropped: list[str] = []
    owns = list(target.owns)
    policy = sc.control.policy
    if target.policy_kind is None and policy is not None and default_target(policy) != "qemu":
        owns.append("control.policy")  # plain QEMU: no management layer
    for path in owns:
        section, _, key = path.partition(".")
        node = data.get(section)
        if isinstance(node, dict) and key in node:
            value = node.pop(key)
            if value == {"kind": target.policy_kind}:
                pass  # the target's own policy with its defaults: nothing is lost
            elif target.policy_kind is not None or path == "control.policy":
                shown = value.get("kind") if isinstance(value, dict) else value
                dropped.append(f"{path} = {json.dumps(shown)}")
            if not node:
                data.pop(section)
    notes = []
    if dropped:
        notes.append(f"{target.title} decides these itself, so the scenario's values were "
                     f"left out: {', '.join(dropped)}.")
    return data, notes


def _bandwidth_values(knob: Knob, constraints: Constraints, link_Bps: float) -> list[Any]:
    assert knob.from_Bps is not None
    cap = constraints.max_bandwidth_share
    shares = [s for s in LINK_SHARES if s <= cap]
    if knob.unlimited is None or cap < 1:
        shares.append(cap)
    values = [knob.from_Bps(s * link_Bps) for s in shares]
    if knob.unlimited is not None and cap >= 1:
        values.insert(0, knob.unlimited)
    return values


def _knob_values(knob: Knob, constraints: Constraints, link_Bps: float) -> list[Any]:
    values = list(knob.values)
    if knob.from_Bps is not None:
        values += _bandwidth_values(knob, constraints, link_Bps)
    if not constraints.allow_postcopy:
        values = [v for v in values if v not in knob.postcopy]
    return list(dict.fromkeys(values))


def _target_changes(target: Target, row: Mapping[str, Any]) -> dict[str, Any]:
    """A knob row of a platform target → ``control.policy`` (and scenario paths)."""
    policy: dict[str, Any] = {"kind": target.policy_kind}
    out: dict[str, Any] = {}
    for knob in target.knobs:
        value = row.get(knob.name, knob.default)
        if isinstance(value, float) and math.isnan(value):
            value = knob.default
        if knob.scenario_path is not None:
            assert knob.to_scenario is not None
            if value is not None:
                out[knob.scenario_path] = knob.to_scenario(value, row)
        elif value is not None:
            policy[knob.name] = value.item() if isinstance(value, np.generic) else value
    out["control.policy"] = policy
    for lack in target.lacks:
        if lack.name in row and row[lack.name] is not None:
            out.update(lack.changes(row[lack.name]))
    return out


def _row_bandwidth_Bps(target: Target, row: Mapping[str, Any], link_Bps: float) -> float:
    for knob in target.knobs:
        if knob.to_Bps is not None and row.get(knob.name) is not None:
            Bps = knob.to_Bps(row[knob.name])
            return link_Bps if Bps is None else min(Bps, link_Bps)
    return link_Bps


def _nondefault(target: Target, row: Mapping[str, Any]) -> int:
    return sum(1 for k in target.knobs if row.get(k.name, k.default) != k.default_in(row))


def _target_rows(target: Target, stage: int, constraints: Constraints, link_Bps: float,
                 start: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every combination of the ``stage`` knobs; the other knobs from ``start`` or defaults."""
    fixed = {k.name: k.default for k in target.knobs} | dict(start or {})
    axes = [(k.name, _knob_values(k, constraints, link_Bps))
            for k in target.knobs if k.stage == stage]
    rows = [fixed | dict(zip([n for n, _ in axes], combo, strict=True))
            for combo in itertools.product(*(v for _, v in axes))]
    for row in rows:  # an unset knob that follows another is written out as it applies
        for knob in target.knobs:
            if row.get(knob.name) is None and knob.follows is not None:
                row[knob.name] = knob.default_in(row)
    return rows


def _refine_target(target: Target, row: Mapping[str, Any], constraints: Constraints,
                   link_Bps: float) -> list[dict[str, Any]]:
    """Geometric midpoints of the refinable knobs between ``row``'s value and its
    neighbours in the grid, in the knob's whole units."""
    out: list[dict[str, Any]] = []
    for knob in target.knobs:
        if not knob.refine:
            continue
        values = _knob_values(knob, constraints, link_Bps)
        numeric = sorted({n for n in (_knob_number(knob, v) for v in values) if n is not None})
        here = _knob_number(knob, row.get(knob.name))
        if here is None or here not in numeric:
            continue
        i = numeric.index(here)
        for j in (i - 1, i + 1):
            if 0 <= j < len(numeric) and numeric[j] > 0 and here > 0:
                mid = round(math.sqrt(here * numeric[j]))
                if mid not in numeric:
                    out.append(dict(row) | {knob.name: _knob_value(knob, mid)})
    return out


def _knob_number(knob: Knob, value: Any) -> int | None:
    """A numeric knob value as a whole number in its unit (``"298Mi"`` → 298)."""
    if value is None or isinstance(value, bool) or value == knob.unlimited:
        return None
    if isinstance(value, str):
        return int(value[:-2]) if value.endswith("Mi") else None
    return int(value)


def _knob_value(knob: Knob, number: int) -> Any:
    return f"{number}Mi" if isinstance(knob.unlimited, str) else number


def _describe_target(target: Target, row: Mapping[str, Any] | pd.Series[Any]) -> str:
    values = {k.name: _plain(row.get(k.name, k.default)) for k in target.knobs}
    parts = [f"{k.name} {format_knob(k, values[k.name])}" for k in target.knobs
             if k.stage == 1 or values[k.name] != k.default_in(values)]
    return ", ".join(parts)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def settings_of(target: Target, row: Mapping[str, Any], link_Bps: float) -> dict[str, Any]:
    """A chosen row in the target's own names and units (what ``--for`` prints)."""
    if target.policy_kind is not None:
        return {k.name: _plain(row.get(k.name, k.default)) for k in target.knobs}
    ch = _changes(row, link_Bps)
    passes = ch.get("control.postcopy-after")
    return {"downtime-limit": ch["parameters.downtime-limit"],
            "max-bandwidth": ch["parameters.max-bandwidth"],
            "auto-converge": ch["capabilities.auto-converge"],
            "multifd-channels": ch.get("parameters.multifd-channels", 0),
            "postcopy-after": None if passes is None else passes["passes"]}


def _add_rank_columns(table: pd.DataFrame, target: Target, link_Bps: float) -> pd.DataFrame:
    rows = [dict(r) for _, r in table.iterrows()]
    if target.policy_kind is None:
        table["bandwidth_Bps"] = table["bandwidth_share"].to_numpy(dtype=float) * link_Bps
        table["nondefault"] = 0
    else:
        table["bandwidth_Bps"] = [_row_bandwidth_Bps(target, r, link_Bps) for r in rows]
        table["nondefault"] = [_nondefault(target, r) for r in rows]
    return table


def _search_target(base: dict[str, Any], target: Target, constraints: Constraints,
                   objective_col: str, link_Bps: float, refine: bool, seed: int | None,
                   workers: int | None, executor: Executor | None, progress: Progress | None,
                   runner: Runner | None) -> pd.DataFrame:
    """A platform target's search: the stage-1 grid, stage 2 around its two best rows,
    then one round of midpoints around the winner. Every row runs through the policy."""
    import pandas as pd

    def to_changes(row: Mapping[str, Any]) -> dict[str, Any]:
        return _target_changes(target, row)

    def run(rows: list[dict[str, Any]], table: pd.DataFrame | None,
            parallel: bool) -> pd.DataFrame:
        seen = set() if table is None else set(table["changes"])
        fresh = [r for r in rows if json.dumps(to_changes(r), sort_keys=True) not in seen]
        fresh = list({json.dumps(to_changes(r), sort_keys=True): r for r in fresh}.values())
        if not fresh:
            assert table is not None
            return table
        more = _evaluate(base, fresh, to_changes, constraints, seed,
                         workers if parallel else 1, executor if parallel else None,
                         progress if parallel else None, runner)
        more = _add_rank_columns(more, target, link_Bps)
        return more if table is None else pd.concat([table, more], ignore_index=True)

    def leaders(table: pd.DataFrame, n: int) -> list[dict[str, Any]]:
        judged = _judge(table, constraints)
        order = list(_rank(judged, objective_col))
        feasible = judged["feasible"].to_numpy(dtype=bool)
        viol = judged["violation"].to_numpy(dtype=float)
        picks = sorted(range(len(judged)),
                       key=lambda i: (not feasible[i], viol[i] if not feasible[i] else 0.0,
                                      order.index(i)))[:n]
        names = [k.name for k in target.knobs]
        return [{k: _plain(judged[k].iat[i]) for k in names} for i in picks]

    table = run(_target_rows(target, 1, constraints, link_Bps), None, True)
    if any(k.stage == 2 for k in target.knobs):
        rows = [r for lead in leaders(table, 2)
                for r in _target_rows(target, 2, constraints, link_Bps, lead)]
        table = run(rows, table, True)
    if refine:
        table = run(_refine_target(target, leaders(table, 1)[0], constraints, link_Bps),
                    table, False)
    return table


def _beyond(base: dict[str, Any], target: Target, table: pd.DataFrame,
            constraints: Constraints, objective_col: str, link_Bps: float, seed: int | None,
            runner: Runner | None) -> dict[str, Any] | None:
    """When nothing meets the budget on ``target``: its three closest settings with each
    value of each knob it lacks. The best of those, with what it would give."""
    if not target.lacks:
        return None
    viol = table["violation"].to_numpy(dtype=float)
    names = [k.name for k in target.knobs]
    closest = [{k: _plain(table[k].iat[i]) for k in names}
               for i in np.argsort(viol, kind="stable")[:3]]
    found: dict[str, Any] | None = None
    for lack in target.lacks:
        rows = [r | {lack.name: v} for r in closest for v in lack.values]
        t = _evaluate(base, rows, lambda r: _target_changes(target, r), constraints, seed, 1,
                      None, None, runner)
        t = _judge(_add_rank_columns(t, target, link_Bps), constraints)
        order = _rank(t, objective_col)
        feasible = t["feasible"].to_numpy(dtype=bool)
        pick = next((int(i) for i in order if feasible[i]), None)
        if pick is None:
            pick = int(np.argmin(t["violation"].to_numpy(dtype=float)))
        candidate = {"knob": lack.name, "value": _plain(t[lack.name].iat[pick]),
                     "unit": lack.unit, "why": lack.why, "row": _row(t, pick),
                     "feasible": bool(feasible[pick]), "tried": len(t)}
        if found is None or (candidate["feasible"] and not found["feasible"]):
            found = candidate
    return found


def _beyond_reason(target: Target, beyond: Mapping[str, Any],
                   closest: Mapping[str, Any]) -> str:
    row = beyond["row"]
    knob = f"{beyond['knob']} {beyond['value']} {beyond['unit']}".strip()
    head = (f"On {target.title} the budget cannot be met: its closest setting gives "
            f"{_metrics(closest)}. {beyond['why'][0].upper()}{beyond['why'][1:]}.")
    if beyond["feasible"]:
        return (f"{head} With {knob} the same settings ({_describe_target(target, row)}) "
                f"would give {_metrics(row)} and meet the budget.")
    return (f"{head} Even with {beyond['knob']} ({beyond['tried']} settings tried) the "
            f"budget is missed: the closest, {knob}, gives {_metrics(row)} "
            f"({row['violations']}).")


# ----------------------------------------------------------------------------- search


def recommend(scenario: Scenario | Mapping[str, Any] | str,  # noqa: C901
              constraints: Constraints | None = None, *,
              target: str | None = None,
              objective: str = "total-time",
              space: SearchSpace | None = None,
              method: str = "grid",
              refine: bool = True,
              n_trials: int = 200,
              seed: int | None = None,
              workers: int | None = 1,
              executor: Executor | None = None,
              progress: Progress | None = None,
              runner: Runner | None = None) -> Recommendation:
    """Search a target's settings under a budget; return the best, the Pareto set, reasons.

    Long and branchy because it checks the request and dispatches the three searches (a target's
    grid, QEMU's grid, optuna) around one shared bookkeeping.

    Args:
        scenario: the guest, workload and link to tune (its own settings are the start).
        constraints: the budget (default: none, postcopy not allowed).
        target: the platform the settings are for, a key of :data:`sim.targets.TARGETS`
            (default: the scenario's policy kind when it is a platform, else ``qemu``).
            A platform's settings are searched in its own knobs and every candidate is
            simulated through its policy; what the platform decides itself is taken out
            of the scenario first (:attr:`~sim.targets.Target.owns`).
        objective: what to minimise among feasible settings: one of :data:`OBJECTIVES`;
            ties go to the other metrics, then to less bandwidth, then to the target's
            defaults.
        space: the settings to try for ``qemu`` (default :class:`SearchSpace`).
        method: ``"grid"`` (deterministic grid plus one refinement round) or
            ``"optuna"`` (NSGA-II over the same choices, ``n_trials`` runs; ``qemu`` only).
        refine: for the grid, try midpoints of downtime-limit and bandwidth share around
            the winner.
        n_trials: trials for optuna.
        seed: the seed of every run (and of optuna's sampler); recorded.
        workers: local processes for the grid (``None`` = all CPUs; 1 = in this process).
        executor: a :class:`concurrent.futures.Executor` for the grid's runs.
        progress: ``progress(done, total)`` for the grid's runs.
        runner: ``runner(scenario, seed) -> Result`` instead of the engine.

    Returns:
        The :class:`Recommendation`.

    Raises:
        RecommendError: an unknown target, objective or method, or an invalid base scenario.
    """
    import pandas as pd

    constraints = constraints or Constraints()
    space = space or SearchSpace()
    if objective not in OBJECTIVES:
        raise RecommendError(f"objective(={objective!r}) must be one of "
                             f"{', '.join(OBJECTIVES)}")
    if method not in ("grid", "optuna"):
        raise RecommendError(f"method(={method!r}) must be 'grid' or 'optuna'")
    try:
        sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    except InvalidScenarioError as err:
        raise RecommendError(f"the scenario is invalid: {err}") from err
    name = target or default_target(sc.control.policy)
    if name not in TARGETS:
        raise RecommendError(f"target(={name!r}) must be one of {', '.join(TARGETS)}")
    tgt = TARGETS[name]
    if method == "optuna" and tgt.policy_kind is not None:
        raise RecommendError(f"method='optuna' searches the qemu target only, not {name}")
    base, notes = _target_base(sc, tgt, constraints)
    try:
        load_scenario(base)
    except InvalidScenarioError as err:
        raise RecommendError(f"the scenario without what {tgt.title} decides is invalid: "
                             f"{err}") from err
    link_Bps = sc.host.link_Bps
    col = OBJECTIVES[objective]

    def qemu_changes(k: Mapping[str, Any]) -> dict[str, Any]:
        return _changes(k, link_Bps)

    def describe(row: Mapping[str, Any] | pd.Series[Any]) -> str:
        if tgt.policy_kind is not None:
            return _describe_target(tgt, row)
        return describe_knobs(row, link_Bps)

    if tgt.policy_kind is not None:
        table = _search_target(base, tgt, constraints, col, link_Bps, refine, seed, workers,
                               executor, progress, runner)
    elif method == "grid":
        table = _evaluate(base, _grid(space, constraints), qemu_changes, constraints, seed,
                          workers, executor, progress, runner)
        judged = _judge(table, constraints)
        if refine:
            order = _rank(judged, col)
            pick = next((i for i in order if judged["feasible"].iat[i]), None)
            if pick is None:
                pick = int(np.argmin(judged["violation"].to_numpy()))
            knobs = {k: judged[k].iat[pick] for k in _KNOBS}
            extra = [k for k in _refine(knobs, space, constraints)
                     if json.dumps(_changes(k, link_Bps), sort_keys=True)
                     not in set(table["changes"])]
            if extra:
                more = _evaluate(base, extra, qemu_changes, constraints, seed, 1, None, None,
                                 runner)
                table = pd.concat([table, more], ignore_index=True)
        table = _add_rank_columns(table, tgt, link_Bps)
    else:
        table = _add_rank_columns(
            _optuna_table(base, link_Bps, space, constraints, seed, n_trials, runner),
            tgt, link_Bps)
    table = _judge(table, constraints)
    order = _rank(table, col)
    feasible = table["feasible"].to_numpy(dtype=bool)
    best_i = next((int(i) for i in order if feasible[i]), None)
    closest_i = None
    if best_i is None:
        viol = table["violation"].to_numpy(dtype=float)
        closest_i = int(min(range(len(table)), key=lambda i: (viol[i], list(order).index(i))))
    ok = table["valid"].to_numpy(dtype=bool) & table["converged"].fillna(False).to_numpy(
        dtype=bool)
    pool = feasible if feasible.any() else ok
    idx = np.flatnonzero(pool)
    mask = pareto_mask(table.iloc[idx][list(METRICS)].to_numpy(dtype=float)) if len(idx) \
        else np.zeros(0, dtype=bool)
    table["pareto"] = False
    table.loc[idx[mask], "pareto"] = True
    seen: set[tuple[float, ...]] = set()
    front: list[int] = []
    for i in order:  # one row per distinct trade-off point, the best-ranked setting
        if table["pareto"].iat[i]:
            key = tuple(round(_num(table[c].iat[i]), 9) for c in METRICS)
            if key not in seen:
                seen.add(key)
                front.append(int(i))
    pareto = table.iloc[front].reset_index(drop=True)
    chosen = best_i if best_i is not None else closest_i
    assert chosen is not None
    reasons = notes + _reasons(table, best_i, closest_i, order, objective, constraints,
                               describe)
    beyond = None
    if best_i is None and tgt.policy_kind is not None:
        beyond = _beyond(base, tgt, table, constraints, col, link_Bps, seed, runner)
        if beyond is not None:
            reasons.append(_beyond_reason(tgt, beyond, _row(table, chosen)))
    if tgt.not_searched:
        reasons.append(f"Not searched: {tgt.not_searched}.")
    applied = json.loads(str(table["changes"].iat[chosen]))
    return Recommendation(
        feasible=best_i is not None,
        best=None if best_i is None else _row(table, best_i),
        closest=None if closest_i is None else _row(table, closest_i),
        changes=real_changes(sc, applied),
        pareto=pareto, table=table, reasons=reasons, objective=objective,
        constraints=constraints, seed=seed, method=method, base=base, target=name,
        settings=settings_of(tgt, _row(table, chosen), link_Bps), applied=applied,
        beyond=beyond, notes=notes)

"""Why a migration does not converge, and the smallest single change that makes it converge.

A migration that never finishes is a bathtub whose level never drops below the overflow
mark: the switchover threshold (bandwidth × ``downtime-limit``). :func:`diagnose` does not
guess why from rules of thumb; it asks the engine, the way a mechanic swaps one part at a
time:

1. **What the engine saw.** The scenario runs again with a recorder riding along that
   reads, at every dirty-bitmap sync of the run's last stretch, the pending bytes just
   before and just after the sync, the threshold QEMU compares them with, the bandwidth it
   measured and the time the sync took (:class:`Cycle`).
2. **Which mechanism.** Counterfactual runs of the same model decide, in this order:

   * ``policy`` — the management policy cancelled the migration (its timeout or cap);
   * ``timeout`` — ``control.timeout`` (or the horizon) came first: the first pass was not
     over, or without the timeout the same run converges (and when);
   * ``sync-cycle`` — with a free bitmap sync (``host.sync-per-gib: 0``) the same guest
     converges: QEMU syncs only once the pending bytes are under the threshold, so every
     sync adds the pages dirtied since the previous one on top of a threshold's worth
     still unsent, and the time spent in the sync adds dirt of its own (the verdict also
     gives, by bisection, the largest ``host.sync-per-gib`` that still converges: the
     sync cost is a host input, see ``data/hosts/README.md``);
   * ``hot-set`` — the guest re-dirties (nearly) all of its hot set between two syncs and
     the hot set alone is larger than the threshold;
   * ``dirty-rate`` — the guest dirties memory at least as fast as the migration sends it;
   * ``plateau`` — none of the above: the numbers of the cycle are given as measured.

3. **The fix.** For each lever — ``downtime-limit``, ``max-bandwidth``, ``auto-converge``,
   multifd channels, postcopy (and ``control.timeout`` when the timeout is the cause) — the
   smallest value that converges within the scenario's own ``control.timeout`` is found by
   simulating modified scenarios (validated as QEMU would, so only values QEMU accepts are
   tried): a geometric climb to the first value that converges, then a bisection back
   down, then the value rounded up to two significant figures and simulated once more for
   its predicted total time and downtime. Each lever costs at most
   :data:`MAX_RUNS_PER_LEVER` simulations on the engine's fast path.

    >>> from sim.scenario import load_scenario
    >>> sc = load_scenario({"vm": {"memory": "4G"},
    ...                     "workload": {"dirty-rate": "1GiB/s", "working-set": "1G"},
    ...                     "host": {"link": "1Gbit/s"}, "parameters": {"max-bandwidth": 0},
    ...                     "control": {"timeout": "2min"}})
    >>> d = diagnose(sc)
    >>> d.mechanism
    'hot-set'
    >>> print(d.text())                                  # doctest: +SKIP
    Why it does not converge: the hot set alone exceeds the switchover threshold. …
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

import simpy

from sim._exceptions import InvalidScenarioError, MiglabError
from sim.units import GiB, KiB, MiB, format_duration

if TYPE_CHECKING:
    from sim.engine.loop import MigrationLoop
    from sim.engine.precopy import ProcessGenerator, Run
    from sim.result import Result
    from sim.scenario import Scenario

__all__ = ["MAX_RUNS_PER_LEVER", "MECHANISMS", "Cycle", "Diagnosis", "Fix", "Mechanism", "NoFix",
           "diagnose"]

Mechanism = Literal["converged", "policy", "timeout", "sync-cycle", "hot-set", "dirty-rate",
                    "plateau"]
MECHANISMS: Final[tuple[Mechanism, ...]] = (
    "converged", "policy", "timeout", "sync-cycle", "hot-set", "dirty-rate", "plateau")
"""Every mechanism :func:`diagnose` can name, in the order it checks them."""

MAX_RUNS_PER_LEVER: Final = 12
"""Simulations one lever may cost (climb + bisection + the rounded value)."""

MAX_DOWNTIME_LIMIT_MS: Final = 2_000_000
"""``MAX_MIGRATE_DOWNTIME`` (``options.c``): the largest ``downtime-limit`` QEMU accepts."""

MAX_MULTIFD_CHANNELS: Final = 255
"""``multifd-channels`` is a uint8 of at least 1 (``options.c``)."""

SATURATED: Final = 0.9
"""The hot set counts as re-dirtied between syncs when this share of it is pending after
each sync."""

_REL_TOL: Final = 0.05
_PROBE_TAIL_S: Final = 60.0
_PROBE_SYNCS: Final = 200
_CYCLE_SYNCS: Final = 24


@dataclass(frozen=True)
class Cycle:
    """The steady cycle of passes the engine measured at the end of a run.

    Attributes:
        syncs: bitmap syncs the figures are averaged over.
        cycle_s: time from one sync to the next.
        sync_s: time one sync takes (``host.sync-per-gib`` × RAM, plus a multifd flush).
        pre_sync_bytes: pending bytes just before a sync.
        post_sync_bytes: pending bytes just after it (the plateau).
        new_dirty_bytes: what a sync adds: pages dirtied since the previous sync.
        threshold_bytes: the switchover threshold at the syncs (bandwidth × downtime-limit).
        gap_bytes: ``threshold_bytes − pre_sync_bytes``: how little a sync must add for
            the switchover test to pass.
        send_Bps: the bandwidth QEMU measured in the window before a sync (sending only).
        cycle_Bps: bytes sent per second over the whole cycle, the sync included.
        dirty_rate_Bps: the guest's dirty rate at the end (nominal × the share it runs).
        hot_bytes: the guest's hot set (where its writes fall).
        throttle_pct: auto-converge's throttle at the end.
    """

    syncs: int
    cycle_s: float
    sync_s: float
    pre_sync_bytes: float
    post_sync_bytes: float
    new_dirty_bytes: float
    threshold_bytes: float
    gap_bytes: float
    send_Bps: float
    cycle_Bps: float
    dirty_rate_Bps: float
    hot_bytes: float
    throttle_pct: float

    @property
    def sync_share(self) -> float:
        """Share of the cycle spent in the sync."""
        return self.sync_s / self.cycle_s if self.cycle_s > 0 else 0.0


@dataclass(frozen=True)
class Fix:
    """One lever's smallest value that makes the migration converge, as simulated.

    Attributes:
        lever: ``downtime-limit``, ``max-bandwidth``, ``auto-converge``,
            ``multifd-channels``, ``postcopy`` or ``control.timeout``.
        changes: the change in :meth:`sim.scenario.Scenario.with_changes` form.
        value: the value in words, e.g. ``"1200 ms"``.
        total_time_ms: predicted total time with the change.
        downtime_ms: predicted downtime with the change.
        runs: simulations the search took.
        note: anything else the operator should know (e.g. postcopy's exposure).
    """

    lever: str
    changes: dict[str, Any]
    value: str
    total_time_ms: float
    downtime_ms: float
    runs: int
    note: str = ""


@dataclass(frozen=True)
class NoFix:
    """A lever that does not make it converge (or does not apply), and why."""

    lever: str
    why: str
    runs: int = 0


@dataclass
class Diagnosis:
    """Why a migration does not converge and the changes that fix it.

    Attributes:
        mechanism: one of :data:`MECHANISMS`.
        summary: the mechanism in one sentence.
        details: the measured numbers behind it, one sentence each.
        numbers: the same numbers by name (bytes, seconds, bytes/s, ms).
        cycle: the measured steady cycle, when there was one.
        fixes: levers that make it converge, each at its smallest value.
        no_fix: levers that do not (or do not apply), with why.
        runs: simulations the diagnosis took in all.
    """

    mechanism: Mechanism
    summary: str
    details: list[str] = field(default_factory=list)
    numbers: dict[str, float] = field(default_factory=dict)
    cycle: Cycle | None = None
    fixes: list[Fix] = field(default_factory=list)
    no_fix: list[NoFix] = field(default_factory=list)
    runs: int = 0

    def text(self) -> str:
        """The diagnosis as the CLI, the dashboard and the report print it."""
        if self.mechanism == "converged":
            return self.summary
        lines = [f"Why it does not converge: {self.summary}"]
        lines += [f"  {d}" for d in self.details]
        if self.fixes:
            lines.append("Smallest single change that converges (each simulated by miglab):")
            width = max(len(_fix_label(f)) for f in self.fixes)
            for f in self.fixes:
                lines.append(
                    f"  {_fix_label(f):<{width}}  → converges in "
                    f"{format_duration(f.total_time_ms / 1000)}, downtime "
                    f"{f.downtime_ms:.0f} ms" + (f" ({f.note})" if f.note else ""))
        else:
            lines.append("No single change among the levers tried converges.")
        if self.no_fix:
            lines.append("Levers that do not make it converge on their own:")
        for n in self.no_fix:
            lines.append(f"  {n.lever}: {n.why}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (``text`` included)."""
        return {"mechanism": self.mechanism, "summary": self.summary,
                "details": list(self.details), "numbers": dict(self.numbers),
                "cycle": dataclasses.asdict(self.cycle) if self.cycle else None,
                "fixes": [dataclasses.asdict(f) for f in self.fixes],
                "no-fix": [dataclasses.asdict(n) for n in self.no_fix],
                "runs": self.runs, "text": self.text()}


def _size(n_bytes: float) -> str:
    """``766 MiB``, ``1.02 GiB`` (never ``1.02e+03 MiB``)."""
    for unit, mult in (("TiB", 1024 * GiB), ("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if abs(n_bytes) >= 0.9995 * mult:
            return f"{n_bytes / mult:.3g} {unit}"
    return f"{n_bytes:.0f} B"


def _rate(bytes_per_s: float) -> str:
    return f"{_size(bytes_per_s)}/s"


def _pct(share: float) -> str:
    return f"{share * 100:.0f} %"


def _fix_label(f: Fix) -> str:
    return f"{f.lever} {f.value}" if f.value else f.lever


# ----------------------------------------------------------------------------- the probe


@dataclass
class _Sample:
    t_s: float
    pre: float
    post: float
    threshold: float
    bw_Bps: float
    transferred: float


@dataclass
class _Probe:
    """A run of the scenario with a recorder at the syncs of its last stretch."""

    run: Run
    loop: MigrationLoop
    samples: list[_Sample]
    result: Result


class _Recorder:
    """A controller that reads the loop at the syncs after ``start_s`` (at most ``limit``).

    While it waits for each sync the engine cannot skip passes, so it stops after ``limit``
    syncs and lets the fast path take the rest of the run.
    """

    def __init__(self, start_s: float, samples: list[_Sample], limit: int) -> None:
        self.start_s = start_s
        self.samples = samples
        self.limit = limit

    def process(self, run: Run) -> ProcessGenerator:
        """Wait for ``start_s``, then record each sync until the run ends or ``limit``."""
        from sim.engine import loop as L

        yield run.at(self.start_s)
        while not run.ended and len(self.samples) < self.limit:
            yield run.next_sync()
            if run.ended:
                return
            s = run.loop.s
            self.samples.append(_Sample(
                t_s=run.now_s, pre=run.pre_sync_bytes, post=run.remaining_bytes,
                threshold=s.threshold_bytes, bw_Bps=s.bw_Bpms * 1000.0,
                transferred=run.loop.c[L.TRANSFERRED]))


def _probe(sc: Scenario, start_s: float, horizon_s: float | None,
           limit: int = _PROBE_SYNCS) -> _Probe:
    """Run ``sc`` as :func:`sim.engine.simulate` does, recording syncs after ``start_s``."""
    from sim.engine import DEFAULT_HORIZON_S
    from sim.engine.loop import MigrationLoop
    from sim.engine.outcome import build_result
    from sim.engine.precopy import Controller, Run

    controllers: list[Controller] = []
    if sc.control.policy is not None:
        from sim.policies import build_policy

        policy = build_policy(sc.control.policy)
        sc = policy.setup(sc)
        controllers.append(policy)
    samples: list[_Sample] = []
    controllers.append(_Recorder(start_s, samples, limit))
    env = simpy.Environment()
    loop = MigrationLoop(sc, fast=True, timeline=False)
    if horizon_s is None:
        horizon_s = max(DEFAULT_HORIZON_S, sc.control.timeout_s or 0.0)
    run = Run(env, loop, horizon_s=horizon_s, controllers=tuple(controllers))
    env.run(run.thread)
    return _Probe(run, loop, samples, build_result(run, seed=sc.seed))


def _cycle(p: _Probe) -> Cycle | None:
    """Average the last recorded syncs into one cycle (None with fewer than two)."""
    samples = p.samples[-_CYCLE_SYNCS:]
    if len(samples) < 2:
        return None
    n = len(samples) - 1
    first, last = samples[0], samples[-1]
    cycle_s = (last.t_s - first.t_s) / n
    loop = p.loop
    sync_s = float(loop.sync_s + loop.multifd_sync_s)
    pre = sum(x.pre for x in samples[1:]) / n
    post = sum(x.post for x in samples[1:]) / n
    threshold = sum(x.threshold for x in samples[1:]) / n
    return Cycle(
        syncs=n, cycle_s=cycle_s, sync_s=sync_s, pre_sync_bytes=pre, post_sync_bytes=post,
        new_dirty_bytes=post - pre, threshold_bytes=threshold, gap_bytes=threshold - pre,
        send_Bps=max(x.bw_Bps for x in samples),
        cycle_Bps=(last.transferred - first.transferred) / (last.t_s - first.t_s)
        if last.t_s > first.t_s else 0.0,
        dirty_rate_Bps=loop.dirty_rate_Bps(), hot_bytes=float(loop.model.hot_bytes),
        throttle_pct=float(loop.ac.pct))


# ----------------------------------------------------------------------------- mechanism


def _free_of_timeout(sc: Scenario) -> Scenario:
    return dataclasses.replace(sc, control=sc.control.model_copy(update={"timeout_s": None}))


def _with_sync(sc: Scenario, s_per_gib: float) -> Scenario:
    return dataclasses.replace(sc, host=sc.host.model_copy(update={"sync_s_per_gib": s_per_gib}))


def _free_sync(sc: Scenario) -> Scenario:
    return _with_sync(sc, 0.0)


def _policy_cancel(result: Result) -> str | None:
    for a in result.actions:
        if a.action == "cancel" and a.actor != "operator":
            return (f"the {a.actor} policy cancelled it at {a.time_s:.0f} s"
                    + (f": {a.reason}" if a.reason else ""))
    return None


_ACTION_LEVERS: Final = {"set-downtime-limit": "downtime-limit",
                         "set-max-bandwidth": "max-bandwidth"}


def _policy_levers(sc: Scenario, result: Result) -> dict[str, str]:
    """Parameters the management policy sets itself, with what it set them to.

    A scenario value of such a parameter does not reach QEMU (the policy overwrites it
    before ``migrate`` or while it runs), so it is no lever for the operator here.
    """
    if sc.control.policy is None:
        return {}
    from sim.policies import build_policy

    out: dict[str, str] = {}
    kind = sc.control.policy.get("kind", "the")
    for path, value in build_policy(sc.control.policy).setup_changes(sc).items():
        name = path.split(".")[-1]
        if name == "max-bandwidth":
            out[name] = (f"the {kind} policy sets it to "
                         + (_rate(float(value)) if value else "0 (unlimited)"))
        elif path.startswith("parameters."):
            out[name] = f"the {kind} policy sets it to {value}"
    for a in result.actions:
        lever = _ACTION_LEVERS.get(a.action)
        if lever is not None and a.actor != "operator":
            shown = _rate(a.value or 0.0) if lever == "max-bandwidth" else f"{a.value:g} ms"
            out[lever] = f"the {a.actor} policy sets it while it runs (last: {shown})"
    return out


class _Sim:
    """Counts simulations; every run goes through the engine's fast path."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, sc: Scenario, *, horizon_s: float | None = None) -> Result:
        from sim.engine import simulate

        self.runs += 1
        return simulate(sc, timeline=False, horizon_s=horizon_s)


def diagnose(scenario: Scenario, result: Result | None = None, *,
             fixes: bool = True) -> Diagnosis:
    """Why ``scenario``'s migration does not converge, with the fixes the engine found.

    Args:
        scenario: a validated scenario.
        result: its simulated result, when already at hand (else it is simulated).
        fixes: search for the smallest converging value of each lever.

    Returns:
        The :class:`Diagnosis` (mechanism ``converged`` and no fixes for a run that
        converged).
    """
    sim = _Sim()
    if result is None:
        result = sim(scenario)
    if result.converged:
        return Diagnosis("converged", "it converges: nothing to fix.", runs=sim.runs)
    d = _mechanism(scenario, result, sim)
    owned = _policy_levers(scenario, result)
    if owned:
        d.details.append("Set by the policy, not by the scenario: " + "; ".join(
            f"{k}: {v.removeprefix('the ')}" for k, v in owned.items()) + ".")
    if fixes:
        _find_fixes(scenario, d, sim, owned)
    d.runs = sim.runs
    return d


def _mechanism(sc: Scenario, result: Result, sim: _Sim) -> Diagnosis:
    end_s = result.total_time_ms / 1000.0
    start_s = max(end_s - _PROBE_TAIL_S, end_s / 2.0)
    probe = _probe(sc, start_s, None)
    sim.runs += 1
    if len(probe.samples) < 3 or probe.result.converged:
        # few syncs: from the start, or from halfway when many; a probe that converged
        # where the run did not met a checkpoint the fast path does not yet honour exactly
        # (issue 13, items 1-2): try once more from elsewhere
        few = result.ram.dirty_sync_count <= _PROBE_SYNCS
        probe = _probe(sc, 0.0 if few else end_s / 2.0, None)
        sim.runs += 1
    if probe.result.converged:  # a measured result the model does not reproduce
        return Diagnosis("plateau", f"the model of this scenario converges (in "
                                    f"{format_duration(probe.result.total_time_ms / 1000)}); "
                                    f"the result given did not, so the model cannot say why.")
    cycle = _cycle(probe)
    horizon_s = max(4.0 * end_s, end_s + 3600.0)
    cancel = _policy_cancel(result)
    if cancel is not None:
        d = Diagnosis("policy", cancel + ".", cycle=cycle)
        d.numbers["cancelled_at_s"] = end_s
        if cycle is not None:
            under = _steady(sc, cycle, sim, horizon_s)
            d.details.append(f"Underneath: {under.summary}")
            d.details += under.details
            d.numbers.update(under.numbers)
        return d
    timeout_s = sc.control.timeout_s
    limit = (f"control.timeout ({format_duration(timeout_s)})" if timeout_s is not None
             and result.status == "cancelled" else f"the {format_duration(end_s)} horizon")
    open_run = sim(_free_of_timeout(sc), horizon_s=horizon_s)
    need = (f" Without it, it converges after {format_duration(open_run.total_time_ms / 1000)}."
            if open_run.converged else "")
    if open_run.converged:
        numbers = {"timeout_s": end_s, "converges_at_s": open_run.total_time_ms / 1000.0,
                   "converged_downtime_ms": open_run.downtime_ms}
    if result.ram.dirty_sync_count <= 1:
        sent = result.ram.transferred
        rate = sent / max(end_s - result.setup_time_ms / 1000.0, 1e-9)
        d = Diagnosis("timeout", f"{limit} came during the first pass over RAM.{need}")
        d.details.append(f"It sent {_size(sent)} of {_size(sc.vm.memory_bytes)} at "
                         f"{_rate(rate)}; the first pass alone needs about "
                         f"{format_duration(sc.vm.memory_bytes / max(rate, 1.0))}.")
        d.numbers.update(sent_bytes=sent, send_Bps=rate, timeout_s=end_s)
        if open_run.converged:
            d.numbers.update(numbers)
        return d
    if open_run.converged:
        d = Diagnosis("timeout", f"{limit} ended a migration that was still converging."
                                 f"{need}", cycle=cycle)
        d.numbers.update(numbers)
        if cycle is not None:
            d.details.append(_plateau_sentence(cycle))
        return d
    if cycle is None:
        return Diagnosis("plateau", "the pending bytes never dropped under the threshold "
                                    "(too few syncs were seen to measure a cycle).")
    return _steady(sc, cycle, sim, horizon_s)


def _steady(sc: Scenario, cycle: Cycle, sim: _Sim, horizon_s: float) -> Diagnosis:
    """The mechanism of a run that repeats the same cycle without converging."""
    free = sim(_free_sync(_free_of_timeout(sc)), horizon_s=horizon_s)
    if free.converged:
        d = _sync_cycle(sc, cycle, free)
        most = _largest_sync_cost(sc, sim)
        if most is not None:
            d.numbers["converging_sync_s_per_gib"] = most
            d.details.append(
                f"It converges while a sync costs at most {_ms(most)}/GiB (bisected on the "
                f"model): the verdict rests on host.sync-per-gib, an input to measure on "
                f"your hosts (data/hosts/README.md).")
        d.numbers["free_sync_total_ms"] = free.total_time_ms
    elif cycle.hot_bytes > cycle.threshold_bytes \
            and cycle.post_sync_bytes >= SATURATED * cycle.hot_bytes:
        d = _hot_set(cycle)
    elif cycle.dirty_rate_Bps >= cycle.send_Bps > 0:
        d = _dirty_rate(cycle)
    else:
        d = Diagnosis("plateau", f"pending settles at {_size(cycle.post_sync_bytes)} after "
                                 f"each sync, above the {_size(cycle.threshold_bytes)} "
                                 f"threshold.", cycle=cycle)
        d.details.append(_plateau_sentence(cycle))
    d.numbers.update({k: float(v) for k, v in dataclasses.asdict(cycle).items()})
    d.numbers["memory_bytes"] = float(sc.vm.memory_bytes)
    return d


def _plateau_sentence(c: Cycle) -> str:
    return (f"Pending after each sync: {_size(c.post_sync_bytes)}; switchover "
            f"threshold (bandwidth × downtime-limit): {_size(c.threshold_bytes)}; one "
            f"cycle of passes: {_secs(c.cycle_s)}.")


def _secs(s: float) -> str:
    return f"{s:.2f} s" if s < 10 else format_duration(s)


def _sync_cycle(sc: Scenario, c: Cycle, free: Result) -> Diagnosis:
    mem = _size(sc.vm.memory_bytes)
    d = Diagnosis(
        "sync-cycle",
        "QEMU's sync cycle. It syncs the dirty bitmap only once the pending bytes are under "
        "the threshold, so every sync adds the pages dirtied since the previous one on top "
        "of a threshold's worth still unsent.", cycle=c)
    d.details.append(
        f"Each sync adds {_size(c.new_dirty_bytes)} of new dirt to the "
        f"{_size(c.pre_sync_bytes)} still pending; to switch over it would have to add "
        f"less than the {_size(max(c.gap_bytes, 0.0))} gap left under the "
        f"{_size(c.threshold_bytes)} threshold (bandwidth × downtime-limit).")
    d.details.append(
        f"{_ms(c.sync_s)} of each {_secs(c.cycle_s)} cycle ({_pct(c.sync_share)}) is the sync "
        f"of the {mem} bitmap (host.sync-per-gib {_ms(sc.host.sync_s_per_gib)}/GiB × RAM): "
        f"the guest dirties pages meanwhile "
        f"and nothing is sent, so the bandwidth QEMU measures drops from "
        f"{_rate(c.send_Bps)} while sending to {_rate(c.cycle_Bps)} over the "
        f"cycle.")
    cause = (f"so neither the hot set ({_size(c.hot_bytes)}) nor the dirty rate "
             f"({_rate(c.dirty_rate_Bps)}, below the {_rate(c.send_Bps)} sent) is what stops it"
             if c.dirty_rate_Bps < c.send_Bps else "so the sync's cost is what tips it")
    d.details.append(
        f"Checked on the model: with a free sync (host.sync-per-gib: 0) the same guest "
        f"converges in {format_duration(free.total_time_ms / 1000)}; {cause}.")
    return d


def _ms(s: float) -> str:
    return f"{s * 1000:.3g} ms" if s >= 0.001 else f"{s * 1e6:.3g} µs"


def _largest_sync_cost(sc: Scenario, sim: _Sim) -> float | None:
    """The largest ``host.sync-per-gib`` (s) with which ``sc`` still converges, to 5 %.

    None when even a free sync does not converge within the scenario's own timeout.
    """
    now = sc.host.sync_s_per_gib

    def converges(v: float) -> bool:
        return sim(_with_sync(sc, v)).converged

    if now <= 0 or not converges(0.0):
        return None
    lo, hi = 0.0, now  # lo converges, hi does not
    while hi - lo > _REL_TOL * now:
        mid = (lo + hi) / 2
        if converges(mid):
            lo = mid
        else:
            hi = mid
    return float(f"{lo:.2g}") if lo > 0 and converges(float(f"{lo:.2g}")) else lo


def _hot_set(c: Cycle) -> Diagnosis:
    d = Diagnosis(
        "hot-set",
        f"the hot set alone ({_size(c.hot_bytes)}) exceeds the switchover threshold "
        f"({_size(c.threshold_bytes)} = bandwidth × downtime-limit).", cycle=c)
    d.details.append(
        f"The guest re-dirties {_pct(c.post_sync_bytes / c.hot_bytes)} of its hot set between "
        f"two syncs ({_secs(c.cycle_s)} apart): {_size(c.post_sync_bytes)} is pending "
        f"after each sync, so the switchover test can never pass while it runs at this pace.")
    return d


def _dirty_rate(c: Cycle) -> Diagnosis:
    d = Diagnosis(
        "dirty-rate",
        f"the guest dirties {_rate(c.dirty_rate_Bps)}, at least the "
        f"{_rate(c.send_Bps)} the migration sends.", cycle=c)
    d.details.append(
        f"Each pass re-dirties about as much as it sends: {_size(c.post_sync_bytes)} is "
        f"pending after each sync ({_secs(c.cycle_s)} apart), far above the "
        f"{_size(c.threshold_bytes)} threshold (bandwidth × downtime-limit).")
    return d


# ----------------------------------------------------------------------------- fixes


class _Lever:
    """Simulates one lever's values (validated as QEMU would), remembering each result."""

    def __init__(self, sc: Scenario, sim: _Sim, change: Callable[[float], dict[str, Any]]) -> None:
        self.sc = sc
        self.sim = sim
        self.change = change
        self.runs = 0
        self.seen: dict[float, Result | None] = {}
        self.refused: str | None = None

    def __call__(self, value: float) -> Result | None:
        """The converged result at ``value``, or None (not converged or refused)."""
        if value in self.seen:
            return self.seen[value]
        out: Result | None = None
        if self.runs < MAX_RUNS_PER_LEVER:
            try:
                changed = self.sc.with_changes(self.change(value))
            except InvalidScenarioError as err:
                self.refused = "; ".join(p.message for p in err.problems) or str(err)
            except MiglabError as err:
                self.refused = str(err)
            else:
                self.runs += 1
                r = self.sim(changed)
                out = r if r.converged else None
        self.seen[value] = out
        return out


def _climb_and_bisect(lever: _Lever, lo: float, steps: list[float], *,
                      integer: bool) -> float | None:
    """The smallest value that converges, within :data:`_REL_TOL` (or one, for integers).

    Climbs ``steps`` (ascending) to the first value that converges, then bisects (on a log
    scale) between it and the last value that did not, starting from ``lo``.
    """
    hi = None
    for v in steps:
        if lever(v) is not None:
            hi = v
            break
        lo = v
    if hi is None:
        return None
    while lever.runs < MAX_RUNS_PER_LEVER - 1:  # keep one run for the rounded value
        if hi <= lo * (1 + _REL_TOL) or (integer and hi - lo <= 1):
            break
        mid = math.sqrt(lo * hi) if lo > 0 else (lo + hi) / 2
        if integer:
            mid = float(math.floor(mid))
            if mid <= lo:
                mid = lo + 1
        if lever(mid) is not None:
            hi = mid
        else:
            lo = mid
    return hi


def _round_up(x: float, digits: int = 2) -> float:
    """``x`` rounded up to ``digits`` significant figures."""
    if x <= 0:
        return x
    e = math.floor(math.log10(x)) - digits + 1
    return float(math.ceil(x / 10.0**e - 1e-9) * 10.0**e)


def _settle(lever: _Lever, best: float, cap: float) -> tuple[float, Result]:
    """``best`` rounded up to two significant figures (at most ``cap``) if that converges."""
    return _settle_at(lever, best, float(math.ceil(min(_round_up(best), cap))))


def _find_fixes(sc: Scenario, d: Diagnosis, sim: _Sim, owned: dict[str, str]) -> None:
    """Fill ``d.fixes`` and ``d.no_fix`` lever by lever (``owned``: set by the policy)."""
    for lever, search in (("downtime-limit", _fix_downtime), ("max-bandwidth", _fix_bandwidth),
                          ("auto-converge", _fix_auto_converge), ("multifd", _fix_multifd),
                          ("postcopy", _fix_postcopy)):
        if lever in owned:
            d.no_fix.append(NoFix(lever, f"{owned[lever]}; change the policy's own setting"))
            continue
        out = search(sc, sim)
        if isinstance(out, Fix):
            d.fixes.append(out)
        else:
            d.no_fix.append(out)
    if d.mechanism == "timeout" and "converges_at_s" in d.numbers:
        need = _round_up(d.numbers["converges_at_s"] * 1.01)
        longer = _Lever(sc, sim, lambda v: {"control.timeout": f"{v:g}s"})
        r = longer(need)
        if r is not None:
            d.fixes.insert(0, Fix("control.timeout", {"control.timeout": f"{need:g}s"},
                                  format_duration(need), r.total_time_ms, r.downtime_ms,
                                  longer.runs))


def _fix_downtime(sc: Scenario, sim: _Sim) -> Fix | NoFix:
    now = float(sc.parameters.downtime_limit)
    lever = _Lever(sc, sim, lambda v: {"parameters.downtime-limit": int(v)})
    steps: list[float] = []
    v = max(now, 1.0)
    while v < MAX_DOWNTIME_LIMIT_MS:
        v = min(v * 4, MAX_DOWNTIME_LIMIT_MS)
        steps.append(math.ceil(v))
    best = _climb_and_bisect(lever, now, steps, integer=True)
    if best is None:
        return NoFix("downtime-limit", "still not converged with the largest value QEMU "
                     f"accepts ({MAX_DOWNTIME_LIMIT_MS} ms)" + _refused(lever), lever.runs)
    value, r = _settle(lever, best, MAX_DOWNTIME_LIMIT_MS)
    return Fix("downtime-limit", {"parameters.downtime-limit": int(value)}, f"{value:.0f} ms",
               r.total_time_ms, r.downtime_ms, lever.runs,
               f"from {now:.0f} ms")


def _refused(lever: _Lever) -> str:
    return f"; QEMU refused a value: {lever.refused}" if lever.refused else ""


def _fix_bandwidth(sc: Scenario, sim: _Sim) -> Fix | NoFix:
    now = float(sc.parameters.max_bandwidth)
    link = float(sc.host.link_Bps)
    if now == 0 or now >= link:
        return NoFix("max-bandwidth", "already unlimited" if now == 0 else
                     f"already at or above the link ({_rate(link)})")
    lever = _Lever(sc, sim, lambda v: {"parameters.max-bandwidth": int(v)})
    steps: list[float] = []
    v = now
    while v < link:
        v = min(v * 2, link)
        steps.append(float(math.ceil(v)))
    steps.append(0.0)  # unlimited: the link and the sending threads are the only limits
    best = _climb_and_bisect(lever, now, steps[:-1], integer=False)
    if best is None:
        r = lever(0.0)
        if r is None:
            return NoFix("max-bandwidth", f"still not converged at the link's {_rate(link)} "
                         "or unlimited" + _refused(lever), lever.runs)
        return Fix("max-bandwidth", {"parameters.max-bandwidth": 0}, "0 (unlimited)",
                   r.total_time_ms, r.downtime_ms, lever.runs, f"from {_rate(now)}")
    nice = min(_round_up(best / MiB) * MiB, link)  # two significant figures of MiB/s
    value, r = _settle_at(lever, best, nice)
    return Fix("max-bandwidth", {"parameters.max-bandwidth": int(value)}, _rate(value),
               r.total_time_ms, r.downtime_ms, lever.runs, f"from {_rate(now)}")


def _settle_at(lever: _Lever, best: float, nice: float) -> tuple[float, Result]:
    """``nice`` (a rounder value above ``best``) when it converges too, else ``best``."""
    r = lever(nice) if nice > best else None
    if r is not None:
        return nice, r
    result = lever.seen[best]
    assert result is not None  # best converged by construction
    return best, result


def _fix_auto_converge(sc: Scenario, sim: _Sim) -> Fix | NoFix:
    if sc.capabilities["auto-converge"]:
        top = sc.parameters.max_cpu_throttle
        if top >= 99:
            return NoFix("auto-converge", f"already on, up to {top} %")
        lever = _Lever(sc, sim, lambda v: {"parameters.max-cpu-throttle": int(v)})
        best = _climb_and_bisect(lever, top, [99.0], integer=True)
        if best is None:
            return NoFix("auto-converge", "still not converged with max-cpu-throttle 99"
                         + _refused(lever), lever.runs)
        r = lever.seen[best]
        assert r is not None
        return Fix("max-cpu-throttle", {"parameters.max-cpu-throttle": int(best)},
                   f"{best:.0f} %", r.total_time_ms, r.downtime_ms, lever.runs,
                   f"from {top} %; peak throttle {r.guest.throttle_peak_pct:.0f} %")
    lever = _Lever(sc, sim, lambda v: {"capabilities.auto-converge": True})
    r = lever(1.0)
    if r is None:
        return NoFix("auto-converge", ("QEMU refuses it: " + lever.refused) if lever.refused
                     else "on with QEMU's defaults it still does not converge", lever.runs)
    return Fix("auto-converge", {"capabilities.auto-converge": True}, "on",
               r.total_time_ms, r.downtime_ms, lever.runs,
               f"peak throttle {r.guest.throttle_peak_pct:.0f} %, "
               f"{r.guest.throttle_cpu_s:.0f} vCPU-s taken from the guest")


def _fix_multifd(sc: Scenario, sim: _Sim) -> Fix | NoFix:
    on = bool(sc.capabilities["multifd"])
    now = sc.parameters.multifd_channels if on else 1

    def change(v: float) -> dict[str, Any]:
        out: dict[str, Any] = {"parameters.multifd-channels": int(v)}
        if not on:
            out["capabilities.multifd"] = True
        return out

    lever = _Lever(sc, sim, change)
    steps: list[float] = []
    v = float(max(now, 1))
    while v < 16 and v < MAX_MULTIFD_CHANNELS:
        v = min(v * 2, MAX_MULTIFD_CHANNELS)
        steps.append(v)
    best = _climb_and_bisect(lever, float(now), steps, integer=True)
    if best is None:
        last = steps[-1] if steps else now
        return NoFix("multifd", f"QEMU refuses it: {lever.refused}"
                     if lever.refused and lever.runs == 0
                     else f"still not converged with {last:.0f} channels", lever.runs)
    r = lever.seen[best]
    assert r is not None
    return Fix("multifd-channels", change(best), f"{best:.0f}", r.total_time_ms,
               r.downtime_ms, lever.runs,
               "multifd on" if not on else f"from {now} channels")


def _fix_postcopy(sc: Scenario, sim: _Sim) -> Fix | NoFix:
    changes: dict[str, Any] = {"control.postcopy-after": {"passes": 1}}
    if not sc.capabilities["postcopy-ram"]:
        changes["capabilities.postcopy-ram"] = True
    if sc.control.postcopy_after is not None:
        return NoFix("postcopy", "control.postcopy-after is already set")
    lever = _Lever(sc, sim, lambda v: changes)
    r = lever(1.0)
    if r is None:
        return NoFix("postcopy", ("QEMU refuses it: " + lever.refused) if lever.refused
                     else "the postcopy run did not complete either", lever.runs)
    return Fix("postcopy", changes, "after the first pass", r.total_time_ms, r.downtime_ms,
               lever.runs,
               f"then {r.guest.postcopy_faults} page faults over the network, "
               f"{r.guest.postcopy_blocktime_ms / 1000:.1f} s of vCPU blocking; a network "
               f"failure in those {r.guest.exposure_s:.1f} s loses the guest")

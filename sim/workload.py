"""How a guest dirties memory: distinct pages written since the last clean point.

Think of guest RAM as a lawn and the guest as someone walking on it: the migration only
cares how much *distinct* grass was trodden since it last looked (the last dirty-bitmap
sync), not how many steps were taken. A walker who goes in a straight line over a patch of
``W`` bytes tramples ``min(r·τ, W)``; one who wanders at random tramples
``W·(1 − exp(−r·τ/W))`` (each step lands on fresh grass with probability "fresh area / W");
a measured walker is described by the curve QEMU's ``calc-dirty-rate`` / ``virsh
domdirtyrate-calc`` produce: the fraction of RAM dirtied after ``τ`` seconds since clean,
interpolated linearly and flat after the last point (the hot set is saturated).

At each bitmap sync only the trodden grass that is not still waiting to be mown counts as
new work (``fresh_bytes``): random walkers land on waiting grass in proportion to its
area; a straight-line walker that the mower keeps up with walks away from the grass it
just trod (which is what waits) and meets it only after a full lap.

Real guests are skewed: a few hot pages take most writes, the rest are written rarely. A
guest is then a mixture of *page classes* (:class:`ClassDirtying`), each written uniformly
at its own rate, and the engine keeps the pending bytes of each class: what is pending at a
sync is mostly the hot class, which the guest re-dirties anyway, so the new work of a cycle
is far smaller than a uniform reading of the same curve says (issue 16). A measured curve
becomes classes by a non-negative fit of ``D(τ) = Σ sᵢ(1 − e^(−rᵢτ/sᵢ))``
(:func:`fit_classes`, :func:`curve_classes`); ``working-set`` + ``dirty-rate`` is the
one-class case (:class:`RandomDirtying`); a sequential sweep stays its own model.

``τ`` is *guest run time*: the engine scales wall time by the share of time the vCPUs run
(``1 − throttle``) for CPU-bound workloads (§7.3).

    >>> from sim.workload import dirty_model
    >>> m = dirty_model(Workload(dirty_rate_Bps=100 * 2**20, working_set_bytes=2**30), 2**32)
    >>> round(m.distinct_bytes(1.0) / 2**20)  # 1024·(1 − e^(−100/1024)) MiB
    95

Presets live in ``data/workloads/*.yaml`` and are loaded by :mod:`sim.scenario`
(``workload: {preset: memcached}``); :func:`sim.scenario.preset_names` lists them.

§ numbers are sections of ``docs/qemu-migration.md`` (QEMU's algorithm, with its source files).
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np

from sim.scenario import Workload

__all__ = [
    "ClassDirtying",
    "ClassFit",
    "CurveDirtying",
    "DirtyModel",
    "IdleDirtying",
    "RandomDirtying",
    "SequentialDirtying",
    "curve_classes",
    "dirty_model",
    "fit_classes",
]


class DirtyModel(Protocol):
    """Distinct-page growth since a clean point.

    Attributes:
        hot_bytes: where the writes fall (the most that can ever be dirty at once).
        nominal_rate_Bps: the dirty rate a user would quote (``calc-dirty-rate``'s number).
    """

    @property
    def hot_bytes(self) -> float:
        """Where the writes fall."""
        ...

    @property
    def nominal_rate_Bps(self) -> float:
        """The quoted dirty rate."""
        ...

    def distinct_bytes(self, tau_s: float) -> float:
        """Bytes of distinct pages dirtied in ``tau_s`` seconds of guest run time."""
        ...

    def fresh_bytes(self, distinct: float, pending_hot: float, *,
                    outruns_sender: bool = False) -> float:
        """Of ``distinct`` bytes just dirtied, those not already pending.

        Args:
            distinct: :meth:`distinct_bytes` of the interval.
            pending_hot: bytes of the hot set still pending (dirty, not yet sent).
            outruns_sender: the guest dirties faster than the migration sends.
        """
        ...


@dataclass(frozen=True)
class IdleDirtying:
    """A guest that writes nothing."""

    hot_bytes: float = 0.0
    nominal_rate_Bps: float = 0.0

    def distinct_bytes(self, tau_s: float) -> float:
        """Always 0."""
        return 0.0

    def fresh_bytes(self, distinct: float, pending_hot: float, *,
                    outruns_sender: bool = False) -> float:
        """Always 0."""
        return 0.0


@dataclass(frozen=True)
class RandomDirtying:
    """Uniform random writes at ``nominal_rate_Bps`` over ``hot_bytes``.

    Each written page is fresh with probability (clean share of the set), so the distinct
    bytes obey ``dU/dτ = r·(1 − U/W)``, i.e. ``U(τ) = W·(1 − exp(−r·τ/W))``.
    """

    nominal_rate_Bps: float
    hot_bytes: float

    def distinct_bytes(self, tau_s: float) -> float:
        """``W·(1 − exp(−r·τ/W))``."""
        if tau_s <= 0.0:
            return 0.0
        return self.hot_bytes * -math.expm1(-self.nominal_rate_Bps * tau_s / self.hot_bytes)

    def fresh_bytes(self, distinct: float, pending_hot: float, *,
                    outruns_sender: bool = False) -> float:
        """Writes fall anywhere in the hot set: a share ``pending/hot`` is already pending."""
        return _uniform_fresh(distinct, pending_hot, self.hot_bytes)


@dataclass(frozen=True)
class SequentialDirtying:
    """A sequential sweep (like ``mig_mon mm_dirty sequential``): ``U(τ) = min(r·τ, W)``."""

    nominal_rate_Bps: float
    hot_bytes: float

    def distinct_bytes(self, tau_s: float) -> float:
        """``min(r·τ, W)``."""
        return min(self.nominal_rate_Bps * max(tau_s, 0.0), self.hot_bytes)

    def fresh_bytes(self, distinct: float, pending_hot: float, *,
                    outruns_sender: bool = False) -> float:
        """``min(distinct, W − pending)`` while the sender keeps up with the sweep.

        Two runners on one circular track: the sweep (the guest) and QEMU's scan, both in
        address order. While the scan is the faster, what is pending is what the sweep
        wrote last, just behind it, and the pages ahead of it were written a lap ago and
        sent since: the sweep runs into pending pages only once it has written every clean
        page of the set. A sweep faster than the scan laps it, and where they meet is as
        good as random: then a share ``pending/W`` of the writes is already pending, as for
        random writes. (On the lab's sequential guests the first rule took bw-32M from −15 %
        to 0 % and rate-60M from 11 to 44 syncs against QEMU's 43; the second keeps a 40 MiB/s
        sweep of 16 MiB at 32 MiB/s converging, as QEMU did.)
        """
        if outruns_sender:
            return _uniform_fresh(distinct, pending_hot, self.hot_bytes)
        return max(0.0, min(distinct, self.hot_bytes - pending_hot))


@dataclass(frozen=True)
class CurveDirtying:
    """A measured curve: fraction of RAM dirtied vs seconds since clean.

    Linear between points, from ``(0, 0)``, and flat after the last point (saturated), so
    it is monotone by construction (the scenario loader checks the points are).
    """

    times_s: tuple[float, ...]
    bytes_at: tuple[float, ...]
    hot_bytes: float
    nominal_rate_Bps: float

    @classmethod
    def from_points(cls, points: tuple[tuple[float, float], ...],
                    memory_bytes: float) -> CurveDirtying:
        """Build from ``((t_s, fraction), …)`` and the guest's RAM."""
        times = (0.0, *(t for t, _ in points))
        values = (0.0, *(f * memory_bytes for _, f in points))
        model = cls(times, values, values[-1], 0.0)
        # calc-dirty-rate measures over 1 s by default: quote that as the nominal rate.
        object.__setattr__(model, "nominal_rate_Bps", model.distinct_bytes(1.0))
        return model

    def distinct_bytes(self, tau_s: float) -> float:
        """Interpolated bytes dirtied after ``tau_s`` seconds."""
        if tau_s <= 0.0:
            return 0.0
        if tau_s >= self.times_s[-1]:
            return self.bytes_at[-1]
        i = bisect.bisect_right(self.times_s, tau_s)
        t0, t1 = self.times_s[i - 1], self.times_s[i]
        b0, b1 = self.bytes_at[i - 1], self.bytes_at[i]
        return b0 + (b1 - b0) * (tau_s - t0) / (t1 - t0)

    def fresh_bytes(self, distinct: float, pending_hot: float, *,
                    outruns_sender: bool = False) -> float:
        """Writes fall anywhere in the hot set: a share ``pending/hot`` is already pending."""
        return _uniform_fresh(distinct, pending_hot, self.hot_bytes)


@dataclass(frozen=True)
class ClassDirtying:
    """A mixture of page classes, each written uniformly at random at its own rate.

    Class ``i`` holds ``sᵢ`` bytes written at ``rᵢ`` bytes/s, so its distinct bytes grow
    as in :class:`RandomDirtying`, ``sᵢ·(1 − exp(−rᵢ·τ/sᵢ))``, and the guest's as their sum.
    The engine keeps the pending bytes of each class (:meth:`fresh_by_class`): what is
    pending at a sync is mostly the hot class, which the guest re-dirties anyway, so the new
    work of a cycle is the fresh pages of each class, not a share of the whole set.

    Attributes:
        sizes_bytes: ``sᵢ``, bytes of each class.
        rates_Bps: ``rᵢ``, bytes written per second into each class.
        nominal_rate_Bps: the quoted dirty rate (``Σ rᵢ`` for classes given directly,
            distinct bytes in 1 s for a fitted measurement, as ``calc-dirty-rate`` gives it).
        fit_error_pct: for classes fitted from a measured curve, the largest error of the
            fit at the measured points (% of the measured value); ``None`` otherwise.
    """

    sizes_bytes: tuple[float, ...]
    rates_Bps: tuple[float, ...]
    nominal_rate_Bps: float
    fit_error_pct: float | None = None

    @classmethod
    def of(cls, classes: Sequence[tuple[float, float]],
           fit_error_pct: float | None = None,
           nominal_rate_Bps: float | None = None) -> ClassDirtying:
        """Build from ``((size_bytes, rate_Bps), …)``; empty classes are dropped."""
        kept = [(float(sz), float(r)) for sz, r in classes if sz > 0.0 and r > 0.0]
        sizes = tuple(sz for sz, _ in kept)
        rates = tuple(r for _, r in kept)
        nominal = sum(rates) if nominal_rate_Bps is None else nominal_rate_Bps
        return cls(sizes, rates, nominal, fit_error_pct)

    @property
    def hot_bytes(self) -> float:
        """All classes together (``Σ sᵢ``)."""
        return float(sum(self.sizes_bytes))

    def class_distinct_bytes(self, tau_s: float) -> tuple[float, ...]:
        """``sᵢ·(1 − exp(−rᵢ·τ/sᵢ))`` for each class."""
        if tau_s <= 0.0:
            return tuple(0.0 for _ in self.sizes_bytes)
        return tuple(sz * -math.expm1(-r * tau_s / sz)
                     for sz, r in zip(self.sizes_bytes, self.rates_Bps, strict=True))

    def distinct_bytes(self, tau_s: float) -> float:
        """``Σ sᵢ·(1 − exp(−rᵢ·τ/sᵢ))``."""
        return float(sum(self.class_distinct_bytes(tau_s)))

    def fresh_by_class(self, tau_s: float,
                       pending_bytes: Sequence[float]) -> tuple[float, ...]:
        """New work of each class at a sync ``tau_s`` seconds of guest run time after the last.

        Writes fall uniformly within a class, so of its distinct bytes a share
        ``pendingᵢ/sᵢ`` is already pending.

        Args:
            tau_s: guest run time since the last sync.
            pending_bytes: bytes of each class still pending (dirty, not yet sent).
        """
        return tuple(d * (1.0 - min(1.0, p / sz)) if sz > 0.0 else 0.0
                     for d, p, sz in zip(self.class_distinct_bytes(tau_s), pending_bytes,
                                         self.sizes_bytes, strict=True))

    def fresh_bytes(self, distinct: float, pending_hot: float, *,
                    outruns_sender: bool = False) -> float:
        """Without the per-class pending bytes: as if the writes fell uniformly.

        The engine calls :meth:`fresh_by_class` instead; this keeps the
        :class:`DirtyModel` protocol for callers that only know the total.
        """
        return _uniform_fresh(distinct, pending_hot, self.hot_bytes)


@dataclass(frozen=True)
class ClassFit:
    """Page classes fitted to a measured curve ``D(τ) = Σ sᵢ·(1 − exp(−rᵢ·τ/sᵢ))``.

    Attributes:
        sizes: ``sᵢ`` in the curve's unit (bytes or a fraction of RAM).
        rates: ``rᵢ`` in that unit per second.
        max_error_pct: largest error at the measured points, % of the measured value.
        rms_error_pct: root-mean-square of the relative errors there, %.
    """

    sizes: tuple[float, ...]
    rates: tuple[float, ...]
    max_error_pct: float
    rms_error_pct: float

    def distinct(self, tau_s: float) -> float:
        """The fitted ``D(τ)``."""
        return float(sum(sz * -math.expm1(-r * tau_s / sz)
                         for sz, r in zip(self.sizes, self.rates, strict=True)))


MAX_CLASSES: Final = 4
"""A handful of classes: a fit that needs more is over-reading a noisy measurement."""
_GRID: Final = 48
_PLATEAU_TIMES: Final = (1.5, 2.0, 4.0, 8.0)
"""The curve is flat after its last point (saturated): the fit sees it there too."""


def _nnls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Lawson–Hanson non-negative least squares: ``argmin ‖a·x − b‖`` over ``x ≥ 0``."""
    n = a.shape[1]
    x = np.zeros(n)
    passive = np.zeros(n, dtype=bool)
    w = a.T @ b
    tol = 1e-12 * max(1.0, float(np.abs(w).max(initial=0.0)))
    for _ in range(3 * n + 10):
        free = ~passive & (w > tol)
        if not free.any():
            break
        passive[int(np.argmax(np.where(free, w, -np.inf)))] = True
        for _ in range(3 * n + 10):
            z = np.zeros(n)
            z[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
            neg = passive & (z <= 0.0)
            if not neg.any():
                x = z
                break
            alpha = float(np.min(x[neg] / (x[neg] - z[neg])))
            x = x + alpha * (z - x)
            passive &= x > 1e-15
            x[~passive] = 0.0
        w = a.T @ (b - a @ x)
    return x


_ENOUGH_SQ: Final = 0.002**2
"""A fit whose relative error is this (0.2 % rms) more than the best one's is as good."""


def _refine(solve: Callable[[np.ndarray], tuple[np.ndarray, float]], consts: np.ndarray,
            sizes: np.ndarray, err: float, lo: float,
            hi: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Coordinate search on each time constant (the sizes by NNLS for each trial)."""
    step = 1.5
    for _ in range(40):
        better = False
        for i in range(len(consts)):
            for f in (step, 1.0 / step):
                trial = consts.copy()
                trial[i] = min(max(trial[i] * f, lo), hi)
                s_try, e_try = solve(trial)
                if e_try < err * (1.0 - 1e-9):
                    consts, sizes, err, better = trial, s_try, e_try, True
        if not better:
            step = math.sqrt(step)
            if step < 1.0005:
                break
    return consts, sizes, err


def _design(times: np.ndarray, consts_s: np.ndarray, weights: np.ndarray) -> np.ndarray:
    design: np.ndarray = -np.expm1(-times[:, None] / consts_s[None, :]) * weights[:, None]
    return design


@functools.lru_cache(maxsize=256)
def _fit_cached(times_s: tuple[float, ...], values: tuple[float, ...],
                max_classes: int) -> ClassFit:
    t_meas = np.array(times_s, dtype=float)
    y_meas = np.array(values, dtype=float)
    t_last, y_last = float(t_meas[-1]), float(y_meas[-1])
    t = np.concatenate([t_meas, t_last * np.array(_PLATEAU_TIMES)])
    y = np.concatenate([y_meas, np.full(len(_PLATEAU_TIMES), y_last)])
    keep = y > 0.0
    t, y = t[keep], y[keep]
    weights = 1.0 / y  # relative errors: the short times (the sync cycles) count as much
    target = np.ones_like(y)
    lo, hi = float(t_meas[0]) / 4.0, t_last * 4.0

    def solve(consts: np.ndarray) -> tuple[np.ndarray, float]:
        sizes = _nnls(_design(t, consts, weights), target)
        resid = _design(t, consts, weights) @ sizes - target
        return sizes, float(resid @ resid)

    consts = np.geomspace(lo, hi, _GRID)
    if not keep.any():
        return ClassFit((), (), 0.0, 0.0)  # a guest that dirtied nothing
    sizes, err = solve(consts)
    consts = consts[np.flatnonzero(sizes)]
    sizes, err = solve(consts)
    candidates: dict[int, tuple[np.ndarray, np.ndarray, float]] = {}
    while len(consts) >= 1:  # backward elimination: drop the class whose loss hurts least
        if len(consts) <= max_classes:
            candidates[len(consts)] = _refine(solve, consts, sizes, err, lo, hi * 4.0)
        if len(consts) == 1:
            break
        trials = [solve(np.delete(consts, j)) for j in range(len(consts))]
        best = min(range(len(trials)), key=lambda j: trials[j][1])
        consts = np.delete(consts, best)
        sizes, err = trials[best]
    # the fewest classes that fit about as well as the most: a class split in two twins
    # (same time constant) says nothing a measurement could tell apart
    best_err = min(e for _, _, e in candidates.values())
    k = min(n for n, (_, _, e) in candidates.items()
            if e <= best_err * 1.5 + _ENOUGH_SQ * len(y))
    consts, sizes, _ = candidates[k]
    nz = sizes > 0.0
    consts, sizes = consts[nz], sizes[nz]
    order = np.argsort(consts)
    consts, sizes = consts[order], sizes[order]
    model = (-np.expm1(-t_meas[:, None] / consts[None, :])) @ sizes
    pos = y_meas > 0.0
    rel = np.abs(model[pos] - y_meas[pos]) / y_meas[pos] if pos.any() else np.zeros(1)
    return ClassFit(tuple(float(x) for x in sizes),
                    tuple(float(sz / c) for sz, c in zip(sizes, consts, strict=True)),
                    float(100.0 * rel.max()), float(100.0 * math.sqrt(float(np.mean(rel**2)))))


def fit_classes(times_s: Sequence[float], values: Sequence[float], *,
                max_classes: int = MAX_CLASSES) -> ClassFit:
    """Fit page classes to a measured curve of distinct bytes dirtied since a clean point.

    Non-negative least squares over a grid of time constants ``Tᵢ = sᵢ/rᵢ`` (relative
    errors, so that the short times that a sync cycle sees weigh as much as the plateau),
    pruned to at most ``max_classes`` classes and then refined one time constant at a time.
    The curve is taken as flat after its last point (as :class:`CurveDirtying` reads it).

        >>> f = fit_classes((1.0, 2.0, 5.0, 20.0),
        ...                 (10 * (1 - math.exp(-1)), 10 * (1 - math.exp(-2)),
        ...                  10 * (1 - math.exp(-5)), 10 * (1 - math.exp(-20))))
        >>> [round(x, 2) for x in f.sizes], [round(x, 2) for x in f.rates]
        ([10.0], [10.0])

    Args:
        times_s: increasing seconds since clean, all > 0.
        values: distinct bytes (or fraction of RAM) dirtied by then, non-decreasing.
        max_classes: at most this many classes.

    Returns:
        The :class:`ClassFit`, with its error at the measured points.
    """
    return _fit_cached(tuple(float(x) for x in times_s), tuple(float(x) for x in values),
                       max_classes)


def _uniform_fresh(distinct: float, pending_hot: float, hot_bytes: float) -> float:
    if distinct <= 0.0 or hot_bytes <= 0.0:
        return 0.0
    return distinct * (1.0 - min(1.0, pending_hot / hot_bytes))


def dirty_model(workload: Workload, memory_bytes: float) -> DirtyModel:
    """The distinct-page model for ``workload`` on a guest of ``memory_bytes``.

    Args:
        workload: the scenario's workload (rate + working set, or a curve).
        memory_bytes: guest RAM.

    Returns:
        A :class:`DirtyModel`.
    """
    if workload.dirty_classes is not None:
        return ClassDirtying.of(workload.dirty_classes)
    if workload.dirty_curve is not None:
        return curve_classes(workload.dirty_curve, memory_bytes)
    if workload.dirty_rate_Bps <= 0.0:
        return IdleDirtying()
    wss = float(workload.working_set_bytes or memory_bytes)
    if workload.pattern == "sequential":
        return SequentialDirtying(workload.dirty_rate_Bps, wss)
    return RandomDirtying(workload.dirty_rate_Bps, wss)


def curve_classes(points: Sequence[tuple[float, float]],
                  memory_bytes: float) -> ClassDirtying:
    """A measured curve ``((t_s, fraction of RAM), …)`` as fitted page classes.

    This is what a measurement of the guest tells the engine: the classes whose distinct
    pages grow as the curve does (:func:`fit_classes`), never more than the guest's RAM.
    Its nominal rate stays the distinct bytes in 1 s of the curve, ``calc-dirty-rate``'s
    number.
    """
    fit = fit_classes([t for t, _ in points], [f for _, f in points])
    total = sum(fit.sizes)
    scale = min(1.0, 1.0 / total) if total > 0 else 1.0  # a fit over 100 % of RAM
    curve = CurveDirtying.from_points(tuple(points), memory_bytes)
    return ClassDirtying.of([(sz * scale * memory_bytes, r * scale * memory_bytes)
                             for sz, r in zip(fit.sizes, fit.rates, strict=True)],
                            fit_error_pct=fit.max_error_pct,
                            nominal_rate_Bps=curve.nominal_rate_Bps)

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

``τ`` is *guest run time*: the engine scales wall time by the share of time the vCPUs run
(``1 − throttle``) for CPU-bound workloads (spec §7.3).

    >>> from sim.workload import dirty_model
    >>> m = dirty_model(Workload(dirty_rate_Bps=100 * 2**20, working_set_bytes=2**30), 2**32)
    >>> round(m.distinct_bytes(1.0) / 2**20)  # 1024·(1 − e^(−100/1024)) MiB
    95

Presets live in ``data/workloads/*.yaml`` and are loaded by :mod:`sim.scenario`
(``workload: {preset: memcached}``); :func:`preset_names` lists them.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Protocol

from sim.scenario import Workload, data_path

__all__ = [
    "CurveDirtying",
    "DirtyModel",
    "IdleDirtying",
    "RandomDirtying",
    "SequentialDirtying",
    "dirty_model",
    "preset_names",
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
    if workload.dirty_curve is not None:
        return CurveDirtying.from_points(workload.dirty_curve, memory_bytes)
    if workload.dirty_rate_Bps <= 0.0:
        return IdleDirtying()
    wss = float(workload.working_set_bytes or memory_bytes)
    if workload.pattern == "sequential":
        return SequentialDirtying(workload.dirty_rate_Bps, wss)
    return RandomDirtying(workload.dirty_rate_Bps, wss)


def preset_names() -> list[str]:
    """Names of the workload presets shipped in ``data/workloads``."""
    folder = data_path("workloads")
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.exists() else []


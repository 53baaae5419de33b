"""The outcome of one migration, named as ``query-migrate`` names it.

A :class:`Result` is the logbook of one migration: what QEMU's ``query-migrate`` would have
shown once it ended (status, total time, downtime, the ``ram`` counters), plus what QEMU does
not report but operators ask about: did it converge, why not, what it cost the guest, which
actions a policy took, and a per-window timeline. The engine and the lab both produce this
shape, so a prediction and a real run can be laid side by side.

    >>> r = Result(status="completed", converged=True, total_time_ms=1234.0,
    ...            downtime_ms=42.0, setup_time_ms=10.0, expected_downtime_ms=40.0,
    ...            ram=RamStats(transferred=10, total=10, page_size=4096))
    >>> r.to_dict()["total-time"]
    1234

Times inside are floats in ms (``total_time_ms``); :meth:`Result.to_dict` rounds them to
QEMU's integers.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)
from pydantic.dataclasses import dataclass

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TIMELINE_COLUMNS", "Action", "GuestCost", "RamStats", "Result", "XbzrleStats"]

TIMELINE_COLUMNS = (
    "time_s",              # seconds since the migrate command
    "phase",               # setup, precopy, switchover, postcopy, done
    "remaining_bytes",     # dirty bytes still in the bitmap (query-migrate ram.remaining)
    "transferred_bytes",   # all bytes sent so far
    "bandwidth_Bps",       # achieved rate over the last window
    "throttle_pct",        # auto-converge throttle in force
    "dirty_sync_count",    # bitmap syncs so far
    "dirty_rate_Bps",      # guest's current (throttled) dirty rate
    "expected_downtime_ms",
    "event",               # "", "sync", "throttle", "policy: …", "postcopy", "switchover"
)
"""The columns of :meth:`Result.timeline_frame`, in order."""


def _dash(name: str) -> str:
    return name.replace("_", "-")


class _DashNames(BaseModel):
    """A block of ``query-migrate``: fields under QMP's dash names (``normal-bytes``);
    built by field name or by QMP name, unknown names refused, mutable while the engine
    fills it in."""

    model_config = ConfigDict(alias_generator=_dash, validate_by_name=True,
                              validate_by_alias=True, extra="forbid")

    def to_dict(self) -> dict[str, Any]:
        """The fields with QMP's dash names (``normal_bytes`` → ``normal-bytes``)."""
        return self.model_dump(by_alias=True)


class RamStats(_DashNames):
    """``query-migrate``'s ``ram`` member (bytes, pages, Mbit/s)."""

    transferred: int = 0
    total: int = 0
    remaining: int = 0
    duplicate: int = 0
    normal: int = 0
    normal_bytes: int = 0
    dirty_sync_count: int = 0
    dirty_pages_rate: int = 0
    mbps: float = 0.0
    pages_per_second: int = 0
    precopy_bytes: int = 0
    downtime_bytes: int = 0
    postcopy_bytes: int = 0
    multifd_bytes: int = 0
    postcopy_requests: int = 0
    page_size: int = 4096


class XbzrleStats(_DashNames):
    """``query-migrate``'s ``xbzrle-cache`` member."""

    cache_size: int = 0
    bytes: int = 0
    pages: int = 0
    cache_miss: int = 0
    cache_miss_rate: float = 0.0
    encoding_rate: float = 0.0
    overflow: int = 0


class GuestCost(_DashNames):
    """What the migration cost the guest, beyond the downtime.

    Attributes:
        throttle_peak_pct: highest auto-converge throttle.
        throttle_cpu_s: vCPU-seconds taken from the guest by throttling
            (∑ throttle × vCPUs × time).
        throttle_seconds: wall seconds during which a throttle was on.
        postcopy_blocktime_ms: time all vCPUs were blocked on postcopy page faults.
        postcopy_faults: page faults served remotely in postcopy.
        exposure_s: seconds during which neither side held the whole guest (postcopy).
        loss_probability: chance of losing the guest to a link failure during that window.
        postcopy_latency_ms: mean latency of a postcopy page fault (10.1's
            ``postcopy-latency``).
        postcopy_vcpu_blocktime_ms: Σ over vCPUs of the time each was blocked on faults
            (the sum of ``postcopy-vcpu-blocktime``).
        paused_s: seconds a policy kept the guest paused before the switchover (not QEMU
            downtime, but the guest does not run).
    """

    throttle_peak_pct: float = 0.0
    throttle_cpu_s: float = 0.0
    throttle_seconds: float = 0.0
    postcopy_blocktime_ms: float = 0.0
    postcopy_faults: int = 0
    exposure_s: float = 0.0
    loss_probability: float = 0.0
    postcopy_latency_ms: float = 0.0
    postcopy_vcpu_blocktime_ms: float = 0.0
    paused_s: float = 0.0


@dataclass(config=ConfigDict(extra="forbid"))
class Action:
    """Something a policy or the operator did during the migration.

    Attributes:
        time_s: seconds since the migrate command.
        actor: ``"nova"``, ``"kubevirt"``, ``"operator"``, …
        action: ``"set-downtime-limit"``, ``"set-max-bandwidth"``, ``"start-postcopy"``,
            ``"pause"``, ``"cancel"``.
        value: the value set, if any.
        reason: why, in plain words.
    """

    time_s: float
    actor: str
    action: str
    value: float | None = None
    reason: str = ""


class Result(BaseModel):
    """One migration's outcome (``miglab simulate --json`` prints :meth:`to_dict`).

    Attributes:
        status: QEMU's final status: ``completed``, ``failed`` or ``cancelled``.
        converged: whether it completed (precopy or postcopy) rather than being stopped.
        total_time_ms: from the migrate command to the end.
        downtime_ms: the guest's pause (0 when it never switched over).
        setup_time_ms: QEMU's setup phase.
        expected_downtime_ms: QEMU's last estimate before the end.
        ram: the ``ram`` counters.
        cpu_throttle_percentage: throttle in force at the end (QEMU reports it while active).
        xbzrle_cache: XBZRLE counters when the capability is on.
        postcopy_blocktime_ms: destination blocktime when postcopy ran.
        guest: the cost to the guest.
        reason: for a run that did not converge, why (plain words).
        plateau_bytes: for such a run, the pending size the passes settled at.
        downtime_breakdown_ms: parts of the downtime (stop, sync, ram, device, drain, resume).
        actions: what policies or the operator did.
        timeline: one dict per window/event with :data:`TIMELINE_COLUMNS`.
        seed: the scenario's seed, recorded (the engine is deterministic; see
            :func:`sim.engine.simulate`).
        source: ``"engine"`` or ``"lab"``.
    """

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, extra="forbid")

    status: str
    converged: bool
    total_time_ms: float = Field(alias="total-time")
    downtime_ms: float = Field(alias="downtime")
    setup_time_ms: float = Field(alias="setup-time")
    expected_downtime_ms: float = Field(alias="expected-downtime")
    ram: RamStats
    cpu_throttle_percentage: float = Field(0.0, alias="cpu-throttle-percentage")
    xbzrle_cache: XbzrleStats | None = Field(None, alias="xbzrle-cache")
    postcopy_blocktime_ms: float | None = Field(None, alias="postcopy-blocktime")
    guest: GuestCost = Field(default_factory=GuestCost)
    reason: str = ""
    plateau_bytes: int | None = Field(None, alias="plateau-bytes")
    downtime_breakdown_ms: dict[str, float] = Field(default_factory=dict,
                                                    alias="downtime-breakdown")
    actions: list[Action] = Field(default_factory=list)
    timeline: list[dict[str, Any]] = Field(default_factory=list)
    seed: int = 1
    source: str = "engine"

    @model_serializer(mode="wrap")
    def _query_migrate(self, handler: SerializerFunctionWrapHandler,
                       info: SerializationInfo) -> dict[str, Any]:
        """By alias, the dump is :meth:`to_dict` (QEMU's names and integers)."""
        if info.by_alias:
            return self.to_dict()
        out: dict[str, Any] = handler(self)
        return out

    @property
    def total_time_s(self) -> float:
        """Total time in seconds."""
        return self.total_time_ms / 1000.0

    def to_dict(self, *, timeline: bool = True) -> dict[str, Any]:
        """The result as ``query-migrate`` plus miglab's additions (dash names, ms ints)."""
        out: dict[str, Any] = {
            "status": self.status,
            "converged": self.converged,
            "total-time": round(self.total_time_ms),
            "downtime": round(self.downtime_ms),
            "setup-time": round(self.setup_time_ms),
            "expected-downtime": round(self.expected_downtime_ms),
            "ram": self.ram.to_dict(),
        }
        if self.cpu_throttle_percentage:
            out["cpu-throttle-percentage"] = round(self.cpu_throttle_percentage)
        if self.xbzrle_cache is not None:
            out["xbzrle-cache"] = self.xbzrle_cache.to_dict()
        if self.postcopy_blocktime_ms is not None:
            out["postcopy-blocktime"] = round(self.postcopy_blocktime_ms)
        out["guest"] = self.guest.to_dict()
        if self.reason:
            out["reason"] = self.reason
        if self.plateau_bytes is not None:
            out["plateau-bytes"] = self.plateau_bytes
        if self.downtime_breakdown_ms:
            out["downtime-breakdown"] = {k: round(v, 3)
                                         for k, v in self.downtime_breakdown_ms.items()}
        out["actions"] = [asdict(a) for a in self.actions]
        out["seed"] = self.seed
        if timeline:
            out["timeline"] = self.timeline
        return out

    def timeline_frame(self) -> pd.DataFrame:
        """The timeline as a pandas DataFrame with :data:`TIMELINE_COLUMNS`."""
        import pandas as pd

        return pd.DataFrame(self.timeline, columns=list(TIMELINE_COLUMNS))

    def summary(self) -> dict[str, Any]:
        """A flat record for tables and sweeps (units in the names)."""
        return {
            "status": self.status,
            "converged": self.converged,
            "total_time_s": self.total_time_ms / 1000.0,
            "downtime_ms": self.downtime_ms,
            "transferred_bytes": self.ram.transferred,
            "dirty_sync_count": self.ram.dirty_sync_count,
            "throttle_peak_pct": self.guest.throttle_peak_pct,
            "throttle_cpu_s": self.guest.throttle_cpu_s,
            "postcopy_blocktime_ms": self.guest.postcopy_blocktime_ms,
            "exposure_s": self.guest.exposure_s,
            "expected_downtime_ms": self.expected_downtime_ms,
        }

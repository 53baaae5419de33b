"""KubeVirt's virt-launcher migration monitor: a completion budget and a progress watchdog.

KubeVirt is a parking meter: the migration buys ``completionTimeoutPerGiB`` seconds per GiB
of data; when they run out it aborts, or, with ``allowWorkloadDisruption``, forces the end
(postcopy if ``allowPostCopy``, else pause the guest) and gives a second budget, aborting at
twice the first. A watchdog aborts sooner if the remaining data has not reached a new low for
``progressTimeout`` seconds.

Sources (docs/management-policies.md §3.3; kubevirt ``pkg/virt-launcher/virtwrap/live-migration-
source.go`` ``migrationMonitor``; VEP 248 for the two-phase budget, VEP 291 for the ramp):

* defaults: ``completionTimeoutPerGiB`` 150, ``progressTimeout`` 150, ``allowAutoConverge``,
  ``allowPostCopy`` false, ``allowWorkloadDisruption`` follows ``allowPostCopy`` when unset,
  ``bandwidthPerMigration`` ``0Mi`` = unlimited, ``downtimeTuning`` off (feature gate);
* ``acceptableCompletionTime = completionTimeoutPerGiB × data GiB`` (here RAM; no disks), and
  the timeout fires when ``int(elapsed) > acceptableCompletionTime``;
* progress: at each poll, if ``remaining < watermark`` the watermark drops and the clock
  resets; stuck when ``int(now − lastProgress) > progressTimeout``;
* the monitor polls every 400 ms (``monitorSleepPeriodMS``) **[U: recalled from the source]**;
* capabilities and bandwidth are set through libvirt before ``migrate``.

    >>> acceptable_completion_s(memory_bytes=4 * GiB, per_gib=150)
    600.0
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from pydantic import Field

from sim._exceptions import Problem
from sim.policies.base import (
    Policy,
    PolicyOptions,
    boolean,
    check_options,
    integer,
    option,
    options_table,
)
from sim.policies.ramp import DowntimeRamp, RampOptions
from sim.units import GiB, MAX_RATE_Bps, is_finite, parse_size

if TYPE_CHECKING:
    from sim.engine.precopy import ProcessGenerator, Run
    from sim.scenario import Scenario

__all__ = ["MONITOR_POLL_S", "OPTIONS", "KubeVirtOptions", "KubeVirtPolicy",
           "acceptable_completion_s", "k8s_quantity_Bps"]

MONITOR_POLL_S: Final = 0.4
"""``monitorSleepPeriodMS = 400`` in virt-launcher's migration monitor."""


_QUANTITY: Final = "expected a Kubernetes quantity such as 64Mi, 1Gi or 0Mi"


def k8s_quantity_Bps(v: Any) -> float:
    """A Kubernetes quantity as bytes/s: ``64Mi`` → 64 MiB/s, ``1G`` → 1e9, ``0Mi`` → 0.

    At most 1 PB/s, as every rate miglab reads (``10**400`` or ``1e400`` is refused, not
    turned into infinity or an OverflowError).
    """
    value = _quantity(v)
    if not (is_finite(value) and 0 <= value <= MAX_RATE_Bps):
        raise ValueError(f"{_QUANTITY}, at most 1PB/s")
    return value


def _quantity(v: Any) -> float:
    if isinstance(v, bool):
        raise ValueError(_QUANTITY)
    if is_finite(v) and v >= 0:
        return float(v)
    if isinstance(v, str):
        s = v.strip()
        decimal = {"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
        try:
            if s and s[-1] in decimal:
                return float(s[:-1]) * decimal[s[-1]]
            if s.endswith(("Ki", "Mi", "Gi", "Ti")):
                return float(parse_size(s + "B"))
            return float(s)
        except (ValueError, TypeError) as err:
            raise ValueError(_QUANTITY) from err
    raise ValueError(_QUANTITY)


def _optional_bool(v: Any) -> bool | None:
    if v is None:
        return None
    return boolean(v)


_TUNING_KEYS: Final = ", ".join(n for n in RampOptions.model_fields if n not in ("kind", "file"))


def _tuning(v: Any) -> dict[str, Any] | None:
    if v is None:
        return None
    if not isinstance(v, dict):
        raise ValueError(f"expected a mapping with {_TUNING_KEYS}")
    problems = check_options("kubevirt", v, RampOptions, "control.policy.downtimeTuning")
    if not problems and ("kind" in v or "file" in v):
        key = "kind" if "kind" in v else "file"
        problems = [Problem(f"control.policy.downtimeTuning.{key}", v[key],
                            f"unknown option; accepted: {_TUNING_KEYS}")]
    if problems:
        raise ValueError("; ".join(f"{p.field} = {p.value!r}: {p.message}" for p in problems))
    return RampOptions.model_validate({**v, "kind": "downtime-ramp"}).options()


class KubeVirtOptions(PolicyOptions):
    """KubeVirt's migration configuration with its defaults (docs/management-policies.md §3.3)."""

    kind: Literal["kubevirt"] = "kubevirt"
    completionTimeoutPerGiB: Annotated[int, option(integer(0))] = Field(
        150, description="seconds per GiB of RAM before the migration is cancelled")
    progressTimeout: Annotated[int, option(integer(0))] = Field(
        150, description="seconds without progress before the migration is cancelled")
    allowAutoConverge: Annotated[bool, option(boolean)] = Field(
        False, description="set auto-converge before migrate")
    allowPostCopy: Annotated[bool, option(boolean)] = Field(
        False, description="set postcopy-ram and switch to postcopy at the completion timeout")
    allowWorkloadDisruption: Annotated[bool | None, option(_optional_bool)] = Field(
        None, description="pause the guest at the completion timeout (default: "
                          "allowPostCopy)")
    bandwidthPerMigration: Annotated[float | str, option(k8s_quantity_Bps, float | str)] = \
        Field("0Mi", description="a Kubernetes quantity per second (64Mi, 1Gi; 0Mi: "
                                 "unlimited)")
    downtimeTuning: Annotated[dict[str, Any] | None, option(
        _tuning, RampOptions | None)] = Field(
        None, description="a downtime ramp (VEP 291): initialMs, steps, startAfterIteration, "
                          "cooldownSeconds, maxMs")


OPTIONS: Final = options_table(KubeVirtOptions)
"""KubeVirt's options: name → (default, reader), derived from :class:`KubeVirtOptions`."""


def acceptable_completion_s(*, memory_bytes: float, per_gib: int) -> float:
    """``acceptableCompletionTime = completionTimeoutPerGiB × data GiB``."""
    return per_gib * memory_bytes / GiB


class KubeVirtPolicy(Policy):
    """virt-launcher's migration monitor (see the module docstring)."""

    actor = "kubevirt"

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        o = self.options
        if isinstance(o["bandwidthPerMigration"], str):
            o["bandwidthPerMigration"] = k8s_quantity_Bps(o["bandwidthPerMigration"])
        if o["allowWorkloadDisruption"] is None:
            o["allowWorkloadDisruption"] = o["allowPostCopy"]

    def setup_changes(self, sc: Scenario) -> dict[str, Any]:
        """``allowAutoConverge`` / ``allowPostCopy`` capabilities; the bandwidth."""
        o = self.options
        changes: dict[str, Any] = {"parameters.max-bandwidth": int(o["bandwidthPerMigration"])}
        if o["allowAutoConverge"]:
            changes["capabilities.auto-converge"] = True
        if o["allowPostCopy"]:
            changes["capabilities.postcopy-ram"] = True
        return changes

    def process(self, run: Run) -> ProcessGenerator:
        """Poll every 400 ms: progress watchdog, then the completion budget."""
        o = self.options
        if o["downtimeTuning"] is not None:
            run.env.process(DowntimeRamp(o["downtimeTuning"], self.actor).process(run))
        budget = acceptable_completion_s(memory_bytes=run.memory_bytes,
                                         per_gib=o["completionTimeoutPerGiB"])
        hard = 2 * budget
        watermark = 0.0
        last_progress = 0.0
        forced = False
        k = 0
        while True:
            yield run.at(k * MONITOR_POLL_S)
            k += 1
            if run.ended:
                return
            now = run.now_s
            remaining = run.remaining_bytes
            if watermark == 0.0 or remaining < watermark:
                watermark = remaining
                last_progress = now
            stuck = math.floor(now - last_progress)
            if o["progressTimeout"] and stuck > o["progressTimeout"]:
                run.cancel(actor=self.actor, reason=f"Live migration stuck for {stuck} seconds")
                return
            if not budget or math.floor(now) <= (hard if forced else budget):
                continue
            if forced or not o["allowWorkloadDisruption"]:
                limit = hard if forced else budget
                run.cancel(actor=self.actor, reason=f"Live migration is not completed after "
                           f"{limit:g} seconds and has been aborted")
                return
            forced = True
            why = f"acceptableCompletionTime {budget:g} s exceeded"
            if not (o["allowPostCopy"] and run.start_postcopy(actor=self.actor, reason=why)):
                run.pause(actor=self.actor, reason=why)

"""Plain-text verdicts: one migration's outcome in the words an operator reads first.

    >>> print(describe(scenario, result))            # doctest: +SKIP
    web-8g (QEMU 8.2): converged in 1 min 4 s, downtime 212 ms, 9.1 GiB sent, 7 syncs
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.result import Result
from sim.scenario import Scenario
from sim.units import format_duration, format_rate, format_size

if TYPE_CHECKING:
    from sim.diagnosis import Diagnosis

__all__ = ["describe", "verdict"]


def verdict(result: Result) -> str:
    """A one-line verdict, e.g. ``"converged in 12.3 s, downtime 180 ms"``."""
    if result.converged:
        return (f"converged in {format_duration(result.total_time_ms / 1000)}, downtime "
                f"{result.downtime_ms:.0f} ms")
    why = f": {result.reason}" if result.reason else ""
    return f"did not converge ({result.status} after " \
           f"{format_duration(result.total_time_ms / 1000)}){why}"


def _workload_lines(scenario: Scenario) -> list[str]:
    """How a measured curve was read: the page classes fitted to it and the fit's error."""
    if scenario.workload.dirty_curve is None:
        return []
    from sim.workload import ClassDirtying, dirty_model

    model = dirty_model(scenario.workload, scenario.vm.memory_bytes)
    if not isinstance(model, ClassDirtying) or not model.sizes_bytes:
        return []
    classes = ", ".join(f"{format_size(sz)} at {format_size(r)}/s"
                        for sz, r in zip(model.sizes_bytes, model.rates_Bps, strict=True))
    error = (f" (fit error up to {model.fit_error_pct:.1f} % at the measured points)"
             if model.fit_error_pct is not None else "")
    return [f"  workload    dirty curve fitted as {len(model.sizes_bytes)} page class(es): "
            f"{classes}{error}"]


def describe(scenario: Scenario, result: Result, diagnosis: Diagnosis | None = None) -> str:
    """A short multi-line summary of a simulated (or measured) migration.

    Under a ``control.policy`` the settings shown are those the policy starts the migration
    with (what it sets before ``migrate``); its later changes are listed as actions.

    Args:
        scenario: the scenario.
        result: its result.
        diagnosis: :func:`sim.diagnosis.diagnose` of a run that did not converge; its text
            (the mechanism and the fixes) follows the summary.
    """
    ram = result.ram
    start = scenario
    if scenario.control.policy is not None:
        from sim.policies import build_policy  # the policies build on the engine

        start = build_policy(scenario.control.policy).setup(scenario)
    params = start.parameters
    lines = [
        f"{scenario.name} (QEMU {scenario.qemu.name}, seed {result.seed}): {verdict(result)}",
        f"  guest       {format_size(scenario.vm.memory_bytes)}, {scenario.vm.vcpus} vCPU(s)",
        *_workload_lines(scenario),
        f"  link        {format_rate(scenario.host.link_Bps)}; max-bandwidth "
        + (format_rate(params.max_bandwidth) if params.max_bandwidth >= 10 else "unlimited")
        + f"; downtime-limit {params.downtime_limit} ms"
        + (" (at the start, as the policy sets them)" if start is not scenario else ""),
        f"  status      {result.status}",
        f"  total-time  {result.total_time_ms:.0f} ms   setup-time {result.setup_time_ms:.0f} ms",
        f"  downtime    {result.downtime_ms:.0f} ms   expected-downtime "
        f"{result.expected_downtime_ms:.0f} ms",
        f"  transferred {format_size(ram.transferred)} in {ram.dirty_sync_count} syncs "
        f"({ram.mbps:.0f} Mbit/s)",
    ]
    if result.guest.throttle_peak_pct:
        lines.append(f"  throttle    peak {result.guest.throttle_peak_pct:.0f} %, "
                     f"{result.guest.throttle_cpu_s:.1f} vCPU-s taken from the guest")
    if result.guest.postcopy_faults:
        lines.append(f"  postcopy    {result.guest.postcopy_faults} faults, blocktime "
                     f"{result.guest.postcopy_blocktime_ms:.0f} ms, exposure "
                     f"{result.guest.exposure_s:.1f} s")
    if result.plateau_bytes is not None:
        lines.append(f"  plateau     pending settled at {format_size(result.plateau_bytes)}")
    for action in result.actions:
        value = "" if action.value is None else f" {action.value:g}"
        lines.append(f"  {action.time_s:8.1f} s  {action.actor}: {action.action}{value}"
                     + (f" ({action.reason})" if action.reason else ""))
    for text in scenario.assumptions:
        lines.append(f"  assumed     {text}")
    if diagnosis is not None and diagnosis.mechanism != "converged":
        lines.append(diagnosis.text())
    return "\n".join(lines)

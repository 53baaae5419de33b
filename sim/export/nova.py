"""OpenStack Nova: ``nova.conf`` ``[libvirt]`` live-migration options."""

from __future__ import annotations

from typing import Any

from sim.export._base import (
    NOVA_MIN_DELAY_S_PER_GIB,
    NOVA_MIN_DOWNTIME_MS,
    NOVA_MIN_STEPS,
    Export,
    ExportOptions,
    GapCollector,
    bandwidth_mib_per_s,
    header_lines,
    note_control_gaps,
    note_not_expressible,
    note_policy_gaps,
    per_gib_knob,
    policy_kind_of,
    policy_options_of,
    postcopy_words,
)
from sim.policies import nova as nova_policy
from sim.scenario import Scenario
from sim.units import format_duration

# ------------------------------------------------------------------------- Nova


def _nova_downtime(sc: Scenario, gaps: GapCollector, data_gib: float) -> dict[str, int]:
    """Nova's ramp closest to a fixed ``downtime-limit``: its minimum steps and delay."""
    dt = sc.parameters.downtime_limit
    downtime = max(NOVA_MIN_DOWNTIME_MS, dt)
    steps, delay = NOVA_MIN_STEPS, NOVA_MIN_DELAY_S_PER_GIB
    if dt < NOVA_MIN_DOWNTIME_MS:
        gaps.add("parameters.downtime-limit", f"{dt} ms",
                 f"Nova's minimum is {NOVA_MIN_DOWNTIME_MS} ms")
    ramp = nova_policy.downtime_steps(data_gib=data_gib, downtime_ms=downtime, steps=steps,
                                      delay_s_per_gib=delay)
    gaps.add("parameters.downtime-limit", f"{dt} ms fixed",
             f"Nova always ramps: {ramp[0][1]} ms at start, +{ramp[1][1] - ramp[0][1]} ms "
             f"every {ramp[1][0]:g} s, {ramp[-1][1]} ms after {ramp[-1][0]:g} s (fewest "
             "steps and shortest delay Nova accepts)")
    return {"live_migration_downtime": downtime, "live_migration_downtime_steps": steps,
            "live_migration_downtime_delay": delay}


def _nova_timeout(sc: Scenario, gaps: GapCollector, data_gib: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    after = sc.control.postcopy_after
    postcopy = sc.capabilities["postcopy-ram"] and after is not None
    out["live_migration_permit_post_copy"] = postcopy
    budget_s = sc.control.timeout_s
    if postcopy and after is not None:
        out["live_migration_timeout_action"] = "force_complete"
        if after.seconds is not None:
            budget_s = after.seconds
        else:
            budget_s = None
            gaps.add("control.postcopy-after", postcopy_words(sc),
                     "Nova starts postcopy at the completion timeout (timeout_action "
                     "force_complete) or on live-migration-force-complete; run that by hand")
        if sc.control.timeout_s is not None:
            gaps.add("control.timeout", format_duration(sc.control.timeout_s),
                     "the completion timeout starts postcopy instead; nothing cancels later")
    else:
        out["live_migration_timeout_action"] = "abort"
    if budget_s is None:
        out["live_migration_completion_timeout"] = 0
    else:
        out["live_migration_completion_timeout"] = per_gib_knob(
            sc, budget_s, data_gib, gaps, "live_migration_completion_timeout",
            "of data (≥ 2 GiB)")
    return out


def render_nova(sc: Scenario, opts: ExportOptions) -> Export:
    """``nova.conf`` ``[DEFAULT]`` and ``[libvirt]`` options."""
    if policy_kind_of(sc) == "nova":
        return _render_nova_policy(sc, opts)
    gaps = GapCollector()
    data_gib = nova_policy.data_gib(sc.vm.memory_bytes)
    libvirt: dict[str, Any] = {}
    mib = bandwidth_mib_per_s(sc, gaps, "live_migration_bandwidth")
    libvirt["live_migration_bandwidth"] = mib if mib is not None else 0
    libvirt.update(_nova_downtime(sc, gaps, data_gib))
    libvirt.update(_nova_timeout(sc, gaps, data_gib))
    ac = sc.capabilities["auto-converge"]
    libvirt["live_migration_permit_auto_converge"] = ac
    if ac and libvirt["live_migration_permit_post_copy"]:
        gaps.add("capabilities.auto-converge", "on with postcopy",
                 "Nova uses auto-converge only when postcopy is not permitted")
    _nova_multifd(sc, gaps, libvirt)
    handled = ("max-bandwidth", "downtime-limit", "multifd-channels", "auto-converge",
               "postcopy-ram", "multifd")
    note_not_expressible(sc, gaps, "Nova", handled)
    note_control_gaps(sc, gaps, "Nova", timeout=False, postcopy=False,
                      policy=sc.control.policy is not None)
    return _nova_conf(sc, gaps, libvirt)


def _render_nova_policy(sc: Scenario, opts: ExportOptions) -> Export:
    """A Nova policy as ``nova.conf`` ``[libvirt]`` options, every one written."""
    o = policy_options_of(sc)
    gaps = GapCollector()
    libvirt: dict[str, Any] = {name: o[name] for name in nova_policy.OPTIONS}
    if sc.capabilities["auto-converge"] and not o["live_migration_permit_auto_converge"]:
        libvirt["live_migration_permit_auto_converge"] = True
    if libvirt["live_migration_permit_auto_converge"] and o["live_migration_permit_post_copy"]:
        gaps.add("capabilities.auto-converge", "on with post-copy permitted",
                 "Nova uses auto-converge only when post-copy is not permitted")
    _nova_multifd(sc, gaps, libvirt)
    note_policy_gaps(sc, gaps, "Nova", ("max-bandwidth", "downtime-limit", "auto-converge",
                                        "postcopy-ram", "multifd", "multifd-channels"))
    return _nova_conf(sc, gaps, libvirt)


def _nova_multifd(sc: Scenario, gaps: GapCollector, libvirt: dict[str, Any]) -> None:
    """Multifd as ``live_migration_parallel_connections``, which only newer Nova reads."""
    if sc.capabilities["multifd"]:
        libvirt["live_migration_parallel_connections"] = sc.parameters.multifd_channels
        gaps.add("capabilities.multifd", "on", "live_migration_parallel_connections exists "
                 "from Nova 33.0.0 (2026.1) only; older Nova ignores it")


def _nova_conf(sc: Scenario, gaps: GapCollector, libvirt: dict[str, Any]) -> Export:
    """``nova.conf`` with the ``[libvirt]`` options (booleans as Nova spells them)."""
    lines = [*header_lines(sc, "OpenStack Nova (nova.conf)"), *gaps.as_comments(), "",
             "[DEFAULT]", "# one migration at a time per compute host (Nova's default)",
             "max_concurrent_live_migrations = 1", "", "[libvirt]"]
    for key, value in libvirt.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        lines.append(f"{key} = {text}")
    return Export("nova", {"nova.conf": "\n".join(lines) + "\n"}, tuple(gaps.items))

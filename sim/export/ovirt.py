"""oVirt / RHV: the cluster's migration policy and Vdsm's ``vdsm.conf``."""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

from sim.export._base import (
    OVIRT_BANDWIDTH_KEYS,
    Export,
    ExportOptions,
    GapCollector,
    effective_bandwidth,
    header_lines,
    note_control_gaps,
    note_not_expressible,
    note_policy_gaps,
    policy_kind_of,
    policy_options_of,
    postcopy_words,
)
from sim.scenario import Scenario
from sim.units import GiB, format_duration

# ------------------------------------------------------------------------- oVirt


def _ovirt_schedule(sc: Scenario) -> dict[str, Any]:
    item = {"action": "setDowntime", "params": [str(sc.parameters.downtime_limit)]}
    last: list[dict[str, Any]] = []
    if sc.capabilities["postcopy-ram"] and sc.control.postcopy_after is not None:
        last.append({"action": "postcopy", "params": []})
    elif sc.control.timeout_s is not None:
        last.append({"action": "abort", "params": []})
    return {"initialItems": [item], "convergenceItems": [], "lastItems": last}


def render_ovirt(sc: Scenario, opts: ExportOptions) -> Export:
    """An oVirt migration policy (engine-config ``MigrationPolicies`` entry) as JSON."""
    if policy_kind_of(sc) == "ovirt":
        return _render_ovirt_policy(sc, opts)
    gaps = GapCollector()
    bw = effective_bandwidth(sc)
    mbps = max(1, round(bw * 8 / 1e6)) if bw is not None else None
    if bw is not None and mbps is not None and mbps * 1e6 / 8 != bw:
        gaps.add("parameters.max-bandwidth", f"{bw} bytes/s", f"the cluster's custom "
                 f"migration bandwidth takes whole Mbps: {mbps} Mbps")
    if bw is None:
        gaps.add("parameters.max-bandwidth", "unlimited", "oVirt has no 'unlimited': "
                 "assignment_method hypervisor_default uses the hypervisor's configured value "
                 "(vdsm.conf migration_max_bandwidth), which is not necessarily unlimited; "
                 "set it to 0 on each host for libvirt's unlimited default")
    if sc.control.postcopy_after is not None:
        gaps.add("control.postcopy-after", postcopy_words(sc), "oVirt switches to postcopy "
                 "as the last action, when the precopy schedule stalls out")
    if sc.control.timeout_s is not None:
        gaps.add("control.timeout", format_duration(sc.control.timeout_s), "oVirt's limit is "
                 "vdsm's migration_max_time_per_gib_mem (s per GiB) in vdsm.conf: "
                 f"{math.ceil(sc.control.timeout_s / (sc.vm.memory_bytes / GiB))}")
    handled = ("max-bandwidth", "downtime-limit", "auto-converge", "xbzrle", "postcopy-ram")
    note_not_expressible(sc, gaps, "oVirt", handled)
    note_control_gaps(sc, gaps, "oVirt", timeout=False, postcopy=False)
    policy = {
        "id": {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"miglab:{sc.name}"))},
        "maxMigrations": 1,
        "autoConvergence": sc.capabilities["auto-converge"],
        "migrationCompression": sc.capabilities["xbzrle"],
        "enableGuestEvents": True,
        "name": sc.name,
        "description": f"miglab export of {sc.name} (QEMU {sc.qemu.name})",
        "config": _ovirt_schedule(sc),
    }
    method_key, value_key = OVIRT_BANDWIDTH_KEYS
    bandwidth: dict[str, Any] = {method_key: "custom" if mbps else "hypervisor_default"}
    if mbps:
        bandwidth[value_key] = mbps
    side = {"cluster": {"migration": {"bandwidth": bandwidth}},
            "gaps": [g.as_dict() for g in gaps.items]}
    files = {"migration-policy.json": json.dumps(policy, indent=2) + "\n",
             "cluster.json": json.dumps(side, indent=2) + "\n"}
    return Export("ovirt", files, tuple(gaps.items))


def _render_ovirt_policy(sc: Scenario, opts: ExportOptions) -> Export:
    """An oVirt policy as the cluster's migration settings and Vdsm's per-GiB limit.

    The cluster's custom bandwidth is shared by the policy's concurrent migrations
    (``maxMigrations``), so it is the scenario's ``max-bandwidth`` times that count.
    """
    from sim.targets import BITS_PER_MBIT, OVIRT_MAX_MIGRATIONS, OVIRT_SCHEDULE_NAMES

    o = policy_options_of(sc)
    gaps = GapCollector()
    schedule = str(o["schedule"])
    share = OVIRT_MAX_MIGRATIONS[schedule]
    bw = effective_bandwidth(sc)
    bandwidth: dict[str, Any]
    if bw is None:
        bandwidth = {"assignment_method": "hypervisor_default"}
        gaps.add("parameters.max-bandwidth", "unlimited", "oVirt has no 'unlimited': "
                 "hypervisor_default uses vdsm.conf migration_max_bandwidth")
    else:
        mbps = max(1, round(bw * share * 8 / BITS_PER_MBIT))
        if mbps * BITS_PER_MBIT / 8 / share != bw:
            gaps.add("parameters.max-bandwidth", f"{bw} bytes/s", f"the cluster's custom "
                     f"bandwidth takes whole Mbit/s: {mbps} Mbit/s shared by {share}")
        bandwidth = {"assignment_method": "custom", "custom_value": mbps}
    note_policy_gaps(sc, gaps, "oVirt", ("max-bandwidth", "downtime-limit", "auto-converge",
                                         "xbzrle", "postcopy-ram"))
    cluster = {"cluster": {"migration": {
        "policy": {"name": OVIRT_SCHEDULE_NAMES[schedule]},
        "bandwidth": bandwidth}},
        "note": f"maxMigrations of this policy: {share}; the bandwidth is shared by them",
        "gaps": [g.as_dict() for g in gaps.items]}
    vdsm = [*header_lines(sc, "oVirt (vdsm.conf on every host)"), "[vars]",
            f"migration_max_time_per_gib_mem = {int(o['max_time_per_gib_mem'])}"]
    files = {"cluster.json": json.dumps(cluster, indent=2) + "\n",
             "vdsm.conf": "\n".join(vdsm) + "\n"}
    return Export("ovirt", files, tuple(gaps.items), separator="# ==> {name} <==")

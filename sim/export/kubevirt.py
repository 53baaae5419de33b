"""KubeVirt: the ``MigrationPolicy`` and the KubeVirt CR's migration fields."""

from __future__ import annotations

from typing import Any

import yaml

from sim.export._base import (
    KUBEVIRT_MULTIFD_CHANNELS,
    QEMU_DEFAULT_DOWNTIME_MS,
    Export,
    ExportOptions,
    GapCollector,
    effective_bandwidth,
    header_lines,
    k8s_name,
    k8s_quantity,
    note_control_gaps,
    note_not_expressible,
    note_policy_gaps,
    per_gib_knob,
    policy_kind_of,
    policy_options_of,
    postcopy_words,
)
from sim.scenario import Scenario
from sim.units import GiB

# ------------------------------------------------------------------------- KubeVirt


def _kubevirt_fields(sc: Scenario, gaps: GapCollector) -> dict[str, Any]:
    """The migration fields shared by MigrationPolicy and the KubeVirt CR."""
    out: dict[str, Any] = {}
    bw = effective_bandwidth(sc)
    out["bandwidthPerMigration"] = k8s_quantity(bw) if bw is not None else "0Mi"
    out["allowAutoConverge"] = sc.capabilities["auto-converge"]
    after = sc.control.postcopy_after
    postcopy = sc.capabilities["postcopy-ram"] and after is not None
    out["allowPostCopy"] = postcopy
    mem_gib = sc.vm.memory_bytes / GiB
    budget_s: float | None = sc.control.timeout_s
    if postcopy and after is not None:
        out["allowWorkloadDisruption"] = True
        if after.seconds is not None:
            budget_s = after.seconds
            if sc.control.timeout_s is not None and sc.control.timeout_s != 2 * after.seconds:
                gaps.add("control.timeout", f"{sc.control.timeout_s:g} s",
                         f"KubeVirt aborts at twice the completion budget: "
                         f"{2 * after.seconds:g} s")
        else:
            gaps.add("control.postcopy-after", postcopy_words(sc),
                     "KubeVirt starts postcopy only when completionTimeoutPerGiB runs out; "
                     "set it from the predicted time of that pass")
    if budget_s is not None:
        out["completionTimeoutPerGiB"] = per_gib_knob(sc, budget_s, mem_gib, gaps,
                                                      "completionTimeoutPerGiB", "of RAM")
    return out


def _downtime_gap(sc: Scenario, gaps: GapCollector) -> None:
    dt = sc.parameters.downtime_limit
    if dt != QEMU_DEFAULT_DOWNTIME_MS:
        gaps.add("parameters.downtime-limit", f"{dt} ms", "KubeVirt has no downtime knob "
                 f"(VEP 248 proposes maxDowntimeMs); QEMU's {QEMU_DEFAULT_DOWNTIME_MS} ms "
                 "applies")


def _kubevirt_gaps(sc: Scenario, gaps: GapCollector) -> None:
    _downtime_gap(sc, gaps)
    post_copy_allowed = sc.capabilities["postcopy-ram"] and sc.control.postcopy_after is not None
    if sc.capabilities["multifd"] and sc.parameters.multifd_channels != KUBEVIRT_MULTIFD_CHANNELS \
            and not post_copy_allowed:
        gaps.add("parameters.multifd-channels", str(sc.parameters.multifd_channels),
                 f"KubeVirt picks {KUBEVIRT_MULTIFD_CHANNELS} channels itself")
    if not sc.capabilities["multifd"] and not post_copy_allowed:
        gaps.add("capabilities.multifd", "off", "KubeVirt turns multifd on (8 channels) when "
                 "the VMI has no CPU limit and postcopy is not allowed")
    elif sc.capabilities["multifd"] and post_copy_allowed:
        gaps.add("capabilities.multifd", "on, with postcopy", "KubeVirt does not use multifd "
                 "when postcopy is allowed (allowPostCopy: true); it migrates single-stream")
    if sc.capabilities["postcopy-ram"] and sc.control.postcopy_after is None:
        gaps.add("capabilities.postcopy-ram", "on, never started",
                 "allowPostCopy stays false: postcopy is never started anyway")
    handled = ("max-bandwidth", "downtime-limit", "multifd-channels", "auto-converge",
               "postcopy-ram", "multifd")
    note_not_expressible(sc, gaps, "KubeVirt", handled)
    note_control_gaps(sc, gaps, "KubeVirt", timeout=False, postcopy=False)


def render_kubevirt(sc: Scenario, opts: ExportOptions) -> Export:
    """A ``MigrationPolicy`` and the ``KubeVirt`` CR's ``spec.configuration.migrations``."""
    if policy_kind_of(sc) == "kubevirt":
        return _render_kubevirt_policy(sc, opts)
    gaps = GapCollector()
    fields = _kubevirt_fields(sc, gaps)
    _kubevirt_gaps(sc, gaps)
    cluster = {k: v for k, v in fields.items() if k != "allowWorkloadDisruption"}
    return _kubevirt_files(sc, gaps, fields, cluster, "merge into your KubeVirt CR")


def _kubevirt_files(sc: Scenario, gaps: GapCollector, fields: dict[str, Any],
                    migrations: dict[str, Any], cr_note: str) -> Export:
    """The two files: a ``MigrationPolicy`` with ``fields`` for the VMIs labelled
    ``miglab/policy``, and the CR's ``spec.configuration.migrations`` (``migrations``)."""
    name = k8s_name(sc.name)
    policy = {
        "apiVersion": "migrations.kubevirt.io/v1alpha1",
        "kind": "MigrationPolicy",
        "metadata": {"name": name},
        "spec": {"selectors": {"virtualMachineInstanceSelector": {
            "matchLabels": {"miglab/policy": name}}}, **fields},
    }
    cr = {
        "apiVersion": "kubevirt.io/v1",
        "kind": "KubeVirt",
        "metadata": {"name": "kubevirt", "namespace": "kubevirt"},
        "spec": {"configuration": {"migrations": migrations}},
    }
    head = [*header_lines(sc, "KubeVirt"), *gaps.as_comments()]
    dump = yaml.safe_dump
    files = {
        "migration-policy.yaml": "\n".join(head) + "\n" + dump(policy, sort_keys=False),
        "kubevirt-cr.yaml": "\n".join(head) + f"\n# {cr_note} (kubectl patch --type merge)\n"
                            + dump(cr, sort_keys=False),
    }
    return Export("kubevirt", files, tuple(gaps.items), separator="---\n# {name}")


def _render_kubevirt_policy(sc: Scenario, opts: ExportOptions) -> Export:
    """A KubeVirt policy as ``MigrationPolicy`` (its fields) and CR (``progressTimeout``)."""
    o = policy_options_of(sc)
    gaps = GapCollector()
    auto_converge = bool(o["allowAutoConverge"] or sc.capabilities["auto-converge"])
    fields: dict[str, Any] = {
        "bandwidthPerMigration": (k8s_quantity(int(o["bandwidthPerMigration"]))
                                  if o["bandwidthPerMigration"] else "0Mi"),
        "allowAutoConverge": auto_converge,
        "completionTimeoutPerGiB": int(o["completionTimeoutPerGiB"]),
        "allowPostCopy": bool(o["allowPostCopy"]),
        "allowWorkloadDisruption": bool(o["allowWorkloadDisruption"]),
    }
    _downtime_gap(sc, gaps)
    if o["downtimeTuning"] is not None:
        gaps.add("control.policy.downtimeTuning", "set", "behind the MigrationDowntimeTuning "
                 "feature gate (VEP 291); not written")
    if not sc.capabilities["multifd"] and not o["allowPostCopy"]:
        gaps.add("capabilities.multifd", "off", "KubeVirt turns multifd on (8 channels) when "
                 "the VMI has no CPU limit and postcopy is not allowed; the prediction is "
                 "for a VMI with a CPU limit")
    note_policy_gaps(sc, gaps, "KubeVirt", ("max-bandwidth", "downtime-limit", "auto-converge",
                                            "postcopy-ram", "multifd", "multifd-channels"))
    return _kubevirt_files(sc, gaps, fields, {"progressTimeout": int(o["progressTimeout"])},
                           "progressTimeout is cluster-wide (no MigrationPolicy field); "
                           "merge into your KubeVirt CR")

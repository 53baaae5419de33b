# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Capacity planning: how long does a drain take?
#
# **Question.** We must empty one host (and then a whole rack) for maintenance. With the VMs
# listed in an inventory, how long does the drain take under **KubeVirt's** and **Nova's**
# default migration settings and concurrency limits, and how long once tuned? Which VMs will
# not converge, and what does each one need? What link bandwidth keeps the rack drain under
# a target time?
#
# Everything below goes through the public `sim` API: `sim.fleet.plan_drain` for drains,
# `sim.simulate` for single VMs, `sim.recommend.recommend` for what a VM needs, and
# `sim.plots` for the figures. The knobs are in the cell after the imports (tagged
# `parameters`, so `papermill -p host r2-h1 …` runs the same study with other values).

# %%
import copy
import dataclasses
import json
import math
from functools import partial
from pathlib import Path

import pandas as pd
from IPython.display import display

import sim
from sim.fleet import PLATFORM_LIMITS, Inventory, load_inventory, plan_drain
from sim.plots import gantt_figure, heatmap_figure
from sim.recommend import Constraints, SearchSpace, recommend
from sim.scenario import set_path

# Run from the repository root (tests, papermill) or from notebooks/ (Jupyter).
ROOT = Path.cwd() if (Path.cwd() / "data").is_dir() else Path.cwd().parent
GBIT = 1e9 / 8  # bytes/s in one Gbit/s

# %% tags=["parameters"]
inventory_path = "data/fleets/two-racks.yaml"  # CSV or YAML inventory (relative to the repo)
host = "r1-h3"  # the host to drain
rack_prefix = "r1-"  # the rack: every host whose name starts with this
dirty_rate_factor = 2.0  # plan for the busy hour: each VM's dirty rate times this
tuned_downtime_ms = 900  # tuned downtime-limit (KubeVirt VEP 248's proposed maxDowntimeMs)
tuned_auto_converge = True  # tuned: allow auto-converge
tuned_per_node = 1  # tuned: outbound migrations per host at once
tuned_multifd_channels = 4  # tuned: multifd channels per migration (0 = one sending thread)
budget_downtime_ms = 1000  # the most downtime a "fix" for a non-converging VM may cost
target_drain_s = 45.0  # the rack must be empty within this
seed = 1
conclusion_path = ""  # when set, the conclusion is also written here as JSON

# %% [markdown]
# ## The inventory
#
# Each row is a VM on its source host; the file's `defaults` apply to every VM and a row's
# own columns override them. For the busy hour every VM's dirty rate is multiplied by
# `dirty_rate_factor`. Per-VM QEMU settings in the inventory (`parameters.*`,
# `capabilities.*`, `control.*` overrides) are dropped: here the platform sets them — KubeVirt
# has no per-VM downtime knob and Nova's options are per compute host.

# %%
inventory = load_inventory(ROOT / inventory_path)
PLATFORM_OWNED = ("parameters.", "capabilities.", "control.")


def busy_hour(inv: Inventory, factor: float) -> Inventory:
    """The inventory with each VM's dirty rate times ``factor`` and no per-VM QEMU settings."""
    vms = []
    for vm in inv.vms:
        changes = {k: v for k, v in vm.changes.items() if not k.startswith(PLATFORM_OWNED)}
        if "workload.dirty-rate" in changes:
            changes["workload.dirty-rate"] = sim.parse_rate(changes["workload.dirty-rate"]) * factor
        vms.append(dataclasses.replace(vm, changes=changes))
    return dataclasses.replace(inv, vms=tuple(vms))


fleet = busy_hour(inventory, dirty_rate_factor)
listing = pd.DataFrame(
    [
        {
            "vm": vm.name,
            "host": vm.host,
            "link_gbps": fleet.links_Bps[vm.host] / GBIT,
            "memory": vm.changes.get("vm.memory"),
            "dirty_rate_mibps": sim.parse_rate(vm.changes.get("workload.dirty-rate", 0)) / 2**20,
            "working-set": vm.changes.get("workload.working-set", "-"),
        }
        for vm in fleet.vms
    ]
)
host_vms = [vm for vm in fleet.vms if vm.host == host]
rack_vms = [vm for vm in fleet.vms if vm.host.startswith(rack_prefix)]
assert host_vms, f"no VM on host {host!r} in {inventory_path}"
assert rack_vms, f"no host starts with {rack_prefix!r} in {inventory_path}"
display(listing)

# %% [markdown]
# ## Platform defaults and the tuned variant
#
# The management layer drives each migration as a policy the engine runs
# (`control.policy`, defaults from `reference/production-policies.md`):
#
# - **KubeVirt**: `allowAutoConverge` off, `bandwidthPerMigration: 0Mi` (unlimited), no
#   downtime knob (QEMU's 300 ms applies), a completion budget of `completionTimeoutPerGiB`
#   150 s per GiB, a 150 s progress watchdog; 2 outbound migrations per node, 5 per cluster.
#   (A VMI without a CPU limit also gets 8 multifd channels; this study models the VMs with a
#   CPU limit, which get none.)
# - **Nova**: `live_migration_downtime` 500 ms reached in 10 steps of 75 s per GiB,
#   auto-converge not permitted, `live_migration_completion_timeout` 800 s per GiB then
#   abort, bandwidth unlimited; `max_concurrent_live_migrations` 1.
#
# *Tuned* means: auto-converge allowed, a downtime limit of `tuned_downtime_ms` (Nova reaches
# it in 3 steps of 3 s per GiB, the fastest it accepts), `tuned_multifd_channels` multifd
# channels (KubeVirt's `parallelMultifdMigrationThreads`, Nova's
# `live_migration_parallel_connections`) and `tuned_per_node` outbound migrations per host.

# %%
PLATFORMS = {
    "kubevirt": {
        "default": {"control.policy": {"kind": "kubevirt"}, "parameters.downtime-limit": 300},
        "tuned": {"control.policy": {"kind": "kubevirt",
                                     "allowAutoConverge": tuned_auto_converge},
                  "parameters.downtime-limit": tuned_downtime_ms},
    },
    "nova": {
        "default": {"control.policy": {"kind": "nova"}},
        "tuned": {"control.policy": {"kind": "nova",
                                     "live_migration_permit_auto_converge": tuned_auto_converge,
                                     "live_migration_downtime": tuned_downtime_ms,
                                     "live_migration_downtime_steps": 3,
                                     "live_migration_downtime_delay": 3}},
    },
}
if tuned_multifd_channels:
    for platform in PLATFORMS:
        PLATFORMS[platform]["tuned"] |= {"capabilities.multifd": True,
                                         "parameters.multifd-channels": tuned_multifd_channels}
VARIANTS = ("default", "tuned")
# The platform turns auto-converge on when it allows it; the inventory's own setting goes.
BASE = {"capabilities.auto-converge": False, "parameters.max-bandwidth": 0}


def settings_for(platform: str, variant: str) -> dict:
    return BASE | PLATFORMS[platform][variant]


def limits_for(platform: str, variant: str) -> tuple[int | None, int | None]:
    """(outbound per host, in the cluster) at once."""
    limits = PLATFORM_LIMITS[platform]
    return (tuned_per_node if variant == "tuned" else limits.per_node), limits.per_cluster


def drain(vms: list, platform: str, variant: str, link_Bps: float | None = None):
    """Plan the drain of ``vms`` under a platform's default or tuned settings (and a link)."""
    defaults = copy.deepcopy(dict(fleet.defaults))
    for path, value in settings_for(platform, variant).items():
        set_path(defaults, path, value)
    links = {vm.host: link_Bps or fleet.links_Bps[vm.host] for vm in vms}
    inv = dataclasses.replace(fleet, vms=tuple(vms), defaults=defaults, links_Bps=links)
    per_node, per_cluster = limits_for(platform, variant)
    return plan_drain(inv, per_node=per_node, per_cluster=per_cluster, seed=seed)


plans = {
    (scope, platform, variant): drain(vms, platform, variant)
    for scope, vms in (("host", host_vms), ("rack", rack_vms))
    for platform in PLATFORMS
    for variant in VARIANTS
}
summary = pd.DataFrame(
    [
        {"scope": scope, "platform": platform, "variant": variant,
         "per_node": plan.limits.per_node, "per_cluster": plan.limits.per_cluster,
         "drain_time_s": plan.drain_time_s,
         "completed": plan.summary()["completed"],
         "not_completed": plan.summary()["not_completed"],
         "max_downtime_ms": plan.summary()["max_downtime_ms"]}
        for (scope, platform, variant), plan in plans.items()
    ]
)
display(summary)

# %%
display(heatmap_figure(summary.assign(case=summary["scope"] + " / " + summary["variant"]),
                       x="platform", y="case", z="drain_time_s",
                       title=f"Drain time of host {host} and rack {rack_prefix}* (s)"))

# %% [markdown]
# The rack drain under KubeVirt's defaults, then tuned, VM by VM (green: completed; red,
# orange: failed or cancelled by the platform):

# %%
for variant in VARIANTS:
    display(gantt_figure(plans[("rack", "kubevirt", variant)].vms.rename(columns={"name": "vm"}),
                         title=f"Rack {rack_prefix}* under KubeVirt, {variant}"))

# %% [markdown]
# ## Which VMs do not converge, and what each needs
#
# For every VM that a default rack drain does not complete, three answers:
#
# - the smallest link on which it converges *alone* under the platform's defaults, set
#   against the share of its host's link it actually got in the drain (it may have shared it);
# - the same with multifd (4 channels): one sending thread pushes at most the host's
#   `channel-rate`, so a guest dirtying faster than that cannot be helped by a bigger link;
# - the QEMU settings `sim.recommend.recommend` finds on today's link within a downtime budget
#   of `budget_downtime_ms` (no postcopy, no bandwidth cap; auto-converge and multifd
#   allowed) — what the platform must then be told to set.
#
# Under Nova's defaults the downtime limit starts at `live_migration_downtime / steps` = 50 ms
# and rises one step every 75 s per GiB of RAM (40 min per step for a 32 GiB guest), so a big,
# busy guest spends the inventory's whole `control.timeout` at 50 ms.

# %%
def vm_scenario(vm, settings: dict, link_Bps: float) -> sim.Scenario:
    """One VM of the fleet as a validated scenario."""
    data = copy.deepcopy(dict(fleet.defaults))
    for path, value in {**settings, "host.link": link_Bps, **vm.changes}.items():
        set_path(data, path, value)
    data["name"] = vm.name
    return sim.load_scenario(data)


def converges_at(vm, settings: dict, link_Bps: float) -> bool:
    return sim.simulate(vm_scenario(vm, settings, link_Bps), seed=seed, timeline=False).converged


def smallest(ok, step: float, most: float = 400 * GBIT) -> float:
    """The smallest multiple of ``step`` up to ``most`` for which ``ok`` holds (``ok`` is
    monotone: more bandwidth never hurts); inf when not even ``most`` does."""
    lo, hi = 0, round(most / step)  # ok(hi * step) holds, ok(lo * step) does not
    if not ok(hi * step):
        return math.inf
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid * step) else (mid, hi)
    return hi * step


MULTIFD = {"capabilities.multifd": True, "parameters.multifd-channels": 4}
LINK_STEP = 0.5 * GBIT

stuck_rows = []
by_name = {vm.name: vm for vm in fleet.vms}
for platform in PLATFORMS:
    plan = plans[("rack", platform, "default")]
    settings = settings_for(platform, "default")
    for row in plan.vms[plan.vms["outcome"] != "completed"].itertuples():
        vm = by_name[row.name]
        link_Bps = fleet.links_Bps[vm.host]
        alone = sim.simulate(vm_scenario(vm, settings, link_Bps), seed=seed, timeline=False)
        rec = recommend(vm_scenario(vm, BASE, link_Bps),
                        Constraints(max_downtime_ms=budget_downtime_ms),
                        space=SearchSpace(bandwidth_shares=(1.0,), multifd_channels=(0, 4)),
                        seed=seed)
        best = rec.best or rec.closest
        stuck_rows.append({
            "platform": platform, "vm": row.name, "host": row.host,
            "outcome": row.outcome, "link_gbps": link_Bps / GBIT,
            "alone_on_link": sim.verdict(alone),
            "share_gbps": row.min_link_Bps / GBIT,
            "link_needed_gbps": smallest(partial(converges_at, vm, settings), LINK_STEP) / GBIT,
            "link_needed_multifd_gbps": smallest(partial(converges_at, vm, settings | MULTIFD),
                                                 LINK_STEP) / GBIT,
            "fix_feasible": rec.feasible,
            "fix_downtime_limit_ms": int(best["downtime_limit_ms"]),
            "fix_auto_converge": bool(best["auto_converge"]),
            "fix_multifd_channels": int(best["multifd_channels"]),
            "fix_total_s": float(best["total_time_s"]),
            "fix_downtime_ms": float(best["downtime_ms"]),
            "fix": rec.reasons[0],
        })
stuck = pd.DataFrame(stuck_rows, columns=[
    "platform", "vm", "host", "outcome", "link_gbps", "alone_on_link", "share_gbps",
    "link_needed_gbps", "link_needed_multifd_gbps", "fix_feasible", "fix_downtime_limit_ms",
    "fix_auto_converge", "fix_multifd_channels", "fix_total_s", "fix_downtime_ms", "fix"])
display(stuck.drop(columns=["fix", "alone_on_link"]))

# %%
def gbps(value: float) -> str:
    return "none up to 400 Gbit/s" if math.isinf(value) else f"{value:g} Gbit/s"


for row in stuck.itertuples():
    print(f"{row.platform:9s} {row.vm} on {row.host} ({row.outcome} in the drain, where its "
          f"share of the link fell to {row.share_gbps:.3g} Gbit/s)\n"
          f"          alone on its {row.link_gbps:g} Gbit/s link: {row.alone_on_link}\n"
          f"          needs alone, defaults: {gbps(row.link_needed_gbps)}; with multifd: "
          f"{gbps(row.link_needed_multifd_gbps)}\n"
          f"          {row.fix}\n")


# %% [markdown]
# ## The bandwidth that keeps the rack drain under the target
#
# Give every host of the rack the same link and search (bisection on a 0.25 Gbit/s grid up to
# 400 Gbit/s) for the smallest one on which the whole rack is empty within `target_drain_s`,
# every VM completed.

# %%
TARGET_STEP = 0.25 * GBIT


def rack_ok(platform: str, variant: str, link_Bps: float) -> bool:
    plan = drain(rack_vms, platform, variant, link_Bps)
    return plan.summary()["not_completed"] == 0 and plan.drain_time_s <= target_drain_s


needed = pd.DataFrame(
    [{"platform": p, "variant": v,
      "link_gbps": smallest(partial(rack_ok, p, v), TARGET_STEP) / GBIT}
     for p in PLATFORMS for v in VARIANTS]
)
needed["drain_time_s"] = [
    drain(rack_vms, r.platform, r.variant, r.link_gbps * GBIT).drain_time_s
    if math.isfinite(r.link_gbps) else math.inf
    for r in needed.itertuples()
]
display(needed)

# %% [markdown]
# ## Checks: the numbers reported are the ones the API returns

# %%
for (scope, platform, variant), plan in plans.items():
    vms = plan.vms
    assert math.isclose(plan.drain_time_s, vms["end_s"].max()), (scope, platform, variant)
    # A drain lasts at least as long as its longest migration and at most as long as all of
    # them one after the other.
    assert vms["duration_s"].max() - 1e-6 <= plan.drain_time_s <= vms["duration_s"].sum() + 1e-6
    assert (plan.limits.per_node, plan.limits.per_cluster) == limits_for(platform, variant)
    assert (vms["outcome"] == "completed").sum() == plan.summary()["completed"]
for row in stuck.itertuples():
    assert row.vm in set(plans[("rack", row.platform, "default")].vms["name"])
    if math.isfinite(row.link_needed_gbps):  # it converges alone there, not on today's link
        settings = settings_for(row.platform, "default")
        assert converges_at(by_name[row.vm], settings, row.link_needed_gbps * GBIT)
        assert not converges_at(by_name[row.vm], settings, row.link_needed_gbps * GBIT - LINK_STEP)
    if row.fix_feasible:
        assert row.fix_downtime_ms <= budget_downtime_ms
for row in needed.itertuples():
    if math.isfinite(row.link_gbps):
        assert row.drain_time_s <= target_drain_s
        assert not rack_ok(row.platform, row.variant, row.link_gbps * GBIT - TARGET_STEP)

# %% [markdown]
# ## Conclusion

# %%
def seconds(scope: str, platform: str, variant: str) -> float:
    return round(plans[(scope, platform, variant)].drain_time_s, 1)


conclusion = {
    "inventory": inventory_path,
    "host": host,
    "rack": rack_prefix,
    "dirty_rate_factor": dirty_rate_factor,
    "target_drain_s": target_drain_s,
    "host_drain_s": {f"{p}/{v}": seconds("host", p, v) for p in PLATFORMS for v in VARIANTS},
    "rack_drain_s": {f"{p}/{v}": seconds("rack", p, v) for p in PLATFORMS for v in VARIANTS},
    "not_converging": {p: sorted(stuck.loc[stuck["platform"] == p, "vm"]) for p in PLATFORMS},
    "link_needed_gbps": {r.vm: r.link_needed_gbps for r in stuck.itertuples()},
    "link_needed_multifd_gbps": {r.vm: r.link_needed_multifd_gbps for r in stuck.itertuples()},
    "link_for_target_gbps": {f"{r.platform}/{r.variant}": r.link_gbps
                             for r in needed.itertuples()},
}
lines = [f"Busy hour (dirty rates ×{dirty_rate_factor:g}), {len(host_vms)} VMs on {host}, "
         f"{len(rack_vms)} on rack {rack_prefix}*:"]
for p in PLATFORMS:
    lines.append(
        f"- {p}: host {conclusion['host_drain_s'][p + '/default']:.0f} s with defaults → "
        f"{conclusion['host_drain_s'][p + '/tuned']:.0f} s tuned; rack "
        f"{conclusion['rack_drain_s'][p + '/default']:.0f} s → "
        f"{conclusion['rack_drain_s'][p + '/tuned']:.0f} s; not converging with defaults: "
        f"{', '.join(conclusion['not_converging'][p]) or 'none'}; link per host for a "
        f"{target_drain_s:g} s rack drain: "
        f"{gbps(conclusion['link_for_target_gbps'][p + '/default'])} with defaults, "
        f"{gbps(conclusion['link_for_target_gbps'][p + '/tuned'])} tuned."
    )
for row in stuck.drop_duplicates("vm").itertuples():
    fix = f"downtime-limit {row.fix_downtime_limit_ms} ms"
    fix += " + auto-converge" if row.fix_auto_converge else ""
    fix += f" + multifd {row.fix_multifd_channels}" if row.fix_multifd_channels else ""
    lines.append(f"- {row.vm} ({row.platform} defaults) got {row.share_gbps:.3g} Gbit/s in the "
                 f"drain; alone it needs {gbps(row.link_needed_gbps)} "
                 f"({gbps(row.link_needed_multifd_gbps)} with multifd), or on today's link "
                 f"{fix}: {row.fix_total_s:.0f} s, {row.fix_downtime_ms:.0f} ms downtime.")
print("\n".join(lines))
if conclusion_path:
    Path(conclusion_path).write_text(json.dumps(conclusion, indent=2, default=str))

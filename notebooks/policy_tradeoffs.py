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
# # Policy trade-offs: downtime, total time and what the guest pays
#
# **Question.** For a few typical guests (the workload presets under `data/workloads/`), how do
# the four ways of finishing a migration compare — **plain precopy**, **auto-converge**, a
# **downtime ramp** (the limit raised step by step while it runs) and **postcopy** — across
# downtime limits and bandwidth caps? Which settings are on the Pareto front of downtime
# against total time, and which parameter set do we recommend under a budget, written out for
# two management layers?
#
# Public API only: `sim.sweep.run_points` runs the grid, `sim.recommend.recommend` searches
# under the budget, `sim.export.export` renders the winner, `sim.plots` draws. The knobs are
# in the cell tagged `parameters` below the imports.

# %%
import json
import math
from pathlib import Path

import pandas as pd
from IPython.display import display

import sim
from sim.export import FORMATS, export
from sim.plots import comparison_figure, heatmap_figure, pareto_figure, pareto_front
from sim.recommend import Constraints, recommend
from sim.sweep import run_points

MiB = 2**20

# %% tags=["parameters"]
presets = ["web-server", "database", "memcached"]  # names under data/workloads/
memory = "8GiB"  # every guest's RAM
vcpus = 4
link = "10Gbit/s"  # the migration link
timeout = "10min"  # cancel a migration that has not finished by then
downtime_limits_ms = [100, 300, 500, 1000, 2000]  # the downtime-limit axis
bandwidths_mibps = [128, 256, 512, 1024]  # the max-bandwidth axis (QEMU's default is 128)
postcopy_after_passes = 2  # postcopy starts after this many dirty-bitmap syncs
focus = "database"  # the preset the recommendation is made for
max_downtime_ms = 500.0  # the budget of the recommendation …
max_total_s = 120.0
allow_postcopy = False  # postcopy loses the guest if the link fails while it runs
objective = "total-time"  # what to minimise inside the budget: total-time, downtime, guest-cost
export_formats = ["virsh", "nova"]  # two of sim.export.FORMATS
seed = 1
export_dir = ""  # when set, the exported files are written there
conclusion_path = ""  # when set, the conclusion is also written here as JSON

# %% [markdown]
# ## The strategies
#
# Each strategy is a set of scenario changes on top of QEMU's defaults; the grid then varies
# `downtime-limit` and `max-bandwidth` (both QMP parameters, in QMP units).

# %%
STRATEGIES = {
    "precopy": {},
    "auto-converge": {"capabilities.auto-converge": True},
    "downtime-ramp": {"control.policy": {"kind": "downtime-ramp"}},
    "postcopy": {"capabilities.postcopy-ram": True,
                 "control.postcopy-after": {"passes": postcopy_after_passes}},
}
assert focus in presets, f"focus={focus!r} must be one of presets={presets}"
assert len(export_formats) == 2, f"two export formats, got {export_formats}"
assert set(export_formats) <= set(FORMATS), f"export formats must be among {FORMATS}"


def base_scenario(preset: str) -> dict:
    return {"name": preset, "vm": {"memory": memory, "vcpus": vcpus},
            "workload": {"preset": preset}, "host": {"link": link},
            "control": {"timeout": timeout}, "seed": seed}


points, labels = [], []
for strategy, changes in STRATEGIES.items():
    for dl in downtime_limits_ms:
        for bw in bandwidths_mibps:
            points.append(changes | {"parameters.downtime-limit": int(dl),
                                     "parameters.max-bandwidth": int(bw * MiB)})
            labels.append({"strategy": strategy, "downtime_limit_ms": dl, "bandwidth_mibps": bw})

tables = []
for preset in presets:
    table = run_points(base_scenario(preset), points, seed=seed, workers=1)
    table = pd.concat([pd.DataFrame(labels), table], axis=1).assign(preset=preset)
    tables.append(table)
runs = pd.concat(tables, ignore_index=True)
runs["guest_cost_s"] = (runs["throttle_cpu_s"].fillna(0)
                        + runs["postcopy_blocktime_ms"].fillna(0) / 1000)
runs["setting"] = (runs["strategy"] + ", " + runs["downtime_limit_ms"].astype(str) + " ms, "
                   + runs["bandwidth_mibps"].astype(str) + " MiB/s")
assert runs["valid"].all(), runs.loc[~runs["valid"], "error"].unique()
done = runs[runs["converged"]]
overview = (
    runs.groupby(["preset", "strategy"], sort=False)["converged"].mean().rename("converged")
    .to_frame()
    .join(done.groupby(["preset", "strategy"]).agg(best_total_s=("total_time_s", "min"),
                                                   best_downtime_ms=("downtime_ms", "min"),
                                                   max_guest_cost_s=("guest_cost_s", "max")))
    .reset_index()
)
display(overview)

# %% [markdown]
# ## Total time over the grid
#
# Blank cells did not converge within `timeout`. Plain precopy needs the bandwidth to beat the
# dirty rate *and* a downtime limit large enough for what stays dirty; the other strategies
# buy convergence with something else (guest CPU, a longer pause, or postcopy's page faults).

# %%
for strategy in STRATEGIES:
    cells = runs[(runs["preset"] == focus) & (runs["strategy"] == strategy)].copy()
    cells.loc[~cells["converged"], "total_time_s"] = math.nan
    display(heatmap_figure(cells, x="downtime_limit_ms", y="bandwidth_mibps", z="total_time_s",
                           title=f"{focus}, {strategy}: total time (s)"))

# %% [markdown]
# ## Pareto fronts: downtime against total time
#
# One point per converged setting; the line joins the settings no other setting beats on both
# downtime and total time.

# %%
fronts = []
for preset in presets:
    mine = done[done["preset"] == preset]
    display(pareto_figure(mine, x="total_time_s", y="downtime_ms", label="setting",
                          title=f"{preset}: downtime vs total time"))
    fronts.append(pareto_front(mine, "total_time_s", "downtime_ms"))
front = pd.concat(fronts)
display(front[["preset", "strategy", "downtime_limit_ms", "bandwidth_mibps", "total_time_s",
               "downtime_ms", "guest_cost_s"]])

# %% [markdown]
# The four strategies on one guest, at QEMU's default `downtime-limit` (300 ms) and the
# highest bandwidth cap of the grid, remaining dirty memory over time:

# %%
focus_base = sim.load_scenario(base_scenario(focus))
dl0 = 300 if 300 in downtime_limits_ms else downtime_limits_ms[0]
courses = {
    strategy: sim.simulate(focus_base.with_changes(
        changes | {"parameters.downtime-limit": dl0,
                   "parameters.max-bandwidth": int(max(bandwidths_mibps) * MiB)}), seed=seed)
    for strategy, changes in STRATEGIES.items()
}
display(comparison_figure(courses, title=f"{focus} at {dl0} ms, {max(bandwidths_mibps)} MiB/s"))
for strategy, result in courses.items():
    print(f"{strategy:14s} {sim.verdict(result)}")

# %% [markdown]
# ## The recommendation, and two exports of it
#
# `recommend` searches downtime-limit, bandwidth share, auto-converge, multifd (and postcopy
# when allowed) under the budget, refines around the winner, and says why.

# %%
constraints = Constraints(max_downtime_ms=max_downtime_ms, max_total_s=max_total_s,
                          allow_postcopy=allow_postcopy)
rec = recommend(base_scenario(focus), constraints, objective=objective, seed=seed)
print("\n".join(rec.reasons))
chosen = rec.best if rec.feasible else rec.closest
recommended = rec.scenario()
display(pareto_figure(rec.pareto, x="total_time_s", y="downtime_ms", label="changes",
                      title=f"{focus}: the recommendation's feasible Pareto set"))

# %%
exports = {fmt: export(recommended, fmt) for fmt in export_formats}
for fmt, out in exports.items():
    print(f"===== {fmt} =====\n{out.text}")
    for gap in out.gaps:
        print(f"  gap: {gap}")
if export_dir:
    for fmt, out in exports.items():
        for name, body in out.files.items():
            path = Path(export_dir) / fmt / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body)

# %% [markdown]
# ## Checks: what is reported is what the API returns

# %%
# The recommended scenario, simulated again, gives the recommendation's own figures.
again = sim.simulate(recommended, seed=seed, timeline=False)
assert again.converged == bool(chosen["converged"])
assert math.isclose(again.total_time_ms / 1000, chosen["total_time_s"], rel_tol=1e-6)
assert math.isclose(again.downtime_ms, chosen["downtime_ms"], rel_tol=1e-6)
if rec.feasible:
    assert chosen["downtime_ms"] <= max_downtime_ms
    assert chosen["total_time_s"] <= max_total_s
    assert allow_postcopy or not recommended.capabilities["postcopy-ram"]
# Every exported file has content and every gap names a scenario setting.
for out in exports.values():
    assert out.files
    assert all(body.strip() for body in out.files.values())
    assert all(g.setting.split(".")[0] in recommended.to_dict() for g in out.gaps)
# Each front point is a converged run of the grid that no other converged run beats.
for row in front.itertuples():
    mine = done[done["preset"] == row.preset]
    no_worse = (mine["total_time_s"] <= row.total_time_s) & (mine["downtime_ms"] <= row.downtime_ms)
    better = (mine["total_time_s"] < row.total_time_s) | (mine["downtime_ms"] < row.downtime_ms)
    assert not (no_worse & better).any(), row

# %% [markdown]
# ## Conclusion

# %%
def best_of(preset: str, strategy: str) -> dict | None:
    """The fastest converged setting of a strategy within the downtime budget."""
    ok = done[(done["preset"] == preset) & (done["strategy"] == strategy)
              & (done["downtime_ms"] <= max_downtime_ms)]
    if ok.empty:
        return None
    row = ok.sort_values(["total_time_s", "downtime_ms"]).iloc[0]
    return {"downtime_limit_ms": int(row["downtime_limit_ms"]),
            "bandwidth_mibps": int(row["bandwidth_mibps"]),
            "total_time_s": round(float(row["total_time_s"]), 1),
            "downtime_ms": round(float(row["downtime_ms"]), 1),
            "guest_cost_s": round(float(row["guest_cost_s"]), 1)}


def at_default(preset: str) -> dict:
    """Each strategy at the lowest cap of the grid and QEMU's default downtime-limit."""
    out = {}
    for strategy in STRATEGIES:
        row = runs[(runs["preset"] == preset) & (runs["strategy"] == strategy)
                   & (runs["bandwidth_mibps"] == min(bandwidths_mibps))
                   & (runs["downtime_limit_ms"] == dl0)].iloc[0]
        out[strategy] = {"converged": bool(row["converged"]),
                         "total_time_s": round(float(row["total_time_s"]), 1),
                         "downtime_ms": round(float(row["downtime_ms"]), 1),
                         "guest_cost_s": round(float(row["guest_cost_s"]), 1)}
    return out


conclusion = {
    "presets": presets,
    "at_lowest_cap": {"bandwidth_mibps": min(bandwidths_mibps), "downtime_limit_ms": dl0,
                      **{p: at_default(p) for p in presets}},
    "max_downtime_ms": max_downtime_ms,
    "converged_share": {f"{r.preset}/{r.strategy}": round(float(r.converged), 3)
                        for r in overview.itertuples()},
    "best_within_budget": {p: {s: best_of(p, s) for s in STRATEGIES} for p in presets},
    "pareto_strategies": {p: sorted(set(front.loc[front["preset"] == p, "strategy"]))
                          for p in presets},
    "recommendation": {"preset": focus, "feasible": rec.feasible, "changes": rec.changes,
                       "total_time_s": round(float(chosen["total_time_s"]), 1),
                       "downtime_ms": round(float(chosen["downtime_ms"]), 1),
                       "guest_cost_s": round(float(chosen["guest_cost_s"]), 1)},
    "exports": {fmt: sorted(out.files) for fmt, out in exports.items()},
}
lines = [f"Within a {max_downtime_ms:g} ms downtime budget, the fastest converged setting "
         f"of each strategy ({memory} guests on {link}):"]
for p in presets:
    parts = []
    for s in STRATEGIES:
        b = conclusion["best_within_budget"][p][s]
        parts.append(f"{s} —" if b is None else
                     f"{s} {b['total_time_s']:g} s / {b['downtime_ms']:g} ms "
                     f"(limit {b['downtime_limit_ms']} ms, {b['bandwidth_mibps']} MiB/s, "
                     f"guest cost {b['guest_cost_s']:g} vCPU·s)")
    lines.append(f"- {p}: " + "; ".join(parts) + f". Pareto front: "
                 f"{', '.join(conclusion['pareto_strategies'][p])}.")
lines.append(f"At {min(bandwidths_mibps)} MiB/s and a {dl0} ms limit (total s / downtime ms "
             f"/ guest vCPU·s, or 'no' when it does not converge):")
for p in presets:
    cells = conclusion["at_lowest_cap"][p]
    lines.append(f"- {p}: " + "; ".join(
        f"{s} " + (f"{c['total_time_s']:g} / {c['downtime_ms']:g} / {c['guest_cost_s']:g}"
                   if c["converged"] else "no") for s, c in cells.items()))
r = conclusion["recommendation"]
lines.append(f"Recommended for {focus} ({'feasible' if r['feasible'] else 'closest, infeasible'}"
             f"): {json.dumps(r['changes'])} → {r['total_time_s']:g} s, {r['downtime_ms']:g} ms "
             f"downtime, {r['guest_cost_s']:g} vCPU·s; exported as "
             f"{' and '.join(export_formats)}.")
print("\n".join(lines))
if conclusion_path:
    Path(conclusion_path).write_text(json.dumps(conclusion, indent=2, default=str))

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
# # Calibration: how far is the model from real QEMU, and why?
#
# **Question.** The lab corpus under `data/lab/` holds real QEMU migrations run on this kind of
# machine (QEMU 7.2 under TCG, both QEMUs on one host over a unix socket), each with the
# scenario that produced it. How close are miglab's predictions of those runs — total time,
# downtime, bytes sent, converged or not — with the default host, where and why is the model
# off, and how much does a host profile fitted on part of the corpus improve the predictions
# of the runs it never saw?
#
# Public API only: `sim.lab.corpus.load_corpus`, `sim.lab.compare` (prediction vs run, with
# issue 4's accuracy targets), `sim.lab.calibrate` (fit and split), `sim.plots` for the figures.
# The knobs are in the cell tagged `parameters` below the imports.

# %%
import dataclasses
import json
import math
from pathlib import Path

import pandas as pd
import plotly.express as px
from IPython.display import display

import sim
from sim.lab.calibrate import calibrate, loss, split_corpus, write_host_profile
from sim.lab.compare import (
    TARGETS,
    compare_corpus,
    prediction_scenario,
    regime_of,
    summarize,
)
from sim.lab.corpus import load_corpus
from sim.plots import comparison_figure, heatmap_figure
from sim.report import result_from_dict

ROOT = Path.cwd() if (Path.cwd() / "data").is_dir() else Path.cwd().parent

# %% tags=["parameters"]
corpus_path = "data/lab"  # a .jsonl corpus or a directory of them (relative to the repo)
hold_out_share = 0.35  # share of run settings kept out of the fit to judge it
profile_path = ""  # when set, the fitted host profile is written there (YAML)
conclusion_path = ""  # when set, the conclusion is also written here as JSON

# %% [markdown]
# ## The corpus

# %%
source = ROOT / corpus_path
records = load_corpus(source) if source.exists() else []
if not records:
    raise FileNotFoundError(
        f"no lab runs in {source}: record some first with `miglab lab run SCENARIO --out "
        f"{corpus_path}/mine.jsonl` (needs qemu-system-x86_64; see README, 'The lab')")


def kind(record: dict) -> str:
    """The mechanism a run exercises, from its capabilities."""
    caps = record["scenario"].get("capabilities", {})
    for name in ("multifd", "postcopy-ram", "auto-converge", "xbzrle"):
        if caps.get(name):
            return name
    return "precopy"


def rate_to_cap(record: dict, dirty_rate_Bps: float) -> str:
    """The guest's dirty rate as a share of ``max-bandwidth``, binned."""
    cap = float(record["scenario"].get("parameters", {}).get("max-bandwidth", 128 * 2**20))
    share = dirty_rate_Bps / cap if cap > 0 else 0.0
    return ("< 25 %" if share < 0.25 else "25–50 %" if share < 0.5 else
            "50–80 %" if share < 0.8 else "≥ 80 %")


def table(rows: list, recs: list) -> pd.DataFrame:
    """Comparisons as a frame, with each run's mechanism and dirty-rate share of the cap."""
    df = pd.DataFrame([dataclasses.asdict(r) for r in rows])
    df["kind"] = [kind(r) for r in recs]
    df["rate_to_cap"] = [rate_to_cap(r, row.dirty_rate_Bps) for r, row in zip(recs, rows,
                                                                              strict=True)]
    df["abs_total_err_pct"] = df["total_err_pct"].abs()
    df["short"] = df["lab_total_ms"] < 300  # fixed costs dominate a run this short
    return df


qemu = sorted({r["qemu"] for r in records})
accel = sorted({r["accelerator"] for r in records})
print(f"{len(records)} runs from {corpus_path}: QEMU {', '.join(qemu)}, "
      f"accelerator {', '.join(accel)}")

# %% [markdown]
# ## Predictions with the default host
#
# Each run's scenario is rebuilt as the guest really behaved (its measured dirty rate, the
# memory it had written) and simulated on the engine's default host (`host` left empty).

# %%
baseline_rows = compare_corpus(records)
baseline = table(baseline_rows, records)
baseline_summary = summarize(baseline_rows)
display(baseline[["name", "kind", "rate_to_cap", "lab_status", "sim_status", "lab_total_ms",
                  "sim_total_ms", "total_err_pct", "lab_downtime_ms", "sim_downtime_ms",
                  "bytes_err_pct", "lab_syncs", "sim_syncs"]])


def scores(summary: dict) -> pd.Series:
    return pd.Series({k: summary[k] for k in TARGETS})


display(pd.DataFrame({"default host": scores(baseline_summary), "target": pd.Series(TARGETS)}))

# %% [markdown]
# ## Where the model is off
#
# Median absolute total-time error by mechanism and by how close the guest's dirty rate comes
# to the bandwidth cap. Near the cap, precopy's time is very sensitive to the rate (each pass
# leaves almost as much as it sent), so a few percent of rate error become tens of percent
# of time; on two cores, the sending threads compete with the vCPU and the destination for
# CPU, which the default host (every thread on its own core, one rate whether the guest runs
# or not) ignores; and runs of a few hundred
# milliseconds are dominated by fixed costs (setup, stop, resume).

# %%
display(heatmap_figure(baseline.dropna(subset=["abs_total_err_pct"]), x="rate_to_cap",
                       y="kind", z="abs_total_err_pct",
                       title="Default host: |total-time error| by mechanism and rate/cap (%)"))
by_kind = (baseline.groupby("kind")
           .agg(runs=("name", "size"), median_total_err_pct=("total_err_pct", "median"),
                median_abs_total_err_pct=("abs_total_err_pct", "median"),
                downtime_ok=("downtime_ok", "mean"),
                median_bytes_err_pct=("bytes_err_pct", "median"))
           .sort_values("median_abs_total_err_pct", ascending=False))
by_cap = (baseline.groupby("rate_to_cap")
          .agg(runs=("name", "size"), median_abs_total_err_pct=("abs_total_err_pct", "median")))
by_length = (baseline.groupby("short")
             .agg(runs=("name", "size"), median_abs_total_err_pct=("abs_total_err_pct", "median")))
display(by_kind, by_cap, by_length)

# %% [markdown]
# ## Fitting a host profile
#
# The corpus is split by run setting (repeats stay together); `calibrate` fits the host
# fields real runs determine — final-copy `link`, `channel-rate` (guest stopped),
# `running-channel-rate` and `migration-cpus` (guest running), `first-touch-rate` (how fast
# the destination takes in the first copy of a page), `zero-scan-rate`, `stop`, `resume`,
# `setup` — on the training runs only.

# %%
train, held_out = split_corpus(records, hold_out_share)
assert train, "the split left no training runs; lower hold_out_share"
fit = calibrate(train)
host_profile = fit.host_section()
default_host = sim.load_scenario({"vm": {"memory": "1GiB"}}).host
fields = pd.DataFrame({
    "default": {"link": default_host.link_Bps, "channel-rate": default_host.channel_rate_Bps,
                "running-channel-rate": default_host.while_running().channel_rate_Bps,
                "migration-cpus": default_host.migration_cpus or float("inf"),
                "first-touch-rate": default_host.first_touch_Bps or float("inf"),
                "zero-scan-rate": default_host.zero_scan_Bps, "stop": default_host.stop_s,
                "resume": default_host.resume_s, "setup": default_host.setup_s},
    "fitted": {k: host_profile[k] for k in ("link", "channel-rate", "running-channel-rate",
                                            "migration-cpus", "first-touch-rate",
                                            "zero-scan-rate", "stop", "resume", "setup")},
})
display(fields)
print(f"{len(train)} training runs, {len(held_out)} held out; training loss "
      f"{loss(train, {}):.3f} with the default host → {fit.loss:.3f} fitted")
if profile_path:
    write_host_profile(fit, Path(profile_path), runs=len(train), corpus=corpus_path)

# %% [markdown]
# ## The held-out runs, before and after

# %%
judged = held_out or train  # a tiny corpus may hold nothing out: then judge on training
before_rows = compare_corpus(judged)
after_rows = compare_corpus(judged, host_profile)
before, after = summarize(before_rows), summarize(after_rows)
display(pd.DataFrame({"default host": scores(before), "fitted host": scores(after),
                      "target": pd.Series(TARGETS)}))
fitted = table(after_rows, judged)
display(fitted[["name", "kind", "lab_total_ms", "sim_total_ms", "total_err_pct",
                "lab_downtime_ms", "sim_downtime_ms", "bytes_err_pct"]])

# %% [markdown]
# ## Per write order and regime (issue 16)
#
# The lab guest writes in three orders: a sequential sweep (`seq`), uniform random
# (`random`) and `hotcold` — a share of its writes on a small hot region, the rest on the
# others, which the engine predicts as two page classes. `rate-limited` runs have a
# `max-bandwidth` that binds; `cpu-bound` runs leave it unlimited, so the CPU the migration
# thread gets (shared with the vCPU and the destination) is the limit. Held-out runs,
# fitted host:

# %%
by_order = (fitted.groupby(["order", "regime"])
            .agg(runs=("name", "size"), both_converged=("total_err_pct", "count"),
                 median_abs_total_err_pct=("abs_total_err_pct", "median"),
                 verdict_right_pct=("verdict_ok", lambda v: 100.0 * v.mean()),
                 downtime_ok_pct=("downtime_ok", lambda v: 100.0 * v.dropna().mean()))
            .reset_index())
display(by_order)
assert by_order["runs"].sum() == len(judged)

# %% [markdown]
# With nothing limiting the rate, QEMU's threshold (bandwidth × downtime-limit) is large, so
# the switchover often comes while part of the first pass is still unsent; those pages land
# in destination RAM never touched before, at `first-touch-rate`. Downtime of the CPU-bound
# runs, real against predicted (every run, fitted host; a point on the diagonal is exact):

# %%
cpu_recs = [r for r in records if regime_of(r) == "cpu-bound"
            and r["result"].get("status") == "completed"]
cpu_rows = compare_corpus(cpu_recs, host_profile)
cpu_frame = pd.DataFrame({"run": [r.name for r in cpu_rows],
                          "lab downtime ms": [r.lab_downtime_ms for r in cpu_rows],
                          "miglab downtime ms": [r.sim_downtime_ms for r in cpu_rows]})
if not cpu_frame.empty:
    top = float(cpu_frame[["lab downtime ms", "miglab downtime ms"]].to_numpy().max()) * 1.1
    fig = px.scatter(cpu_frame, x="lab downtime ms", y="miglab downtime ms", hover_name="run",
                     title="CPU-bound runs: downtime, QEMU against miglab")
    fig.add_shape(type="line", x0=0, y0=0, x1=top, y1=top, line={"dash": "dot"})
    display(fig)

# %% [markdown]
# Unlimited multifd on two cores: each channel's receiving thread lands its pages beside the
# sending thread, and QEMU 7.2's migration thread spins while every channel is busy, so it
# takes a share of the cores the channels need, a smaller share the more channels there
# are (`docs/qemu-migration.md` §10; `benchmarks/accuracy/thread_cpu.py` measured it).
# Total time by channel count, every unlimited multifd run, fitted host:

# %%
mf_recs = [r for r in cpu_recs if r["scenario"].get("capabilities", {}).get("multifd")]
mf_rows = compare_corpus(mf_recs, host_profile)
mf_frame = pd.DataFrame({
    "run": [r.name for r in mf_rows],
    "channels": [rec["scenario"]["parameters"].get("multifd-channels", 2) for rec in mf_recs],
    "QEMU": [r.lab_total_ms for r in mf_rows],
    "miglab": [r.sim_total_ms for r in mf_rows],
})
if not mf_frame.empty:
    by_channels = mf_frame.melt(id_vars=["run", "channels"], value_vars=["QEMU", "miglab"],
                                var_name="source", value_name="total time ms")
    display(px.strip(by_channels, x="channels", y="total time ms", color="source",
                     hover_name="run", title="Unlimited multifd: total time by channel count"))

# %% [markdown]
# The held-out run the fitted host still predicts worst, real against predicted:

# %%
worst_i = int(fitted["abs_total_err_pct"].fillna(-1).idxmax())
worst = judged[worst_i]
lab_result = result_from_dict(worst["result"] | {"timeline": worst.get("timeline", [])})
sim_result = sim.simulate(prediction_scenario(worst, host_profile))
display(comparison_figure({"QEMU (lab)": lab_result, "miglab, fitted host": sim_result},
                          title=f"{fitted.at[worst_i, 'name']}: remaining memory"))
print(f"{fitted.at[worst_i, 'name']} ({fitted.at[worst_i, 'kind']}): lab "
      f"{lab_result.total_time_ms:.0f} ms, predicted {sim_result.total_time_ms:.0f} ms")

# %% [markdown]
# ## Checks: what is reported is what the API returns

# %%
for rows, summary in ((baseline_rows, baseline_summary), (before_rows, before),
                      (after_rows, after)):
    assert summary["runs"] == len(rows)
    assert math.isclose(summary["verdict_pct"],
                        100 * sum(r.verdict_ok for r in rows) / len(rows))
    errs = sorted(abs(r.total_err_pct) for r in rows if r.total_err_pct is not None)
    assert summary["both_converged"] == len(errs)
assert math.isclose(fit.loss, loss(train, host_profile), rel_tol=1e-9)
# The fitted profile is a valid host section, and predicting with it is what was compared.
assert sim.load_scenario({"vm": {"memory": "1GiB"}, "host": host_profile}).host.link_Bps > 0
assert math.isclose(sim_result.total_time_ms, after_rows[worst_i].sim_total_ms, rel_tol=1e-9)
assert lab_result.total_time_ms == after_rows[worst_i].lab_total_ms

# %% [markdown]
# ## Conclusion

# %%
def pct(value: float) -> float:
    return round(float(value), 1)


worst_kind = by_kind.index[0]
conclusion = {
    "runs": len(records),
    "qemu": qemu,
    "accelerator": accel,
    "default_host": {k: pct(v) for k, v in scores(baseline_summary).items()},
    "worst_mechanism": {"kind": worst_kind,
                        "median_total_err_pct": pct(by_kind.at[worst_kind,
                                                               "median_total_err_pct"]),
                        "runs": int(by_kind.at[worst_kind, "runs"])},
    "fitted_host": host_profile,
    "train_runs": len(train),
    "held_out_runs": len(held_out),
    "held_out_before": {k: pct(v) for k, v in scores(before).items()},
    "held_out_after": {k: pct(v) for k, v in scores(after).items()},
    "targets_met_after": after["met"],
    "held_out_by_order": {f"{r.order}/{r.regime}": pct(r.median_abs_total_err_pct)
                          for r in by_order.itertuples()},
}
print(
    f"On {len(records)} real runs (QEMU {', '.join(qemu)}, {', '.join(accel)}), the default host "
    f"predicts total time with a median error of "
    f"{baseline_summary['total_time_median_pct']:.1f} % (p90 "
    f"{baseline_summary['total_time_p90_pct']:.1f} %), the converge verdict right in "
    f"{baseline_summary['verdict_pct']:.0f} %, downtime within max(15 ms, 25 %) in "
    f"{baseline_summary['downtime_ok_pct']:.0f} % and bytes within 10 % in "
    f"{baseline_summary['bytes_ok_pct']:.0f} %.\n"
    f"It is furthest off for {worst_kind} runs (median total-time error "
    f"{conclusion['worst_mechanism']['median_total_err_pct']:+.1f} % over "
    f"{conclusion['worst_mechanism']['runs']} runs).\n"
    f"A host profile fitted on {len(train)} runs (link {host_profile['link'] / 2**30:.2f} GiB/s, "
    f"channel-rate {host_profile['channel-rate'] / 2**30:.2f} GiB/s with the guest stopped and "
    f"{host_profile['running-channel-rate'] / 2**20:.0f} MiB/s while it runs on "
    f"{host_profile['migration-cpus']:.2f} shared cores, stop "
    f"{host_profile['stop'] * 1000:.1f} ms), judged on the {len(judged)} "
    f"{'held-out' if held_out else 'training'} runs: median total-time error "
    f"{before['total_time_median_pct']:.1f} % with the default host, "
    f"{after['total_time_median_pct']:.1f} % fitted (p90 {before['total_time_p90_pct']:.1f} % "
    f"→ {after['total_time_p90_pct']:.1f} %; downtime within bounds "
    f"{before['downtime_ok_pct']:.0f} % → {after['downtime_ok_pct']:.0f} %); issue 4 targets "
    f"met: {', '.join(k for k, v in after['met'].items() if v) or 'none'}."
)
if conclusion_path:
    Path(conclusion_path).write_text(json.dumps(conclusion, indent=2, default=str))

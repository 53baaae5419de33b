"""The planning commands of ``miglab``: ``sweep``, ``drain`` and ``recommend``.

These are the planner's desk drawers: each opens onto one library call
(:func:`sim.sweep.run_sweep`, :func:`sim.fleet.plan_drain`, :func:`sim.recommend.recommend`)
and prints its answer; long runs show a progress bar on the terminal. ``sim/cli.py``
registers them::

    app.command("sweep")(sweep_cmd)
    app.command("drain")(drain_cmd)
    app.command("recommend")(recommend_cmd)

    miglab sweep web.yaml --vary downtime-limit=50:2000:log8 \\
        --vary host.link=1Gbit/s,10Gbit/s,25Gbit/s --out sweep.parquet
    miglab drain data/fleets/two-racks.csv --policy kubevirt --order smallest-first
    miglab recommend web.yaml --max-downtime 500ms --max-total 2min
    miglab recommend web.yaml --for kubevirt --max-downtime 150ms --out policy.yaml
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from sim._cliutil import check_int, check_number, flag_duration_s, flag_rate_Bps, json_text
from sim._cliutil import fail as _fail
from sim._exceptions import MiglabError
from sim.fleet.inventory import PLATFORM_LIMITS
from sim.fleet.plan import ORDERS
from sim.models import PRESET_POLICY_KINDS

__all__ = ["drain_cmd", "recommend_cmd", "sweep_cmd"]


def _max_workers() -> int:
    from sim.sweep import MAX_WORKERS

    return MAX_WORKERS



def _limits_help() -> str:
    """``kubevirt 2 per node / 5 per cluster, nova 1 per node, …`` from PLATFORM_LIMITS."""
    return ", ".join(f"{kind} {lim.per_node} per node"
                     + (f" / {lim.per_cluster} per cluster" if lim.per_cluster else "")
                     for kind, lim in PLATFORM_LIMITS.items())

@contextmanager
def _progress_bar(label: str, enabled: bool) -> Iterator[Any]:
    """A rich progress bar on stderr; yields ``progress(done, total)`` (or ``None``)."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress("[progress.description]{task.description}", BarColumn(),
                   MofNCompleteColumn(), TimeRemainingColumn(),
                   console=Console(stderr=True), transient=True)
    task = bar.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield update


def _ms(text: str | None, option: str) -> float | None:
    """Milliseconds from a duration flag; a unit is required (``500ms``, ``2s``)."""
    return None if text is None else flag_duration_s(text, option) * 1000.0


_SEED_MAX = 2**32 - 1


def sweep_cmd(
    base: Annotated[Path, typer.Argument(help="base scenario file (YAML or JSON)")],
    vary: Annotated[list[str], typer.Option(
        "--vary", "-v",
        help="an axis, repeatable: NAME=a,b,c | NAME=lo:hi:N | NAME=lo:hi:logN | "
             "NAME=lo:hi:randN. NAME is a dotted scenario path (host.link, "
             "workload.dirty-rate) or a bare parameter name (downtime-limit); values may "
             "carry units (1Gbit/s, 8GiB, 300ms). All combinations are run.")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="write the table here: .parquet or .csv")] = None,
    seed: Annotated[int | None, typer.Option(
        help="seed of every run and of randN axes (default: the scenario's)")] = None,
    workers: Annotated[int | None, typer.Option(
        help="local processes (default: all CPUs; 1 = serial)")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786")] = None,
    chunk_size: Annotated[int | None, typer.Option(
        help="scenarios per task (default: about four tasks per worker)")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Run a base scenario over every combination of the axes; print or save a tidy table.

    Each row holds the axis values and the outcome (valid, status, converged, total_time_s,
    downtime_ms, …). A combination QEMU would refuse becomes a row with valid=False and
    QEMU's message.
    """
    from sim.sweep import AxisError, expand, parse_axis, run_sweep, save_table

    check_int(seed, "--seed", 0, _SEED_MAX)
    check_int(workers, "--workers", 1, _max_workers())
    check_int(chunk_size, "--chunk-size", 1)
    try:
        axes = [parse_axis(v, seed=seed or 0) for v in vary]
        n = len(expand(axes))
    except AxisError as err:
        raise _fail(f"--vary: {err}") from err
    try:
        with _progress_bar(f"sweep ({n} scenarios)", not quiet) as progress:
            table = run_sweep(base, axes, seed=seed, workers=workers, scheduler=scheduler,
                              chunk_size=chunk_size, progress=progress)
        if out is not None:
            save_table(table, out)
    except AxisError as err:
        raise _fail(f"--vary: {err}") from err
    except MiglabError as err:
        raise _fail(str(err)) from err
    valid = int(table["valid"].sum())
    conv = int(table["converged"].fillna(False).astype(bool).sum())
    summary = f"{len(table)} scenarios: {valid} valid, {conv} converged"
    if out is not None:
        typer.echo(f"{summary}; table written to {out}")
    else:
        typer.echo(table.to_string(index=False, max_rows=60))
        typer.echo(summary)


def drain_cmd(
    inventory: Annotated[Path, typer.Argument(
        help="inventory: CSV (name,host,memory[,link,policy,preset,dirty-rate,working-set,"
             "<dotted overrides>]) or YAML (defaults, hosts, vms)")],
    policy: Annotated[str | None, typer.Option(
        help="management policy for every VM without its own: "
             + ", ".join(PRESET_POLICY_KINDS) + " or none; also sets the platform's "
             "concurrency limits (" + _limits_help() + ")")
    ] = None,
    order: Annotated[str, typer.Option(
        help=", ".join(ORDERS))
    ] = "listed",
    per_node: Annotated[int | None, typer.Option(
        help="outbound migrations per host at once (parallelOutboundMigrationsPerNode, "
             "max_concurrent_live_migrations)")] = None,
    per_cluster: Annotated[int | None, typer.Option(
        help="migrations at once in the cluster (parallelMigrationsPerCluster)")] = None,
    link: Annotated[str | None, typer.Option(
        help="link of hosts the inventory gives none, with a unit, e.g. 25Gbit/s "
             "(default 10Gbit/s)")
    ] = None,
    hosts: Annotated[str | None, typer.Option(
        help="the hosts going into maintenance, comma-separated names or patterns "
             "(r1-* for a name prefix); default: every host of the inventory")] = None,
    seed: Annotated[int | None, typer.Option(help="seed of every run")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="write the per-VM table here (.parquet or .csv); the link "
                            "usage goes next to it as <name>.links.<ext>")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")
    ] = False,
) -> None:
    """Plan a host drain: who moves when, each VM's downtime and outcome, total drain time.

    Long because it is a CLI command: its typer options, each with its help text, take most of
    the lines.

    Each host's link is shared fairly by its concurrent migrations and re-divided as they
    start and end; the per-node and per-cluster limits decide who waits.

    A VM whose settings are invalid is not moved: the plan of the others is still printed
    (and written), each invalid VM's field, value and reason go to stderr (and to
    "invalid_vms" with --json), and the exit status is 1.
    """
    from sim.fleet import load_inventory, plan_drain, worst_vms
    from sim.sweep import save_table

    check_int(per_node, "--per-node", 1)
    check_int(per_cluster, "--per-cluster", 1)
    check_int(seed, "--seed", 0, _SEED_MAX)
    link_Bps = None if link is None else flag_rate_Bps(link, "--link")
    try:
        inv = load_inventory(inventory, default_link=link_Bps)
        plan = plan_drain(inv, policy=policy, order=order, per_node=per_node,
                          per_cluster=per_cluster, seed=seed,
                          hosts=None if hosts is None else hosts.split(","))
        if out is not None:
            save_table(plan.vms, out)
            save_table(plan.links, out.with_suffix(f".links{out.suffix}"))
    except MiglabError as err:
        raise _fail(str(err)) from err
    summary = plan.summary()
    host_of = dict(zip(plan.vms["name"], plan.vms["host"], strict=True))
    invalid = [{"name": name, "host": host_of.get(name), "field": p.field, "value": p.value,
                "reason": p.message} for name, p in plan.problems.items()]
    if as_json:
        typer.echo(json_text(summary | {"invalid_vms": invalid}))
        _report_invalid(invalid)
        return
    cols = ["name", "host", "start_s", "end_s", "downtime_ms", "outcome"]
    typer.echo(plan.vms[cols].to_string(index=False, max_rows=60,
                                        float_format=lambda x: f"{x:.1f}"))
    worst = summary["max_downtime_ms"]
    typer.echo(f"drain time {plan.drain_time_s:.1f} s; {summary['completed']}/"
               f"{summary['vms']} completed; worst downtime "
               f"{'-' if math.isnan(worst) else f'{worst:.0f} ms'}; limits "
               f"{plan.limits.per_node or '∞'} per node, {plan.limits.per_cluster or '∞'} "
               f"per cluster; order {plan.order}")
    worst_list = worst_vms(plan)
    if worst_list:
        typer.echo("worst: " + ", ".join(worst_list))
    _report_invalid(invalid)


def _report_invalid(invalid: list[dict[str, Any]]) -> None:
    """Name each VM left behind for invalid settings on stderr, then exit 1."""
    if not invalid:
        return
    for item in invalid:
        typer.echo(f"miglab: VM {item['name']} (host {item['host']}) not moved: "
                   f"{item['field']} = {item['value']!r}: {item['reason']}", err=True)
    raise typer.Exit(1)


def _targets_help() -> str:
    from sim.targets import TARGETS

    return ("the platform to recommend for, in its own knobs (default: the scenario's "
            "policy kind, else qemu): " + "; ".join(
                f"{t.name} ({', '.join(k.name for k in t.knobs)})" for t in TARGETS.values()))


def recommend_cmd(
    scenario: Annotated[Path, typer.Argument(help="scenario file to tune (YAML or JSON)")],
    target: Annotated[str | None, typer.Option(
        "--for", help=_targets_help(), show_default=False)] = None,
    max_downtime: Annotated[str | None, typer.Option(
        help="largest acceptable downtime, with a unit, e.g. 500ms")] = None,
    max_total: Annotated[str | None, typer.Option(
        help="largest acceptable total migration time, with a unit, e.g. 2min")] = None,
    max_throttle: Annotated[float | None, typer.Option(
        help="highest auto-converge throttle the guest may see, in %")] = None,
    max_blocktime: Annotated[str | None, typer.Option(
        help="largest postcopy blocktime the guest may see, with a unit, e.g. 200ms")
    ] = None,
    allow_postcopy: Annotated[bool, typer.Option(
        "--allow-postcopy/--no-postcopy", help="whether postcopy may be recommended")
    ] = False,
    bandwidth_share: Annotated[float, typer.Option(
        help="the most of the link the migration may use, 0-1")] = 1.0,
    objective: Annotated[str, typer.Option(
        help="what to minimise: downtime, total-time or guest-cost")] = "total-time",
    method: Annotated[str, typer.Option(
        help="grid (deterministic grid and refine) or optuna (NSGA-II; --for qemu only)")
    ] = "grid",
    trials: Annotated[int, typer.Option(help="trials for --method optuna")] = 200,
    seed: Annotated[int | None, typer.Option(help="seed of every run and of optuna")
    ] = None,
    workers: Annotated[int | None, typer.Option(
        help="local processes for the grid (default: all CPUs)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON answer")] = False,
    out: Annotated[Path | None, typer.Option(
        help="write the export of the recommended settings here (the target's own "
             "format: MigrationPolicy YAML, nova.conf, qm lines, oVirt JSON, QMP)")] = None,
    scenario_out: Annotated[Path | None, typer.Option(
        help="write the recommended scenario (YAML) here, for 'miglab simulate'")] = None,
) -> None:
    """Find the settings that meet a downtime/time budget on a platform; show why.

    Long because it is a CLI command: its typer options, each with its help text, take most of
    the lines.

    Prints the recommended setting in the target's own names and units, the outcome
    predicted by simulating exactly that setting (through the platform's policy), plain
    reasons (which constraint binds, what the next-best costs), the Pareto set of
    downtime × total time × guest cost, and the export of that setting. When the budget is
    impossible on the platform it says so, names the closest setting, shows what a knob
    the platform lacks would give, and exits with status 3.
    """
    from sim.recommend import Constraints, format_metric, recommend
    from sim.targets import TARGETS, setting_lines

    check_number(max_throttle, "--max-throttle", "a percentage from 0 to 100", lo=0.0,
                 hi=100.0)
    check_number(bandwidth_share, "--bandwidth-share",
                 "a share of the link greater than 0 and at most 1, e.g. 0.5", lo=0.0,
                 hi=1.0, lo_open=True)
    check_int(trials, "--trials", 1)
    check_int(workers, "--workers", 1, _max_workers())
    check_int(seed, "--seed", 0, _SEED_MAX)
    if target is not None and target not in TARGETS:
        raise _fail(f"--for {target!r}: unknown target; expected one of "
                    + ", ".join(TARGETS))
    try:
        cons = Constraints(
            max_downtime_ms=_ms(max_downtime, "--max-downtime"),
            max_total_s=None if max_total is None else
            (_ms(max_total, "--max-total") or 0.0) / 1000.0,
            max_throttle_pct=max_throttle,
            max_blocktime_ms=_ms(max_blocktime, "--max-blocktime"),
            allow_postcopy=allow_postcopy, max_bandwidth_share=bandwidth_share)
        with _progress_bar("searching", not as_json) as progress:
            rec = recommend(str(scenario), cons, target=target, objective=objective,
                            method=method, n_trials=trials, seed=seed, workers=workers,
                            progress=progress)
        exported = rec.export()
    except MiglabError as err:
        raise _fail(str(err)) from err
    tgt = TARGETS[rec.target]
    row = rec.chosen
    metrics = ["downtime_ms", "total_time_s", "guest_cost_s"]
    knob_cols = ([k.name for k in tgt.knobs] if tgt.policy_kind is not None else
                 ["downtime_limit_ms", "bandwidth_share", "auto_converge",
                  "multifd_channels", "postcopy_after_passes"])
    predicted = {c: float(row[c]) for c in metrics}
    if as_json:
        typer.echo(json_text({
            "target": rec.target, "feasible": rec.feasible, "settings": rec.settings,
            "predicted": predicted, "changes": rec.changes, "reasons": rec.reasons,
            "export": exported.as_dict(), "beyond": None if rec.beyond is None else
            {k: v for k, v in rec.beyond.items() if k != "row"},
            "pareto": json.loads(rec.pareto[knob_cols + metrics].to_json(orient="records")),
            "seed": rec.seed, "method": rec.method}))
    else:
        how = ("given on the command line" if target is not None
               else "the scenario's policy" if tgt.policy_kind is not None
               else "the scenario has no platform policy")
        typer.echo(f"target: {tgt.title} (--for {tgt.name}: {how})")
        typer.echo(f"{'recommended' if rec.feasible else 'closest'} {tgt.title} settings:")
        for line in setting_lines(tgt, rec.settings):
            typer.echo(f"  {line}")
        through = (f"through the {tgt.policy_kind} policy" if tgt.policy_kind is not None
                   else "as QEMU runs them")
        typer.echo(f"predicted (these settings simulated {through}): downtime "
                   f"{format_metric(predicted['downtime_ms'], 'ms')}, total "
                   f"{format_metric(predicted['total_time_s'], 's')}, guest cost "
                   f"{format_metric(predicted['guest_cost_s'], 'vCPU·s')}")
        typer.echo("")
        for text in rec.reasons:
            typer.echo(f"- {text}")
        typer.echo("\ntrade-off (Pareto set):")
        shown = rec.pareto[knob_cols + metrics].copy()
        shown["downtime_ms"] = shown["downtime_ms"].round(0)
        shown["total_time_s"] = shown["total_time_s"].round(1)
        shown["guest_cost_s"] = shown["guest_cost_s"].round(1)
        typer.echo(shown.to_string(index=False, max_rows=30))
        typer.echo(f"\nexport for {tgt.title} ({exported.format}) of exactly these "
                   f"settings:")
        typer.echo(exported.text.rstrip("\n"))
    if out is not None:
        out.write_text(exported.text, encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)
    if scenario_out is not None:
        import yaml

        scenario_out.write_text(yaml.safe_dump(rec.scenario().to_dict(), sort_keys=False),
                                encoding="utf-8")
        typer.echo(f"wrote {scenario_out}", err=True)
    if not rec.feasible:
        raise typer.Exit(3)

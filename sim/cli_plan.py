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

__all__ = ["drain_cmd", "recommend_cmd", "sweep_cmd"]


def _max_workers() -> int:
    from sim.sweep import MAX_WORKERS

    return MAX_WORKERS


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
        help="management policy for every VM without its own: kubevirt, nova, ovirt, "
             "proxmox, downtime-ramp or none; also sets the platform's concurrency limits "
             "(kubevirt 2 per node / 5 per cluster, nova 1 per node, ovirt 2 per node)")
    ] = None,
    order: Annotated[str, typer.Option(
        help="listed, smallest-first, largest-first, least-dirty-first, most-dirty-first")
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
    seed: Annotated[int | None, typer.Option(help="seed of every run")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="write the per-VM table here (.parquet or .csv); the link "
                            "usage goes next to it as <name>.links.<ext>")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")
    ] = False,
) -> None:
    """Plan a host drain: who moves when, each VM's downtime and outcome, total drain time.

    Each host's link is shared fairly by its concurrent migrations and re-divided as they
    start and end; the per-node and per-cluster limits decide who waits.

    A VM whose settings are invalid is not moved: the plan of the others is still printed
    (and written), each invalid VM's field, value and reason go to stderr (and to
    "invalid_vms" with --json), and the exit status is 1.
    """
    from sim.fleet import load_inventory, plan_drain
    from sim.sweep import save_table

    check_int(per_node, "--per-node", 1)
    check_int(per_cluster, "--per-cluster", 1)
    check_int(seed, "--seed", 0, _SEED_MAX)
    link_Bps = None if link is None else flag_rate_Bps(link, "--link")
    try:
        inv = load_inventory(inventory, default_link=link_Bps)
        plan = plan_drain(inv, policy=policy, order=order, per_node=per_node,
                          per_cluster=per_cluster, seed=seed)
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
    _report_invalid(invalid)


def _report_invalid(invalid: list[dict[str, Any]]) -> None:
    """Name each VM left behind for invalid settings on stderr, then exit 1."""
    if not invalid:
        return
    for item in invalid:
        typer.echo(f"miglab: VM {item['name']} (host {item['host']}) not moved: "
                   f"{item['field']} = {item['value']!r}: {item['reason']}", err=True)
    raise typer.Exit(1)


def recommend_cmd(
    scenario: Annotated[Path, typer.Argument(help="scenario file to tune (YAML or JSON)")],
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
        help="grid (deterministic grid and refine) or optuna (NSGA-II)")] = "grid",
    trials: Annotated[int, typer.Option(help="trials for --method optuna")] = 200,
    seed: Annotated[int | None, typer.Option(help="seed of every run and of optuna")
    ] = None,
    workers: Annotated[int | None, typer.Option(
        help="local processes for the grid (default: all CPUs)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON answer")] = False,
    out: Annotated[Path | None, typer.Option(
        help="write the recommended scenario (YAML) here, ready for 'miglab export'")] = None,
) -> None:
    """Find the settings that meet a downtime/time budget; show the trade-off and why.

    Prints the recommended changes (dotted scenario paths), plain-language reasons (which
    constraint binds, what the next-best costs) and the Pareto set of downtime × total time
    × guest cost. When the budget is impossible it says so, names the closest setting and
    exits with status 3.
    """
    from sim.recommend import Constraints, recommend

    check_number(max_throttle, "--max-throttle", "a percentage from 0 to 100", lo=0.0,
                 hi=100.0)
    check_number(bandwidth_share, "--bandwidth-share",
                 "a share of the link greater than 0 and at most 1, e.g. 0.5", lo=0.0,
                 hi=1.0, lo_open=True)
    check_int(trials, "--trials", 1)
    check_int(workers, "--workers", 1, _max_workers())
    check_int(seed, "--seed", 0, _SEED_MAX)
    try:
        cons = Constraints(
            max_downtime_ms=_ms(max_downtime, "--max-downtime"),
            max_total_s=None if max_total is None else
            (_ms(max_total, "--max-total") or 0.0) / 1000.0,
            max_throttle_pct=max_throttle,
            max_blocktime_ms=_ms(max_blocktime, "--max-blocktime"),
            allow_postcopy=allow_postcopy, max_bandwidth_share=bandwidth_share)
        with _progress_bar("searching", not as_json) as progress:
            rec = recommend(str(scenario), cons, objective=objective, method=method,
                            n_trials=trials, seed=seed, workers=workers, progress=progress)
    except MiglabError as err:
        raise _fail(str(err)) from err
    cols = ["downtime_limit_ms", "bandwidth_share", "auto_converge", "multifd_channels",
            "postcopy_after_passes", "downtime_ms", "total_time_s", "guest_cost_s"]
    if as_json:
        typer.echo(json_text({
            "feasible": rec.feasible, "changes": rec.changes, "reasons": rec.reasons,
            "pareto": json.loads(rec.pareto[cols].to_json(orient="records")),
            "seed": rec.seed, "method": rec.method}))
    else:
        typer.echo("recommended changes:" if rec.feasible else "closest changes:")
        for path, value in rec.changes.items():
            typer.echo(f"  {path} = {json.dumps(value)}")
        if not rec.changes:
            typer.echo("  (none: the scenario's own settings are the answer)")
        typer.echo("")
        for text in rec.reasons:
            typer.echo(f"- {text}")
        typer.echo("\ntrade-off (Pareto set):")
        typer.echo(rec.pareto[cols].to_string(index=False, max_rows=30))
    if out is not None:
        import yaml

        out.write_text(yaml.safe_dump(rec.scenario().to_dict(), sort_keys=False),
                       encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)
    if not rec.feasible:
        raise typer.Exit(3)

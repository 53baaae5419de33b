"""``miglab lab``: run real QEMU migrations, compare them with the engine, calibrate the host.

The lab commands are the test bench beside the simulator: ``run`` flies one scenario on
real QEMU (two processes on this machine, a unix socket between them), ``compare`` scores
the engine's predictions against a corpus of such runs, and ``calibrate`` fits the
``host`` fields those runs determine and writes a host profile scenarios can name.

    miglab lab run scenario.yaml --out data/lab/mine.jsonl
    miglab lab compare data/lab --host lab-tcg
    miglab lab calibrate data/lab --out data/hosts/lab-tcg.yaml --held-out

``sim.cli`` adds :data:`lab_app` with ``app.add_typer(lab_app, name="lab")``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from sim._cliutil import fail as _fail
from sim._cliutil import json_text
from sim._exceptions import MiglabError
from sim.lab.calibrate import calibrate, split_corpus, write_host_profile
from sim.lab.compare import (
    compare_corpus,
    format_by_order,
    format_summary,
    format_table,
    summarize,
)
from sim.lab.corpus import append_record, load_corpus
from sim.lab.runner import DEFAULT_CAP_S, run_scenario
from sim.scenario import load_scenario

__all__ = ["lab_app"]

lab_app = typer.Typer(help="Real QEMU migrations: run, compare with the engine, calibrate.",
                      no_args_is_help=True)



@lab_app.command("run")
def run_cmd(
    scenario: Annotated[Path, typer.Argument(help="scenario file (YAML or JSON)")],
    out: Annotated[Path | None, typer.Option(help="append the run to this JSON-lines corpus")]
    = None,
    content: Annotated[str, typer.Option(help="guest page content: zero, text or random")]
    = "text",
    cap: Annotated[float, typer.Option(help="hard cap on the migration, seconds")]
    = DEFAULT_CAP_S,
) -> None:
    """Migrate the scenario's guest between two real QEMUs and print the result."""
    if content not in ("zero", "text", "random"):
        raise _fail(f"--content must be zero, text or random, got {content!r}")
    try:
        run = run_scenario(load_scenario(scenario), content=content,  # type: ignore[arg-type]
                           cap_s=cap)
    except MiglabError as exc:
        raise _fail(str(exc)) from exc
    record = run.to_record()
    if out is not None:
        append_record(out, record)
    shown: dict[str, Any] = {k: v for k, v in record.items() if k != "timeline"}
    typer.echo(json_text(shown))


def _host(host: str | None) -> dict[str, Any] | None:
    return None if host is None else {"profile": host}


@lab_app.command("compare")
def compare_cmd(
    corpus: Annotated[Path, typer.Argument(help="a .jsonl corpus or a directory of them")],
    host: Annotated[str | None, typer.Option(help="host profile to predict with")] = "lab-tcg",
    held_out: Annotated[bool, typer.Option(help="only the runs calibration holds out")]
    = False,
) -> None:
    """Simulate every run's scenario; print per-run and total errors against the targets."""
    try:
        records: list[Mapping[str, Any]] = list(load_corpus(corpus))
        if held_out:
            records = split_corpus(records)[1]
        rows = compare_corpus(records, _host(host))
    except (MiglabError, OSError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    typer.echo(format_table(rows))
    typer.echo("")
    typer.echo(format_by_order(rows))
    typer.echo("")
    typer.echo(format_summary(summarize(rows)))


@lab_app.command("calibrate")
def calibrate_cmd(
    corpus: Annotated[Path, typer.Argument(help="a .jsonl corpus or a directory of them")],
    out: Annotated[Path, typer.Option(help="host profile to write")]
    = Path("data/hosts/lab-tcg.yaml"),
    held_out: Annotated[bool, typer.Option(help="fit on part, report errors on the rest")]
    = True,
) -> None:
    """Fit the host fields (link, channel-rate, stop, …) and write a host profile."""
    try:
        records = list(load_corpus(corpus))
        train, test = split_corpus(records) if held_out else (records, [])
        fit = calibrate(train, progress=lambda line: typer.echo(line, err=True))
        write_host_profile(fit, out, runs=len(train), corpus=str(corpus))
    except (MiglabError, OSError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"wrote {out} (fitted on {len(train)} runs, training loss {fit.loss:.4f})")
    if test:
        summary = summarize(compare_corpus(test, fit.host_section()))
        typer.echo(f"held-out runs: {len(test)}")
        typer.echo(format_summary(summary))

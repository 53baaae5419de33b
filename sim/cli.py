"""The ``miglab`` command line.

Each subcommand is a thin shell around one call into the library: read the input, call
``sim``, print. Errors a user can cause are printed as one clear message and exit 1;
nothing prints a traceback at them.

    miglab validate scenario.yaml          # QEMU's own first error, then every other problem
    miglab qmp --qemu 7.2 commands.jsonl   # replies as that QEMU would send them
    miglab simulate scenario.yaml --json   # the predicted query-migrate result
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim._bounded import dumps_json, loads_json, read_stdin, read_text
from sim._cliutil import check_int, json_text
from sim._cliutil import fail as _fail
from sim._exceptions import MiglabError
from sim.qemu import VERSIONS, HostSupport, QmpMonitor
from sim.qemu.versions import DEFAULT_VERSION
from sim.scenario import load_scenario, validate

app = typer.Typer(
    name="miglab",
    help="Predict, compare and check QEMU live-migration policies.\n\n"
         "Scenarios are YAML/JSON files with QMP's parameter and capability names; see the "
         "README for the format.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_QEMU_HELP = "QEMU release to behave as: " + ", ".join(VERSIONS)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"miglab {version('miglab')}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[bool, typer.Option(
        "--version", help="print miglab's version and exit", callback=_version,
        is_eager=True)] = False,
    policy_dir: Annotated[list[Path] | None, typer.Option(
        "--policy-dir", help="also accept control.policy.file names from this folder "
        "(repeatable); otherwise only data/policies is read")] = None,
) -> None:
    """Predict, compare and check QEMU live-migration policies."""
    if policy_dir:
        from sim.policies import allow_policy_dirs

        for d in policy_dir:
            if not d.is_dir():
                raise _fail(f"--policy-dir {d}: no such folder")
        allow_policy_dirs(policy_dir)



@app.command("validate")
def validate_cmd(
    file: Annotated[Path, typer.Argument(help="scenario file (YAML or JSON)")],
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON report")] = False,
) -> None:
    """Check a scenario exactly as QEMU would; exit 0 when valid, 1 otherwise.

    The first line is the error QEMU itself would give (its first failure); every other
    problem follows, each with the field, the value and what is accepted.
    """
    report = validate(file)
    if as_json:
        typer.echo(json_text(report.as_dict()))
    elif report.valid:
        typer.echo(f"{file}: valid")
        for text in report.assumptions:
            typer.echo(f"  assumed: {text}")
    else:
        first = report.qemu_error
        if first is not None:
            typer.echo(f"QEMU would reply: {first.message}")
        typer.echo(f"{file}: {len(report.problems)} problem(s):")
        for p in report.problems:
            tag = "qemu" if p.source == "qemu" else "miglab"
            typer.echo(f"  [{tag}] {p.field} = {dumps_json(p.value)}: {p.message}")
    raise typer.Exit(0 if report.valid else 1)


@app.command("qmp")
def qmp_cmd(
    file: Annotated[str, typer.Argument(help="file of QMP commands (JSON lines or one "
                                             "JSON array); '-' reads standard input")] = "-",
    qemu: Annotated[str, typer.Option("--qemu", help=_QEMU_HELP)] = DEFAULT_VERSION,
    incoming: Annotated[bool, typer.Option(
        help="behave as a destination started with -incoming")] = False,
    no_userfaultfd: Annotated[bool, typer.Option(
        "--no-userfaultfd", help="the host lacks userfaultfd (postcopy unsupported)")] = False,
) -> None:
    """Answer QMP commands as QEMU VERSION would, one reply per line.

    State carries over between commands as in one QEMU process. A session that does not
    start with qmp_capabilities is taken as already negotiated.
    """
    try:
        text = read_stdin(what="QMP input") if file == "-" else \
            read_text(file, what="QMP input")
        mon = QmpMonitor(qemu, HostSupport(userfaultfd=not no_userfaultfd), incoming=incoming)
    except MiglabError as err:
        raise _fail(str(err)) from err
    if isinstance(requests := _json_array(text), list):
        for request in requests:
            typer.echo(dumps_json(mon.execute(request)))
        return
    for line in text.split("\n"):  # only newline ends a request (not U+2028 or \v)
        if line.strip():
            typer.echo(dumps_json(mon.execute_text(line)))


def _json_array(text: str) -> list[object] | None:
    """The commands of a QMP input written as one JSON array, else ``None`` (JSON lines,
    where a line may itself start with ``[``)."""
    stripped = text.strip()
    if not stripped.startswith("["):
        return None
    try:
        value = loads_json(stripped, "QMP input")
    except MiglabError:
        return None
    return value if isinstance(value, list) else None


@app.command("simulate")
def simulate_cmd(
    file: Annotated[Path, typer.Argument(help="scenario file (YAML or JSON)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    timeline: Annotated[Path | None, typer.Option(
        help="write the per-window timeline to this CSV file")] = None,
    seed: Annotated[int | None, typer.Option(
        help="the seed recorded in the result (the engine is deterministic)")] = None,
    explain: Annotated[bool, typer.Option(
        "--explain/--no-explain",
        help="for a run that does not converge, name the cause and find the smallest "
             "change of each lever that converges (a few dozen more simulations)")] = True,
) -> None:
    """Predict one migration: converged or not, total time, downtime, data sent.

    A run that does not converge is followed by why (the mechanism the engine saw, with its
    numbers) and the smallest single change that converges, each with its predicted total
    time and downtime (sim.diagnosis).
    """
    from sim.diagnosis import diagnose
    from sim.engine import simulate
    from sim.summary import describe

    check_int(seed, "--seed", 0, 2**32 - 1)
    try:
        scenario = load_scenario(file)
        result = simulate(scenario, seed=seed)
    except MiglabError as err:
        raise _fail(str(err)) from err
    if timeline is not None:
        try:
            result.timeline_frame().to_csv(timeline, index=False)
        except OSError as err:
            raise _fail(f"--timeline {timeline}: cannot write it: {err}") from err
    diagnosis = None
    if explain and not result.converged:
        try:
            diagnosis = diagnose(scenario, result)
        except MiglabError as err:  # the prediction stands; say why there is no "why"
            typer.echo(f"miglab: no diagnosis: {err}", err=True)
    if as_json:
        data = result.to_dict()
        if diagnosis is not None:
            data["diagnosis"] = diagnosis.to_dict()
        typer.echo(json_text(data))
    else:
        typer.echo(describe(scenario, result, diagnosis))


@app.command("schema")
def schema_cmd(
    kind: Annotated[str, typer.Argument(help="scenario, inventory, policy or result")],
) -> None:
    """Print the JSON Schema of a file miglab reads or writes (generated from its models)."""
    from sim.schema import KINDS, schema_text

    if kind not in KINDS:
        raise _fail(f"schema {kind!r}: expected one of {', '.join(KINDS)}")
    typer.echo(schema_text(kind), nl=False)


@app.command("serve")
def serve_cmd(
    port: Annotated[int, typer.Option(help="port on 127.0.0.1")] = 8501,
) -> None:
    """Start the dashboard (streamlit) on 127.0.0.1."""
    import subprocess

    from sim._serve import APP_PY, streamlit_argv

    typer.echo(f"miglab dashboard on http://127.0.0.1:{port} (Ctrl-C stops it)")
    raise typer.Exit(subprocess.call(streamlit_argv(APP_PY, port)))


def _register_subcommands() -> None:
    """Commands implemented next to the modules they drive."""
    from sim import cli_export, cli_lab, cli_plan

    app.command("sweep")(cli_plan.sweep_cmd)
    app.command("drain")(cli_plan.drain_cmd)
    app.command("recommend")(cli_plan.recommend_cmd)
    app.command("export")(cli_export.export_cmd)
    app.command("import")(cli_export.import_cmd)
    app.command("report")(cli_export.report_cmd)
    app.add_typer(cli_lab.lab_app, name="lab")


_register_subcommands()


def main() -> None:
    """Entry point of the ``miglab`` console script.

    A file that cannot be read or written ends the command with ``miglab: …`` and status 1,
    never a traceback.
    """
    try:
        app()
    except OSError as err:
        typer.echo(f"miglab: {err}", err=True)
        raise SystemExit(1) from err

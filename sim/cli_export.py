"""``miglab export``, ``miglab import`` and ``miglab report``: the command-line doors to
:mod:`sim.export`, :mod:`sim.imports` and :mod:`sim.report`.

Each command reads its input, makes one library call and writes the outcome; anything a
user can cause is one ``miglab: …`` line on stderr and exit status 1.

    miglab export web.yaml --to virsh                 # the command line, gaps on stderr
    miglab export web.yaml --to qmp --out qmp/        # destination.jsonl + source.jsonl
    miglab import virsh.sh --from virsh --base web.yaml --out from-virsh.yaml
    miglab import --from virsh "virsh migrate --live --bandwidth 500 vm1 qemu+ssh://b/system"
    miglab import --from qmp qmp.log --qemu 7.2       # replayed as QEMU 7.2 would answer
    miglab report web.yaml --out report.html --pdf    # HTML with plotly inside, then PDF

``sim.cli`` registers the three functions as subcommands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from sim._bounded import read_stdin, read_text
from sim._cliutil import fail as _fail
from sim._cliutil import json_text
from sim._exceptions import MiglabError
from sim.export import FORMATS, ExportOptions, export
from sim.imports import IMPORTERS, TEXT_STARTS, import_text, looks_like
from sim.scenario import load_scenario, read_scenario_file

__all__ = ["export_cmd", "import_cmd", "report_cmd"]



def _check_out(out: Path) -> None:
    """Refuse an ``--out`` whose parent directory does not exist (nothing is created above
    it: a typo in the path must not scatter new directories)."""
    parent = out.parent
    if not parent.is_dir():
        raise _fail(f"--out {out}: directory {parent} does not exist; create it first or "
                    "give a path in an existing directory")


def _write_files(files: dict[str, str], out: Path) -> list[Path]:
    """One file: write it to ``out``; several: ``out`` is a directory holding each (created
    when missing, inside an existing parent)."""
    _check_out(out)
    if len(files) == 1:
        out.write_text(next(iter(files.values())), encoding="utf-8")
        return [out]
    out.mkdir(exist_ok=True)
    written = []
    for name, body in files.items():
        (out / name).write_text(body, encoding="utf-8")
        written.append(out / name)
    return written


def export_cmd(
    scenario: Annotated[Path, typer.Argument(help="scenario file (YAML or JSON), e.g. a "
                                                  "recommendation saved by miglab recommend")],
    to: Annotated[str, typer.Option("--to", help="target: " + ", ".join(FORMATS))],
    out: Annotated[Path | None, typer.Option(
        help="write here instead of printing; a directory when the target has several "
             "files (QMP/HMP: destination + source)")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="print {format, files, gaps} as JSON")] = False,
    domain: Annotated[str | None, typer.Option(
        help="libvirt domain / VM name (default: the scenario's name)")] = None,
    dest_host: Annotated[str, typer.Option(help="destination host for URIs")] = "dest-host",
    port: Annotated[int, typer.Option(help="migration port on the destination (1-65535)")
                    ] = 4444,
    vmid: Annotated[int, typer.Option(help="Proxmox VM id (100-999999999)")] = 100,
) -> None:
    """Render a scenario's migration settings for QMP, HMP, virsh, KubeVirt, Nova, Proxmox
    or oVirt.

    Values are converted to the target's own units (virsh MiB/s, Nova ms with its minimums,
    Proxmox seconds, KubeVirt quantities). What the target cannot express is listed as
    "gap" lines on stderr (and as comments inside the files that allow comments), each
    with the closest value used.
    """
    try:
        sc = load_scenario(scenario)
        result = export(sc, to, ExportOptions(domain=domain, dest_host=dest_host, port=port,
                                              vmid=vmid))
    except MiglabError as err:
        raise _fail(str(err)) from err
    if as_json:
        typer.echo(json_text(result.as_dict()))
        return
    if out is not None:
        try:
            written = _write_files(result.files, out)
        except OSError as err:
            raise _fail(f"--out {err.filename or out}: {err.strerror}") from err
        for path in written:
            typer.echo(f"wrote {path}", err=True)
    else:
        typer.echo(result.text, nl=False)
    for gap in result.gaps:
        typer.echo(f"gap: {gap}", err=True)


def import_cmd(
    source: Annotated[str, typer.Argument(
        help="file to read, '-' for standard input, or the text itself (a line starting "
             "with 'virsh', QMP JSON starting with '{'): a QMP log or "
             "query-migrate-parameters output, virsh migrate command lines, or KubeVirt YAML")],
    fmt: Annotated[str, typer.Option("--from", help="input format: " + ", ".join(IMPORTERS))],
    base: Annotated[Path | None, typer.Option(
        help="scenario that supplies vm, workload and host (the import lays parameters, "
             "capabilities and control over it)")] = None,
    out: Annotated[Path | None, typer.Option(help="write the scenario YAML here")] = None,
    qemu: Annotated[str | None, typer.Option(
        help="QEMU release a QMP log is replayed as (default: the log's query-version, "
             "else the base's qemu)")] = None,
) -> None:
    """Turn the migration settings you run today into a miglab scenario.

    Without --base the scenario lacks vm and workload; add them before simulating. A QMP log
    is replayed through miglab's QMP emulator, so what QEMU would refuse is not imported.
    Anything that could not be mapped, and every refused command, is listed as "note" lines
    on stderr.
    """
    if out is not None:
        _check_out(out)
    try:
        text = _import_source(source, fmt)
        base_data = read_scenario_file(base) if base is not None else None
        notes: list[str] = []
        data = import_text(text, fmt, base_data, notes=notes, qemu=qemu)
    except OSError as err:
        raise _fail(f"{source}: {err.strerror}") from err
    except MiglabError as err:
        raise _fail(str(err)) from err
    body = yaml.safe_dump(data, sort_keys=False)
    if out is not None:
        try:
            out.write_text(body, encoding="utf-8")
        except OSError as err:
            raise _fail(f"--out {out}: {err.strerror}") from err
        typer.echo(f"wrote {out}", err=True)
    else:
        typer.echo(body, nl=False)
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    if base is None:
        typer.echo("note: no --base given: add vm (memory) and workload before simulating",
                   err=True)


def _import_source(source: str, fmt: str) -> str:
    """The text to import: standard input for ``-``, an existing file's content, or
    ``source`` itself when it is no file and reads as ``fmt`` (``virsh migrate …``)."""
    if fmt not in IMPORTERS:
        raise _fail(f"--from {fmt!r}: unknown import format; expected one of "
                    + ", ".join(IMPORTERS))
    try:
        if source == "-":
            return read_stdin(what=f"{fmt} input")
        path = Path(source)
        if path.exists():
            return read_text(path, what=f"{fmt} input")
    except MiglabError as err:
        raise _fail(str(err)) from None
    if looks_like(source, fmt):
        return source
    starts = " or ".join(repr(s.strip()) for s in TEXT_STARTS[fmt])
    raise _fail(f"{source}: no such file, and not {fmt} text either ({fmt} text starts "
                f"with {starts}); give a file, '-' for standard input, or the text itself")


def _load_report_input(path: Path, scenario: Path | None) -> tuple[Any, Any]:
    """(scenario, result) from a scenario file or a saved ``simulate --json`` result."""
    from sim.report import result_from_dict

    data = read_scenario_file(path)
    if "status" in data and "ram" in data:
        sc = load_scenario(scenario) if scenario is not None else None
        return sc, result_from_dict(data)
    from sim.engine import simulate

    sc = load_scenario(data)
    return sc, simulate(sc)


def _recommendation_sections(sc: Any, result: Any, max_downtime: str | None,
                             max_total: str | None) -> dict[str, Any]:
    """Run a recommendation for the report: the recommended scenario, its reasons, and the
    current and recommended runs overlaid."""
    from sim.engine import simulate
    from sim.recommend import Constraints, recommend
    from sim.units import parse_duration

    cons = Constraints(
        max_downtime_ms=None if max_downtime is None else
        parse_duration(max_downtime, field="--max-downtime") * 1000.0,
        max_total_s=None if max_total is None else
        parse_duration(max_total, field="--max-total"))
    rec = recommend(sc, cons, workers=1)
    recommended = rec.scenario()
    label = "recommended" if rec.feasible else "closest (budget impossible)"
    return {"recommendation": recommended, "reasons": rec.reasons,
            "comparison": {"current": result, label: simulate(recommended)}}


def report_cmd(
    source: Annotated[Path, typer.Argument(
        help="scenario file (simulated now) or a result saved by 'miglab simulate --json'")],
    out: Annotated[Path, typer.Option(help="HTML file to write")] = Path("report.html"),
    pdf: Annotated[bool, typer.Option(
        "--pdf", help="also print it to PDF (next to the HTML) with headless Chromium")] = False,
    scenario: Annotated[Path | None, typer.Option(
        help="the scenario of a saved result (for its settings and exports)")] = None,
    title: Annotated[str | None, typer.Option(help="report title")] = None,
    max_downtime: Annotated[str | None, typer.Option(
        help="add a recommendation under this downtime budget, e.g. 500ms")] = None,
    max_total: Annotated[str | None, typer.Option(
        help="add a recommendation under this total-time budget, e.g. 2min")] = None,
) -> None:
    """Write a self-contained HTML report (plotly embedded, works offline): the scenario,
    the verdict, the timeline plots and every export with its gaps; --pdf prints it with
    Debian's chromium.
    """
    from sim.report import render_html, write_pdf

    _check_out(out)
    try:
        sc, result = _load_report_input(source, scenario)
        extra: dict[str, Any] = {}
        if sc is not None and (max_downtime is not None or max_total is not None):
            extra = _recommendation_sections(sc, result, max_downtime, max_total)
        html = render_html(sc, result, title=title, **extra)
        out.write_text(html, encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)
        if pdf:
            pdf_path = write_pdf(out, out.with_suffix(".pdf"))
            typer.echo(f"wrote {pdf_path}", err=True)
    except OSError as err:
        raise _fail(f"{err.filename or source}: {err.strerror}") from err
    except MiglabError as err:
        raise _fail(str(err)) from err

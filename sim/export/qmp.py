"""QMP: ``migrate-set-capabilities`` and ``migrate-set-parameters`` as JSON lines, source and
destination."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim._bounded import dumps_json
from sim.export._base import (
    DEST_ONLY_CAPABILITIES,
    DEST_PARAMETERS,
    Export,
    ExportOptions,
    GapCollector,
    enabled_capabilities,
    given_parameters,
    note_control_gaps,
    postcopy_words,
)
from sim.qemu.catalog import CAPABILITIES
from sim.scenario import Scenario

# ------------------------------------------------------------------------- QMP


def _qmp_line(command: str, arguments: Mapping[str, Any] | None = None) -> str:
    request: dict[str, Any] = {"execute": command}
    if arguments:
        request["arguments"] = dict(arguments)
    return dumps_json(request)


def destination_capabilities(sc: Scenario) -> list[str]:
    return [n for n in enabled_capabilities(sc)
            if CAPABILITIES[n].both_sides or n in DEST_ONLY_CAPABILITIES]


def _level_gaps(sc: Scenario, gaps: GapCollector, params: Mapping[str, object]) -> None:
    if sc.qemu.multifd_levels_over_qmp:
        return
    for name in ("multifd-zlib-level", "multifd-zstd-level"):
        if name in params:
            gaps.add(f"parameters.{name}", str(params[name]),
                     f"QEMU {sc.qemu.name} accepts it over the monitor but ignores it; "
                     f"start both QEMUs with -global migration.{name}={params[name]}")


def note_monitor_gaps(sc: Scenario, gaps: GapCollector, params: Mapping[str, object],
                      what: str) -> None:
    _level_gaps(sc, gaps, params)
    ctl = sc.control
    if ctl.postcopy_after is not None:
        after = ctl.postcopy_after
        when = (f"once query-migrate shows ram.dirty-sync-count ≥ {after.passes + 1}"
                if after.passes is not None else f"{after.seconds:g} s after migrate")
        gaps.add("control.postcopy-after", postcopy_words(sc),
                 f"{what} has no trigger; the last line starts postcopy and must be sent {when}")
    note_control_gaps(sc, gaps, what, postcopy=False)


def render_qmp(sc: Scenario, opts: ExportOptions) -> Export:
    """QMP JSON lines for the destination (``-incoming defer``) and the source."""
    gaps = GapCollector()
    params = given_parameters(sc)
    dest_params = {k: v for k, v in params.items() if k in DEST_PARAMETERS}
    listen = opts.listen_uri or f"tcp:0.0.0.0:{opts.port}"
    uri = opts.uri or f"tcp:{opts.dest_host}:{opts.port}"

    def side(caps: list[str], values: Mapping[str, object], last: list[str]) -> str:
        lines = [_qmp_line("qmp_capabilities")]
        if caps:
            lines.append(_qmp_line("migrate-set-capabilities", {"capabilities": [
                {"capability": c, "state": True} for c in caps]}))
        if values:
            lines.append(_qmp_line("migrate-set-parameters", values))
        return "\n".join(lines + last) + "\n"

    source_last = [_qmp_line("migrate", {"uri": uri})]
    if sc.control.postcopy_after is not None:
        source_last.append(_qmp_line("migrate-start-postcopy"))
    if "block-bitmap-mapping" in params:
        gaps.add("parameters.block-bitmap-mapping", "set", "sent as given; it must name "
                 "the destination's nodes too")
    note_monitor_gaps(sc, gaps, params, "QMP")
    files = {
        "destination.jsonl": side(destination_capabilities(sc), dest_params,
                                  [_qmp_line("migrate-incoming", {"uri": listen})]),
        "source.jsonl": side(enabled_capabilities(sc), params, source_last),
    }
    return Export("qmp", files, tuple(gaps.items))

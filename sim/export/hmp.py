"""HMP: the human monitor's ``migrate_set_parameter`` and ``migrate_set_capability`` lines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from sim.export._base import (
    DEST_PARAMETERS,
    Export,
    ExportOptions,
    GapCollector,
    enabled_capabilities,
    given_parameters,
)
from sim.export.qmp import (
    destination_capabilities,
    note_monitor_gaps,
)
from sim.qemu.catalog import PARAMETERS
from sim.scenario import Scenario
from sim.units import GiB, KiB, MiB

# ------------------------------------------------------------------------- HMP

_HMP_SIZE_UNITS: Final = ("bytes", "bytes/s")


def hmp_value(name: str, value: object) -> str:
    """A parameter value as ``migrate_set_parameter`` reads it.

    Sizes and rates get an explicit suffix (HMP reads a bare ``max-bandwidth`` as MiB/s,
    other sizes as bytes); booleans are ``on``/``off``; the rest is written plainly.

    >>> hmp_value("max-bandwidth", 134217728), hmp_value("xbzrle-cache-size", 4097)
    ('128M', '4097B')
    """
    if isinstance(value, bool):
        return "on" if value else "off"
    if PARAMETERS[name].unit in _HMP_SIZE_UNITS and isinstance(value, int) and value:
        for suffix, mult in (("G", GiB), ("M", MiB), ("K", KiB)):
            if value % mult == 0:
                return f"{value // mult}{suffix}"
        return f"{value}B"
    return str(value)


def render_hmp(sc: Scenario, opts: ExportOptions) -> Export:
    """HMP monitor lines (``migrate_set_capability``, ``migrate_set_parameter``, …)."""
    gaps = GapCollector()
    params = given_parameters(sc)
    if "block-bitmap-mapping" in params:
        gaps.add("parameters.block-bitmap-mapping", "set", "HMP refuses it ('can only be set "
                 "through QMP'); send it with QMP")
        params.pop("block-bitmap-mapping")
    listen = opts.listen_uri or f"tcp:0.0.0.0:{opts.port}"
    uri = opts.uri or f"tcp:{opts.dest_host}:{opts.port}"

    def side(caps: list[str], values: Mapping[str, object], last: list[str]) -> str:
        lines = [f"migrate_set_capability {c} on" for c in caps]
        lines += [f"migrate_set_parameter {k} {hmp_value(k, v)}" for k, v in values.items()
                  if v is not None]
        return "\n".join(lines + last) + "\n"

    last = [f"migrate -d {uri}"]
    if sc.control.postcopy_after is not None:
        last.append("migrate_start_postcopy")
    note_monitor_gaps(sc, gaps, params, "HMP")
    files = {
        "destination.hmp": side(destination_capabilities(sc),
                                {k: v for k, v in params.items() if k in DEST_PARAMETERS},
                                [f"migrate_incoming {listen}"]),
        "source.hmp": side(enabled_capabilities(sc), params, last),
    }
    return Export("hmp", files, tuple(gaps.items))

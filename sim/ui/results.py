"""A run's outcome for the dashboard: the verdict row, the actions table, the downloads.

:func:`result_metrics` is the scoreboard (converged, total time, downtime, data sent, peak
throttle, guest cost), :func:`actions_frame` the log of what the policy and the operator
did, and :func:`export_downloads` the files of an export, each named for its format, zipped
together when there are several.

    >>> export_file_name("qmp", "source.jsonl")
    'source.qmp.jsonl'
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sim.result import Result
from sim.units import format_action_value, format_duration, format_size

__all__ = [
    "Download",
    "Metric",
    "actions_frame",
    "export_downloads",
    "export_file_name",
    "result_metrics",
]


@dataclass(frozen=True)
class Metric:
    """One figure of the verdict row: label, shown value, and a tooltip."""

    label: str
    value: str
    help: str = ""


def result_metrics(result: Result, vcpus: int = 1) -> list[Metric]:
    """The verdict at a glance: converged, total time, downtime, data sent, throttle, cost."""
    guest = result.guest
    if guest.postcopy_faults or guest.postcopy_blocktime_ms:
        cost = Metric("guest cost", f"{guest.postcopy_blocktime_ms:.0f} ms blocked",
                      f"{guest.postcopy_faults} postcopy faults; exposure "
                      f"{format_duration(guest.exposure_s)}")
    else:
        cost = Metric("guest cost", f"{guest.throttle_cpu_s:.1f} vCPU·s",
                      f"vCPU time taken by throttling over {vcpus} vCPU(s), during "
                      f"{format_duration(guest.throttle_seconds)}")
    return [
        Metric("converged", "yes" if result.converged else "no",
               f"QEMU status: {result.status}" + (f"; {result.reason}" if result.reason else "")),
        Metric("total time", format_duration(result.total_time_ms / 1000),
               "from the migrate command to the end (query-migrate total-time)"),
        Metric("downtime", f"{result.downtime_ms:.0f} ms" if result.converged else "—",
               "the guest's pause at switchover"),
        Metric("data sent", format_size(result.ram.transferred),
               f"{result.ram.dirty_sync_count} dirty-bitmap syncs"),
        Metric("peak throttle", f"{guest.throttle_peak_pct:.0f} %", "auto-converge's highest"),
        cost,
    ]


def actions_frame(result: Result) -> Any:
    """The policy's and operator's actions as a table for people (time and value in units)."""
    import pandas as pd

    rows = []
    for a in result.actions:
        rows.append({"time": format_duration(a.time_s), "actor": a.actor, "action": a.action,
                     "value": format_action_value(a.action, a.value), "reason": a.reason})
    return pd.DataFrame(rows, columns=["time", "actor", "action", "value", "reason"])


@dataclass(frozen=True)
class Download:
    """One file the dashboard offers for download: its name, content and MIME type."""

    file_name: str
    data: bytes
    mime: str


_MIMES: Final = {".jsonl": "application/jsonl", ".json": "application/json",
                 ".yaml": "application/yaml", ".sh": "text/x-shellscript",
                 ".zip": "application/zip"}


def export_file_name(fmt: str, name: str) -> str:
    """An export file's download name, its format before the extension so that files of
    several formats do not collide: ``source.jsonl`` of ``qmp`` → ``source.qmp.jsonl``.

        >>> export_file_name("qmp", "source.jsonl"), export_file_name("nova", "nova.conf")
        ('source.qmp.jsonl', 'nova.conf')
    """
    stem, dot, ext = name.rpartition(".")
    if not dot:
        return f"{name}.{fmt}"
    if fmt in (stem, ext) or stem.startswith(f"{fmt}.") or fmt in stem.split("-"):
        return name
    return f"{stem}.{fmt}.{ext}"


def export_downloads(fmt: str, files: Mapping[str, str], scenario_name: str
                     ) -> list[Download]:
    """The downloads of one export: each file on its own (valid for its own format, no
    headers glued in), then, when there are several, all of them as one zip."""
    import zipfile

    out = []
    for name, body in files.items():
        file_name = export_file_name(fmt, name)
        ext = "." + file_name.rpartition(".")[2]
        out.append(Download(file_name, body.encode("utf-8"), _MIMES.get(ext, "text/plain")))
    if len(files) > 1:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for d in out:
                zf.writestr(d.file_name, d.data)
        out.append(Download(f"{scenario_name}-{fmt}.zip", buf.getvalue(), _MIMES[".zip"]))
    return out

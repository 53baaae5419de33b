"""Uploads: scenario files, dirty-rate measurements and drain inventories, read safely.

Every upload passes the same gate: at most :data:`MAX_UPLOAD_BYTES`, UTF-8, and parsed by
:mod:`sim._bounded` (safe, capped YAML and strict JSON). A bad upload raises
:class:`~sim.ScenarioError` naming it and what is accepted, and changes nothing.

    >>> parse_dirty_measurement('{"return": {"dirty-rate": 120}}', 8 << 30)
    {'dirty-rate': '120MiB/s'}
"""

from __future__ import annotations

import copy
import csv
import io
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

from sim._bounded import decode_utf8, load_yaml, loads_json
from sim._exceptions import ScenarioError, UnitError
from sim.scenario import parse_scenario_text
from sim.ui._shared import cell_text
from sim.units import parse_size

__all__ = [
    "MAX_UPLOAD_BYTES",
    "inventory_mapping",
    "parse_dirty_measurement",
    "parse_inventory_upload",
    "parse_upload",
]

MAX_UPLOAD_BYTES: Final = 1 << 20
"""Largest upload accepted (scenario file, dirty-rate measurement, inventory): 1 MiB."""


def _check_size(data: bytes, name: str) -> str:
    if len(data) > MAX_UPLOAD_BYTES:
        raise ScenarioError(f"{name}: {len(data)} bytes is larger than the "
                            f"{MAX_UPLOAD_BYTES} accepted")
    return decode_utf8(data, name, error=ScenarioError)


def parse_upload(data: bytes, name: str = "upload") -> dict[str, Any]:
    """Read an uploaded scenario file (YAML or JSON) safely; size-limited, no validation.

    Raises:
        ScenarioError: too large, not UTF-8, not YAML/JSON or not a mapping.
    """
    return parse_scenario_text(_check_size(data, name), name)


def parse_dirty_measurement(data: bytes | str, memory_bytes: int,
                            name: str = "measurement") -> dict[str, Any]:
    """Read a pasted or uploaded dirty-rate measurement into workload fields.

    Accepted forms:

    - QMP ``query-dirty-rate`` reply (``{"return": {"dirty-rate": 120, …}}`` or the inner
      object): ``dirty-rate`` is in MB/s as QEMU reports it → ``{"dirty-rate": "120MiB/s"}``.
    - ``virsh domstats --dirtyrate`` lines (``dirtyrate.megabytes_per_second=120``).
    - A curve: two columns per line (CSV or spaces), seconds since clean and either the
      fraction of RAM dirtied (0-1) or bytes dirtied (a size such as ``512MiB``)
      → ``{"dirty-curve": [[t, fraction], …]}``.

    Raises:
        ScenarioError: too large, or none of the forms above.
    """
    text = _check_size(data if isinstance(data, bytes) else data.encode("utf-8"), name)
    stripped = text.strip()
    if not stripped:
        raise ScenarioError(f"{name}: empty")
    if stripped.startswith("{"):
        obj = loads_json(stripped, name, error=ScenarioError)
        inner = obj.get("return", obj) if isinstance(obj, dict) else None
        rate = inner.get("dirty-rate") if isinstance(inner, dict) else None
        if isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate >= 0:
            return {"dirty-rate": f"{rate:g}MiB/s"}
        raise ScenarioError(f"{name}: a JSON measurement needs a numeric 'dirty-rate' "
                            "(MB/s), as query-dirty-rate returns")
    virsh = re.search(r"dirtyrate\.megabytes_per_second\s*=\s*([0-9.]+)", stripped)
    if virsh:
        return {"dirty-rate": f"{float(virsh.group(1)):g}MiB/s"}
    points: list[list[float]] = []
    rows = csv.reader(io.StringIO(stripped.replace("\t", ","), newline=""),
                      skipinitialspace=True)
    for lineno, row in enumerate(_csv_rows(rows, name), 1):
        cells = [c for cell in row for c in cell.split()] if len(row) < 2 else row
        cells = [c.strip() for c in cells if c.strip()]
        if not cells or cells[0].startswith("#"):
            continue
        if len(cells) != 2:
            raise ScenarioError(f"{name}, line {lineno}: expected two columns (seconds, "
                                f"fraction or bytes dirtied); got {row!r}")
        try:
            t = float(cells[0])
        except ValueError:
            if lineno == 1:
                continue  # a header
            raise ScenarioError(f"{name}, line {lineno}: {cells[0]!r} is not a number of "
                                "seconds") from None
        points.append([t, _fraction(cells[1], memory_bytes, name, lineno)])
        if len(points) > 10_000:
            raise ScenarioError(f"{name}: more than 10000 points")
    if not points:
        raise ScenarioError(f"{name}: no measurement found; paste a query-dirty-rate reply, "
                            "virsh domstats --dirtyrate output, or 'seconds,fraction' lines")
    return {"dirty-curve": points}


def _csv_rows(rows: Iterator[list[str]], name: str) -> Iterator[list[str]]:
    """``rows``, with the csv module's error as a ScenarioError naming the upload."""
    try:
        yield from rows
    except csv.Error as err:
        raise ScenarioError(f"{name}: not readable as columns: {err}") from None


def _fraction(cell: str, memory_bytes: int, name: str, lineno: int) -> float:
    try:
        value = float(cell)
        if math.isfinite(value) and 0 <= value <= 1:
            return value
    except ValueError:
        pass
    try:
        return parse_size(cell) / memory_bytes
    except UnitError:
        raise ScenarioError(f"{name}, line {lineno}: {cell!r} is neither a fraction 0-1 nor "
                            "a size such as 512MiB") from None


def parse_inventory_upload(data: bytes, name: str = "inventory"
                           ) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """Read an uploaded inventory (CSV or YAML) into editable rows and shared defaults.

    YAML hosts' links go into each row's ``link``; ``overrides`` become dotted columns.

    Raises:
        ScenarioError: too large, not UTF-8, unreadable, or without VMs.
    """
    text = _check_size(data, name)
    if name.lower().endswith(".csv"):
        try:
            rows = [{str(k).strip(): (v or "").strip() for k, v in r.items() if k is not None}
                    for r in csv.DictReader(io.StringIO(text, newline=""))]
        except csv.Error as err:
            raise ScenarioError(f"{name}: not a readable CSV file: {err}") from None
        if not rows or "name" not in rows[0] or "host" not in rows[0]:
            raise ScenarioError(f"{name}: a CSV inventory needs a header with at least "
                                "name, host, memory and one row per VM")
        return rows, {}
    loaded = load_yaml(text, name, error=ScenarioError)
    if not isinstance(loaded, dict) or not isinstance(loaded.get("vms"), list) \
            or not loaded["vms"]:
        raise ScenarioError(f"{name}: an inventory is a mapping with a non-empty 'vms' list "
                            "(and optional defaults, hosts), or a CSV file")
    hosts = loaded.get("hosts") if isinstance(loaded.get("hosts"), dict) else {}
    raw_defaults = loaded.get("defaults")
    defaults: dict[str, Any] = raw_defaults if isinstance(raw_defaults, dict) else {}
    out: list[dict[str, str]] = []
    for i, vm in enumerate(loaded["vms"]):
        if not isinstance(vm, dict):
            raise ScenarioError(f"{name}: VM #{i + 1} must be a mapping")
        row = {str(k): cell_text(v) for k, v in vm.items()
               if k != "overrides" and not isinstance(v, (dict, list))}
        overrides = vm.get("overrides")
        if isinstance(overrides, dict):
            row.update({str(k): cell_text(v) for k, v in overrides.items()})
        link = (hosts.get(row.get("host", "")) or {}) if isinstance(hosts, dict) else {}
        if isinstance(link, dict) and link.get("link") is not None and not row.get("link"):
            row["link"] = str(link["link"])
        out.append(row)
    return out, dict(defaults)


def inventory_mapping(rows: Sequence[Mapping[str, object]], defaults: Mapping[str, Any],
                      name: str = "inventory") -> dict[str, Any]:
    """The edited rows as the mapping :func:`sim.fleet.load_inventory` reads; cells are read
    as a CSV inventory's are (:func:`sim.sweep.read_scalar`)."""
    from sim.sweep import read_scalar

    vms = []
    for row in rows:
        vm = {str(k): read_scalar(cell_text(v)) for k, v in row.items() if cell_text(v)}
        for key in ("name", "host"):
            if key in vm:
                vm[key] = str(vm[key])
        if vm:
            vms.append(vm)
    return {"name": name, "defaults": copy.deepcopy(dict(defaults)), "vms": vms}

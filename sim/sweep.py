"""Sweeps: one base scenario, many variants, one tidy table.

A sweep is a wind tunnel session: the model (the base scenario) stays bolted down while
the operator turns a few dials (the axes) through their settings, and every combination is
run and logged as one row. Axes name any scenario field with the dotted paths of
:meth:`sim.scenario.Scenario.with_changes` (a bare parameter name means
``parameters.<name>``) and take values as a list, a linear or log range, or seeded random
draws. Every point is validated by the scenario loader, so a point QEMU would refuse
becomes a row with ``valid=False`` and QEMU's message, not a crash.

Points run in chunks on an executor: a local process pool by default, any
:class:`concurrent.futures.Executor` you pass, or a Dask cluster (``scheduler=
"tcp://host:8786"`` uses ``Client(address).get_executor()``). Rows come back in point
order and carry their inputs and the :meth:`sim.result.Result.summary` outputs, so the
table is the same whichever executor ran it::

    from sim.scenario import load_scenario
    from sim.sweep import parse_axis, run_sweep, save_table

    base = load_scenario("data/examples/web-8g.yaml")
    axes = [parse_axis("downtime-limit=50:2000:log8"),
            parse_axis("host.link=1Gbit/s,10Gbit/s,25Gbit/s")]
    if __name__ == "__main__":          # process pools re-import the main module
        table = run_sweep(base, axes, seed=1)
        save_table(table, "sweep.parquet")
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, cast

import numpy as np
from pydantic import BaseModel, BeforeValidator, Field, ValidationError
from pydantic_core import PydanticCustomError

from sim._exceptions import AxisError, InvalidScenarioError, SweepError, UnitError
from sim._modelkit import FileModel, fail, problems_from
from sim.models import UNIT_PATHS, Host, Workload
from sim.qemu.catalog import PARAMETERS
from sim.scenario import MigrationParameters, Scenario, load_scenario, set_path
from sim.units import parse_duration, parse_rate, parse_size

if TYPE_CHECKING:
    import pandas as pd

    from sim.result import Result

__all__ = [
    "OUTPUT_COLUMNS",
    "Axis",
    "AxisError",
    "Progress",
    "Runner",
    "SweepError",
    "check_axes",
    "expand",
    "fast_variant",
    "parse_axis",
    "read_scalar",
    "run_points",
    "run_sweep",
    "save_table",
]

Progress = Callable[[int, int], None]
"""``progress(done, total)``: called in the calling process as chunks finish."""

Runner = Callable[[Scenario, int | None], "Result"]
"""``runner(scenario, seed) -> Result``; the default is the engine with ``timeline=False``.
Must be a module-level function when a process pool or Dask runs it (it is pickled)."""

OUTPUT_COLUMNS: Final = (
    "valid", "error", "seed", "status", "converged", "total_time_s", "downtime_ms",
    "transferred_bytes", "dirty_sync_count", "throttle_peak_pct", "throttle_cpu_s",
    "postcopy_blocktime_ms", "exposure_s", "expected_downtime_ms",
)
"""Columns every sweep table has after its input columns (``point`` comes first)."""

_ACCEPTED: Final = ("NAME=a,b,c (a list), NAME=lo:hi:N (N linear steps), NAME=lo:hi:logN "
                    "(N log-spaced steps), NAME=lo:hi:randN (N seeded uniform draws); NAME "
                    "is a dotted scenario path such as host.link or a bare parameter name "
                    "such as downtime-limit; values may carry units (1Gbit/s, 8GiB, 300ms)")

MAX_AXIS_VALUES: Final = 10_000
"""Most values on one axis (a range's step count or a list's length)."""
MAX_SWEEP_POINTS: Final = 1_000_000
"""Most scenarios in one sweep: ~20 min of the engine on 2 cores at ~1 ms each."""
MAX_WORKERS: Final = 256
"""Most local worker processes (each holds a Python interpreter, ~100 MiB)."""
_RANGE_RE: Final = re.compile(r"^(?P<lo>[^:]+):(?P<hi>[^:]+):(?P<kind>log|rand)?(?P<n>\d+)$")
_NUM_UNIT_RE: Final = re.compile(
    r"^\s*(?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>[^\d\s].*)?$")

_UNIT_PARSERS: Final[dict[str, tuple[Callable[..., float], str]]] = {
    "size": (parse_size, "bytes"), "rate": (parse_rate, "Bps"),
    "duration": (parse_duration, "s")}
#: Fields that take units, with the parser and the suffix of their numeric column.
_UNIT_FIELDS: Final = {path: _UNIT_PARSERS[unit] for path, unit in UNIT_PATHS.items()}
_INT_QAPI: Final = ("size", "uint8", "uint32", "uint64", "int")
_INT_FIELDS: Final = ("vm.vcpus", "seed")


def full_path(name: str) -> str:
    """``"downtime-limit"`` → ``"parameters.downtime-limit"``; dotted paths unchanged."""
    return f"parameters.{name}" if "." not in name and name in PARAMETERS else name


def _axis_path(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
        fail(f"is not a scenario path; expected {_ACCEPTED}")
    return full_path(value)


def _axis_values(value: object) -> tuple[Any, ...]:
    if not isinstance(value, list | tuple) or not value:
        fail(f"has no values; expected {_ACCEPTED}")
    if len(value) > MAX_AXIS_VALUES:
        fail(f"has {len(value)} values; at most {MAX_AXIS_VALUES} per axis")
    return tuple(value)


class Axis(FileModel):
    """One dial of a sweep: ``Axis("downtime-limit", (100, 300))`` or from
    :func:`parse_axis`; a bare parameter name becomes its ``parameters.`` path.

    Attributes:
        path: the dotted scenario path, e.g. ``"parameters.downtime-limit"``.
        values: the settings, in sweep order (numbers, booleans, or unit strings).
        spec: the text it was parsed from, for messages and reports.
    """

    path: Annotated[str, BeforeValidator(_axis_path)] = Field(
        description="a dotted scenario path (host.link) or a bare QEMU parameter name")
    values: Annotated[tuple[Any, ...], BeforeValidator(_axis_values)] = Field(
        description=f"the settings, in sweep order (1 to {MAX_AXIS_VALUES})")
    spec: str = Field("", description="the text it was parsed from")

    def __init__(self, path: str, values: Sequence[Any], spec: str = "") -> None:
        try:
            super().__init__(path=path, values=values, spec=spec)  # type: ignore[call-arg]
        except ValidationError as err:
            p = problems_from(err, "", Axis)[0]
            raise AxisError(f"axis {path!r} {p.message}") from None


def read_scalar(text: str) -> Any:
    """Read one list value or table cell: int, float, true/false (also on/off), else the
    string (units kept). Sweep axes, CSV inventories and the dashboard's drain table all
    read their cells with it, so ``on`` means the same everywhere."""
    t = text.strip()
    low = t.lower()
    if low in ("true", "false", "on", "off"):
        return low in ("true", "on")
    try:
        return int(t)
    except ValueError:
        pass
    try:
        value = float(t)
    except ValueError:
        return t
    return value if math.isfinite(value) else t


def _wants_int(path: str, lo_text: str, hi_text: str, raw: list[float]) -> bool:
    """Integer fields round; elsewhere integers only when the ends and every step are."""
    if path.startswith("parameters."):
        spec = PARAMETERS.get(path.split(".", 1)[1])
        if spec is not None:
            return spec.qapi_type in _INT_QAPI
    if path in _INT_FIELDS:
        return True
    return (all(re.fullmatch(r"[+-]?\d+", t.strip()) for t in (lo_text, hi_text))
            and all(float(x).is_integer() for x in raw))


def parse_axis(spec: str, *, seed: int = 0) -> Axis:  # noqa: C901
    """Read an axis from ``NAME=VALUES``.

    Long and branchy because it reads four axis grammars (a list, linear, log and random ranges)
    with unit-aware ends, and names the axis in every error.

    Args:
        spec: ``name=a,b,c`` | ``name=lo:hi:N`` | ``name=lo:hi:logN`` | ``name=lo:hi:randN``.
            Range ends may carry a unit (``host.link=1Gbit/s:100Gbit/s:log3`` gives
            ``"1Gbit/s", "10Gbit/s", "100Gbit/s"``); both ends must use the same unit.
            Integer fields (QMP integer parameters, ``vm.vcpus``) get rounded values,
            with duplicates dropped; elsewhere values are integers only when the ends
            and every step are (``0:10:6`` → 0, 2, …, 10; ``0:1:5`` → 0.0, 0.25, …).
        seed: seeds ``randN`` draws (``numpy.random.default_rng(seed)``).

    Returns:
        The :class:`Axis`.

    Raises:
        AxisError: naming the axis and what is accepted.
    """
    name, sep, rhs = spec.partition("=")
    name, rhs = name.strip(), rhs.strip()
    if not sep or not name or not rhs:
        raise AxisError(f"axis {spec!r}: expected {_ACCEPTED}")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise AxisError(f"axis {spec!r}: {name!r} is not a scenario path; expected {_ACCEPTED}")
    path = full_path(name)
    m = _RANGE_RE.match(rhs)
    if m is None:
        if ":" in rhs and "," not in rhs:
            raise AxisError(f"axis {name!r}: cannot read range {rhs!r}; expected {_ACCEPTED}")
        items = rhs.split(",")
        empty = [i + 1 for i, v in enumerate(items) if not v.strip()]
        if empty:
            raise AxisError(f"axis {name!r}: value list {rhs!r} has an empty item (item "
                            f"{empty[0]} of {len(items)}); give every value, e.g. "
                            f"{name}=100,300,500")
        if len(items) > MAX_AXIS_VALUES:
            raise AxisError(f"axis {name!r}: {len(items)} values; at most {MAX_AXIS_VALUES} "
                            f"per axis")
        values = tuple(read_scalar(v) for v in items)
        return Axis(path, values, spec)
    lo_m, hi_m = _NUM_UNIT_RE.match(m["lo"]), _NUM_UNIT_RE.match(m["hi"])
    if lo_m is None or hi_m is None:
        raise AxisError(f"axis {name!r}: range ends {m['lo']!r}, {m['hi']!r} must be numbers "
                        f"(with an optional unit); expected {_ACCEPTED}")
    unit = (lo_m["unit"] or "").strip()
    if unit != (hi_m["unit"] or "").strip():
        raise AxisError(f"axis {name!r}: both range ends must use the same unit "
                        f"(got {m['lo']!r} and {m['hi']!r})")
    if len(m["n"]) > 6 or not 1 <= int(m["n"]) <= MAX_AXIS_VALUES:
        raise AxisError(f"axis {name!r}: the number of steps must be from 1 to "
                        f"{MAX_AXIS_VALUES}, got {m['n']}")
    lo, hi, n, kind = float(lo_m["num"]), float(hi_m["num"]), int(m["n"]), m["kind"] or "lin"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise AxisError(f"axis {name!r}: range ends {m['lo']!r}, {m['hi']!r} must be finite "
                        f"numbers; expected {_ACCEPTED}")
    if kind == "log" and (lo <= 0 or hi <= 0):
        raise AxisError(f"axis {name!r}: a log range needs ends > 0, got {lo:g} and {hi:g}")
    if kind == "lin":
        grid = np.linspace(lo, hi, n)
    elif kind == "log":
        grid = np.geomspace(lo, hi, n)
    else:
        grid = np.random.default_rng(seed).uniform(min(lo, hi), max(lo, hi), n)
    steps = [float(x) for x in grid.tolist()]
    as_int = _wants_int(path, lo_m["num"], hi_m["num"], steps) and not unit
    out: list[Any] = []
    for x in steps:
        value: Any = round(x) if as_int else float(f"{x:.6g}") if unit else float(x)
        if unit:
            value = f"{value:g}{unit}"
        if value not in out:
            out.append(value)
    return Axis(path, tuple(out), spec)


def expand(axes: Sequence[Axis]) -> list[dict[str, Any]]:
    """Every combination of the axes (cartesian product, last axis fastest) as change dicts.

    Raises:
        AxisError: when two axes name the same field.
    """
    paths = [a.path for a in axes]
    dupes = sorted({p for p in paths if paths.count(p) > 1})
    if dupes:
        raise AxisError(f"axes {dupes} given more than once; give each field one axis")
    total = math.prod(len(a.values) for a in axes)
    if total > MAX_SWEEP_POINTS:
        sizes = " × ".join(str(len(a.values)) for a in axes)
        raise AxisError(f"the axes make {sizes} = {total} scenarios; at most "
                        f"{MAX_SWEEP_POINTS} in one sweep (use fewer steps, or split it)")
    points: list[dict[str, Any]] = [{}]
    for ax in axes:
        points = [p | {ax.path: v} for p in points for v in ax.values]
    return points


_SECTIONS: Final = ("vm", "workload", "host", "parameters", "capabilities", "control")
_TOP_SCALARS: Final = ("name", "qemu", "seed")
_PATHS_ACCEPTED: Final = (
    "parameters.<QEMU parameter> (or the bare QEMU name, e.g. downtime-limit), "
    "capabilities.<QEMU capability> (e.g. capabilities.multifd), or a field of vm, "
    "workload, host or control (e.g. vm.memory, workload.dirty-rate, host.link, "
    "control.timeout), qemu or seed")


def _axis_label(axis: Axis) -> str:
    return f"axis {axis.spec!r}" if axis.spec else f"axis {axis.path!r}"


def _close(name: str, known: Sequence[str]) -> str:
    import difflib

    near = difflib.get_close_matches(name, list(known), n=3)
    return f" (did you mean {', '.join(near)}?)" if near else ""


def check_axes(base: Scenario, axes: Sequence[Axis]) -> None:
    """Refuse axes whose path the scenario does not have, before anything runs.

    A path must name one field: ``parameters.<name>`` with a parameter of the base's QEMU
    release, ``capabilities.<name>`` with one of its capabilities, a known key of
    ``vm``/``workload``/``host``/``control`` (checked by validating the base with the
    axis's first value: an "unknown key" there refuses the axis), or ``qemu``/``seed``/
    ``name``. A whole section (``vm``) is refused. Values themselves are not judged here:
    a value QEMU would refuse still becomes a row with ``valid=False``.

    Raises:
        AxisError: naming the axis, the path and what is accepted.
    """
    from sim.scenario import validate

    for axis in axes:
        label = _axis_label(axis)
        parts = axis.path.split(".")
        head = parts[0]
        if any(not p for p in parts):
            raise AxisError(f"{label}: {axis.path!r} is not a scenario path; expected "
                            f"{_PATHS_ACCEPTED}")
        if len(parts) == 1 and head in _SECTIONS:
            raise AxisError(f"{label}: {head!r} is a whole section, not one field; vary one "
                            f"of its fields, e.g. {head}.<key>; expected {_PATHS_ACCEPTED}")
        if head in ("parameters", "capabilities"):
            what, items = (("parameter", base.qemu.parameters) if head == "parameters"
                           else ("capability", base.qemu.capabilities))
            known = [item.name for item in items]
            if len(parts) != 2 or parts[1] not in known:
                raise AxisError(
                    f"{label}: {axis.path!r} is not a migration {what} of QEMU "
                    f"{base.qemu.name}{_close(parts[-1], known)}; expected "
                    f"{head}.<name> with one of: {', '.join(known)}")
            continue
        if head not in _SECTIONS:
            if len(parts) == 1 and head in _TOP_SCALARS:
                continue
            names = [p.name for p in base.qemu.parameters]
            what = ("neither a QEMU migration parameter nor a scenario path"
                    if len(parts) == 1 else "not a scenario path")
            raise AxisError(f"{label}: {axis.path!r} is {what}"
                            f"{_close(head, [*names, *_SECTIONS, *_TOP_SCALARS])}; "
                            f"expected {_PATHS_ACCEPTED}")
        data = base.to_dict()
        set_path(data, axis.path, axis.values[0])
        for problem in validate(data).problems:
            if problem.message.startswith("unknown key") and (
                    axis.path == problem.field or axis.path.startswith(problem.field + ".")):
                raise AxisError(f"{label}: {axis.path!r} is not a scenario path: "
                                f"{problem.field}: {problem.message}")


# ----------------------------------------------------------------------------- running


def _engine_runner(scenario: Scenario, seed: int | None) -> Result:
    from sim.engine import simulate

    return simulate(scenario, seed=seed, timeline=False)


def _cell(value: Any) -> Any:
    """A table cell: scalars stay, mappings and lists become JSON text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _inputs(point: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for path, value in point.items():
        row[path] = _cell(value)
        unit = _UNIT_FIELDS.get(path)
        if unit is not None:
            parser, suffix = unit
            try:
                row[f"{path}_{suffix}"] = float(parser(value, field=path))
            except UnitError:
                row[f"{path}_{suffix}"] = math.nan
    return row


def _failed_row(message: str, seed: int | None) -> dict[str, Any]:
    return {"valid": False, "error": message, "seed": seed, "status": "invalid",
            "converged": False} | {c: math.nan for c in OUTPUT_COLUMNS[5:]}


def _field_reader(model: type[BaseModel], name: str) -> Callable[[object], Any]:
    """The reader a model field validates with (the same bounds as the loader)."""
    for m in model.model_fields[name].metadata:
        if isinstance(m, BeforeValidator):
            return cast(Callable[[object], Any], m.func)
    raise TypeError(f"{model.__name__}.{name} has no reader")


_FAST_HOST: Final[dict[str, tuple[Callable[[object], Any], str]]] = {
    "host.link": (_field_reader(Host, "link_Bps"), "link_Bps"),
    "host.channel-rate": (_field_reader(Host, "channel_rate_Bps"), "channel_rate_Bps"),
}
_FAST_DIRTY_RATE: Final = _field_reader(Workload, "dirty_rate_Bps")
_DOWNTIME_MAX_MS: Final = 2_000_000


def fast_variant(base: Scenario, point: Mapping[str, Any]) -> Scenario | None:
    """The base with ``point`` applied by :func:`dataclasses.replace`, or ``None``.

    Only changes whose validity is obvious take this path: ``host.link`` and
    ``host.channel-rate`` (read by the Host model's own field readers, so with the same
    1 B/s..1 PB/s bounds), ``workload.dirty-rate`` (> 0, on a
    rate-form workload) and ``parameters.downtime-limit`` (an integer in QEMU's 0..2000000);
    anything else returns ``None`` and goes through :func:`load_scenario`. The result
    equals the loader's (tested), at a fraction of the cost.
    """
    host: dict[str, Any] = {}
    workload: dict[str, Any] = {}
    params: dict[str, int] = {}
    for path, value in point.items():
        if path in _FAST_HOST:
            read, attr = _FAST_HOST[path]
            try:
                number = float(read(value))
            except PydanticCustomError:
                return None
            if not number > 0:
                return None
            host[attr] = number
        elif path == "workload.dirty-rate" and base.workload.dirty_curve is None:
            try:
                rate = float(_FAST_DIRTY_RATE(value))
            except PydanticCustomError:
                return None
            if not rate > 0:
                return None
            workload["dirty_rate_Bps"] = rate
        elif (path == "parameters.downtime-limit" and isinstance(value, int)
              and not isinstance(value, bool) and 0 <= value <= _DOWNTIME_MAX_MS):
            params["downtime-limit"] = value
        else:
            return None
    source = json.loads(json.dumps(base.source, default=str))
    for path, value in point.items():
        set_path(source, path, value)
    sc = replace(base, source=source)
    if host:
        sc = replace(sc, host=sc.host.model_copy(update=host))
    if workload:
        sc = replace(sc, workload=sc.workload.model_copy(update=workload))
    if params:
        merged = dict(base.parameters) | params
        sc = replace(sc, parameters=MigrationParameters(
            merged, base.parameters.given | frozenset(params)))
    return sc


def run_chunk(base: Mapping[str, Any], points: Sequence[Mapping[str, Any]],
              seed: int | None, runner: Runner | None = None, *,
              fast: bool = True) -> list[dict[str, Any]]:
    """Run a chunk of points in this process (what each executor task does).

    Args:
        base: the base scenario in file form (``Scenario.to_dict()``).
        points: change dicts (dotted path → value).
        seed: the seed for every run; ``None`` uses each scenario's own seed.
        runner: ``runner(scenario, seed) -> Result``; the engine when ``None``.
        fast: build simple variants with :func:`fast_variant` (validated once per chunk)
            instead of re-loading each point; the results are the same.

    Returns:
        One flat record per point, inputs then :data:`OUTPUT_COLUMNS`.
    """
    run = runner or _engine_runner
    rows: list[dict[str, Any]] = []
    validated = load_scenario(base) if fast else None
    for point in points:
        row = _inputs(point)
        quick = fast_variant(validated, point) if validated is not None else None
        if quick is not None:
            result = run(quick, seed)
            summary = result.summary()
            rows.append(row | {"valid": True, "error": "", "seed": result.seed}
                        | {c: summary.get(c) for c in OUTPUT_COLUMNS[3:]})
            continue
        data = json.loads(json.dumps(base))
        try:
            for path, value in point.items():
                set_path(data, path, value)
            scenario = load_scenario(data)
        except InvalidScenarioError as err:
            first = err.problems[0] if err.problems else None
            text = f"{first.field}: {first.message}" if first is not None else str(err)
            rows.append(row | _failed_row(text, seed))
            continue
        result = run(scenario, seed)
        summary = result.summary()
        rows.append(row | {"valid": True, "error": "", "seed": result.seed}
                    | {c: summary.get(c) for c in OUTPUT_COLUMNS[3:]})
    return rows


def _chunks(n: int, size: int) -> Iterator[range]:
    for start in range(0, n, size):
        yield range(start, min(start + size, n))


def _default_chunk(n: int, workers: int) -> int:
    # ~4 tasks per worker keeps both cores busy to the end without paying a task per run.
    return max(1, min(500, math.ceil(n / (4 * max(1, workers)))))


def run_points(base: Scenario | Mapping[str, Any] | str | Path,
               points: Sequence[Mapping[str, Any]], *,
               seed: int | None = None,
               workers: int | None = None,
               executor: Executor | None = None,
               scheduler: str | None = None,
               chunk_size: int | None = None,
               progress: Progress | None = None,
               runner: Runner | None = None) -> pd.DataFrame:
    """Run explicit points (change dicts) against a base scenario; see :func:`run_sweep`.

    Returns:
        A DataFrame with ``point``, one column per changed path (plus ``<path>_Bps``-style
        numeric columns for unit fields), then :data:`OUTPUT_COLUMNS`, in point order.
    """
    import pandas as pd

    if isinstance(base, Scenario):
        base_dict = base.to_dict()
    else:
        try:
            base_dict = load_scenario(base).to_dict()
        except InvalidScenarioError as err:
            raise SweepError(f"the base scenario is invalid: {err}") from err
    n = len(points)
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise SweepError(f"workers(={workers}) must be from 1 to {MAX_WORKERS}")
    if scheduler is not None and not re.fullmatch(r"(tcp|tls|inproc|ucx|ws|wss)://\S+",
                                                  scheduler):
        raise SweepError(f"scheduler(={scheduler!r}) must be a Dask scheduler address such "
                         f"as tcp://127.0.0.1:8786")
    if chunk_size is not None and chunk_size < 1:
        raise SweepError(f"chunk_size(={chunk_size}) must be ≥ 1")
    rows: list[list[dict[str, Any]]] = []
    serial = executor is None and scheduler is None and (workers == 1 or n <= 1)
    if serial:
        size = chunk_size or max(1, n // 100) or 1
        done = 0
        for idx in _chunks(n, size):
            rows.append(run_chunk(base_dict, [points[i] for i in idx], seed, runner))
            done += len(idx)
            if progress is not None:
                progress(done, n)
    else:
        rows = _run_parallel(base_dict, points, seed, workers, executor, scheduler,
                             chunk_size, progress, runner)
    flat = [r for chunk in rows for r in chunk]
    frame = pd.DataFrame.from_records(flat)
    frame.insert(0, "point", range(n))
    return frame


def _run_parallel(base: dict[str, Any], points: Sequence[Mapping[str, Any]],
                  seed: int | None, workers: int | None, executor: Executor | None,
                  scheduler: str | None, chunk_size: int | None,
                  progress: Progress | None, runner: Runner | None
                  ) -> list[list[dict[str, Any]]]:
    n = len(points)
    own: Executor | None = None
    client: Any = None
    if executor is None and scheduler is not None:
        try:
            from distributed import Client
        except ImportError as err:  # pragma: no cover - depends on the install
            raise SweepError("running on a Dask cluster needs dask.distributed: "
                             "pip install 'miglab[cluster]'") from err
        try:
            client = Client(scheduler, timeout="10s")  # type: ignore[no-untyped-call]
        except (OSError, ValueError, TypeError) as err:
            raise SweepError(f"cannot reach the Dask scheduler at {scheduler}: {err}") from err
        executor = client.get_executor()
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    elif executor is None:
        n_workers = workers or os.cpu_count() or 1
        own = executor = ProcessPoolExecutor(max_workers=n_workers)
    else:
        n_workers = workers or os.cpu_count() or 1
    size = chunk_size or _default_chunk(n, n_workers)
    try:
        futures: dict[Future[list[dict[str, Any]]], int] = {}
        spans = list(_chunks(n, size))
        for k, idx in enumerate(spans):
            fut = executor.submit(run_chunk, base, [dict(points[i]) for i in idx], seed,
                                  runner)
            futures[fut] = k
        out: list[list[dict[str, Any]]] = [[] for _ in spans]
        done = 0
        for fut in as_completed(futures):
            k = futures[fut]
            out[k] = fut.result()
            done += len(spans[k])
            if progress is not None:
                progress(done, n)
        return out
    finally:
        if own is not None:
            own.shutdown()
        if client is not None:
            client.close()


def run_sweep(base: Scenario | Mapping[str, Any] | str | Path, axes: Sequence[Axis], *,
              seed: int | None = None,
              workers: int | None = None,
              executor: Executor | None = None,
              scheduler: str | None = None,
              chunk_size: int | None = None,
              progress: Progress | None = None,
              runner: Runner | None = None) -> pd.DataFrame:
    """Run every combination of the axes against the base scenario.

    Args:
        base: a validated :class:`Scenario`, a scenario mapping, or a file path.
        axes: the dials (:func:`parse_axis` or :class:`Axis`).
        seed: the seed for every run (common random numbers: points differ only by their
            settings); ``None`` uses the scenario's own ``seed``. Recorded in ``seed``.
        workers: local processes; ``1`` runs serially in this process; default: all CPUs.
        executor: any :class:`concurrent.futures.Executor` to run chunks on (not shut down).
        scheduler: a Dask scheduler address (``tcp://host:8786``); chunks run on
            ``Client(scheduler).get_executor()``.
        chunk_size: points per task; default about four tasks per worker (≤ 500).
        progress: ``progress(done, total)`` called as chunks finish.
        runner: ``runner(scenario, seed) -> Result`` instead of the engine (tests, lab).

    Returns:
        The tidy table: ``point``, the axis columns, then :data:`OUTPUT_COLUMNS`; one row
        per point in :func:`expand` order. Points QEMU or miglab would refuse have
        ``valid=False`` and the first problem in ``error``.

    Raises:
        SweepError: an invalid base scenario, bad axes (:class:`AxisError`: a path the
            scenario does not have, see :func:`check_axes`), or an unreachable scheduler.
    """
    points = expand(axes)
    try:
        validated = base if isinstance(base, Scenario) else load_scenario(base)
    except InvalidScenarioError as err:
        raise SweepError(f"the base scenario is invalid: {err}") from err
    check_axes(validated, axes)
    return run_points(validated, points, seed=seed, workers=workers, executor=executor,
                      scheduler=scheduler, chunk_size=chunk_size, progress=progress,
                      runner=runner)


def save_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a sweep (or any result) table as Parquet (``.parquet``/``.pq``) or CSV.

    Columns holding mixed types (e.g. numbers and unit strings) are written as text so
    Parquet accepts them.

    Raises:
        SweepError: for another suffix.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv"):
        raise SweepError(f"{p}: cannot tell the format; use a .parquet or .csv name")
    out = table.copy()
    for col in out.columns:
        if out[col].dtype == object:
            kinds = {type(v) for v in out[col] if v is not None}
            if len(kinds) > 1:
                out[col] = out[col].map(lambda v: v if v is None else str(v))
    p.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        out.to_csv(p, index=False)
    else:
        try:
            out.to_parquet(p, index=False)
        except ImportError as err:  # pragma: no cover - depends on the install
            raise SweepError("writing Parquet needs pyarrow: pip install 'miglab[parquet]' "
                             "(or save as .csv)") from err
    return p

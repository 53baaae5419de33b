"""Lay each real run beside the engine's prediction of it, metric by metric.

Comparison is the debrief after a test flight: for every corpus record the scenario is
rebuilt as the guest actually behaved (:func:`prediction_scenario`), simulated, and the
prediction is scored against what QEMU reported — total time, downtime, bytes transferred,
dirty-sync count and the converge verdict — against the targets of issue 4
(:data:`TARGETS`).

Why the guest's achieved rate and not the requested one: the guest paces itself by its own
clock and never catches up a slice its vCPU did not get, so on a busy 2-core host it dirties
less than asked (rate-90M reached ~52 MiB/s). ``calc-dirty-rate`` (page sampling) counts
distinct pages over one second and is noisy (±10–20 %); the guest's own page counter is
exact. The rate is the one measured from ``migrate`` to the stop — what the migration
really faced, including the CPU the migration thread and other load on the host take from
the vCPU (on the shared 2-core lab host the rate before ``migrate`` differed from it by up to
2× in either direction) — divided by the mean share of time auto-converge let the vCPU run,
because the engine applies the throttle itself.

Example::

    rows = compare_corpus(load_corpus(Path("data/lab")), host={"profile": "lab-tcg"})
    print(format_table(rows)); print(summarize(rows))
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sim.engine import simulate
from sim.lab.corpus import setting_of
from sim.scenario import Scenario, load_scenario

__all__ = ["PAGE", "TARGETS", "Comparison", "achieved_rate_Bps", "compare_corpus", "compare_record",
           "format_by_order", "format_summary", "format_table", "lab_result", "order_of",
           "prediction_scenario", "quantile", "regime_of", "spread_table", "summarize"]

PAGE: Final = 4096
"""Bytes per page in QEMU's ``ram.normal`` / ``ram.duplicate`` counters (x86 target pages)."""
TARGETS: Final = {
    "total_time_median_pct": 6.0,
    "total_time_p90_pct": 12.0,
    "verdict_pct": 98.0,
    "downtime_ok_pct": 90.0,
    "bytes_ok_pct": 90.0,
}
"""Issue 4's accuracy targets."""
DOWNTIME_ABS_MS: Final = 15.0
DOWNTIME_REL: Final = 0.25
BYTES_REL: Final = 0.10
BASE_NONZERO_BYTES: Final = 500 << 10
"""Non-zero RAM of an idle lab guest (firmware tables, option ROMs, the guest kernel): the
idle and the zero-content runs of the corpus send 118 and 133 normal pages (472, 532 KiB)."""
TEXT_DELTA_RATIO: Final = 0.01
"""XBZRLE size/page of a ``text`` page whose 12-byte header changed."""
RANDOM_DELTA_RATIO: Final = 1.1
"""``random`` content overflows XBZRLE (encoded larger than the page)."""


@dataclass(frozen=True)
class Comparison:
    """One run against its prediction (``None`` where a metric does not apply).

    Attributes:
        name: The scenario's name.
        lab_status: QEMU's final status.
        sim_status: The engine's final status.
        verdict_ok: Both converged, or neither did.
        lab_total_ms: QEMU's ``total-time``.
        sim_total_ms: Predicted ``total-time``.
        total_err_pct: Signed error of the prediction, % of the real value (both converged).
        lab_downtime_ms: QEMU's ``downtime``.
        sim_downtime_ms: Predicted downtime.
        downtime_ok: Within max(15 ms, 25 %) (both converged).
        lab_bytes: QEMU's ``ram.transferred``.
        sim_bytes: Predicted bytes.
        bytes_err_pct: Signed error, % of the real value (both converged).
        lab_syncs: QEMU's ``dirty-sync-count``.
        sim_syncs: Predicted count.
        dirty_rate_Bps: The rate the prediction used.
        order: The guest's write order (``seq``, ``random``, ``hotcold``; ``idle``).
        regime: ``rate-limited`` (max-bandwidth binds) or ``cpu-bound`` (unlimited).
    """

    name: str
    lab_status: str
    sim_status: str
    verdict_ok: bool
    lab_total_ms: float
    sim_total_ms: float
    total_err_pct: float | None
    lab_downtime_ms: float
    sim_downtime_ms: float
    downtime_ok: bool | None
    lab_bytes: int
    sim_bytes: int
    bytes_err_pct: float | None
    lab_syncs: int
    sim_syncs: int
    dirty_rate_Bps: float
    order: str = ""
    regime: str = ""


UNLIMITED_Bps: Final = 1 << 30
"""A max-bandwidth above this is unlimited on the lab host (loopback; the CPU binds)."""


def order_of(record: Mapping[str, Any]) -> str:
    """The guest's write order: ``seq``, ``random``, ``hotcold`` (two page classes), ``idle``."""
    extra = record.get("extra", {})
    if _num(extra.get("guest-wss")) <= PAGE:
        return "idle"
    return str(extra.get("guest-pattern", "seq"))


def regime_of(record: Mapping[str, Any]) -> str:
    """``cpu-bound`` when max-bandwidth is unlimited (0 or above 1 GiB/s), else ``rate-limited``."""
    bw = _num(record["scenario"].get("parameters", {}).get("max-bandwidth"), 32 << 20)
    return "cpu-bound" if bw == 0 or bw > UNLIMITED_Bps else "rate-limited"


def _num(value: Any, default: float = 0.0) -> float:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else default


def run_share(record: Mapping[str, Any]) -> float:
    """Mean share of time auto-converge let the vCPU run during the migration (1 = no throttle)."""
    rows = [r for r in record.get("timeline") or [] if r.get("phase") in ("precopy", "setup")]
    if not rows:
        return 1.0
    return max(0.01, statistics.fmean(1.0 - _num(r.get("throttle_pct")) / 100.0 for r in rows))


def achieved_rate_Bps(record: Mapping[str, Any]) -> float:
    """The guest dirty rate a prediction should use (see the module docstring).

    The guest's own rate from ``migrate`` to the stop, divided by the share of time
    auto-converge let it run (the engine applies the throttle itself); the rate before
    ``migrate`` when the run has no usable measurement.
    """
    before = _num(record.get("guest-rate-before"))
    during = _num(record.get("guest-rate-during"))
    if during <= 0:
        return before
    return during / run_share(record)


def touched_bytes(record: Mapping[str, Any]) -> float:
    """Guest RAM that is not zero when ``migrate`` starts (the rest is sent as zero pages).

    The guest stamps a header on every working-set page at boot (``zero`` content
    leaves them zero), and firmware plus the guest kernel hold about
    :data:`BASE_NONZERO_BYTES` (the idle runs send that much).
    """
    extra = record.get("extra", {})
    wss = _num(extra.get("guest-wss"))
    if record.get("content") == "zero" or wss <= PAGE:
        return BASE_NONZERO_BYTES
    return wss + BASE_NONZERO_BYTES


def prediction_scenario(record: Mapping[str, Any],
                        host: Mapping[str, Any] | None = None) -> Scenario:
    """The record's scenario as the guest really behaved, on the given host.

    Args:
        record: A corpus record.
        host: The scenario ``host`` section to predict with, e.g. ``{"profile": "lab-tcg"}``
            or fitted values; ``None`` keeps the record's own.

    Returns:
        A validated scenario: dirty rate = achieved rate, zero fraction = RAM not yet
        written (at the top of RAM), XBZRLE delta ratio from the page content. A
        ``hotcold`` guest is two page classes (hot region, the rest of its set), the
        achieved rate split between them as the guest splits its writes.
    """
    data: dict[str, Any] = {k: v for k, v in record["scenario"].items()}
    memory = float(load_scenario({"vm": data["vm"]}).vm.memory_bytes)
    content = record.get("content", "text")
    rate = achieved_rate_Bps(record)
    workload: dict[str, Any] = dict(data.get("workload", {}))
    extra = record.get("extra", {})
    if rate <= 0 or _num(extra.get("guest-wss")) <= PAGE:  # idle
        workload = {"zero-fraction": round(1.0 - touched_bytes(record) / memory, 6)}
    else:
        if extra.get("guest-pattern") == "hotcold":
            hot = int(_num(extra.get("guest-hot")))
            share = _num(extra.get("guest-hotpct"), 90.0) / 100.0
            workload["classes"] = [
                {"size": hot, "rate": rate * share},
                {"size": int(_num(extra["guest-wss"])) - hot, "rate": rate * (1.0 - share)}]
        else:
            workload["dirty-rate"] = rate
            workload["working-set"] = int(_num(extra["guest-wss"]))
        zero = 1.0 - touched_bytes(record) / memory
        workload["zero-fraction"] = round(min(1.0, max(0.0, zero)), 6)
        workload["delta-ratio"] = RANDOM_DELTA_RATIO if content == "random" else TEXT_DELTA_RATIO
    # The lab guest places its working set right after its kernel at 1 MiB and never
    # touches the rest (lab/guest/main.c, place_workset): its zero pages are at the top.
    workload["zero-layout"] = "end"
    data["workload"] = workload
    if host is not None:
        data["host"] = dict(host)
    return load_scenario(data)


def lab_result(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record's result; a cancelled run's time and bytes come from its last poll.

    QEMU 7.2 drops ``total-time`` and the ``ram`` counters once a migration is cancelled.
    """
    lab = dict(record["result"])
    timeline = record.get("timeline") or []
    if lab.get("status") != "completed" and not _num(lab.get("total-time")) and timeline:
        last = timeline[-1]
        lab["total-time"] = 1000.0 * _num(last.get("time_s"))
        ram = dict(lab.get("ram", {}))
        ram["transferred"] = max(_num(r.get("transferred_bytes")) for r in timeline)
        ram["dirty-sync-count"] = max(_num(r.get("dirty_sync_count")) for r in timeline)
        lab["ram"] = ram
    return lab


def _pct(sim: float, lab: float) -> float | None:
    return None if lab <= 0 else 100.0 * (sim - lab) / lab


def compare_record(record: Mapping[str, Any],
                   host: Mapping[str, Any] | None = None) -> Comparison:
    """Simulate one record's scenario and score the prediction against the real run."""
    scenario = prediction_scenario(record, host)
    sim = simulate(scenario, timeline=False)
    lab = lab_result(record)
    lab_ok = lab["status"] == "completed"
    both = lab_ok and sim.converged
    lab_total, lab_down = _num(lab.get("total-time")), _num(lab.get("downtime"))
    lab_bytes = int(_num(lab["ram"].get("transferred")))
    down_ok = None
    if both:
        down_ok = abs(sim.downtime_ms - lab_down) <= max(DOWNTIME_ABS_MS, DOWNTIME_REL * lab_down)
    return Comparison(
        name=str(record["scenario"].get("name", "")),
        lab_status=str(lab["status"]),
        sim_status=sim.status,
        verdict_ok=lab_ok == sim.converged,
        lab_total_ms=lab_total,
        sim_total_ms=sim.total_time_ms,
        total_err_pct=_pct(sim.total_time_ms, lab_total) if both else None,
        lab_downtime_ms=lab_down,
        sim_downtime_ms=sim.downtime_ms,
        downtime_ok=down_ok,
        lab_bytes=lab_bytes,
        sim_bytes=sim.ram.transferred,
        bytes_err_pct=_pct(sim.ram.transferred, lab_bytes) if both else None,
        lab_syncs=int(_num(lab["ram"].get("dirty-sync-count"))),
        sim_syncs=sim.ram.dirty_sync_count,
        dirty_rate_Bps=achieved_rate_Bps(record),
        order=order_of(record),
        regime=regime_of(record),
    )


def compare_corpus(records: Sequence[Mapping[str, Any]],
                   host: Mapping[str, Any] | None = None) -> list[Comparison]:
    """:func:`compare_record` for every record (a record that fails to load is skipped)."""
    return [compare_record(r, host) for r in records]


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile with linear interpolation (numpy's default); NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summarize(rows: Sequence[Comparison]) -> dict[str, Any]:
    """Totals over the rows and whether each target of :data:`TARGETS` is met."""
    total = [abs(r.total_err_pct) for r in rows if r.total_err_pct is not None]
    down = [r.downtime_ok for r in rows if r.downtime_ok is not None]
    nbytes = [abs(r.bytes_err_pct) for r in rows if r.bytes_err_pct is not None]
    syncs = [abs(r.sim_syncs - r.lab_syncs) for r in rows if r.total_err_pct is not None]
    out: dict[str, Any] = {
        "runs": len(rows),
        "both_converged": len(total),
        "total_time_median_pct": statistics.median(total) if total else float("nan"),
        "total_time_p90_pct": quantile(total, 0.9),
        "verdict_pct": 100.0 * sum(r.verdict_ok for r in rows) / len(rows) if rows else 0.0,
        "downtime_ok_pct": 100.0 * sum(down) / len(down) if down else float("nan"),
        "bytes_ok_pct": (100.0 * sum(e <= 100 * BYTES_REL for e in nbytes) / len(nbytes)
                         if nbytes else float("nan")),
        "bytes_median_pct": statistics.median(nbytes) if nbytes else float("nan"),
        "syncs_median_abs": statistics.median(syncs) if syncs else float("nan"),
    }
    met = {
        "total_time_median_pct": out["total_time_median_pct"] <= TARGETS["total_time_median_pct"],
        "total_time_p90_pct": out["total_time_p90_pct"] <= TARGETS["total_time_p90_pct"],
        "verdict_pct": out["verdict_pct"] >= TARGETS["verdict_pct"],
        "downtime_ok_pct": out["downtime_ok_pct"] >= TARGETS["downtime_ok_pct"],
        "bytes_ok_pct": out["bytes_ok_pct"] >= TARGETS["bytes_ok_pct"],
    }
    out["met"] = met
    return out


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def format_table(rows: Sequence[Comparison]) -> str:
    """A Markdown table, one row per run."""
    lines = [
        "| run | lab | sim | total lab ms | total sim ms | err % | downtime lab/sim ms | ok |"
        " bytes lab MiB | bytes sim MiB | err % | syncs lab/sim | verdict |",
        "|---|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ok = "—" if r.downtime_ok is None else ("yes" if r.downtime_ok else "NO")
        lines.append(
            f"| {r.name} | {r.lab_status} | {r.sim_status} | {r.lab_total_ms:.0f} |"
            f" {r.sim_total_ms:.0f} | {_fmt(r.total_err_pct, '+.1f')} |"
            f" {r.lab_downtime_ms:.0f}/{r.sim_downtime_ms:.0f} | {ok} |"
            f" {r.lab_bytes / 2**20:.1f} | {r.sim_bytes / 2**20:.1f} |"
            f" {_fmt(r.bytes_err_pct, '+.1f')} | {r.lab_syncs}/{r.sim_syncs} |"
            f" {'right' if r.verdict_ok else 'WRONG'} |")
    return "\n".join(lines)


def spread_table(records: Sequence[Mapping[str, Any]]) -> str:
    """Run-to-run spread of settings run more than once (``name``, ``name-r2``, …).

    Returns:
        A Markdown table: runs, total-time min/max and spread (max/min − 1), downtime
        range, guest dirty-rate range.
    """
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in records:
        name = str(r["scenario"].get("name", ""))
        base = setting_of(name)
        groups.setdefault(base, []).append(r)
    lines = ["| setting | runs | total-time ms (min–max) | spread | downtime ms | "
             "guest rate MiB/s |", "|---|---:|---|---:|---|---|"]
    for base, group in groups.items():
        if len(group) < 2:
            continue
        totals = [_num(lab_result(r).get("total-time")) for r in group]
        downs = [_num(r["result"].get("downtime")) for r in group]
        rates = [achieved_rate_Bps(r) / 2**20 for r in group]
        lines.append(f"| {base} | {len(group)} | {min(totals):.0f}–{max(totals):.0f} |"
                     f" {100 * (max(totals) / max(min(totals), 1) - 1):.0f} % |"
                     f" {min(downs):.0f}–{max(downs):.0f} | {min(rates):.1f}–{max(rates):.1f} |")
    return "\n".join(lines)


def format_by_order(rows: Sequence[Comparison]) -> str:
    """Accuracy per write order and regime: a Markdown table, one row per group."""
    groups: dict[tuple[str, str], list[Comparison]] = {}
    for r in rows:
        groups.setdefault((r.order, r.regime), []).append(r)
    lines = ["| order | regime | runs | both converged | total-time median / p90 abs err |"
             " verdict right | downtime ok | bytes within 10 % |",
             "|---|---|---:|---:|---|---:|---:|---:|"]
    for (order, regime), group in sorted(groups.items()):
        s = summarize(group)
        lines.append(
            f"| {order} | {regime} | {s['runs']} | {s['both_converged']} |"
            f" {s['total_time_median_pct']:.1f} % / {s['total_time_p90_pct']:.1f} % |"
            f" {s['verdict_pct']:.0f} % | {s['downtime_ok_pct']:.0f} % |"
            f" {s['bytes_ok_pct']:.0f} % |")
    return "\n".join(lines)


def format_summary(summary: Mapping[str, Any]) -> str:
    """The totals as a Markdown table with target and met/missed."""
    met = summary["met"]
    rows = [
        ("total-time median abs error", f"{summary['total_time_median_pct']:.1f} %", "≤ 6 %",
         met["total_time_median_pct"]),
        ("total-time p90 abs error", f"{summary['total_time_p90_pct']:.1f} %", "≤ 12 %",
         met["total_time_p90_pct"]),
        ("converge verdict right", f"{summary['verdict_pct']:.0f} %", "≥ 98 %",
         met["verdict_pct"]),
        ("downtime within max(15 ms, 25 %)", f"{summary['downtime_ok_pct']:.0f} %", "≥ 90 %",
         met["downtime_ok_pct"]),
        ("bytes within 10 %", f"{summary['bytes_ok_pct']:.0f} %", "≥ 90 %",
         met["bytes_ok_pct"]),
    ]
    out = ["| metric | held-out value | target | |", "|---|---:|---|---|"]
    out += [f"| {a} | {b} | {c} | {'met' if d else 'MISSED'} |" for a, b, c, d in rows]
    out.append(f"\nruns: {summary['runs']}, both converged: {summary['both_converged']}, "
               f"bytes median abs error {summary['bytes_median_pct']:.1f} %, "
               f"dirty-sync-count median abs difference {summary['syncs_median_abs']:.1f}")
    return "\n".join(out)

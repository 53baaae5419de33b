"""Fit the ``host`` fields that real runs determine, and write them as a host profile.

Calibration is zeroing a rifle: the engine's mechanisms stay as they are, and only the
host's own numbers — how fast the loopback final copy runs (``link``), what one sending
thread pushes with the guest stopped (``channel-rate``) and while it runs
(``running-channel-rate``), how many cores the sending threads share while it runs
(``migration-cpus``), how fast the destination takes in the first copy of a page
(``first-touch-rate``), how fast zero pages are scanned, the stop and resume
costs, the setup phase, the cost of a dirty-bitmap sync — are adjusted until the
predictions land on the real runs.

Two steps: direct estimates from the quantities QEMU reports (setup from ``setup-time``;
``link`` and ``stop`` from a line through downtime against ``downtime-bytes`` of
rate-limited precopy runs without multifd, whose final copy is pages sent before;
``first-touch-rate`` from the pace of the single-channel CPU-bound runs, whose pages are
mostly first copies, and kept), then a coordinate search over a log grid of each other
field that minimizes :func:`loss` on the training runs. Split the corpus
with :func:`split_corpus` so that errors are reported on runs the fit never saw.

Example::

    train, held_out = split_corpus(load_corpus(Path("data/lab")))
    fit = calibrate(train)
    write_host_profile(fit, Path("data/hosts/lab-tcg.yaml"), runs=len(train))
"""

from __future__ import annotations

import hashlib
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from sim.lab.compare import PAGE, Comparison, compare_record, quantile, regime_of
from sim.lab.corpus import setting_of

__all__ = ["HostFit", "calibrate", "loss", "split_corpus", "write_host_profile"]

GRID_FACTORS: Final = (0.5, 0.7, 0.85, 1.0, 1.18, 1.4, 2.0)
"""Multipliers tried around each field's current value in one coordinate step."""
BOUNDS: Final = {"link_Bps": (2.0**28, 2.0**33), "migration_cpus": (0.25, 64.0),
                  "first_touch_Bps": (2.0**26, 2.0**36)}
"""Physical bounds the search keeps to: a loopback link of 256 MiB/s to 8 GiB/s (as the
direct estimate), a quarter core to 64 cores, first touches at 64 MiB/s to 64 GiB/s."""
ROUNDS: Final = 2
HOLD_OUT_SHARE: Final = 0.35


@dataclass
class HostFit:
    """Fitted host fields (units in the names) and the training loss reached.

    Attributes:
        link_Bps: Unthrottled final-copy rate over loopback.
        channel_rate_Bps: What one sending thread pushes with the guest stopped.
        running_channel_rate_Bps: What one sending thread pushes while the guest runs (under
            TCG the vCPU thread competes with it for the host's cores).
        migration_cpus: Cores the sending threads share while the guest runs.
        first_touch_Bps: How fast the destination lands the first copy of a page (page
            faults and zeroing of untouched guest RAM).
        zero_scan_Bps: How fast the migration thread checks pages for zeros.
        stop_s: Stopping the source vCPUs (start of the downtime).
        resume_s: Destination load and start (in the downtime only with a return path).
        setup_s: QEMU's setup phase.
        sync_s_per_gib: One dirty-bitmap sync per GiB of guest RAM (TCG walks the bitmap).
        loss: :func:`loss` on the training runs with these values.
    """

    link_Bps: float = 1.5 * 2**30
    channel_rate_Bps: float = 1.0 * 2**30
    running_channel_rate_Bps: float = 1.0 * 2**30
    migration_cpus: float = 2.0
    first_touch_Bps: float = 8.0 * 2**30
    zero_scan_Bps: float = 8.0 * 2**30
    stop_s: float = 0.005
    resume_s: float = 0.005
    setup_s: float = 0.002
    sync_s_per_gib: float = 0.01
    loss: float = float("nan")
    measured: tuple[str, ...] = ()
    """Fields read directly off the runs, which the search leaves as they are."""

    def host_section(self) -> dict[str, Any]:
        """The values as a scenario ``host`` section (dash names, plain numbers)."""
        return {
            "link": round(self.link_Bps),
            "channel-rate": round(self.channel_rate_Bps),
            "running-channel-rate": round(self.running_channel_rate_Bps),
            "migration-cpus": round(self.migration_cpus, 2),
            "first-touch-rate": round(self.first_touch_Bps),
            "zero-scan-rate": round(self.zero_scan_Bps),
            "stop": round(self.stop_s, 5),
            "resume": round(self.resume_s, 5),
            "setup": round(self.setup_s, 5),
            "sync-per-gib": round(self.sync_s_per_gib, 5),
            "rtt": 0.00002,
        }


def split_corpus(records: Sequence[Mapping[str, Any]], hold_out_share: float = HOLD_OUT_SHARE,
                 ) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """Split into (training, held-out) by a hash of the run's name: stable and unbiased.

    Repeats of one setting (``name-r2``) go to the same side as the setting, so the
    held-out runs are settings the fit never saw.
    """
    train: list[Mapping[str, Any]] = []
    held: list[Mapping[str, Any]] = []
    for record in records:
        name = str(record["scenario"].get("name", ""))
        base = setting_of(name)
        digest = int(hashlib.sha256(base.encode()).hexdigest()[:8], 16) / 2**32
        (held if digest < hold_out_share else train).append(record)
    return train, held


def _score(row: Comparison) -> float:
    """One run's contribution: log error of time and bytes, downtime miss, wrong verdict."""
    if not row.verdict_ok:
        return 3.0
    if row.total_err_pct is None or row.lab_total_ms <= 0 or row.sim_total_ms <= 0:
        return 0.0
    score = abs(math.log(row.sim_total_ms / row.lab_total_ms))
    if row.bytes_err_pct is not None and row.lab_bytes > 0 and row.sim_bytes > 0:
        score += 0.5 * abs(math.log(row.sim_bytes / row.lab_bytes))
    score += 0.5 * abs(row.sim_downtime_ms - row.lab_downtime_ms) / max(15.0, row.lab_downtime_ms)
    return score


def loss(records: Sequence[Mapping[str, Any]], host: Mapping[str, Any]) -> float:
    """Median plus 90th percentile of the per-run scores on ``host``.

    The two statistics issue 4 judges: the median alone lets a fit give up a tenth of the
    runs (it once traded the multifd runs for a better median), the p90 keeps them in.
    """
    scores = [_score(compare_record(r, host)) for r in records]
    return statistics.median(scores) + quantile(scores, 0.9) if scores else 0.0


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else 0.0


def _theil_sen(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Robust line ``y = a + b·x``: median pairwise slope, median intercept."""
    slopes = [(y2 - y1) / (x2 - x1) for i, (x1, y1) in enumerate(points)
              for x2, y2 in points[i + 1:] if x2 != x1]
    b = statistics.median(slopes) if slopes else 0.0
    a = statistics.median(y - b * x for x, y in points) if points else 0.0
    return a, b


def initial_fit(records: Sequence[Mapping[str, Any]]) -> HostFit:
    """Direct estimates of setup, stop, link and first-touch rate from QEMU's own counters."""
    fit = HostFit()
    done = [r for r in records if r["result"].get("status") == "completed"]
    setups = [_num(r["result"].get("setup-time")) for r in done]
    if setups:
        fit.setup_s = max(0.001, statistics.median(setups) / 1000.0)
    points = []
    paces = []
    for r in done:
        caps = r["scenario"].get("capabilities", {})
        if caps.get("multifd") or caps.get("postcopy-ram"):
            continue
        ram = r["result"]["ram"]
        if regime_of(r) == "cpu-bound":  # the first copies set the pace: ram.normal / time
            busy_s = (_num(r["result"].get("total-time")) - _num(r["result"].get("downtime"))
                      - _num(r["result"].get("setup-time"))) / 1000.0
            sent = _num(ram.get("normal")) * PAGE - _num(ram.get("downtime-bytes"))
            if busy_s > 0 and sent > 0:
                paces.append(sent / busy_s)
            continue
        nbytes = _num(ram.get("downtime-bytes"))
        down_s = _num(r["result"].get("downtime")) / 1000.0
        if nbytes > 0 and down_s > 0:
            points.append((nbytes, down_s))
    if paces:
        fit.first_touch_Bps = statistics.median(paces)
        fit.measured = ("first_touch_Bps",)
    if len(points) >= 3:
        a, b = _theil_sen(points)
        if b > 0:
            fit.link_Bps = min(8 * 2**30, max(2**28, 1.0 / b))
        fit.stop_s = min(0.05, max(0.0005, a))
    return fit


def calibrate(records: Sequence[Mapping[str, Any]],
              progress: Callable[[str], None] | None = None) -> HostFit:
    """Fit the host fields on ``records`` (direct estimates, then a coordinate search).

    Args:
        records: Training records of a corpus.
        progress: Called with a line of text after each field step (for the CLI).

    Returns:
        The fitted :class:`HostFit`, with its training loss.
    """
    fit = initial_fit(records)
    # first-touch-rate, when the CPU-bound runs measure it, is kept: searched, it trades the
    # single-channel runs for the noisiest ones and the search stops in a worse minimum
    # (training loss 0.467 against 0.394 on the 2026-12-04 corpus, RESULTS.md)
    fields = tuple(f for f in ("first_touch_Bps", "running_channel_rate_Bps", "migration_cpus",
                               "channel_rate_Bps", "link_Bps", "zero_scan_Bps", "stop_s",
                               "resume_s", "sync_s_per_gib") if f not in fit.measured)
    best = loss(records, fit.host_section())
    for _ in range(ROUNDS):
        for name in fields:
            base = getattr(fit, name)
            lo, hi = BOUNDS.get(name, (0.0, math.inf))
            for factor in GRID_FACTORS:
                if factor == 1.0 or not lo <= base * factor <= hi:
                    continue
                setattr(fit, name, base * factor)
                trial = loss(records, fit.host_section())
                if trial < best - 1e-9:
                    best, base = trial, base * factor
            setattr(fit, name, base)
            if progress is not None:
                progress(f"{name} = {base:.6g} (loss {best:.4f})")
    fit.loss = best
    return fit


def write_host_profile(fit: HostFit, path: Path, *, runs: int, corpus: str = "") -> None:
    """Write the fit as a host profile scenarios can name (``host: {profile: NAME}``)."""
    values: dict[str, Any] = {
        "description": ("QEMU 7.2 under TCG on a 2-core Debian 12 host, both QEMUs on one "
                        "machine over a unix socket (miglab lab calibrate)."),
        "source": f"fitted on {runs} real runs{' of ' + corpus if corpus else ''}",
        "calibrated": True,
        **fit.host_section(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(values, sort_keys=False), encoding="utf-8")

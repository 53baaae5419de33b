"""Run one real QEMU migration for a scenario and record it in the engine's Result shape.

The runner is the test pilot who flies the aircraft the simulator predicted: it boots the
lab guest (:mod:`sim.lab.guest`) in a source and a destination QEMU sized as the scenario
says, measures how fast the guest really dirties memory (QEMU's ``calc-dirty-rate`` and the
guest's own counters), applies exactly the QMP commands :func:`sim.export.export` renders
for the scenario, migrates over a unix socket, polls ``query-migrate`` every 100 ms into a
timeline and returns a :class:`LabRun` whose ``result`` is a :class:`~sim.result.Result`
with ``source="lab"``.

Every run has a hard cap (``cap_s``); past it, or past ``control.timeout``, the migration
is cancelled with ``migrate_cancel``. Both QEMU processes are started by
:func:`~sim.lab.qemu_proc.qemu_pair` and only those two are killed and reaped.

Example::

    from sim.scenario import load_scenario
    run = run_scenario(load_scenario("data/lab/specs/x.yaml"), content="text")
    print(run.result.total_time_ms, run.guest_rate_during_Bps)
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sim._exceptions import LabError
from sim.export import export
from sim.lab.guest import PAGE_SIZE, Content, GuestLog, GuestWorkload, Pattern, build_guest
from sim.lab.qemu_proc import QemuPair, VMSpec, find_qemu, qemu_pair
from sim.lab.qmp import QMPClient, QMPError
from sim.result import GuestCost, RamStats, Result, XbzrleStats
from sim.scenario import Scenario

__all__ = ["LabRun", "check_tools", "run_scenario"]

MiB: Final = 1 << 20
POLL_S: Final = 0.1
"""Period of ``query-migrate`` polls (one timeline row each)."""
DEFAULT_CAP_S: Final = 60.0
"""Hard cap on one migration, from ``migrate`` to the end, in seconds."""
DIRTY_RATE_CALC_S: Final = 1
"""Window of ``calc-dirty-rate`` (page sampling; the only mode QEMU 7.2 TCG survives)."""
WARMUP_REPORTS: Final = 3
"""Guest reports (100 ms each) to wait for before measuring."""
WARMUP_MAX_S: Final = 4.0
"""Longest wait for the guest's first walk over its working set before measuring."""
_TERMINAL: Final = ("completed", "failed", "cancelled")
_PHASES: Final = {
    "setup": "setup",
    "active": "precopy",
    "pre-switchover": "switchover",
    "device": "switchover",
    "postcopy-active": "postcopy",
    "postcopy-paused": "postcopy",
    "postcopy-recover": "postcopy",
    "completed": "done",
    "failed": "done",
    "cancelled": "done",
    "cancelling": "done",
}


@dataclass
class LabRun:
    """One real migration and what was measured around it.

    Attributes:
        scenario: The scenario as given (file form, dash names).
        content: The guest's page content (``zero``, ``text``, ``random``).
        qemu_version: QEMU's ``major.minor.micro``.
        accelerator: ``tcg`` (the only reliable one on the lab host).
        calc_dirty_rate_Bps: QEMU's ``calc-dirty-rate`` (page sampling) before migrating.
        guest_rate_before_Bps: The guest's own dirty rate in the same window.
        guest_rate_during_Bps: The guest's own dirty rate from ``migrate`` to the stop.
        corrupt_pages: Stale pages the guest found after the migration (must be 0).
        result: The measured outcome, engine-shaped (``source="lab"``).
        cap_hit: The hard cap, not the scenario, ended the run.
        wall_s: Wall time of the whole run (boot to teardown).
        started: UTC time of the run, ISO 8601.
    """

    scenario: dict[str, Any]
    content: str
    qemu_version: str
    accelerator: str
    calc_dirty_rate_Bps: float
    guest_rate_before_Bps: float
    guest_rate_during_Bps: float
    corrupt_pages: int
    result: Result
    cap_hit: bool = False
    wall_s: float = 0.0
    started: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        """The run as one JSON-lines record (see :mod:`sim.lab.corpus`)."""
        return {
            "scenario": self.scenario,
            "content": self.content,
            "qemu": self.qemu_version,
            "accelerator": self.accelerator,
            "calc-dirty-rate": self.calc_dirty_rate_Bps,
            "guest-rate-before": self.guest_rate_before_Bps,
            "guest-rate-during": self.guest_rate_during_Bps,
            "corrupt-pages": self.corrupt_pages,
            "cap-hit": self.cap_hit,
            "wall-s": round(self.wall_s, 3),
            "started": self.started,
            "result": self.result.to_dict(timeline=False),
            "timeline": self.result.timeline,
            **({"extra": self.extra} if self.extra else {}),
        }


def check_tools() -> None:
    """Fail early, saying what to install, when QEMU or the guest's toolchain is missing.

    Raises:
        QemuNotFoundError: qemu-system-x86_64 is missing.
        GuestBuildError: make/gcc-multilib are missing and no guest is built.
    """
    find_qemu()
    build_guest()


def _vm_spec(scenario: Scenario, content: Content) -> VMSpec:
    wl = scenario.workload
    if wl.dirty_curve is not None:
        raise LabError("the lab guest dirties at a rate over a working set; "
                       "a scenario with dirty-curve cannot be run")
    if wl.dirty_classes is not None:
        return VMSpec(memory_mib=scenario.vm.memory_bytes // MiB, vcpus=scenario.vm.vcpus,
                      workload=_hot_cold(wl.dirty_classes, content, scenario.seed))
    wss = wl.working_set_bytes or scenario.vm.memory_bytes // 4
    wss = max(PAGE_SIZE, wss // PAGE_SIZE * PAGE_SIZE)
    pattern: Pattern = "seq" if wl.pattern.startswith("seq") else "random"
    workload = GuestWorkload(wss_bytes=wss, rate_bytes_per_s=int(wl.dirty_rate_Bps),
                             pattern=pattern, content=content, seed=scenario.seed)
    if wl.dirty_rate_Bps <= 0:  # idle: a tiny working set written slowly
        workload = GuestWorkload(wss_bytes=PAGE_SIZE, rate_bytes_per_s=PAGE_SIZE * 10,
                                 pattern="seq", content=content, seed=scenario.seed)
    return VMSpec(memory_mib=scenario.vm.memory_bytes // MiB, vcpus=scenario.vm.vcpus,
                  workload=workload)


def _hot_cold(classes: tuple[tuple[int, float], ...], content: Content,
              seed: int) -> GuestWorkload:
    """Two page classes as the guest's ``hotcold`` order: the first is the hot region."""
    if len(classes) != 2:
        raise LabError("the lab guest writes at most two page classes (hot, cold); "
                       f"this scenario has {len(classes)}")
    (hot, hot_Bps), (cold, cold_Bps) = classes
    hot = max(PAGE_SIZE, hot // PAGE_SIZE * PAGE_SIZE)
    cold = max(PAGE_SIZE, cold // PAGE_SIZE * PAGE_SIZE)
    rate = hot_Bps + cold_Bps
    return GuestWorkload(wss_bytes=hot + cold, rate_bytes_per_s=int(rate), pattern="hotcold",
                         content=content, seed=seed, hot_bytes=hot,
                         hot_pct=round(100 * hot_Bps / rate))


def _commands(text: str, skip: tuple[str, ...]) -> list[tuple[str, dict[str, Any] | None]]:
    out: list[tuple[str, dict[str, Any] | None]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        message = json.loads(line)
        if message["execute"] not in skip:
            out.append((message["execute"], message.get("arguments")))
    return out


def _apply_settings(scenario: Scenario, pair: QemuPair) -> None:
    """Send the QMP settings miglab exports for the scenario (not migrate/incoming)."""
    files = export(scenario, "qmp").files
    skip = ("qmp_capabilities", "migrate", "migrate-incoming", "migrate-start-postcopy")
    for command, arguments in _commands(files["destination.jsonl"], skip):
        pair.destination.qmp.execute(command, arguments)
    for command, arguments in _commands(files["source.jsonl"], skip):
        pair.source.qmp.execute(command, arguments)


def _calc_dirty_rate(qmp: QMPClient) -> float:
    """QEMU's page-sampling dirty rate over :data:`DIRTY_RATE_CALC_S`, in bytes/s."""
    qmp.execute("calc-dirty-rate", {"calc-time": DIRTY_RATE_CALC_S})
    deadline = time.monotonic() + DIRTY_RATE_CALC_S + 5
    while time.monotonic() < deadline:
        info: dict[str, Any] = qmp.execute("query-dirty-rate")
        if info.get("status") == "measured":
            return float(info.get("dirty-rate", 0)) * MiB  # QEMU reports MiB/s
        time.sleep(0.1)
    return float("nan")


def _rate_between(before: GuestLog, after: GuestLog) -> float:
    """Guest dirty rate from the last report of ``before`` to the last of ``after``."""
    if not before.reports or not after.reports:
        return float("nan")
    a, b = before.reports[-1], after.reports[-1]
    if b.t_ms <= a.t_ms:
        return float("nan")
    return (b.pages - a.pages) * PAGE_SIZE * 1000 / (b.t_ms - a.t_ms)


def _row(info: dict[str, Any], t_s: float, last_sync: int, event: str) -> dict[str, Any]:
    ram = info.get("ram", {})
    sync = int(ram.get("dirty-sync-count", 0))
    if not event and sync > last_sync:
        event = "sync"
    return {
        "time_s": round(t_s, 3),
        "phase": _PHASES.get(str(info.get("status")), str(info.get("status"))),
        "remaining_bytes": float(ram.get("remaining", 0)),
        "transferred_bytes": float(ram.get("transferred", 0)),
        "bandwidth_Bps": float(ram.get("mbps", 0.0)) * 1e6 / 8,
        "throttle_pct": float(info.get("cpu-throttle-percentage", 0)),
        "dirty_sync_count": sync,
        "dirty_rate_Bps": float(ram.get("dirty-pages-rate", 0)) * float(ram.get("page-size", 4096)),
        "expected_downtime_ms": float(info.get("expected-downtime", 0)),
        "event": event,
    }


def _final_info(qmp: QMPClient) -> dict[str, Any]:
    """``query-migrate`` after the end; 7.2 may say completed before filling in the times."""
    info: dict[str, Any] = qmp.execute("query-migrate")
    for _ in range(20):
        if info.get("status") != "completed" or info.get("total-time", 0) > 0:
            break
        time.sleep(0.1)
        info = qmp.execute("query-migrate")
    return info


def _result(info: dict[str, Any], timeline: list[dict[str, Any]], cap_hit: bool,
            reason: str) -> Result:
    ram = info.get("ram", {})
    stats = RamStats(**{k: type(getattr(RamStats(), k))(ram.get(k.replace("_", "-"), 0))
                        for k in RamStats.model_fields})
    xb = info.get("xbzrle-cache")
    xbzrle = None if xb is None else XbzrleStats(
        **{k: type(getattr(XbzrleStats(), k))(xb.get(k.replace("_", "-"), 0))
           for k in XbzrleStats.model_fields})
    peak = max((float(r["throttle_pct"]) for r in timeline), default=0.0)
    status = str(info.get("status", "failed"))
    throttled_s = sum(POLL_S for r in timeline if r["throttle_pct"] > 0)
    return Result(
        status=status,
        converged=status == "completed",
        total_time_ms=float(info.get("total-time", 0)),
        downtime_ms=float(info.get("downtime", 0)),
        setup_time_ms=float(info.get("setup-time", 0)),
        expected_downtime_ms=float(timeline[-1]["expected_downtime_ms"]) if timeline else 0.0,
        ram=stats,
        cpu_throttle_percentage=peak if status != "completed" else 0.0,
        xbzrle_cache=xbzrle,
        guest=GuestCost(throttle_peak_pct=peak, throttle_seconds=throttled_s),
        reason=reason or ("hard cap" if cap_hit else ""),
        timeline=timeline,
        source="lab",
    )


def _migrate(scenario: Scenario, pair: QemuPair, uri: str,
             cap_s: float) -> tuple[dict[str, Any], list[dict[str, Any]], bool, str]:
    """Migrate, polling into a timeline; start postcopy and cancel as the scenario says."""
    src = pair.source.qmp
    pair.destination.qmp.execute("migrate-incoming", {"uri": uri})
    control = scenario.control
    timeout_s = control.timeout_s if control.timeout_s is not None else float("inf")
    after = control.postcopy_after
    postcopy = "postcopy-ram" in scenario.capabilities.enabled and after is not None
    start = time.monotonic()
    src.execute("migrate", {"uri": uri})
    timeline: list[dict[str, Any]] = []
    last_sync, cap_hit, reason, switched = 0, False, "", False
    last_active: dict[str, Any] = {}
    while True:
        info: dict[str, Any] = src.execute("query-migrate")
        if "ram" in info:
            last_active = info
        t_s = time.monotonic() - start
        status = str(info.get("status"))
        event = ""
        sync = int(info.get("ram", {}).get("dirty-sync-count", 0))
        if postcopy and not switched and status == "active" and after is not None and (
                (after.passes is not None and sync >= after.passes + 1)
                or (after.seconds is not None and t_s >= after.seconds)):
            src.execute("migrate-start-postcopy")
            switched, event = True, "postcopy"
        timeline.append(_row(info, t_s, last_sync, event))
        last_sync = sync
        if status in _TERMINAL:
            break
        if t_s >= min(timeout_s, cap_s):
            cap_hit = t_s >= cap_s and timeout_s > cap_s
            reason = "hard cap" if cap_hit else "control.timeout"
            with contextlib.suppress(QMPError):
                src.execute("migrate_cancel")
            end = time.monotonic() + 10
            while time.monotonic() < end:
                if src.execute("query-migrate").get("status") in _TERMINAL:
                    break
                time.sleep(POLL_S)
            break
        pair.source.check_running()
        time.sleep(max(0.0, POLL_S - (time.monotonic() - start - t_s)))
    final = _final_info(src)
    if final.get("status") != "completed" and "ram" not in final and last_active:
        # 7.2 drops the counters of a cancelled migration: keep the last ones seen
        final = {**last_active, "status": final.get("status"),
                 "total-time": round(1000 * (time.monotonic() - start))}
    return final, timeline, cap_hit, reason


def _warm_up(pair: QemuPair, workload: GuestWorkload) -> None:
    """Let the guest write its working set once (at most :data:`WARMUP_MAX_S`)."""
    pair.source.wait_for_reports(WARMUP_REPORTS, timeout=30)
    deadline = time.monotonic() + WARMUP_MAX_S
    while time.monotonic() < deadline:
        log = pair.source.guest_log()
        if log.reports and log.reports[-1].passes >= 1:
            return
        pair.source.check_running()
        time.sleep(POLL_S)


def run_scenario(scenario: Scenario, *, content: Content = "text",
                 cap_s: float = DEFAULT_CAP_S, workdir: Path | None = None) -> LabRun:
    """Run one real migration of ``scenario`` and measure it.

    Long because it drives a real QEMU pair through setup, migrate, policy polling and teardown,
    as a management layer does.

    Args:
        scenario: A validated scenario; ``vm``, ``workload`` (rate form), ``parameters``,
            ``capabilities`` and ``control`` are honoured; ``host`` is the simulator's.
        content: The guest's page content (``text`` compresses and XBZRLE-encodes well,
            ``random`` does not, ``zero`` keeps pages zero).
        cap_s: Hard cap on the migration in seconds (cancelled past it).
        workdir: Directory for sockets and logs; a fresh temporary one by default.

    Returns:
        The :class:`LabRun`.

    Raises:
        QemuNotFoundError: QEMU is missing (the message says what to install).
        GuestBuildError: The guest cannot be built (likewise).
        LabError: The scenario cannot be run by the lab guest.
    """
    check_tools()
    vm = _vm_spec(scenario, content)
    began, started = time.monotonic(), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    own_dir = workdir is None
    base = Path(tempfile.mkdtemp(prefix="miglab-", dir="/tmp")) if workdir is None else workdir
    try:
        with qemu_pair(vm, base) as pair:
            version = pair.source.qmp.execute("query-version")["qemu"]
            _warm_up(pair, vm.workload)
            before = pair.source.guest_log()
            calc_Bps = _calc_dirty_rate(pair.source.qmp)
            at_migrate = pair.source.guest_log()
            _apply_settings(scenario, pair)
            info, timeline, cap_hit, reason = _migrate(
                scenario, pair, f"unix:{base / 'migration.sock'}", cap_s)
            at_end = pair.source.guest_log()
            corrupt = 0
            if info.get("status") == "completed":
                try:
                    dest = pair.destination.wait_for_reports(3, timeout=5)
                    corrupt = len(dest.corruptions) + max(
                        (r.corrupt for r in dest.reports), default=0)
                except TimeoutError:
                    corrupt = -1
            run = LabRun(
                scenario=scenario.to_dict(),
                content=content,
                qemu_version=f"{version['major']}.{version['minor']}.{version['micro']}",
                accelerator=vm.accel,
                calc_dirty_rate_Bps=calc_Bps,
                guest_rate_before_Bps=_rate_between(before, at_migrate),
                guest_rate_during_Bps=_rate_between(at_migrate, at_end),
                corrupt_pages=corrupt,
                result=_result(info, timeline, cap_hit, reason),
                cap_hit=cap_hit,
                started=started,
                extra={"guest-pages-at-migrate": at_migrate.reports[-1].pages
                       if at_migrate.reports else 0,
                       "guest-wss": vm.workload.wss_bytes,
                       "guest-pattern": vm.workload.pattern,
                       **({"guest-hot": vm.workload.hot_bytes,
                           "guest-hotpct": vm.workload.hot_pct}
                          if vm.workload.pattern == "hotcold" else {}),
                       "guest-rate": vm.workload.rate_bytes_per_s},
            )
    finally:
        if own_dir:
            shutil.rmtree(base, ignore_errors=True)
    run.wall_s = time.monotonic() - began
    return run

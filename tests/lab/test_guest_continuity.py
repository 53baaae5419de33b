"""Real QEMU: the lab guest carries on across a live migration exactly where it stopped.

One small migration (128 MiB guest, 32 MiB working set dirtied at 20 MiB/s, link
limited to 64 MiB/s, unix sockets only) is run once for the module; each test
checks one property of it. The guest's counters live in its RAM, so the
destination must continue them without a restart or a step back, and the
guest's per-page versions prove that no dirty page was lost (QEMU 7.2 under
TCG loses some unless the guest flushes its TLB, which it does every 1 ms).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from sim.lab.guest import GuestLog, GuestWorkload, parse_log
from sim.lab.qemu_proc import QemuPair, VMSpec, qemu_pair
from sim.lab.qmp import QMPClient

MiB = 1 << 20
WORKLOAD = GuestWorkload(wss_bytes=32 * MiB, rate_bytes_per_s=20 * MiB, report_ms=100)
VM = VMSpec(memory_mib=128, vcpus=1, workload=WORKLOAD)
MAX_BANDWIDTH = 64 * MiB
REPORTS_BEFORE = 12  # 1.2 s of guest time on the source
REPORTS_AFTER = 5  # 0.5 s on the destination
MIGRATION_CAP_S = 20.0
TERMINAL = ("completed", "failed", "cancelled")

pytestmark = [
    pytest.mark.qemu,
    pytest.mark.timeout(40),
    pytest.mark.skipif(
        shutil.which("qemu-system-x86_64") is None,
        reason="needs qemu-system-x86_64 (Debian's qemu-system-x86; bash scripts/system-deps.sh)",
    ),
]


@dataclass(frozen=True)
class Outcome:
    """What one lab migration left behind."""

    before: GuestLog  # source log when the migration was started
    source: GuestLog  # source log after completion (the guest is stopped there)
    destination: GuestLog
    joined: GuestLog  # source serial bytes followed by destination serial bytes
    status: str
    source_run_state: str


def _wait_for_end(qmp: QMPClient, cap_s: float) -> str:
    """Poll query-migrate until a terminal status; cancel and fail past the cap."""
    deadline = time.monotonic() + cap_s
    while time.monotonic() < deadline:
        status: str = qmp.execute("query-migrate")["status"]
        if status in TERMINAL:
            return status
        time.sleep(0.05)
    qmp.execute("migrate_cancel")
    pytest.fail(f"migration did not finish within {cap_s} s")


def _migrate(pair: QemuPair, uri: str) -> str:
    pair.destination.qmp.execute("migrate-incoming", {"uri": uri})
    source: QMPClient = pair.source.qmp
    source.execute("migrate-set-parameters", {"max-bandwidth": MAX_BANDWIDTH})
    source.execute("migrate", {"uri": uri})
    return _wait_for_end(source, MIGRATION_CAP_S)


def _run_state(qmp: QMPClient) -> str:
    state: dict[str, Any] = qmp.execute("query-status")
    return str(state["status"])


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    """Boot, dirty, migrate over a unix socket, let the destination run a while."""
    workdir: Path = tmp_path_factory.mktemp("mig")
    with qemu_pair(VM, workdir) as pair:
        before = pair.source.wait_for_reports(REPORTS_BEFORE, timeout=15)
        status = _migrate(pair, f"unix:{workdir / 'migration.sock'}")
        if status == "completed":
            pair.destination.wait_for_reports(REPORTS_AFTER, timeout=10)
        source_text = pair.source.serial_path.read_text()
        destination_text = pair.destination.serial_path.read_text()
        yield Outcome(
            before=before,
            source=parse_log(source_text),
            destination=parse_log(destination_text),
            joined=parse_log(source_text + destination_text),
            status=status,
            source_run_state=_run_state(pair.source.qmp),
        )


def test_migration_completes(outcome: Outcome) -> None:
    """QEMU reports success and leaves the source paused in postmigrate."""
    assert outcome.status == "completed"
    assert outcome.source_run_state == "postmigrate"


def test_guest_dirties_at_the_requested_rate(outcome: Outcome) -> None:
    """Before migrating, the guest's own page count matches 20 MiB/s within 15 %."""
    rate = outcome.before.dirty_rate_bytes_per_s()
    assert rate == pytest.approx(WORKLOAD.rate_bytes_per_s, rel=0.15)


def test_destination_continues_the_source_counters(outcome: Outcome) -> None:
    """The destination's first report follows the source's last: no reboot, no step back.

    The source may stop in the middle of a line, whose rest the destination
    prints; so the first complete destination line is the next or the one after.
    """
    last, first = outcome.source.reports[-1], outcome.destination.reports[0]
    assert outcome.destination.ready == []
    assert last.seq < first.seq <= last.seq + 2
    assert last.pages <= first.pages
    assert last.t_ms < first.t_ms <= last.t_ms + 2 * WORKLOAD.report_ms


def test_serial_stream_is_one_uninterrupted_sequence(outcome: Outcome) -> None:
    """Source output followed by destination output reads as one run: seq 1, 2, 3 …"""
    reports = outcome.joined.reports
    assert [r.seq for r in reports] == list(range(1, len(reports) + 1))
    assert all(a.pages <= b.pages for a, b in pairwise(reports))
    assert all(a.t_ms < b.t_ms for a, b in pairwise(reports))
    assert len(outcome.joined.ready) == 1


def test_no_dirty_page_was_lost(outcome: Outcome) -> None:
    """Every page the guest rewrote on either side held the version it last wrote there."""
    assert outcome.joined.corruptions == []
    assert outcome.joined.errors == []
    assert all(r.corrupt == 0 for r in outcome.joined.reports)


def test_guest_keeps_dirtying_on_the_destination(outcome: Outcome) -> None:
    """After the switchover the guest runs on the destination at its requested rate."""
    reports = outcome.destination.reports
    assert len(reports) >= REPORTS_AFTER
    rate = outcome.destination.dirty_rate_bytes_per_s()
    assert rate == pytest.approx(WORKLOAD.rate_bytes_per_s, rel=0.15)

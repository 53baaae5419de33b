"""Real QEMU smoke test for ``miglab lab run``: two short migrations, under a minute together.

One converging precopy run and one that cannot converge and is cancelled by its
``control.timeout``; both over a unix socket, both recorded in the engine's Result shape.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.lab.corpus import append_record, load_corpus
from sim.lab.runner import run_scenario
from sim.result import TIMELINE_COLUMNS
from sim.scenario import load_scenario

MiB = 1 << 20

pytestmark = [
    pytest.mark.qemu,
    pytest.mark.timeout(60),
    # skipped without qemu-system-x86_64: tests/conftest.py
]


def _scenario(name: str, rate: int, wss: int, bw: int, timeout: str) -> dict[str, object]:
    return {"name": name, "qemu": "7.2", "vm": {"memory": "128M"},
            "workload": {"dirty-rate": rate, "working-set": wss},
            "parameters": {"max-bandwidth": bw, "downtime-limit": 300},
            "control": {"timeout": timeout}}


def test_converging_run_is_recorded_like_the_engine(tmp_path: Path) -> None:
    """A small precopy migration completes, with a 100 ms timeline and no lost page."""
    run = run_scenario(load_scenario(_scenario("smoke", 10 * MiB, 16 * MiB, 64 * MiB, "15s")),
                       cap_s=20)
    result = run.result
    assert result.status == "completed"
    assert result.converged
    assert result.source == "lab"
    assert result.total_time_ms > 0
    assert result.downtime_ms > 0
    assert result.ram.transferred >= 16 * MiB
    assert result.ram.dirty_sync_count >= 2
    assert run.corrupt_pages == 0
    assert run.qemu_version.count(".") == 2
    assert run.accelerator == "tcg"
    assert set(result.timeline[0]) == set(TIMELINE_COLUMNS)
    assert result.timeline[-1]["phase"] == "done"
    out = tmp_path / "c.jsonl"
    append_record(out, run.to_record())
    assert load_corpus(out)[0]["result"]["status"] == "completed"


def test_timeout_cancels_cleanly() -> None:
    """A guest dirtying faster than the link is cancelled at control.timeout, counters kept."""
    run = run_scenario(load_scenario(_scenario("stuck", 40 * MiB, 32 * MiB, 8 * MiB, "3s")),
                       cap_s=20)
    assert run.result.status == "cancelled"
    assert not run.result.converged
    assert run.result.reason == "control.timeout"
    assert not run.cap_hit
    assert run.result.total_time_ms >= 3000
    assert run.result.ram.transferred > 0

"""The emulator against the real QEMU 7.2 binary, reply for reply.

``tests/fixtures/qmp72/replies.jsonl`` holds replies recorded from Debian's
``qemu-system-x86_64`` 7.2 by ``tests/fixtures/qmp72/record.py``. Each session is replayed
through a fresh :class:`~sim.qemu.QmpMonitor` for 7.2, and every error reply must carry
the same ``class`` and ``desc`` byte for byte; successful queries of parameters,
capabilities and the version must return the same values in the same key order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sim.qemu import QmpMonitor

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "qmp72"
PACKAGE = json.loads((FIXTURES / "meta.json").read_text())["query_version"]["package"]


def _sessions() -> dict[str, list[dict[str, Any]]]:
    sessions: dict[str, list[dict[str, Any]]] = {}
    for line in (FIXTURES / "replies.jsonl").read_text().splitlines():
        rec = json.loads(line)
        sessions.setdefault(rec["session"], []).append(rec)
    return sessions


SESSIONS = _sessions()
SETUPS = {s["name"]: s for s in json.loads((FIXTURES / "sessions.json").read_text())}
EXACT_QUERIES = ("query-migrate-parameters", "query-migrate-capabilities", "query-version")


def test_fixture_covers_enough_commands() -> None:
    """The issue asks for at least 60 recorded commands, valid and invalid."""
    records = [r for rs in SESSIONS.values() for r in rs]
    assert len(records) >= 60
    assert sum("error" in r["reply"] for r in records) >= 30
    assert sum("return" in r["reply"] for r in records) >= 30


@pytest.mark.parametrize("name", sorted(SESSIONS))
def test_session_replies_match_real_qemu(name: str) -> None:
    """Every reply of the session equals the real binary's on class/desc and query values."""
    args = SETUPS[name].get("qemu_args") or []
    mon = QmpMonitor("7.2", incoming="-incoming" in args, negotiated=True, package=PACKAGE)
    for rec in SESSIONS[name]:
        command = rec["command"]
        if isinstance(command, dict) and "$raw" in command:
            got = mon.execute_text(command["$raw"])
        else:
            got = mon.execute(command)
        want = rec["reply"]
        where = f"{name}[{rec['index']}] {json.dumps(command)}"
        if "error" in want:
            assert got.get("error") == want["error"], where
            assert list(got) == list(want), where  # key order: {"id", "error"}
        else:
            assert "return" in got, f"{where}: {got}"
            execute = command.get("execute") if isinstance(command, dict) else None
            if execute in EXACT_QUERIES:
                assert json.dumps(got) == json.dumps(want), where

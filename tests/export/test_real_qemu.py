"""The QMP and HMP exports against the real QEMU 7.2 binary.

Two ``qemu-system-x86_64 -machine none`` processes (no guest RAM, so a migration takes
milliseconds) play source and destination (``-incoming defer``). Every command of the
QMP export is applied, including ``migrate`` over a unix socket in ``tmp_path``; the
migration must complete on both sides and ``query-migrate-parameters`` must show the
scenario's values. The HMP export goes through ``human-monitor-command`` the same way.
Only the processes started here are killed.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sim.export import ExportOptions, export
from sim.lab.qmp import QMPClient
from sim.scenario import Scenario

pytestmark = pytest.mark.qemu  # skipped without the binary: tests/conftest.py

QEMU_72 = ["legacy-compress-72", "web-8g", "db-32g-postcopy", "multifd-zstd",
           "xbzrle-throttle", "postcopy-seconds", "odd-units"]
IGNORED_BY_72 = ("multifd-zlib-level", "multifd-zstd-level")  # dropped over QMP (§10)
DEADLINE_S = 15.0


class Pair:
    """A source and a destination QEMU with their QMP clients."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        try:
            self.src = self._start("src", [])
            self.dst = self._start("dst", ["-incoming", "defer"])
        except BaseException:  # a QEMU that did start must not outlive a failed setup
            self._kill()
            raise

    def _start(self, name: str, extra: list[str]) -> QMPClient:
        sock = self.tmp / f"{name}.qmp"
        cmd = ["qemu-system-x86_64", "-machine", "none", "-display", "none", "-nodefaults",
               "-qmp", f"unix:{sock},server=on,wait=off", *extra]
        with (self.tmp / f"{name}.log").open("wb") as log:
            self.procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log))
        return QMPClient.connect(sock, timeout=10.0)

    def close(self) -> None:
        for client in (self.src, self.dst):
            client.close()
        self._kill()

    def _kill(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    """Two fresh QEMU 7.2 processes, killed afterwards."""
    p = Pair(tmp_path)
    try:
        yield p
    finally:
        p.close()


def _as_72(named: Callable[[str], Scenario], name: str) -> Scenario:
    sc = named(name)
    return sc if sc.qemu.name == "7.2" else sc.with_changes({"qemu": "7.2"})


def _apply(client: QMPClient, text: str) -> None:
    for line in text.splitlines():
        request: dict[str, Any] = json.loads(line)
        if request["execute"] != "qmp_capabilities":  # the client negotiated already
            client.execute(request["execute"], request.get("arguments"))


def _wait_completed(client: QMPClient) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        info: dict[str, Any] = client.execute("query-migrate")
        if info.get("status") in ("completed", "failed", "cancelled") or \
                time.monotonic() > deadline:
            return info
        time.sleep(0.05)


def _expected(sc: Scenario) -> dict[str, object]:
    return {k: sc.parameters[k] for k in sc.parameters.given if k not in IGNORED_BY_72}


@pytest.mark.parametrize("name", QEMU_72)
def test_qmp_export_migrates_on_real_qemu(pair: Pair, name: str,
                                          named: Callable[[str], Scenario]) -> None:
    """QEMU 7.2 accepts every command of the export and the migration completes."""
    sc = _as_72(named, name)
    out = export(sc, "qmp", ExportOptions(uri=f"unix:{pair.tmp}/mig.sock",
                                          listen_uri=f"unix:{pair.tmp}/mig.sock"))
    _apply(pair.dst, out.files["destination.jsonl"])
    _apply(pair.src, out.files["source.jsonl"])
    assert _wait_completed(pair.src)["status"] == "completed"
    assert _wait_completed(pair.dst)["status"] == "completed"
    got = pair.src.execute("query-migrate-parameters")
    assert {k: got[k] for k in _expected(sc)} == _expected(sc)
    caps = {c["capability"] for c in pair.src.execute("query-migrate-capabilities")
            if c["state"]}
    assert caps == set(sc.capabilities.enabled)


@pytest.mark.parametrize("name", QEMU_72)
def test_hmp_export_sets_the_same_values_on_real_qemu(pair: Pair, name: str,
                                                      named: Callable[[str], Scenario]
                                                      ) -> None:
    """QEMU 7.2's HMP reads each exported line (units included) to the scenario's value."""
    sc = _as_72(named, name)
    out = export(sc, "hmp")
    for side, client in (("destination.hmp", pair.dst), ("source.hmp", pair.src)):
        for line in out.files[side].splitlines():
            if line.startswith(("migrate_set_capability", "migrate_set_parameter")):
                reply = client.execute("human-monitor-command", {"command-line": line})
                assert reply == "", (line, reply)  # HMP prints errors, success is silent
    got = pair.src.execute("query-migrate-parameters")
    assert {k: got[k] for k in _expected(sc)} == _expected(sc)

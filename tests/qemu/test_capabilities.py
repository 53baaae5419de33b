"""``migrate-set-capabilities``: every rule of ``migrate_caps_check``, both ways, per release.

Each rule is shown refusing the combination with QEMU's own text (copied from
``docs/qemu-versions.md`` §4 and ``qemu-migration-spec.md`` §17) and accepting the same
request once the conflict is removed. Host-dependent rules take the host from
:class:`~sim.qemu.HostSupport`.
"""

from __future__ import annotations

from typing import Any

import pytest

from sim.qemu import VERSIONS, HostSupport, QmpMonitor

ALL = tuple(VERSIONS)
UP_TO_82 = ("7.2", "8.1", "8.2")
FROM_81 = ("8.1", "8.2", "9.1", "10.1")
FROM_91 = ("9.1", "10.1")
OK: dict[str, Any] = {"return": {}}


def set_caps(mon: QmpMonitor, *names: str, state: bool = True) -> dict[str, Any]:
    """Turn ``names`` on (or off) in one ``migrate-set-capabilities``."""
    return mon.execute({"execute": "migrate-set-capabilities", "arguments": {
        "capabilities": [{"capability": n, "state": state} for n in names]}})


def enabled(mon: QmpMonitor) -> set[str]:
    """The capabilities query-migrate-capabilities reports as on."""
    reply = mon.execute({"execute": "query-migrate-capabilities"})
    return {c["capability"] for c in reply["return"] if c["state"]}


def error(desc: str) -> dict[str, Any]:
    """QEMU's GenericError reply."""
    return {"error": {"class": "GenericError", "desc": desc}}


def not_accepted(name: str) -> dict[str, Any]:
    """The enum visitor's reply to a capability the release does not have."""
    return error(f"Parameter 'capability' does not accept value '{name}'")


# (versions, capabilities turned on together, host, QEMU's message or None when accepted)
RULES = [
    # block migration built out
    (UP_TO_82, ("block",), HostSupport(live_block_migration=False),
     "QEMU compiled without old-style (blk/-b, inc/-i) block migration"),
    (UP_TO_82, ("block",), HostSupport(), None),
    # COLO built out
    (ALL, ("x-colo",), HostSupport(replication=False),
     "QEMU compiled without replication module can't enable COLO"),
    (ALL, ("x-colo",), HostSupport(), None),
    # postcopy and ignore-shared
    (ALL, ("postcopy-ram", "x-ignore-shared"), HostSupport(),
     "Postcopy is not compatible with ignore-shared"),
    (ALL, ("postcopy-ram",), HostSupport(), None),
    (ALL, ("x-ignore-shared",), HostSupport(), None),
    # postcopy and multifd: refused from 8.1 until 10.1
    (("8.1", "8.2", "9.1"), ("postcopy-ram", "multifd"), HostSupport(),
     "Postcopy is not yet compatible with multifd"),
    (("7.2", "10.1"), ("postcopy-ram", "multifd"), HostSupport(), None),
    # background snapshot and the host
    (ALL, ("background-snapshot",), HostSupport(write_tracking="absent"),
     "Background-snapshot is not supported by host kernel"),
    (ALL, ("background-snapshot",), HostSupport(write_tracking="available"),
     "Background-snapshot is not compatible with guest memory configuration"),
    (ALL, ("background-snapshot",), HostSupport(), None),
    # zero-copy-send
    (ALL, ("zero-copy-send",), HostSupport(),
     "Zero copy only available for non-compressed non-TLS multifd migration"),
    (ALL, ("zero-copy-send", "multifd", "xbzrle"), HostSupport(),
     "Zero copy only available for non-compressed non-TLS multifd migration"),
    (UP_TO_82, ("zero-copy-send", "multifd", "compress"), HostSupport(),
     "Zero copy only available for non-compressed non-TLS multifd migration"),
    (ALL, ("zero-copy-send", "multifd"), HostSupport(), None),
    (ALL, ("zero-copy-send", "multifd"), HostSupport(linux=False),
     "Zero copy currently only available on Linux"),
    # postcopy-preempt
    (ALL, ("postcopy-preempt",), HostSupport(), "Postcopy preempt requires postcopy-ram"),
    (ALL, ("postcopy-preempt", "postcopy-ram"), HostSupport(), None),
    (UP_TO_82, ("postcopy-preempt", "postcopy-ram", "compress"), HostSupport(),
     "Postcopy preempt not compatible with compress"),
    # multifd and legacy compression
    (UP_TO_82, ("multifd", "compress"), HostSupport(), "Multifd is not compatible with compress"),
    (UP_TO_82, ("compress",), HostSupport(), None),
    # switchover-ack needs the return path (8.1+)
    (FROM_81, ("switchover-ack",), HostSupport(),
     "Capability 'switchover-ack' requires capability 'return-path'"),
    (FROM_81, ("switchover-ack", "return-path"), HostSupport(), None),
    # dirty-limit (8.1+)
    (FROM_81, ("dirty-limit", "auto-converge"), HostSupport(kvm_dirty_ring=True),
     "dirty-limit conflicts with auto-converge either of then available currently"),
    (FROM_81, ("dirty-limit",), HostSupport(),
     "dirty-limit requires KVM with accelerator property 'dirty-ring-size' set"),
    (FROM_81, ("dirty-limit",), HostSupport(kvm_dirty_ring=True), None),
    # xbzrle mixes: refused from 8.2
    (("8.2", "9.1", "10.1"), ("multifd", "xbzrle"), HostSupport(),
     "Multifd is not compatible with xbzrle"),
    (("7.2", "8.1"), ("multifd", "xbzrle"), HostSupport(), None),
    (("8.2",), ("compress", "xbzrle"), HostSupport(), "Compression is not compatible with xbzrle"),
    (("7.2", "8.1"), ("compress", "xbzrle"), HostSupport(), None),
    # mapped-ram (9.1 here; new in 9.0)
    (FROM_91, ("mapped-ram", "xbzrle"), HostSupport(),
     "Mapped-ram migration is incompatible with xbzrle"),
    (FROM_91, ("mapped-ram", "postcopy-ram"), HostSupport(),
     "Mapped-ram migration is incompatible with postcopy"),
    (FROM_91, ("mapped-ram", "multifd"), HostSupport(), None),
    # the first failure in QEMU's order wins
    (("8.2", "9.1"), ("xbzrle", "multifd", "postcopy-ram"), HostSupport(),
     "Postcopy is not yet compatible with multifd"),
    (("7.2",), ("postcopy-ram", "multifd", "xbzrle"), HostSupport(), None),
]


def _rule_id(versions: tuple[str, ...], caps: tuple[str, ...], host: HostSupport,
             message: str | None) -> str:
    changed = [f"{k}={v}" for k, v in vars(host).items() if getattr(HostSupport(), k) != v]
    verdict = "refused" if message else "accepted"
    return f"{'+'.join(caps)}{'@' + ','.join(changed) if changed else ''}-{verdict}"


RULE_CASES = [
    pytest.param(version, caps, host, message,
                 id=f"{version}-{_rule_id(versions, caps, host, message)}")
    for versions, caps, host, message in RULES for version in versions
]


@pytest.mark.parametrize(("version", "caps", "host", "message"), RULE_CASES)
def test_capability_rule(version: str, caps: tuple[str, ...], host: HostSupport,
                         message: str | None) -> None:
    """Each combination is refused with QEMU's text, or accepted and applied, per release."""
    mon = QmpMonitor(version, host)
    reply = set_caps(mon, *caps)
    if message is None:
        assert reply == OK
        assert enabled(mon) == set(caps)
    else:
        assert reply == error(message)
        assert enabled(mon) == set()


BACKGROUND_SNAPSHOT_CONFLICTS = (
    "postcopy-ram", "dirty-bitmaps", "postcopy-blocktime", "late-block-activate",
    "return-path", "multifd", "pause-before-switchover", "auto-converge", "release-ram",
    "rdma-pin-all", "compress", "xbzrle", "x-colo", "validate-uuid", "zero-copy-send",
)


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize("other", BACKGROUND_SNAPSHOT_CONFLICTS)
def test_background_snapshot_refuses_each_listed_capability(version: str, other: str) -> None:
    """background-snapshot beside any capability of QEMU's list names that capability."""
    mon = QmpMonitor(version)
    if other == "compress" and version in FROM_91:
        assert set_caps(mon, "background-snapshot", other) == not_accepted("compress")
        return
    assert set_caps(mon, "background-snapshot", other) == error(
        f"Background-snapshot is not compatible with {other}")


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize(("stored", "value"),
                         [("multifd-compression", "zlib"), ("tls-creds", "tls0")])
def test_zero_copy_refuses_stored_compression_or_tls(version: str, stored: str,
                                                     value: str) -> None:
    """Turning zero-copy-send on checks the stored multifd compression and TLS credentials."""
    mon = QmpMonitor(version)
    assert mon.execute({"execute": "migrate-set-parameters",
                        "arguments": {stored: value}}) == OK
    assert set_caps(mon, "multifd", "zero-copy-send") == error(
        "Zero copy only available for non-compressed non-TLS multifd migration")


# ----------------------------------------------------------------- release vocabulary

@pytest.mark.parametrize(
    ("version", "name", "exists"),
    [
        pytest.param("7.2", "switchover-ack", False, id="7.2-no-switchover-ack"),
        pytest.param("8.1", "switchover-ack", True, id="8.1-switchover-ack"),
        pytest.param("7.2", "dirty-limit", False, id="7.2-no-dirty-limit"),
        pytest.param("8.1", "dirty-limit", True, id="8.1-dirty-limit"),
        pytest.param("8.2", "mapped-ram", False, id="8.2-no-mapped-ram"),
        pytest.param("9.1", "mapped-ram", True, id="9.1-mapped-ram"),
        pytest.param("8.2", "compress", True, id="8.2-compress"),
        pytest.param("9.1", "compress", False, id="9.1-no-compress"),
        pytest.param("10.1", "compress", False, id="10.1-no-compress"),
        pytest.param("8.2", "block", True, id="8.2-block"),
        pytest.param("9.1", "block", False, id="9.1-no-block"),
        pytest.param("10.1", "block", False, id="10.1-no-block"),
    ],
)
def test_capability_exists_only_in_its_releases(version: str, name: str, exists: bool) -> None:
    """A capability a release lacks fails the enum visitor and is not listed by the query."""
    mon = QmpMonitor(version)
    listed = {c["capability"] for c in
              mon.execute({"execute": "query-migrate-capabilities"})["return"]}
    assert (name in listed) is exists
    assert set_caps(mon, name, state=False) == (OK if exists else not_accepted(name))


# ------------------------------------------------------------------ destination side

@pytest.mark.parametrize(
    ("version", "message"),
    [
        pytest.param("7.2", "Postcopy is not supported", id="7.2-no-detail"),
        pytest.param("8.2", "Postcopy is not supported: ", id="8.2-detail-prepended"),
        pytest.param("10.1", "Postcopy is not supported: ", id="10.1-detail-prepended"),
    ],
)
def test_postcopy_on_a_destination_without_userfaultfd(version: str, message: str) -> None:
    """A destination without userfaultfd refuses postcopy-ram; a source does not check."""
    no_uffd = HostSupport(userfaultfd=False)
    reply = set_caps(QmpMonitor(version, no_uffd, incoming=True), "postcopy-ram")
    desc = reply["error"]["desc"]
    assert desc == message if version == "7.2" else desc.startswith(message)
    assert set_caps(QmpMonitor(version, no_uffd), "postcopy-ram") == OK
    assert set_caps(QmpMonitor(version, incoming=True), "postcopy-ram") == OK


def started_destination(version: str, *caps: str) -> QmpMonitor:
    """A destination with ``caps`` on whose incoming side has been started."""
    mon = QmpMonitor(version, incoming=True)
    if caps:
        assert set_caps(mon, *caps) == OK
    assert mon.execute({"execute": "migrate-incoming",
                        "arguments": {"uri": "tcp:0:4444"}}) == OK
    return mon


@pytest.mark.parametrize("version", FROM_81)
@pytest.mark.parametrize(
    ("caps", "message"),
    [
        pytest.param(("multifd",), "Multifd must be set before incoming starts", id="multifd"),
        pytest.param(("postcopy-ram", "postcopy-preempt"),
                     "Postcopy preempt must be set before incoming starts", id="preempt"),
    ],
)
def test_too_late_once_incoming_started(version: str, caps: tuple[str, ...],
                                        message: str) -> None:
    """8.1+ refuse multifd and postcopy-preempt after migrate-incoming; before, they are fine."""
    assert set_caps(started_destination(version), *caps) == error(message)
    assert set_caps(QmpMonitor(version, incoming=True), *caps) == OK


@pytest.mark.parametrize(
    ("version", "reply"),
    [
        pytest.param("8.2", error("Multifd must be set before incoming starts"),
                     id="8.2-refuses-while-on"),
        pytest.param("10.1", OK, id="10.1-only-refuses-newly-set"),
    ],
)
def test_multifd_already_on_when_incoming_started(version: str, reply: dict[str, Any]) -> None:
    """8.x refuse any change while multifd is on after the start; 10.x only a newly set one."""
    mon = started_destination(version, "multifd")
    assert set_caps(mon, "events") == reply


def test_72_accepts_multifd_after_incoming_started() -> None:
    """7.2 has no incoming-started check for multifd."""
    assert set_caps(started_destination("7.2"), "multifd") == OK


def test_72_multifd_on_a_single_channel_incoming_uri() -> None:
    """7.2's destination refuses multifd when its incoming URI allows one channel only."""
    mon = QmpMonitor("7.2", HostSupport(multi_channel_transport=False), incoming=True)
    assert set_caps(mon, "multifd") == error("multifd is not supported by current protocol")


# --------------------------------------------------------------------- while running

@pytest.mark.parametrize("version", ALL)
def test_capabilities_are_frozen_while_migrating(version: str) -> None:
    """Capabilities cannot change during a migration; parameters can."""
    mon = QmpMonitor(version)
    assert mon.execute({"execute": "migrate", "arguments": {"uri": "tcp:127.0.0.1:4444"}}) == OK
    assert set_caps(mon, "auto-converge") == error("There's a migration process in progress")
    assert mon.execute({"execute": "migrate-set-parameters",
                        "arguments": {"downtime-limit": 500}}) == OK
    assert mon.execute({"execute": "migrate_cancel"}) == OK
    assert set_caps(mon, "auto-converge") == OK

"""``migrate-set-parameters``: every bound, every cross-field rule, every version difference.

Each row sets one value on a fresh emulated QEMU and compares the reply with the text of
QEMU's ``migrate_params_check`` or QAPI visitor, copied here from
``docs/qemu-versions.md`` §3/§5/§7 and ``qemu-migration-spec.md`` §16 (not from miglab's
output). The valid edge must be accepted and read back; the first invalid value must be
refused with QEMU's words.
"""

from __future__ import annotations

from typing import Any

import pytest

from sim.qemu import VERSIONS, HostSupport, QmpMonitor

ALL = tuple(VERSIONS)
UP_TO_82 = ("7.2", "8.1", "8.2")
FROM_81 = ("8.1", "8.2", "9.1", "10.1")
FROM_82 = ("8.2", "9.1", "10.1")
FROM_91 = ("9.1", "10.1")
U64_MAX = 2**64 - 1


def set_parameters(mon: QmpMonitor, **args: Any) -> dict[str, Any]:
    """Send ``migrate-set-parameters`` with ``args`` given as QMP names."""
    return mon.execute({"execute": "migrate-set-parameters", "arguments": args})


def query(mon: QmpMonitor) -> dict[str, Any]:
    """``query-migrate-parameters``' return value."""
    reply = mon.execute({"execute": "query-migrate-parameters"})
    return dict(reply["return"])


def error(desc: str) -> dict[str, Any]:
    """QEMU's GenericError reply."""
    return {"error": {"class": "GenericError", "desc": desc}}


# (parameter, versions, valid edge values, first invalid values, QEMU's message)
BOUNDS = [
    ("announce-initial", ALL, [0, 100000], [100001],
     "Parameter 'announce_initial' expects a value between 0 and 100000"),
    ("announce-max", ALL, [0, 100000], [100001],
     "Parameter 'announce_max' expects a value between 0 and 100000"),
    ("announce-rounds", ALL, [0, 1000], [1001],
     "Parameter 'announce_rounds' expects a value between 0 and 1000"),
    ("announce-step", ALL, [1, 10000], [0, 10001],
     "Parameter 'announce_step' expects a value between 0 and 10000"),
    ("compress-level", UP_TO_82, [0, 9], [10],
     "Parameter 'compress_level' expects a value between 0 and 9"),
    ("compress-threads", UP_TO_82, [1, 255], [0],
     "Parameter 'compress_threads' expects a value between 1 and 255"),
    ("decompress-threads", UP_TO_82, [1, 255], [0],
     "Parameter 'decompress_threads' expects a value between 1 and 255"),
    ("throttle-trigger-threshold", ALL, [1, 100], [0, 101],
     "Parameter 'throttle_trigger_threshold' expects an integer in the range of 1 to 100"),
    ("cpu-throttle-initial", ALL, [1, 99], [0, 100],
     "Parameter 'cpu_throttle_initial' expects an integer in the range of 1 to 99"),
    ("cpu-throttle-increment", ALL, [1, 99], [0, 100],
     "Parameter 'cpu_throttle_increment' expects an integer in the range of 1 to 99"),
    ("max-bandwidth", ALL, [0, U64_MAX], [U64_MAX + 1],
     "Parameter 'max-bandwidth' expects uint64"),
    ("avail-switchover-bandwidth", FROM_82, [0, U64_MAX], [U64_MAX + 1],
     "Parameter 'avail-switchover-bandwidth' expects uint64"),
    ("max-postcopy-bandwidth", ALL, [0, U64_MAX], [U64_MAX + 1],
     "Parameter 'max-postcopy-bandwidth' expects uint64"),
    ("downtime-limit", ALL, [0, 2000000], [2000001],
     "Parameter 'downtime_limit' expects an integer in the range of 0 to (2000 * 1000) ms"),
    ("multifd-channels", ALL, [1, 255], [0],
     "Parameter 'multifd_channels' expects a value between 1 and 255"),
    ("multifd-channels", ALL, [255], [256, -1],
     "Parameter 'multifd-channels' expects uint8_t"),
    ("multifd-zlib-level", FROM_91, [0, 9], [10],
     "Parameter 'multifd_zlib_level' expects a value between 0 and 9"),
    ("multifd-zstd-level", FROM_91, [0, 20], [21],
     "Parameter 'multifd_zstd_level' expects a value between 0 and 20"),
    ("multifd-qatzip-level", ("10.1",), [1, 9], [0, 10],
     "Parameter 'multifd_qatzip_level' expects a value between 1 and 9"),
    ("xbzrle-cache-size", ALL, [4096, 2**63], [4095, 4097, 0, 2**63 + 4096],
     "Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size"),
    ("max-cpu-throttle", ALL, [20, 99], [19, 100],
     "Parameter 'max_cpu_throttle' expects an integer in the range of cpu_throttle_initial to 99"),
    ("x-vcpu-dirty-limit-period", FROM_81, [1, 1000], [0, 1001],
     "Parameter 'x-vcpu-dirty-limit-period' expects a value between 1 and 1000"),
    ("x-checkpoint-delay", ALL, [0, 2**32 - 1], [2**32, -1],
     "Parameter 'x-checkpoint-delay' expects uint32_t"),
    ("vcpu-dirty-limit", ("8.1", "8.2"), [1, U64_MAX], [0],
     "Parameter 'vcpu_dirty_limit' expects is invalid, it must greater then 1 MB/s"),
    ("vcpu-dirty-limit", FROM_91, [1, U64_MAX], [0],
     "Parameter 'vcpu_dirty_limit' must be greater than 1 MB/s"),
]

VALID_CASES = [
    pytest.param(version, name, value, id=f"{version}-{name}={value}")
    for name, versions, valid, _bad, _msg in BOUNDS for version in versions for value in valid
]
INVALID_CASES = [
    pytest.param(version, name, value, msg, id=f"{version}-{name}={value}")
    for name, versions, _ok, bad, msg in BOUNDS for version in versions for value in bad
]


@pytest.mark.parametrize(("version", "name", "value"), VALID_CASES)
def test_valid_edge_is_accepted_and_stored(version: str, name: str, value: int) -> None:
    """The last value inside each range is accepted and query-migrate-parameters shows it."""
    mon = QmpMonitor(version)
    assert set_parameters(mon, **{name: value}) == {"return": {}}
    assert query(mon)[name] == value


@pytest.mark.parametrize(("version", "name", "value", "message"), INVALID_CASES)
def test_first_invalid_value_gets_qemus_message(version: str, name: str, value: int,
                                                message: str) -> None:
    """The first value outside each range is refused with QEMU's text, and nothing changes."""
    mon = QmpMonitor(version)
    before = query(mon)
    assert set_parameters(mon, **{name: value}) == error(message)
    assert query(mon) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param({"multifd-channels": "x"}, "Parameter 'multifd-channels' expects uint64",
                     id="uint8-string"),
        pytest.param({"multifd-channels": 1.5}, "Parameter 'multifd-channels' expects uint64",
                     id="uint8-float"),
        pytest.param({"max-bandwidth": "1G"}, "Parameter 'max-bandwidth' expects uint64",
                     id="size-string"),
        pytest.param({"downtime-limit": "x"}, "Parameter 'downtime-limit' expects uint64",
                     id="uint64-string"),
        pytest.param({"cpu-throttle-tailslow": 1},
                     "Invalid parameter type for 'cpu-throttle-tailslow', expected: boolean",
                     id="bool-int"),
        pytest.param({"tls-creds": 1},
                     "Invalid parameter type for 'tls-creds', expected: StrOrNull",
                     id="StrOrNull-int"),
        pytest.param({"multifd-compression": "foo"},
                     "Parameter 'multifd-compression' does not accept value 'foo'",
                     id="enum-bad-value"),
        pytest.param({"multifd-compression": 1},
                     "Invalid parameter type for 'multifd-compression', expected: string",
                     id="enum-int"),
        pytest.param({"no-such-parameter": 1}, "Parameter 'no-such-parameter' is unexpected",
                     id="unknown-member"),
    ],
)
@pytest.mark.parametrize("version", ALL)
def test_qapi_type_errors_use_dash_names(version: str, args: dict[str, Any],
                                         message: str) -> None:
    """Type errors come from the QAPI visitor and name the member with dashes."""
    assert set_parameters(QmpMonitor(version), **args) == error(message)


@pytest.mark.parametrize("version", ALL)
def test_negative_sizes_wrap_like_qemu(version: str) -> None:
    """uint64 members accept negative JSON integers and wrap them ("backward compatibility")."""
    mon = QmpMonitor(version)
    assert set_parameters(mon, **{"max-bandwidth": -1}) == {"return": {}}
    assert query(mon)["max-bandwidth"] == U64_MAX


# ---------------------------------------------------------------- cross-field rules

MAX_THROTTLE = (
    "Parameter 'max_cpu_throttle' expects an integer in the range of cpu_throttle_initial to 99"
)


@pytest.mark.parametrize("version", ALL)
def test_raising_throttle_initial_over_a_stored_max_is_refused(version: str) -> None:
    """cpu-throttle-initial=50 while max-cpu-throttle=40 fails on the merged set."""
    mon = QmpMonitor(version)
    assert set_parameters(mon, **{"max-cpu-throttle": 40}) == {"return": {}}
    assert set_parameters(mon, **{"cpu-throttle-initial": 50}) == error(MAX_THROTTLE)
    assert set_parameters(mon, **{"cpu-throttle-initial": 40}) == {"return": {}}


@pytest.mark.parametrize("version", ALL)
def test_lowering_max_under_a_stored_initial_is_refused(version: str) -> None:
    """max-cpu-throttle below the stored cpu-throttle-initial fails; equal is fine."""
    mon = QmpMonitor(version)
    assert set_parameters(mon, **{"cpu-throttle-initial": 60}) == {"return": {}}
    assert set_parameters(mon, **{"max-cpu-throttle": 59}) == error(MAX_THROTTLE)
    assert set_parameters(mon, **{"max-cpu-throttle": 60}) == {"return": {}}


@pytest.mark.parametrize("version", ALL)
def test_throttle_pair_in_one_request_is_checked_together(version: str) -> None:
    """Both members in one request: the merged pair decides, all or nothing."""
    mon = QmpMonitor(version)
    both = {"cpu-throttle-initial": 50, "max-cpu-throttle": 40}
    assert set_parameters(mon, **both) == error(MAX_THROTTLE)
    assert query(mon)["cpu-throttle-initial"] == 20
    assert set_parameters(mon, **{"cpu-throttle-initial": 50, "max-cpu-throttle": 50}) == {
        "return": {}}


ZERO_COPY = "Zero copy only available for non-compressed non-TLS multifd migration"


def zero_copy_monitor(version: str) -> QmpMonitor:
    """A monitor with multifd and zero-copy-send on."""
    mon = QmpMonitor(version)
    reply = mon.execute({"execute": "migrate-set-capabilities", "arguments": {"capabilities": [
        {"capability": "multifd", "state": True},
        {"capability": "zero-copy-send", "state": True}]}})
    assert reply == {"return": {}}
    return mon


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize(
    ("args", "accepted"),
    [
        pytest.param({"multifd-compression": "zlib"}, False, id="compression"),
        pytest.param({"tls-creds": "tls0"}, False, id="tls"),
        pytest.param({"multifd-compression": "none"}, True, id="no-compression"),
        pytest.param({"tls-creds": ""}, True, id="empty-tls"),
        pytest.param({"tls-creds": None}, True, id="null-tls"),
    ],
)
def test_zero_copy_refuses_compression_and_tls(version: str, args: dict[str, Any],
                                               accepted: bool) -> None:
    """With zero-copy-send on, QEMU refuses multifd compression and TLS credentials."""
    reply = set_parameters(zero_copy_monitor(version), **args)
    assert reply == ({"return": {}} if accepted else error(ZERO_COPY))


# ---------------------------------------------------------------- version differences

@pytest.mark.parametrize("version", UP_TO_82)
def test_multifd_levels_are_ignored_over_qmp_up_to_82(version: str) -> None:
    """≤ 8.2 never copy zlib/zstd levels into the checked set: accepted, not stored."""
    mon = QmpMonitor(version)
    assert set_parameters(mon, **{"multifd-zlib-level": 50, "multifd-zstd-level": 99}) == {
        "return": {}}
    got = query(mon)
    assert (got["multifd-zlib-level"], got["multifd-zstd-level"]) == (1, 1)
    assert set_parameters(mon, **{"multifd-zlib-level": 256}) == error(
        "Parameter 'multifd-zlib-level' expects uint8_t")


@pytest.mark.parametrize("version", FROM_91)
def test_multifd_levels_are_applied_from_91(version: str) -> None:
    """9.1+ store the levels set over QMP."""
    mon = QmpMonitor(version)
    assert set_parameters(mon, **{"multifd-zlib-level": 9, "multifd-zstd-level": 20}) == {
        "return": {}}
    got = query(mon)
    assert (got["multifd-zlib-level"], got["multifd-zstd-level"]) == (9, 20)


@pytest.mark.parametrize(
    ("version", "name", "exists"),
    [
        pytest.param("8.1", "avail-switchover-bandwidth", False, id="8.1-no-avail-sw-bw"),
        pytest.param("8.2", "avail-switchover-bandwidth", True, id="8.2-avail-sw-bw"),
        pytest.param("8.1", "mode", False, id="8.1-no-mode"),
        pytest.param("8.2", "mode", True, id="8.2-mode"),
        pytest.param("7.2", "vcpu-dirty-limit", False, id="7.2-no-vcpu-dirty-limit"),
        pytest.param("8.1", "vcpu-dirty-limit", True, id="8.1-vcpu-dirty-limit"),
        pytest.param("7.2", "x-vcpu-dirty-limit-period", False, id="7.2-no-period"),
        pytest.param("8.2", "compress-level", True, id="8.2-compress-level"),
        pytest.param("9.1", "compress-level", False, id="9.1-no-compress-level"),
        pytest.param("9.1", "block-incremental", False, id="9.1-no-block-incremental"),
        pytest.param("8.2", "zero-page-detection", False, id="8.2-no-zero-page-detection"),
        pytest.param("9.1", "zero-page-detection", True, id="9.1-zero-page-detection"),
        pytest.param("9.1", "direct-io", True, id="9.1-direct-io"),
        pytest.param("9.1", "multifd-qatzip-level", False, id="9.1-no-qatzip"),
        pytest.param("10.1", "multifd-qatzip-level", True, id="10.1-qatzip"),
    ],
)
def test_parameter_exists_only_in_its_releases(version: str, name: str, exists: bool) -> None:
    """A parameter a release lacks is an unexpected member there and absent from the query."""
    mon = QmpMonitor(version)
    default = query(mon).get(name)
    assert (name in query(mon)) is exists
    reply = set_parameters(mon, **{name: default if exists else 1})
    assert reply == ({"return": {}} if exists else
                     error(f"Parameter '{name}' is unexpected"))


@pytest.mark.parametrize(
    ("version", "value", "accepted"),
    [
        pytest.param("8.2", "cpr-reboot", True, id="8.2-cpr-reboot"),
        pytest.param("8.2", "cpr-transfer", False, id="8.2-no-cpr-transfer"),
        pytest.param("10.1", "cpr-transfer", True, id="10.1-cpr-transfer"),
    ],
)
def test_mode_values_per_release(version: str, value: str, accepted: bool) -> None:
    """MigMode gained cpr-transfer in 10.0."""
    reply = set_parameters(QmpMonitor(version), mode=value)
    assert reply == ({"return": {}} if accepted else
                     error(f"Parameter 'mode' does not accept value '{value}'"))


@pytest.mark.parametrize(
    ("version", "value", "accepted"),
    [
        pytest.param("7.2", "zstd", True, id="7.2-zstd"),
        pytest.param("8.2", "qpl", False, id="8.2-no-qpl"),
        pytest.param("9.1", "qpl", True, id="9.1-qpl"),
        pytest.param("9.1", "uadk", True, id="9.1-uadk"),
        pytest.param("9.1", "qatzip", False, id="9.1-no-qatzip"),
        pytest.param("10.1", "qatzip", True, id="10.1-qatzip"),
    ],
)
def test_multifd_compression_methods_per_release(version: str, value: str,
                                                 accepted: bool) -> None:
    """MultiFDCompression gained qpl and uadk in 9.x and qatzip in 9.2."""
    mon = QmpMonitor(version)
    reply = set_parameters(mon, **{"multifd-compression": value})
    assert reply == ({"return": {}} if accepted else
                     error(f"Parameter 'multifd-compression' does not accept value '{value}'"))


@pytest.mark.parametrize("version", FROM_91)
def test_direct_io_needs_build_support(version: str) -> None:
    """direct-io: true is refused on a QEMU built without O_DIRECT support."""
    no_odirect = QmpMonitor(version, HostSupport(direct_io=False))
    assert set_parameters(no_odirect, **{"direct-io": True}) == error(
        "No build-time support for direct-io")
    assert set_parameters(no_odirect, **{"direct-io": False}) == {"return": {}}
    assert set_parameters(QmpMonitor(version), **{"direct-io": True}) == {"return": {}}


@pytest.mark.parametrize("version", ALL)
def test_block_bitmap_mapping_errors_carry_qemus_prefix(version: str) -> None:
    """A node mapped twice is refused with QEMU's block-bitmap-mapping prefix."""
    node = {"node-name": "drive0", "alias": "a0", "bitmaps": []}
    reply = set_parameters(QmpMonitor(version), **{"block-bitmap-mapping": [node, node]})
    assert reply["error"]["desc"].startswith("Invalid mapping given for block-bitmap-mapping: ")
    mon = QmpMonitor(version)
    assert set_parameters(mon, **{"block-bitmap-mapping": [node]}) == {"return": {}}
    assert query(mon)["block-bitmap-mapping"] == [node]


MAPPED_RAM = "Mapped-ram only available for non-compressed non-TLS multifd migration"


@pytest.mark.parametrize("version", FROM_91)
def test_mapped_ram_checks_the_stored_compression_not_the_request(version: str) -> None:
    """9.1+ read the current compression/TLS: the request that sets it passes, the next fails."""
    mon = QmpMonitor(version)
    assert mon.execute({"execute": "migrate-set-capabilities", "arguments": {"capabilities": [
        {"capability": "multifd", "state": True},
        {"capability": "mapped-ram", "state": True}]}}) == {"return": {}}
    assert set_parameters(mon, **{"multifd-compression": "zlib"}) == {"return": {}}
    assert set_parameters(mon, **{"downtime-limit": 500}) == error(MAPPED_RAM)
    assert set_parameters(mon, **{"multifd-compression": "none"}) == error(MAPPED_RAM)


@pytest.mark.parametrize("version", FROM_91)
def test_mapped_ram_refuses_every_request_while_tls_is_stored(version: str) -> None:
    """With mapped-ram on and TLS credentials stored, later requests are refused."""
    mon = QmpMonitor(version)
    assert set_parameters(mon, **{"tls-creds": "tls0"}) == {"return": {}}
    assert mon.execute({"execute": "migrate-set-capabilities", "arguments": {"capabilities": [
        {"capability": "mapped-ram", "state": True}]}}) == {"return": {}}
    assert set_parameters(mon, **{"downtime-limit": 500}) == error(MAPPED_RAM)

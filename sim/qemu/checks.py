"""``migrate_params_check`` and ``migrate_caps_check``, rule for rule, per QEMU release.

QEMU checks a parameter set like a pre-flight checklist read top to bottom: the first item
that fails grounds the flight, and the pilot only hears about that one. The rules below are
that checklist in QEMU's own order with QEMU's own words (``Parameter 'downtime_limit'
expects an integer in the range of 0 to (2000 * 1000) ms``), so the first failure miglab
reports is the error QEMU would give. Because each rule is a separate function, miglab can
also read the whole list and report every problem at once, which QEMU cannot.

    >>> from sim.qemu.versions import profile
    >>> p = profile("8.2")
    >>> params = p.default_parameters() | {"downtime-limit": 2_000_001}
    >>> check_parameters(params, p.default_capabilities(), p).errors[0].desc
    "Parameter 'downtime_limit' expects an integer in the range of 0 to (2000 * 1000) ms"

Checks are pure functions of (parameters, capabilities, release, host); the QMP emulator
and the scenario validator both call them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sim._exceptions import QemuError
from sim.qemu.host import HostSupport
from sim.qemu.versions import VersionProfile

__all__ = ["CheckOutcome", "check_capabilities", "check_parameters"]

_INVALID = "Parameter '{}' expects {}"
_SIZE_MAX = "(18446744073709551615UL)"
_ZERO_COPY = "Zero copy only available for non-compressed non-TLS multifd migration"
_BG_INCOMPATIBLE = (
    "postcopy-ram", "dirty-bitmaps", "postcopy-blocktime", "late-block-activate",
    "return-path", "multifd", "pause-before-switchover", "auto-converge", "release-ram",
    "rdma-pin-all", "compress", "xbzrle", "x-colo", "validate-uuid", "zero-copy-send",
)


@dataclass
class CheckOutcome:
    """What a check found.

    Attributes:
        errors: QEMU's refusals in QEMU's order; ``errors[0]`` is the one QEMU reports.
        assumptions: host facts a passing host-dependent check relied on.
    """

    errors: list[QemuError] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when QEMU would accept."""
        return not self.errors

    def raise_first(self) -> None:
        """Raise QEMU's error, if any."""
        if self.errors:
            raise self.errors[0]


# --------------------------------------------------------------------------- parameters

_Rule = Callable[[Mapping[str, object], Mapping[str, bool], VersionProfile, HostSupport],
                 "QemuError | str | None"]


def _num(params: Mapping[str, object], name: str) -> int:
    value = params.get(name, 0)
    return value if isinstance(value, int) else 0


def _range(name: str, cname: str, lo: int, hi: int, expects: str) -> _Rule:
    def rule(params: Mapping[str, object], caps: Mapping[str, bool], prof: VersionProfile,
             host: HostSupport) -> QemuError | None:
        if name not in params:
            return None
        value = _num(params, name)
        if lo <= value <= hi:
            return None
        return QemuError(_INVALID.format(cname, expects), field=name)
    return rule


def _xbzrle_cache(params: Mapping[str, object], caps: Mapping[str, bool],
                  prof: VersionProfile, host: HostSupport) -> QemuError | None:
    size = _num(params, "xbzrle-cache-size")
    if size >= 4096 and size & (size - 1) == 0:
        return None
    return QemuError(_INVALID.format("xbzrle_cache_size",
                                     "a power of two no less than the target page size"),
                     field="xbzrle-cache-size")


def _max_cpu_throttle(params: Mapping[str, object], caps: Mapping[str, bool],
                      prof: VersionProfile, host: HostSupport) -> QemuError | None:
    value = _num(params, "max-cpu-throttle")
    if _num(params, "cpu-throttle-initial") <= value <= 99:
        return None
    return QemuError(_INVALID.format("max_cpu_throttle",
                                     "an integer in the range of cpu_throttle_initial to 99"),
                     field="max-cpu-throttle")


def _id_wellformed(text: str) -> bool:
    """``util/id.c: id_wellformed``: a letter, then letters, digits, ``-``, ``.``, ``_``."""
    return bool(text) and text[0].isascii() and text[0].isalpha() and all(
        c.isascii() and (c.isalnum() or c in "-._") for c in text[1:])


def _alias_map_error(mapping: list[Any], name_to_alias: bool) -> str | None:
    """``migration/block-dirty-bitmap.c: construct_alias_map``, first failure."""
    seen: set[str] = set()
    for node in mapping:
        node_name, alias = str(node["node-name"]), str(node["alias"])
        if not _id_wellformed(alias):
            return f"The node alias '{alias}' is not well-formed"
        if len(alias.encode()) > 255:
            return f"The node alias '{alias}' is longer than 255 bytes"
        if len(node_name.encode()) > 31:
            return f"The node name '{node_name}' is longer than 31 bytes"
        key = node_name if name_to_alias else alias
        if key in seen:
            return (f"The node name '{node_name}' is mapped twice" if name_to_alias
                    else f"The node alias '{alias}' is used twice")
        seen.add(key)
        bitmaps: set[str] = set()
        for bm in node.get("bitmaps", []):
            if not isinstance(bm, Mapping):
                continue
            bname, balias = str(bm.get("name", "")), str(bm.get("alias", ""))
            if len(balias.encode()) > 255:
                return f"The bitmap alias '{balias}' is longer than 255 bytes"
            if len(bname.encode()) > 1023:
                return f"The bitmap name '{bname}' is longer than 1023 bytes"
            bkey = bname if name_to_alias else balias
            if bkey in bitmaps:
                return (f"The bitmap '{node_name}'/'{bname}' is mapped twice" if name_to_alias
                        else f"The bitmap alias '{alias}'/'{balias}' is used twice")
            bitmaps.add(bkey)
    return None


def _bitmap_mapping(params: Mapping[str, object], caps: Mapping[str, bool],
                    prof: VersionProfile, host: HostSupport) -> QemuError | None:
    mapping = params.get("block-bitmap-mapping")
    if not isinstance(mapping, list):
        return None
    detail = _alias_map_error(mapping, True) or _alias_map_error(mapping, False)
    if detail is None:
        return None
    return QemuError(f"Invalid mapping given for block-bitmap-mapping: {detail}",
                     field="block-bitmap-mapping")


def _zero_copy_params(params: Mapping[str, object], caps: Mapping[str, bool],
                      prof: VersionProfile, host: HostSupport) -> QemuError | None:
    if not host.linux or not caps.get("zero-copy-send"):
        return None
    compressed = params.get("multifd-compression", "none") != "none"
    tls = bool(params.get("tls-creds"))
    if compressed or tls:
        return QemuError(_ZERO_COPY, field="zero-copy-send")
    return None


def _mapped_ram_params(current: Mapping[str, object]) -> _Rule:
    """Row 22 reads the *current* compression and TLS (``migrate_multifd_compression()``,
    ``migrate_tls()``), not the request: QEMU accepts a request that turns compression on
    and refuses every later one."""
    def rule(params: Mapping[str, object], caps: Mapping[str, bool], prof: VersionProfile,
             host: HostSupport) -> QemuError | None:
        return _mapped_ram_conflict(current, caps)
    return rule


def _mapped_ram_conflict(current: Mapping[str, object],
                         caps: Mapping[str, bool]) -> QemuError | None:
    if not caps.get("mapped-ram"):
        return None
    if current.get("multifd-compression", "none") != "none" or bool(current.get("tls-creds")):
        return QemuError("Mapped-ram only available for non-compressed non-TLS multifd "
                         "migration", field="mapped-ram")
    return None


def _vcpu_dirty_limit(params: Mapping[str, object], caps: Mapping[str, bool],
                      prof: VersionProfile, host: HostSupport) -> QemuError | None:
    if _num(params, "vcpu-dirty-limit") >= 1:
        return None
    return QemuError(prof.vcpu_dirty_limit_message, field="vcpu-dirty-limit")


def _direct_io(params: Mapping[str, object], caps: Mapping[str, bool],
               prof: VersionProfile, host: HostSupport) -> QemuError | str | None:
    if not params.get("direct-io"):
        return None
    if not host.direct_io:
        return QemuError("No build-time support for direct-io", field="direct-io")
    return "the host supports O_DIRECT (host.support.direct-io)"


def _parameter_rules(prof: VersionProfile,
                     current: Mapping[str, object]) -> list[tuple[str, _Rule]]:
    """The checks of ``migrate_params_check`` for ``prof``, in QEMU's order."""
    r: list[tuple[str, _Rule]] = []

    def add(name: str, rule: _Rule) -> None:
        if prof.has_parameter(name) or prof.has_capability(name):
            r.append((name, rule))

    add("compress-level", _range("compress-level", "compress_level", 0, 9,
                                 "a value between 0 and 9"))
    add("compress-threads", _range("compress-threads", "compress_threads", 1, 255,
                                   "a value between 1 and 255"))
    add("decompress-threads", _range("decompress-threads", "decompress_threads", 1, 255,
                                     "a value between 1 and 255"))
    add("throttle-trigger-threshold",
        _range("throttle-trigger-threshold", "throttle_trigger_threshold", 1, 100,
               "an integer in the range of 1 to 100"))
    add("cpu-throttle-initial", _range("cpu-throttle-initial", "cpu_throttle_initial", 1, 99,
                                       "an integer in the range of 1 to 99"))
    add("cpu-throttle-increment", _range("cpu-throttle-increment", "cpu_throttle_increment",
                                         1, 99, "an integer in the range of 1 to 99"))
    add("max-bandwidth", _range("max-bandwidth", "max_bandwidth", 0, 2**64 - 1,
                                f"an integer in the range of 0 to {_SIZE_MAX} bytes/second"))
    add("avail-switchover-bandwidth",
        _range("avail-switchover-bandwidth", "avail_switchover_bandwidth", 0, 2**64 - 1,
               f"an integer in the range of 0 to {_SIZE_MAX} bytes/second"))
    add("downtime-limit", _range("downtime-limit", "downtime_limit", 0, 2_000_000,
                                 "an integer in the range of 0 to (2000 * 1000) ms"))
    add("multifd-channels", _range("multifd-channels", "multifd_channels", 1, 255,
                                   "a value between 1 and 255"))
    add("multifd-zlib-level", _range("multifd-zlib-level", "multifd_zlib_level", 0, 9,
                                     "a value between 0 and 9"))
    add("multifd-qatzip-level", _range("multifd-qatzip-level", "multifd_qatzip_level", 1, 9,
                                       "a value between 1 and 9"))
    add("multifd-zstd-level", _range("multifd-zstd-level", "multifd_zstd_level", 0, 20,
                                     "a value between 0 and 20"))
    add("xbzrle-cache-size", _xbzrle_cache)
    add("max-cpu-throttle", _max_cpu_throttle)
    add("announce-initial", _range("announce-initial", "announce_initial", 0, 100000,
                                   "a value between 0 and 100000"))
    add("announce-max", _range("announce-max", "announce_max", 0, 100000,
                               "a value between 0 and 100000"))
    add("announce-rounds", _range("announce-rounds", "announce_rounds", 0, 1000,
                                  "a value between 0 and 1000"))
    add("announce-step", _range("announce-step", "announce_step", 1, 10000,
                                "a value between 0 and 10000"))
    add("block-bitmap-mapping", _bitmap_mapping)
    add("zero-copy-send", _zero_copy_params)
    add("mapped-ram", _mapped_ram_params(current))
    add("x-vcpu-dirty-limit-period",
        _range("x-vcpu-dirty-limit-period", "x-vcpu-dirty-limit-period", 1, 1000,
               "a value between 1 and 1000"))
    add("vcpu-dirty-limit", _vcpu_dirty_limit)
    add("direct-io", _direct_io)
    return r


def check_parameters(params: Mapping[str, object], caps: Mapping[str, bool],
                     prof: VersionProfile, host: HostSupport | None = None, *,
                     current: Mapping[str, object] | None = None,
                     collect: bool = False) -> CheckOutcome:
    """Run ``migrate_params_check`` on a merged parameter set.

    Args:
        params: every parameter by QMP name, already merged (current values overlaid
            with the request, as ``migrate_params_test_apply`` does) and type-checked.
        caps: the current capabilities (the zero-copy rule reads ``zero-copy-send``).
        prof: the QEMU release.
        host: host facts; defaults to :class:`HostSupport`.
        current: the parameters before the request (the mapped-ram rule reads these, as
            QEMU reads its stored state); defaults to ``params``.
        collect: keep going after the first failure, to list every problem.

    Returns:
        The errors in QEMU's order and the host assumptions used.
    """
    host = host or HostSupport()
    outcome = CheckOutcome()
    for _name, rule in _parameter_rules(prof, params if current is None else current):
        found = rule(params, caps, prof, host)
        if isinstance(found, QemuError):
            outcome.errors.append(found)
            if not collect:
                break
        elif isinstance(found, str):
            outcome.assumptions.append(found)
    return outcome


# ------------------------------------------------------------------------- capabilities

def _capability_checks(old: Mapping[str, bool], new: Mapping[str, bool],  # noqa: C901
                       params: Mapping[str, object], prof: VersionProfile,
                       host: HostSupport, incoming: bool,
                       incoming_started: bool) -> list[QemuError | str]:
    """Every finding of ``migrate_caps_check`` in QEMU's order (errors and assumptions).

    Long and branchy because it mirrors QEMU's ``migrate_caps_check`` (migration/options.c)
    check by check, in QEMU's order.
    """
    out: list[QemuError | str] = []
    on = new.get
    v = prof.version

    if on("block") and not host.live_block_migration:
        out.append(QemuError("QEMU compiled without old-style (blk/-b, inc/-i) block migration",
                             field="block"))
    if on("x-colo") and not host.replication:
        out.append(QemuError("QEMU compiled without replication module can't enable COLO",
                             field="x-colo"))
    if on("postcopy-ram"):
        if not old.get("postcopy-ram") and incoming:
            if host.userfaultfd:
                out.append("the destination kernel supports userfaultfd (host.support.userfaultfd)")
            else:
                text = ("Postcopy is not supported" if v < (8, 0) else
                        "Postcopy is not supported: Userfaultfd not available: "
                        "Operation not permitted")
                out.append(QemuError(text, field="postcopy-ram"))
        if on("x-ignore-shared"):
            out.append(QemuError("Postcopy is not compatible with ignore-shared",
                                 field="postcopy-ram"))
        if on("multifd") and prof.refuses_postcopy_multifd:
            out.append(QemuError("Postcopy is not yet compatible with multifd",
                                 field="postcopy-ram"))
    if on("background-snapshot"):
        out.extend(_background_snapshot(new, prof, host))
    if on("zero-copy-send") and not host.linux:
        out.append(QemuError("Zero copy currently only available on Linux",
                             field="zero-copy-send"))
    elif on("zero-copy-send") and (
            not on("multifd") or on("compress") or on("xbzrle")
            or params.get("multifd-compression", "none") != "none"
            or bool(params.get("tls-creds"))):
        out.append(QemuError(_ZERO_COPY, field="zero-copy-send"))
    if (v < (8, 0) and on("multifd") and incoming
            and not host.multi_channel_transport):
        out.append(QemuError("multifd is not supported by current protocol", field="multifd"))
    if on("postcopy-preempt"):
        if not on("postcopy-ram"):
            out.append(QemuError("Postcopy preempt requires postcopy-ram",
                                 field="postcopy-preempt"))
        if on("compress"):
            out.append(QemuError("Postcopy preempt not compatible with compress",
                                 field="postcopy-preempt"))
        if _too_late(old, "postcopy-preempt", prof, incoming_started):
            out.append(QemuError("Postcopy preempt must be set before incoming starts",
                                 field="postcopy-preempt"))
    if on("multifd"):
        if on("compress") and prof.refuses_multifd_compress:
            out.append(QemuError("Multifd is not compatible with compress", field="multifd"))
        if _too_late(old, "multifd", prof, incoming_started):
            out.append(QemuError("Multifd must be set before incoming starts",
                                 field="multifd"))
    if on("switchover-ack") and not on("return-path"):
        out.append(QemuError("Capability 'switchover-ack' requires capability 'return-path'",
                             field="switchover-ack"))
    if on("dirty-limit"):
        if on("auto-converge"):
            out.append(QemuError("dirty-limit conflicts with auto-converge either of then "
                                 "available currently", field="dirty-limit"))
        if not host.kvm_dirty_ring:
            out.append(QemuError("dirty-limit requires KVM with accelerator property "
                                 "'dirty-ring-size' set", field="dirty-limit"))
        else:
            out.append("QEMU runs under KVM with a dirty ring (host.support.kvm-dirty-ring)")
    if prof.refuses_xbzrle_mixes and on("xbzrle"):
        if on("multifd"):
            out.append(QemuError("Multifd is not compatible with xbzrle", field="multifd"))
        if on("compress"):
            out.append(QemuError("Compression is not compatible with xbzrle", field="compress"))
    if on("mapped-ram"):
        out.extend(_mapped_ram(new, params))
    return out


def _too_late(old: Mapping[str, bool], cap: str, prof: VersionProfile,
              incoming_started: bool) -> bool:
    """``migrate_incoming_started()`` refusals (8.1+); 10.x only refuses a newly set cap."""
    if not incoming_started or prof.version < (8, 1):
        return False
    return not (prof.version >= (10, 0) and old.get(cap))


def _background_snapshot(new: Mapping[str, bool], prof: VersionProfile,
                         host: HostSupport) -> list[QemuError | str]:
    if host.write_tracking == "absent":
        return [QemuError("Background-snapshot is not supported by host kernel",
                          field="background-snapshot")]
    if host.write_tracking == "available":
        return [QemuError("Background-snapshot is not compatible with guest memory "
                          "configuration", field="background-snapshot")]
    found: list[QemuError | str] = [
        "the host kernel supports userfaultfd write-protect (host.support.write-tracking)"]
    for cap in _BG_INCOMPATIBLE:
        if prof.has_capability(cap) and new.get(cap):
            found.append(QemuError(f"Background-snapshot is not compatible with {cap}",
                                   field="background-snapshot"))
            break
    return found


def _mapped_ram(new: Mapping[str, bool], params: Mapping[str, object]) -> list[QemuError | str]:
    out: list[QemuError | str] = []
    if new.get("xbzrle"):
        out.append(QemuError("Mapped-ram migration is incompatible with xbzrle",
                             field="mapped-ram"))
    if new.get("postcopy-ram"):
        out.append(QemuError("Mapped-ram migration is incompatible with postcopy",
                             field="mapped-ram"))
    return out


def check_capabilities(old: Mapping[str, bool], new: Mapping[str, bool],
                       params: Mapping[str, object], prof: VersionProfile,
                       host: HostSupport | None = None, *, incoming: bool = False,
                       incoming_started: bool = False, collect: bool = False) -> CheckOutcome:
    """Run ``migrate_caps_check(old, new)``.

    Args:
        old: capabilities before the change.
        new: capabilities after the change (every capability of the release).
        params: the current parameters (zero-copy reads compression and TLS).
        prof: the QEMU release.
        host: host facts; defaults to :class:`HostSupport`.
        incoming: the check runs on the destination (runstate ``inmigrate``), where the
            userfaultfd check for ``postcopy-ram`` applies.
        incoming_started: the destination's incoming side has started (``migrate-incoming``
            was run), after which 8.1+ refuse to turn on ``multifd`` or ``postcopy-preempt``.
        collect: keep going after the first failure.

    Returns:
        The errors in QEMU's order and the host assumptions used.
    """
    host = host or HostSupport()
    outcome = CheckOutcome()
    for found in _capability_checks(old, new, params, prof, host, incoming, incoming_started):
        if isinstance(found, QemuError):
            outcome.errors.append(found)
            if not collect:
                break
        else:
            outcome.assumptions.append(found)
    return outcome

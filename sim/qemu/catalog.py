"""Every migration parameter and capability QEMU has had, with the versions that have it.

The catalog is the vocabulary of ``migrate-set-parameters`` and
``migrate-set-capabilities``: names as QMP spells them (dashes), the C name QEMU's range
errors print (underscores), the QAPI type that decides QEMU's type errors, the default,
the unit, and the first and last version that knows it. Version profiles
(:mod:`sim.qemu.versions`) pick their slice of it; nothing else in miglab hard-codes a
parameter name list.

    >>> PARAMETERS["downtime-limit"].default
    300
    >>> PARAMETERS["downtime-limit"].cname
    'downtime_limit'

Sources: ``qapi/migration.json`` and ``migration/options.c`` (8.2), ``migration/migration.c``
(7.2), ``docs/about/removed-features.rst``; see ``docs/qemu-versions.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["CAPABILITIES", "PARAMETERS", "Capability", "Parameter", "Version"]

Version = tuple[int, int]
"""A QEMU release as (major, minor), e.g. ``(8, 2)``."""

_NEVER: Final[Version] = (99, 0)


@dataclass(frozen=True)
class Parameter:
    """One migration parameter.

    Attributes:
        name: the QMP name, e.g. ``"max-bandwidth"``.
        qapi_type: QAPI type of the ``migrate-set-parameters`` argument: ``uint8``,
            ``uint32``, ``uint64``, ``size``, ``bool``, ``str``, ``StrOrNull``, an enum
            name (``MultiFDCompression``, ``MigMode``, ``ZeroPageDetection``) or
            ``BitmapMigrationNodeAliasList``.
        default: QEMU's default value.
        unit: human unit (``"bytes/s"``, ``"ms"``, ``"%"``, …) or ``""``.
        group: the dashboard group the parameter belongs to.
        doc: one line of help text.
        since: first version that has it.
        removed: first version that no longer has it.
        cname: the name in QEMU's range errors; defaults to ``name`` with underscores.
    """

    name: str
    qapi_type: str
    default: object
    unit: str
    group: str
    doc: str
    since: Version = (0, 0)
    removed: Version = _NEVER
    cname: str = ""

    def __post_init__(self) -> None:
        if not self.cname:
            object.__setattr__(self, "cname", self.name.replace("-", "_"))

    def exists_in(self, version: Version) -> bool:
        """Whether QEMU ``version`` has this parameter."""
        return self.since <= version < self.removed

    @property
    def attr(self) -> str:
        """The Python attribute name (underscores), e.g. ``max_bandwidth``."""
        return self.name.replace("-", "_")


@dataclass(frozen=True)
class Capability:
    """One migration capability (all default to off).

    Attributes:
        name: the QMP name, e.g. ``"auto-converge"``.
        group: the dashboard group.
        doc: one line of help text.
        both_sides: whether the destination must enable it too.
        since: first version that has it.
        removed: first version that no longer has it.
        linux_only: compiled only on Linux hosts (``zero-copy-send``).
    """

    name: str
    group: str
    doc: str
    both_sides: bool = False
    since: Version = (0, 0)
    removed: Version = _NEVER
    linux_only: bool = False

    def exists_in(self, version: Version) -> bool:
        """Whether QEMU ``version`` has this capability."""
        return self.since <= version < self.removed

    @property
    def attr(self) -> str:
        """The Python attribute name (underscores)."""
        return self.name.replace("-", "_")


_BW = "bandwidth and downtime"
_AC = "auto-converge"
_MF = "multifd and compression"
_XB = "xbzrle"
_PC = "postcopy"
_SW = "switchover"
_OT = "other"

_P = Parameter
# Listed in the order of MigrationParameters in qapi/migration.json (8.2): the order
# QEMU's output visitor walks, so it is also the order of query-migrate-parameters' members.
_PARAMETER_LIST: Final = (
    _P("announce-initial", "size", 50, "ms", _OT, "delay before the second self-announce packet"),
    _P("announce-max", "size", 550, "ms", _OT, "longest gap between self-announce packets"),
    _P("announce-rounds", "size", 5, "", _OT, "how many self-announce packets are sent"),
    _P("announce-step", "size", 100, "ms", _OT, "growth of the gap between announce packets"),
    _P("compress-level", "uint8", 1, "", _MF, "zlib level of legacy compression (0-9)",
       removed=(9, 1)),
    _P("compress-threads", "uint8", 8, "threads", _MF, "legacy compression threads",
       removed=(9, 1)),
    _P("compress-wait-thread", "bool", True, "", _MF,
       "wait for a free compression thread instead of sending uncompressed", removed=(9, 1)),
    _P("decompress-threads", "uint8", 2, "threads", _MF,
       "legacy decompression threads on the destination", removed=(9, 1)),
    _P("throttle-trigger-threshold", "uint8", 50, "%", _AC,
       "dirtied/sent ratio in a period that counts as too dirty"),
    _P("cpu-throttle-initial", "uint8", 20, "%", _AC, "first auto-converge throttle"),
    _P("cpu-throttle-increment", "uint8", 10, "%", _AC, "throttle added at each later step"),
    _P("cpu-throttle-tailslow", "bool", False, "", _AC,
       "smaller steps near the end, sized from the dirty/threshold ratio"),
    _P("tls-creds", "StrOrNull", "", "", _OT, "id of the TLS credentials object ('' = no TLS)"),
    _P("tls-hostname", "StrOrNull", "", "", _OT, "hostname to check the TLS certificate against"),
    _P("tls-authz", "StrOrNull", "", "", _OT, "id of the authorization object for TLS clients"),
    _P("max-bandwidth", "size", 134217728, "bytes/s", _BW,
       "rate limit of precopy (0 = unlimited); the final copy ignores it"),
    _P("avail-switchover-bandwidth", "size", 0, "bytes/s", _BW,
       "bandwidth to assume at switchover instead of the measured one (0 = measured)",
       since=(8, 2)),
    _P("downtime-limit", "uint64", 300, "ms", _BW, "longest pause QEMU aims for at switchover"),
    _P("x-checkpoint-delay", "uint32", 20000, "ms", _OT, "COLO checkpoint interval"),
    _P("block-incremental", "bool", False, "", _OT, "incremental block migration",
       removed=(9, 1)),
    _P("multifd-channels", "uint8", 2, "channels", _MF, "parallel sockets with multifd"),
    _P("xbzrle-cache-size", "size", 67108864, "bytes", _XB,
       "XBZRLE page cache (a power of two ≥ 4 KiB)"),
    _P("max-postcopy-bandwidth", "size", 0, "bytes/s", _PC,
       "rate limit of the postcopy background push (0 = unlimited)"),
    _P("max-cpu-throttle", "uint8", 99, "%", _AC, "highest auto-converge throttle"),
    _P("multifd-compression", "MultiFDCompression", "none", "", _MF,
       "compression method of multifd channels"),
    _P("multifd-zlib-level", "uint8", 1, "", _MF, "zlib level of multifd (0-9)"),
    _P("multifd-zstd-level", "uint8", 1, "", _MF, "zstd level of multifd (0-20)"),
    _P("multifd-qatzip-level", "uint8", 1, "", _MF, "QATzip level of multifd (1-9)",
       since=(9, 2)),
    _P("block-bitmap-mapping", "BitmapMigrationNodeAliasList", None, "", _OT,
       "block dirty-bitmap node aliases"),
    _P("x-vcpu-dirty-limit-period", "uint64", 1000, "ms", _AC,
       "period of the dirty-limit rate measurement", since=(8, 1),
       cname="x-vcpu-dirty-limit-period"),
    _P("vcpu-dirty-limit", "uint64", 1, "MB/s", _AC, "per-vCPU dirty rate quota of dirty-limit",
       since=(8, 1)),
    _P("mode", "MigMode", "normal", "", _OT, "migration mode", since=(8, 2)),
    _P("zero-page-detection", "ZeroPageDetection", "multifd", "", _MF,
       "where zero pages are detected", since=(9, 0)),
    _P("direct-io", "bool", False, "", _OT, "O_DIRECT for mapped-ram file migration",
       since=(9, 1)),
)
PARAMETERS: Final[dict[str, Parameter]] = {p.name: p for p in _PARAMETER_LIST}
"""Every parameter miglab knows, by QMP name, in QAPI order."""

_C = Capability
# In the order of the MigrationCapability enum: the order of query-migrate-capabilities.
_CAPABILITY_LIST: Final = (
    _C("xbzrle", _XB, "send deltas of re-dirtied pages against a cache", both_sides=True),
    _C("rdma-pin-all", _OT, "pin all guest memory up front (RDMA only)"),
    _C("auto-converge", _AC, "throttle the guest's vCPUs when it dirties too fast"),
    _C("zero-blocks", _OT, "skip zero blocks in block migration"),
    _C("compress", _MF, "legacy per-page zlib compression threads", both_sides=True,
       removed=(9, 1)),
    _C("events", _OT, "emit MIGRATION and MIGRATION_PASS events"),
    _C("postcopy-ram", _PC, "allow switching to postcopy (destination fetches missing pages)",
       both_sides=True),
    _C("x-colo", _OT, "COLO fault tolerance"),
    _C("release-ram", _PC, "free source RAM as postcopy sends it"),
    _C("block", _OT, "old-style block migration", removed=(9, 1)),
    _C("return-path", _SW, "open the destination-to-source channel in precopy too"),
    _C("pause-before-switchover", _SW, "pause after stopping the VM until migrate-continue"),
    _C("multifd", _MF, "send pages over several channels", both_sides=True),
    _C("dirty-bitmaps", _OT, "migrate block dirty bitmaps", both_sides=True),
    _C("postcopy-blocktime", _PC, "measure vCPU blocktime on the destination"),
    _C("late-block-activate", _OT, "activate disks on the destination only when it runs"),
    _C("x-ignore-shared", _OT, "do not migrate shared-memory RAM", both_sides=True),
    _C("validate-uuid", _OT, "check the source UUID on the destination"),
    _C("background-snapshot", _OT, "snapshot RAM with write-protect, VM keeps running"),
    _C("zero-copy-send", _MF, "MSG_ZEROCOPY on multifd sockets", linux_only=True),
    _C("postcopy-preempt", _PC, "send requested pages on their own channel", both_sides=True),
    _C("switchover-ack", _SW, "wait for the destination's ACK before switching over",
       both_sides=True, since=(8, 1)),
    _C("dirty-limit", _AC, "limit each vCPU's dirty rate instead of throttling", since=(8, 1)),
    _C("mapped-ram", _OT, "fixed file offsets per page (file migration)", since=(9, 0)),
)
CAPABILITIES: Final[dict[str, Capability]] = {c.name: c for c in _CAPABILITY_LIST}
"""Every capability miglab knows, by QMP name, in QAPI enum order."""

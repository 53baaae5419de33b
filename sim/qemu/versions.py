"""QEMU version profiles: which parameters, capabilities and rules a release has.

A profile is a pair of glasses for one QEMU release: put on ``7.2`` and the parameters
``avail-switchover-bandwidth`` or ``vcpu-dirty-limit`` do not exist, ``postcopy-ram`` with
``multifd`` is accepted, and the final switchover test is a strict ``<``; put on ``10.1`` and
``compress`` is gone while postcopy may run beside multifd. The validator, the QMP emulator
and the engine all read the same profile, so they cannot disagree about a release.

    >>> profile("8.2").has_parameter("avail-switchover-bandwidth")
    True
    >>> profile("7.2").has_capability("switchover-ack")
    False

The facts come from QEMU's source per release (``docs/qemu-versions.md``) and, for 7.2,
from replies recorded from the real binary (``tests/fixtures/qmp72``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from sim._exceptions import UnitError
from sim.qemu.catalog import CAPABILITIES, PARAMETERS, Capability, Parameter, Version

__all__ = ["DEFAULT_VERSION", "VERSIONS", "VersionProfile", "profile"]


@dataclass(frozen=True)
class VersionProfile:
    """What one QEMU release accepts and how its migration loop behaves.

    Attributes:
        name: the release as users write it, e.g. ``"8.2"``.
        version: ``(major, minor)``.
        micro: the micro release ``query-version`` reports.
        multifd_compression: accepted values of ``multifd-compression``.
        refuses_postcopy_multifd: ``Postcopy is not yet compatible with multifd``.
        refuses_multifd_compress: ``Multifd is not compatible with compress``.
        refuses_xbzrle_mixes: 8.2's refusal of multifd+xbzrle and compress+xbzrle.
        multifd_levels_over_qmp: whether ``multifd-zlib/zstd-level`` set over QMP are kept
            (8.2 and earlier silently drop them).
        vcpu_dirty_limit_message: the ``vcpu_dirty_limit`` range message of this release.
        switchover_inclusive: the switchover test is ``pending <= threshold`` (10.1+)
            instead of ``pending < threshold``.
        postcopy_completes_at_zero: postcopy ends only when nothing is pending (10.1+).
        throttle_periodic_sync_s: forced bitmap sync period with auto-converge (9.2+),
            0 when the release has none.
    """

    name: str
    version: Version
    micro: int
    multifd_compression: tuple[str, ...]
    refuses_postcopy_multifd: bool
    refuses_multifd_compress: bool
    refuses_xbzrle_mixes: bool
    multifd_levels_over_qmp: bool
    vcpu_dirty_limit_message: str = ""
    switchover_inclusive: bool = False
    postcopy_completes_at_zero: bool = False
    throttle_periodic_sync_s: float = 0.0
    parameters: tuple[Parameter, ...] = field(init=False)
    capabilities: tuple[Capability, ...] = field(init=False)

    def __post_init__(self) -> None:
        params = tuple(p for p in PARAMETERS.values() if p.exists_in(self.version))
        caps = tuple(c for c in CAPABILITIES.values() if c.exists_in(self.version))
        object.__setattr__(self, "parameters", params)
        object.__setattr__(self, "capabilities", caps)

    def has_parameter(self, name: str) -> bool:
        """Whether this release knows parameter ``name`` (QMP spelling)."""
        return any(p.name == name for p in self.parameters)

    def has_capability(self, name: str) -> bool:
        """Whether this release knows capability ``name`` (QMP spelling)."""
        return any(c.name == name for c in self.capabilities)

    def parameter(self, name: str) -> Parameter:
        """The catalog entry of parameter ``name``; ``KeyError`` if this release lacks it."""
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)

    def default_parameters(self) -> dict[str, object]:
        """QEMU's defaults for every parameter of this release, by QMP name."""
        return {p.name: p.default for p in self.parameters}

    def default_capabilities(self) -> dict[str, bool]:
        """Every capability of this release, all off, in QAPI order."""
        return {c.name: False for c in self.capabilities}


_VDL_OLD = "Parameter 'vcpu_dirty_limit' expects is invalid, it must greater then 1 MB/s"
_VDL_NEW = "Parameter 'vcpu_dirty_limit' must be greater than 1 MB/s"

VERSIONS: Final[dict[str, VersionProfile]] = {
    v.name: v
    for v in (
        VersionProfile("7.2", (7, 2), 22, ("none", "zlib", "zstd"),
                       refuses_postcopy_multifd=False, refuses_multifd_compress=True,
                       refuses_xbzrle_mixes=False, multifd_levels_over_qmp=False),
        VersionProfile("8.1", (8, 1), 0, ("none", "zlib", "zstd"),
                       refuses_postcopy_multifd=True, refuses_multifd_compress=True,
                       refuses_xbzrle_mixes=False, multifd_levels_over_qmp=False,
                       vcpu_dirty_limit_message=_VDL_OLD),
        VersionProfile("8.2", (8, 2), 0, ("none", "zlib", "zstd"),
                       refuses_postcopy_multifd=True, refuses_multifd_compress=True,
                       refuses_xbzrle_mixes=True, multifd_levels_over_qmp=False,
                       vcpu_dirty_limit_message=_VDL_OLD),
        VersionProfile("9.1", (9, 1), 0, ("none", "zlib", "zstd", "qpl", "uadk"),
                       refuses_postcopy_multifd=True, refuses_multifd_compress=False,
                       refuses_xbzrle_mixes=True, multifd_levels_over_qmp=True,
                       vcpu_dirty_limit_message=_VDL_NEW),
        VersionProfile("10.1", (10, 1), 0, ("none", "zlib", "zstd", "qpl", "uadk", "qatzip"),
                       refuses_postcopy_multifd=False, refuses_multifd_compress=False,
                       refuses_xbzrle_mixes=True, multifd_levels_over_qmp=True,
                       vcpu_dirty_limit_message=_VDL_NEW, switchover_inclusive=True,
                       postcopy_completes_at_zero=True, throttle_periodic_sync_s=5.0),
    )
}
"""The supported releases, oldest first."""

DEFAULT_VERSION: Final = "8.2"
"""The release a scenario gets when it names none (the seed era of this project)."""


def profile(name: object) -> VersionProfile:
    """The profile of QEMU release ``name`` (``"8.2"``, ``8.2`` or ``"8.2.0"``).

    Raises:
        UnitError: naming the accepted releases, for an unknown one.
    """
    text = str(name).strip()
    parts = text.split(".")
    if len(parts) == 3 and parts[2].isdigit():
        text = ".".join(parts[:2])
    if text not in VERSIONS:
        raise UnitError("qemu", name, "one of " + ", ".join(VERSIONS), "unknown QEMU release")
    return VERSIONS[text]

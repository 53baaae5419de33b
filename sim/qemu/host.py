"""What the hosts running QEMU support, for the checks QEMU makes against the host.

A few of QEMU's checks do not depend on the parameters at all but on the machine: can the
destination kernel do userfaultfd (postcopy), write-protect faults (background snapshots),
is KVM running with a dirty ring (dirty-limit), was QEMU built with replication (COLO) or
old-style block migration. miglab cannot look at your hosts, so it decides these from an
explicit :class:`HostSupport` whose defaults describe a typical current Linux/KVM host, and
every check that passed only because of such an assumption is reported as one.

    >>> HostSupport().userfaultfd
    True
    >>> HostSupport(kvm_dirty_ring=True).kvm_dirty_ring
    True
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from sim._modelkit import Bool, FileModel, choice

__all__ = ["HostSupport"]

WRITE_TRACKING: tuple[str, ...] = ("absent", "available", "compatible")


class HostSupport(FileModel):
    """Host facts that QEMU's capability and parameter checks consult.

    Attributes:
        linux: the host is Linux (``zero-copy-send`` exists only there). Default ``True``.
        userfaultfd: the destination kernel has userfaultfd with the features postcopy
            needs (Linux ≥ 4.3 with ``vm.unprivileged_userfaultfd`` or privileges).
            Default ``True``.
        write_tracking: userfaultfd write-protect for ``background-snapshot``: ``"absent"``,
            ``"available"`` (kernel has it, memory layout does not allow it) or
            ``"compatible"``. Default ``"compatible"`` (Linux ≥ 5.7, anonymous RAM).
        kvm_dirty_ring: QEMU runs under KVM with ``-accel kvm,dirty-ring-size=N``, which
            ``dirty-limit`` needs. Default ``False``: most deployments do not set it.
        replication: QEMU was built with replication (COLO). Default ``True`` (Debian).
        live_block_migration: QEMU was built with old-style block migration. Default
            ``True`` (Debian 7.2).
        direct_io: the host supports O_DIRECT for ``direct-io``. Default ``True``.
        multi_channel_transport: the migration URI allows several connections (tcp, unix,
            vsock), which multifd and postcopy-preempt need. Default ``True``.
    """

    linux: Bool = Field(True, description="the host is Linux (zero-copy-send exists only there)")
    userfaultfd: Bool = Field(True, description="the destination kernel has userfaultfd "
                                                "with the features postcopy needs")
    write_tracking: Annotated[Literal["absent", "available", "compatible"],
                              BeforeValidator(choice(*WRITE_TRACKING))] = Field(
        "compatible", description="userfaultfd write-protect for background-snapshot: "
                                  "absent, available or compatible")
    kvm_dirty_ring: Bool = Field(False, description="KVM runs with a dirty ring "
                                                    "(dirty-limit needs it)")
    replication: Bool = Field(True, description="QEMU was built with replication (COLO)")
    live_block_migration: Bool = Field(True, description="QEMU was built with old-style "
                                                         "block migration")
    direct_io: Bool = Field(True, description="the host supports O_DIRECT for direct-io")
    multi_channel_transport: Bool = Field(
        True, description="the migration URI allows several connections (tcp, unix, vsock), "
                          "which multifd and postcopy-preempt need")

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Names of the host facts, in declaration order."""
        return tuple(cls.model_fields)

"""Importers that read a platform's own configuration as its policy: nova.conf, Proxmox's
qm lines and datacenter.cfg, oVirt's cluster settings, a KubeVirt MigrationPolicy."""

from __future__ import annotations

import pytest

from sim.imports import (
    ImportError_,
    from_kubevirt_policy,
    from_nova,
    from_ovirt,
    from_proxmox,
    import_text,
)
from sim.scenario import load_scenario

BASE = {"name": "b", "vm": {"memory": "4GiB"},
        "workload": {"dirty-rate": "100MiB/s", "working-set": "1GiB"},
        "host": {"link": "10Gbit/s"}, "control": {"timeout": "10min"}}

NOVA_CONF = """
[DEFAULT]
max_concurrent_live_migrations = 2

[libvirt]
# stepping
live_migration_downtime = 400
live_migration_downtime_steps = 4
live_migration_downtime_delay = 5
live_migration_bandwidth = 500
live_migration_permit_post_copy = True
live_migration_timeout_action = force_complete
live_migration_parallel_connections = 4
virt_type = kvm
"""


def test_nova_conf_becomes_a_nova_policy() -> None:
    """Each [libvirt] live_migration option keeps its name and value (oslo's True/False read
    as booleans); parallel connections turn multifd on; the rest is noted, not dropped."""
    notes: list[str] = []
    data = from_nova(NOVA_CONF, BASE, notes=notes)
    policy = data["control"]["policy"]
    assert policy == {"kind": "nova", "live_migration_downtime": 400,
                      "live_migration_downtime_steps": 4, "live_migration_downtime_delay": 5,
                      "live_migration_bandwidth": 500, "live_migration_permit_post_copy": True,
                      "live_migration_timeout_action": "force_complete"}
    assert data["capabilities"] == {"multifd": True}
    assert data["parameters"] == {"multifd-channels": 4}
    assert "timeout" not in data["control"]  # Nova's completion timeout decides instead
    assert any("control.timeout" in n for n in notes)
    assert any("virt_type" in n for n in notes)
    assert any("max_concurrent_live_migrations" in n for n in notes)
    sc = load_scenario(data)
    assert sc.control.policy is not None


def test_nova_without_libvirt_section_is_refused() -> None:
    """A file with no [libvirt] section is not a nova.conf this importer can use."""
    with pytest.raises(ImportError_, match=r"\[libvirt\]"):
        from_nova("[DEFAULT]\ndebug = true\n")


def test_proxmox_lines_take_the_lower_limit() -> None:
    """migrate_speed 500 MB/s but bwlimit 262144 KiB/s (= 256 MiB/s): Proxmox uses the
    lower, so the policy's speed is 256; migrate_downtime is seconds as written."""
    notes: list[str] = []
    text = ("qm set 101 --migrate_downtime 0.3 --migrate_speed 500\n"
            "qm migrate 101 pve2 --online\n"
            "migration: type=insecure\n"
            "bwlimit: migration=262144\n")
    policy = from_proxmox(text, BASE, notes=notes)["control"]["policy"]
    assert policy == {"kind": "proxmox", "migrate_downtime": 0.3, "migrate_speed": 256}
    assert any("type=insecure" in n for n in notes)


def test_proxmox_bwlimit_alone_sets_the_speed() -> None:
    """With no migrate_speed (no limit) a bwlimit of 1000 KiB/s is under 1 MiB/s: the
    policy's whole MiB/s floor is 1, and the rounding is noted."""
    notes: list[str] = []
    policy = from_proxmox("qm migrate 101 pve2 --online --bwlimit 1000", BASE,
                          notes=notes)["control"]["policy"]
    assert policy["migrate_speed"] == 1
    assert notes


def test_ovirt_cluster_bandwidth_is_shared_by_the_policys_migrations() -> None:
    """Minimal downtime runs 2 migrations at once: 2000 Mbit/s custom is 1000 Mbit/s
    = 125,000,000 bytes/s each; vdsm.conf's per-GiB limit is read too."""
    text = ('# ==> cluster.json <==\n'
            '{"cluster": {"migration": {"policy": {"name": "Minimal downtime"},\n'
            '  "bandwidth": {"assignment_method": "custom", "custom_value": 2000}}}}\n'
            '# ==> vdsm.conf <==\n[vars]\nmigration_max_time_per_gib_mem = 32\n')
    data = from_ovirt(text, BASE)
    assert data["control"]["policy"] == {"kind": "ovirt", "schedule": "minimal-downtime",
                                         "max_time_per_gib_mem": 32}
    assert data["parameters"] == {"max-bandwidth": 125_000_000}


def test_ovirt_unknown_policy_name_is_refused() -> None:
    """A policy miglab does not simulate is named in the error with the accepted ones."""
    with pytest.raises(ImportError_, match="Minimal downtime"):
        from_ovirt('{"cluster": {"migration": {"policy": {"name": "Legacy"}}}}')


def test_kubevirt_policy_overrides_the_cluster() -> None:
    """The MigrationPolicy's bandwidth wins over the CR's; progressTimeout (CR only) stays."""
    text = """
apiVersion: kubevirt.io/v1
kind: KubeVirt
spec:
  configuration:
    migrations:
      bandwidthPerMigration: 1Gi
      progressTimeout: 40
      parallelMigrationsPerCluster: 5
---
apiVersion: migrations.kubevirt.io/v1alpha1
kind: MigrationPolicy
spec:
  selectors: {}
  bandwidthPerMigration: 64Mi
  allowAutoConverge: true
"""
    notes: list[str] = []
    policy = from_kubevirt_policy(text, BASE, notes=notes)["control"]["policy"]
    assert policy == {"kind": "kubevirt", "bandwidthPerMigration": "64Mi",
                      "progressTimeout": 40, "allowAutoConverge": True}
    assert any("parallelMigrationsPerCluster" in n for n in notes)


@pytest.mark.parametrize(("fmt", "text"), [
    ("nova", NOVA_CONF),
    ("proxmox", "qm set 100 --migrate_downtime 1 --migrate_speed 0"),
    ("kubevirt-policy", "kind: MigrationPolicy\nspec: {allowPostCopy: true}\n"),
])
def test_import_text_knows_the_new_formats(fmt: str, text: str) -> None:
    """The registry reaches each new importer by name, and the result loads."""
    load_scenario(import_text(text, fmt, BASE))


def test_platform_import_leaves_out_what_the_platform_decides() -> None:
    """A base written for plain QEMU (its own bandwidth, downtime, auto-converge, timeout)
    under an imported KubeVirt policy: those settings are KubeVirt's to decide, so they are
    dropped (and noted); the guest's other settings (multifd) stay."""
    base = BASE | {"parameters": {"max-bandwidth": 1, "downtime-limit": 50,
                                  "multifd-channels": 4},
                   "capabilities": {"auto-converge": True, "multifd": True}}
    notes: list[str] = []
    data = from_kubevirt_policy("kind: MigrationPolicy\nspec: {allowAutoConverge: false}\n",
                                base, notes=notes)
    assert data["parameters"] == {"multifd-channels": 4}
    assert data["capabilities"] == {"multifd": True}
    assert data["control"] == {"policy": {"kind": "kubevirt", "allowAutoConverge": False}}
    assert any("parameters.max-bandwidth" in n and "control.timeout" in n for n in notes)

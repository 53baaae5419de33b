"""Every export parses with the target's own kind of parser and carries the scenario's
values in the target's units; what a target cannot express is reported as a gap."""

from __future__ import annotations

import configparser
import json
import shlex
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from sim.export import FORMATS, ExportError, ExportOptions, export, hmp_value, k8s_quantity
from sim.imports import parse_quantity
from sim.qemu import CAPABILITIES, PARAMETERS, QmpMonitor
from sim.scenario import Scenario
from sim.units import KiB, MiB, parse_size


def _jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _given(sc: Scenario) -> dict[str, object]:
    return {k: sc.parameters[k] for k in sc.parameters.given}


def test_registry_lists_every_target(named: Callable[[str], Scenario]) -> None:
    """The issue's seven targets are registered, and an unknown one is refused by name."""
    assert set(FORMATS) == {"qmp", "hmp", "virsh", "kubevirt", "nova", "proxmox", "ovirt"}
    with pytest.raises(ExportError, match="expected one of qmp, hmp"):
        export(named("web-8g"), "vmware")


def test_qmp_export_is_accepted_by_the_emulator(any_scenario: Scenario) -> None:
    """Both sides' JSON lines get a success reply from QmpMonitor of the scenario's release."""
    out = export(any_scenario, "qmp")
    for name, incoming in (("destination.jsonl", True), ("source.jsonl", False)):
        mon = QmpMonitor(any_scenario.qemu, incoming=incoming)
        for line in out.files[name].splitlines():
            reply = mon.execute_text(line)
            assert "return" in reply, (name, line, reply)


def test_qmp_export_carries_parameters_and_capabilities(any_scenario: Scenario) -> None:
    """The source sets exactly the scenario's parameters and capabilities; the destination
    sets the capabilities QEMU needs on both sides and the shared multifd parameters."""
    out = export(any_scenario, "qmp")
    src = {c["execute"]: c.get("arguments", {}) for c in _jsonl(out.files["source.jsonl"])}
    dst = {c["execute"]: c.get("arguments", {}) for c in _jsonl(out.files["destination.jsonl"])}
    assert src.get("migrate-set-parameters", {}) == _given(any_scenario)
    src_caps = {c["capability"] for c in src.get("migrate-set-capabilities",
                                                   {"capabilities": []})["capabilities"]}
    assert src_caps == set(any_scenario.capabilities.enabled)
    dst_caps = {c["capability"] for c in dst.get("migrate-set-capabilities",
                                                   {"capabilities": []})["capabilities"]}
    assert {c for c in src_caps if CAPABILITIES[c].both_sides} <= dst_caps
    assert "migrate" in src
    assert "migrate-incoming" in dst
    assert ("migrate-start-postcopy" in src) == (any_scenario.control.postcopy_after is not None)
    if "multifd-channels" in _given(any_scenario):
        assert dst["migrate-set-parameters"]["multifd-channels"] == \
            any_scenario.parameters.multifd_channels


def test_qmp_export_passes_miglab_qmp(tmp_path: Any, named: Callable[[str], Scenario]) -> None:
    """``miglab qmp`` replies with success to every line of both files of a postcopy export."""
    from typer.testing import CliRunner

    from sim.cli import app

    sc = named("postcopy-seconds")
    out = export(sc, "qmp")
    runner = CliRunner()
    for name, extra in (("destination.jsonl", ["--incoming"]), ("source.jsonl", [])):
        path = tmp_path / name
        path.write_text(out.files[name])
        res = runner.invoke(app, ["qmp", "--qemu", sc.qemu.name, *extra, str(path)])
        replies = _jsonl(res.stdout)
        assert res.exit_code == 0
        assert len(replies) == len(out.files[name].splitlines())
        assert all("return" in r for r in replies), replies


def test_hmp_values_read_back_with_qemu_size_rules(any_scenario: Scenario) -> None:
    """Each ``migrate_set_parameter`` value, read as QEMU's HMP reads it, is the scenario's."""
    lines = export(any_scenario, "hmp").files["source.hmp"].splitlines()
    seen = {}
    for line in lines:
        words = line.split()
        if words[0] == "migrate_set_parameter":
            name, text = words[1], words[2]
            if PARAMETERS[name].unit in ("bytes", "bytes/s"):
                assert text[-1] in "BKMG" or text == "0", line  # never a bare MiB count
                seen[name] = parse_size(text)
            elif text in ("on", "off"):
                seen[name] = text == "on"
            else:
                seen[name] = int(text) if text.isdigit() else text
    assert seen == {k: v for k, v in _given(any_scenario).items() if v is not None}


def test_hmp_suffixes() -> None:
    """HMP sizes get the largest exact binary suffix, or ``B`` for odd byte counts."""
    assert hmp_value("max-bandwidth", 128 * MiB) == "128M"
    assert hmp_value("xbzrle-cache-size", 4097) == "4097B"
    assert hmp_value("max-bandwidth", 100000000) == "100000000B"
    assert hmp_value("downtime-limit", 300) == "300"
    assert hmp_value("cpu-throttle-tailslow", True) == "on"


def _virsh_flags(sc: Scenario) -> tuple[list[str], dict[str, Any]]:
    out = export(sc, "virsh", ExportOptions(domain="vm1", dest_host="b"))
    line = next(ln for ln in out.files["migrate.sh"].splitlines()
                if "virsh migrate " in ln)
    words = shlex.split(line)
    return words[words.index("virsh"):], json.loads(out.files["libvirt-params.json"])


def test_virsh_units_and_typed_parameters(named: Callable[[str], Scenario]) -> None:
    """virsh gets MiB/s and percentages; the libvirt typed parameters carry the same values."""
    words, typed = _virsh_flags(named("xbzrle-throttle"))
    assert words[-2:] == ["vm1", "qemu+ssh://b/system"]
    assert words[words.index("--bandwidth") + 1] == "128"  # QEMU's default, made explicit
    assert words[words.index("--auto-converge-initial") + 1] == "30"
    assert words[words.index("--comp-xbzrle-cache") + 1] == str(256 * MiB)
    assert typed["params"] == {"bandwidth": 128, "auto_converge.initial": 30,
                               "auto_converge.increment": 5,
                               "compression.xbzrle.cache": 256 * MiB,
                               "compression": ["xbzrle"]}
    assert "VIR_MIGRATE_COMPRESSED" in typed["flags"]
    words, typed = _virsh_flags(named("multifd-zstd"))
    assert words[words.index("--parallel-connections") + 1] == "4"
    assert words[words.index("--comp-methods") + 1] == "zstd"
    assert typed["params"]["bandwidth"] == 1024


def test_virsh_helpers_for_downtime_timeout_and_postcopy_seconds(
        named: Callable[[str], Scenario]) -> None:
    """Downtime goes through migrate-setmaxdowntime, a timeout through timeout(1) with SIGINT,
    postcopy after S seconds through a backgrounded migrate-postcopy."""
    text = export(named("postcopy-seconds"), "virsh",
                  ExportOptions(domain="vm1")).files["migrate.sh"]
    assert "( sleep 30; virsh migrate-postcopy vm1 ) &" in text
    assert "timeout --signal=INT 60 virsh migrate" in text
    assert "--postcopy-bandwidth 256" in text
    text = export(named("xbzrle-throttle"), "virsh",
                  ExportOptions(domain="vm1")).files["migrate.sh"]
    assert "virsh migrate-setmaxdowntime vm1 1000" in text


def test_virsh_gaps_name_what_libvirt_lacks(named: Callable[[str], Scenario]) -> None:
    """max-cpu-throttle has no virsh flag; a non-MiB bandwidth is rounded and says so."""
    gaps = {g.setting: g for g in export(named("xbzrle-throttle"), "virsh").gaps}
    assert "parameters.max-cpu-throttle" in gaps
    odd = {g.setting: g for g in export(named("odd-units"), "virsh").gaps}
    assert "95 MiB/s" in odd["parameters.max-bandwidth"].closest


def test_kubevirt_yaml_parses_and_carries_values(named: Callable[[str], Scenario]) -> None:
    """Both documents parse; bandwidth is a quantity of the same bytes, timeout per GiB."""
    out = export(named("xbzrle-throttle"), "kubevirt")
    policy = yaml.safe_load(out.files["migration-policy.yaml"])
    cr = yaml.safe_load(out.files["kubevirt-cr.yaml"])
    assert policy["kind"] == "MigrationPolicy"
    assert policy["apiVersion"] == "migrations.kubevirt.io/v1alpha1"
    spec = policy["spec"]
    assert parse_quantity(spec["bandwidthPerMigration"]) == 128 * MiB
    assert spec["bandwidthPerMigration"] == "128Mi"
    assert spec["allowAutoConverge"] is True
    assert spec["completionTimeoutPerGiB"] == 38  # 5 min over 8 GiB, rounded up
    assert any("38 s/GiB = 304 s" in g.closest for g in out.gaps)
    mig = cr["spec"]["configuration"]["migrations"]
    assert mig["bandwidthPerMigration"] == "128Mi"
    assert len(list(yaml.safe_load_all(out.text))) == 2


def test_kubevirt_gaps(named: Callable[[str], Scenario]) -> None:
    """KubeVirt has no downtime knob, no XBZRLE; both are reported with the closest value."""
    gaps = {g.setting: g for g in export(named("xbzrle-throttle"), "kubevirt").gaps}
    assert "300 ms applies" in gaps["parameters.downtime-limit"].closest
    assert "capabilities.xbzrle" in gaps
    assert k8s_quantity(100000000) == "100000000"


def test_nova_ini_parses_and_respects_nova_minimums(
        named: Callable[[str], Scenario]) -> None:
    """nova.conf parses with configparser; downtime ≥ 100 ms, steps ≥ 3, delay ≥ 3."""
    out = export(named("odd-units"), "nova")
    cfg = configparser.ConfigParser()
    cfg.read_string(out.files["nova.conf"])
    lv = cfg["libvirt"]
    assert lv.getint("live_migration_downtime") == 100  # the scenario asks for 50
    assert lv.getint("live_migration_downtime_steps") >= 3
    assert lv.getint("live_migration_downtime_delay") >= 3
    assert lv.getint("live_migration_bandwidth") == 95  # 100 MB/s in MiB/s
    assert lv.getint("live_migration_completion_timeout") == 34  # 100 s over 3 GiB
    assert lv.get("live_migration_timeout_action") == "abort"
    assert cfg["DEFAULT"].getint("max_concurrent_live_migrations") == 1
    assert any("minimum is 100 ms" in g.closest for g in out.gaps)


def test_nova_uses_the_scenarios_nova_policy(named: Callable[[str], Scenario]) -> None:
    """A nova policy's downtime, steps and delay become the three stepping options."""
    cfg = configparser.ConfigParser()
    cfg.read_string(export(named("nova-policy"), "nova").text)
    lv = cfg["libvirt"]
    assert (lv.getint("live_migration_downtime"), lv.getint("live_migration_downtime_steps"),
            lv.getint("live_migration_downtime_delay")) == (500, 10, 75)
    assert lv.getboolean("live_migration_permit_auto_converge") is True


def test_nova_postcopy_forces_complete(named: Callable[[str], Scenario]) -> None:
    """Postcopy after 30 s becomes permit_post_copy with force_complete at 30 s of budget."""
    cfg = configparser.ConfigParser()
    cfg.read_string(export(named("postcopy-seconds"), "nova").text)
    lv = cfg["libvirt"]
    assert lv.getboolean("live_migration_permit_post_copy") is True
    assert lv.get("live_migration_timeout_action") == "force_complete"
    assert lv.getint("live_migration_completion_timeout") == 4  # ceil(30 s / 8 GiB)


def test_proxmox_units(named: Callable[[str], Scenario]) -> None:
    """migrate_downtime is seconds, bwlimit KiB/s; datacenter.cfg lines are key: value."""
    out = export(named("xbzrle-throttle"), "proxmox", ExportOptions(vmid=123,
                                                                       dest_host="pve2"))
    qm = out.files["qm.sh"]
    assert "qm set 123 --migrate_downtime 1 --migrate_speed 128" in qm
    assert "qm migrate 123 pve2 --online --bwlimit 131072" in qm
    cfg = dict(line.split(": ", 1) for line in out.files["datacenter.cfg"].splitlines()
               if line and not line.startswith("#"))
    assert cfg["bwlimit"] == f"migration={128 * MiB // KiB}"
    gaps = {g.setting for g in out.gaps}
    assert "parameters.xbzrle-cache-size" in gaps  # Proxmox sizes it itself (10 % of RAM)


def test_ovirt_policy_json(named: Callable[[str], Scenario]) -> None:
    """The oVirt policy parses as JSON and carries downtime, auto-converge and XBZRLE."""
    out = export(named("xbzrle-throttle"), "ovirt")
    policy = json.loads(out.files["migration-policy.json"])
    assert policy["autoConvergence"] is True
    assert policy["migrationCompression"] is True
    assert policy["config"]["initialItems"] == [{"action": "setDowntime", "params": ["1000"]}]
    assert policy["config"]["lastItems"] == [{"action": "abort", "params": []}]
    side = json.loads(out.files["cluster.json"])
    assert side["cluster"]["migration"]["bandwidth"] == {  # 128 MiB/s in Mbit/s
        "assignment_method": "custom", "custom_value": 1074}
    assert side["gaps"] == [g.as_dict() for g in out.gaps]


def test_every_export_lists_gaps_as_comments_where_it_can(any_scenario: Scenario) -> None:
    """Formats with comments repeat each gap inside the file, so it travels with the file."""
    for fmt, name in (("virsh", "migrate.sh"), ("kubevirt", "migration-policy.yaml"),
                      ("nova", "nova.conf"), ("proxmox", "qm.sh")):
        out = export(any_scenario, fmt)
        for gap in out.gaps:
            assert f"cannot express {gap}" in out.files[name], (fmt, gap)

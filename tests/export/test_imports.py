"""Imports read what users run today back into scenarios, and import(export(x)) gives x
back wherever the target format can hold x."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from sim.export import export
from sim.imports import ImportError_, from_kubevirt, from_qmp, from_virsh, import_text, merge
from sim.qemu import QmpMonitor
from sim.scenario import Scenario, load_scenario
from sim.units import MiB

VIRSH_PARAMS = ("max-bandwidth", "downtime-limit", "cpu-throttle-initial",
                "cpu-throttle-increment", "multifd-channels", "multifd-compression",
                "multifd-zstd-level", "xbzrle-cache-size", "max-postcopy-bandwidth",
                "compress-level", "compress-threads")
VIRSH_CAPS = frozenset({"auto-converge", "postcopy-ram", "multifd", "xbzrle", "compress"})


def _base(sc: Scenario) -> dict[str, Any]:
    return {k: v for k, v in sc.to_dict().items()
            if k not in ("parameters", "capabilities", "control")}


def _back(sc: Scenario, fmt: str) -> Scenario:
    return load_scenario(import_text(export(sc, fmt).text, fmt, _base(sc)))


def test_qmp_round_trip(any_scenario: Scenario) -> None:
    """QMP holds parameters and capabilities exactly: they come back unchanged."""
    back = _back(any_scenario, "qmp")
    given = {k: any_scenario.parameters[k] for k in any_scenario.parameters.given}
    assert {k: back.parameters[k] for k in back.parameters.given} == given
    assert back.capabilities.enabled == any_scenario.capabilities.enabled
    assert (back.control.postcopy_after is None) == (any_scenario.control.postcopy_after is None)


@pytest.mark.parametrize("name", ["web-8g", "db-32g-postcopy", "multifd-zstd",
                                  "xbzrle-throttle", "postcopy-seconds", "legacy-compress-72"])
def test_virsh_round_trip(name: str, named: Callable[[str], Scenario]) -> None:
    """What virsh can say (MiB/s bandwidth, downtime, throttle steps, multifd, compression,
    postcopy, timeout) comes back with the same effective values."""
    sc = named(name)
    back = _back(sc, "virsh")
    for key in VIRSH_PARAMS:
        if key in sc.parameters.given or key == "max-bandwidth":
            assert back.parameters[key] == sc.parameters[key], key
    assert back.capabilities.enabled == sc.capabilities.enabled & VIRSH_CAPS
    assert back.control.timeout_s == sc.control.timeout_s
    after = sc.control.postcopy_after
    if after is not None and (after.seconds is not None or after.passes == 1):
        assert back.control.postcopy_after == after


def test_kubevirt_round_trip(named: Callable[[str], Scenario]) -> None:
    """Bandwidth, auto-converge, postcopy and the budget come back (8 GiB, whole s/GiB)."""
    sc = named("web-8g")
    back = _back(sc, "kubevirt")
    assert back.parameters.max_bandwidth == sc.parameters.max_bandwidth
    assert back.capabilities["auto-converge"] is True
    assert back.control.timeout_s == 600
    pc = sc.with_changes({"capabilities.postcopy-ram": True,
                          "control.postcopy-after": {"seconds": 80}, "control.timeout": 160})
    back = _back(pc, "kubevirt")
    assert back.control.postcopy_after == pc.control.postcopy_after
    assert back.control.timeout_s == 160
    assert back.capabilities["postcopy-ram"] is True


def test_qmp_query_output_gives_non_default_values() -> None:
    """``query-migrate-parameters`` output becomes the values that differ from defaults."""
    mon = QmpMonitor("7.2")
    mon.execute({"execute": "migrate-set-parameters",
                 "arguments": {"downtime-limit": 700, "multifd-channels": 6}})
    mon.execute({"execute": "migrate-set-capabilities", "arguments": {"capabilities": [
        {"capability": "multifd", "state": True}]}})
    log = "\n".join(str(mon.execute({"execute": q})).replace("'", '"')
                    .replace("True", "true").replace("False", "false")
                    for q in ("query-version", "query-migrate-parameters",
                              "query-migrate-capabilities"))
    data = from_qmp(log)
    assert data["qemu"] == "7.2"
    assert data["parameters"] == {"downtime-limit": 700, "multifd-channels": 6}
    assert data["capabilities"] == {"multifd": True}


def test_virsh_command_line_import() -> None:
    """A hand-written virsh line maps flag by flag, units converted back to QMP's."""
    notes: list[str] = []
    data = from_virsh(
        "virsh migrate --live --p2p --bandwidth 512 --auto-converge --auto-converge-initial 40 "
        "--parallel --parallel-connections 8 --timeout 60 vm qemu+ssh://b/system\n"
        "virsh migrate-setmaxdowntime vm 800\n", {"vm": {"memory": "4G"}}, notes=notes)
    assert data["parameters"] == {"max-bandwidth": 512 * MiB, "cpu-throttle-initial": 40,
                                  "multifd-channels": 8, "downtime-limit": 800}
    assert data["capabilities"] == {"auto-converge": True, "multifd": True}
    assert data["vm"] == {"memory": "4G"}
    assert any("--timeout 60 suspends" in n for n in notes)
    load_scenario(data)  # a valid scenario


def test_virsh_without_bandwidth_is_unlimited() -> None:
    """libvirt migrates unlimited without --bandwidth, so the import says max-bandwidth 0."""
    assert from_virsh("virsh migrate --live vm qemu:///b")["parameters"] == {"max-bandwidth": 0}


def test_kubevirt_policy_import_needs_memory_for_the_budget() -> None:
    """completionTimeoutPerGiB × RAM GiB is the cancel time; without RAM a note says so."""
    text = ("apiVersion: migrations.kubevirt.io/v1alpha1\nkind: MigrationPolicy\n"
            "metadata: {name: p}\nspec:\n  bandwidthPerMigration: 64Mi\n"
            "  completionTimeoutPerGiB: 150\n  allowAutoConverge: true\n")
    data = from_kubevirt(text, {"vm": {"memory": "4GiB"}})
    assert data["parameters"]["max-bandwidth"] == 64 * MiB
    assert data["control"] == {"timeout": 600.0}
    assert data["capabilities"]["multifd"] is True  # KubeVirt's own choice
    notes: list[str] = []
    assert "control" not in from_kubevirt(text, notes=notes)
    assert any("needs vm.memory" in n for n in notes)


def test_bad_input_is_an_import_error() -> None:
    """Text that is not the named format raises ImportError_ naming the problem."""
    with pytest.raises(ImportError_, match="not a QMP JSON line"):
        from_qmp("migrate_set_parameter downtime-limit 5")
    with pytest.raises(ImportError_, match="unknown import format"):
        import_text("", "vmware")
    with pytest.raises(ImportError_, match="no 'virsh migrate'"):
        from_virsh("echo hello")


def test_merge_lays_sections_over_the_base() -> None:
    """Imported sections replace keys inside the base's sections, not whole sections."""
    out = merge({"vm": {"memory": "1G"}, "parameters": {"a": 1}}, {"parameters": {"b": 2}})
    assert out == {"vm": {"memory": "1G"}, "parameters": {"a": 1, "b": 2}}


def test_import_and_export_commands(tmp_path: Path, named: Callable[[str], Scenario]) -> None:
    """``miglab export --out`` writes each file and prints gaps; ``miglab import`` reads back."""
    import typer

    from sim.cli_export import export_cmd, import_cmd

    app = typer.Typer()
    app.command("export")(export_cmd)
    app.command("import")(import_cmd)
    runner = CliRunner()
    scen = tmp_path / "web.yaml"
    scen.write_text(yaml.safe_dump(named("web-8g").to_dict()))
    res = runner.invoke(app, ["export", str(scen), "--to", "qmp", "--out", str(tmp_path / "q")])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "q").iterdir()) == ["destination.jsonl",
                                                                  "source.jsonl"]
    assert "gap: control.timeout" in res.stderr
    res = runner.invoke(app, ["export", str(scen), "--to", "virsh", "--domain", "web"])
    (tmp_path / "v.sh").write_text(res.stdout)
    res = runner.invoke(app, ["import", str(tmp_path / "v.sh"), "--from", "virsh",
                              "--base", str(scen)])
    assert res.exit_code == 0, res.output
    back = load_scenario(yaml.safe_load(res.stdout))
    assert back.parameters.max_bandwidth == 128 * MiB
    assert back.control.timeout_s == 600
    res = runner.invoke(app, ["export", str(scen), "--to", "nope"])
    assert res.exit_code == 1
    assert "unknown export format 'nope'" in res.stderr

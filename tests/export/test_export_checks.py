"""Exports refuse options their target would refuse, label each gap by the scenario field it
comes from, note what a target does on its own, and never create directories for --out."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from sim.cli import app
from sim.export import ExportError, ExportOptions, export
from sim.scenario import DATA_DIR, Scenario, load_scenario
from sim.units import KiB, MiB
from tests.export.conftest import SCENARIOS

runner = CliRunner()
WEB = DATA_DIR / "examples" / "web-8g.yaml"


def _without_timeout(name: str) -> Scenario:
    data: dict[str, Any] = json.loads(json.dumps(SCENARIOS[name]))
    data["control"].pop("timeout", None)
    return load_scenario(data)


# ------------------------------------------------------------------------- options


@pytest.mark.parametrize(("options", "flag", "accepted"), [
    ({"port": 70000}, "--port 70000", "1-65535"),
    ({"port": 0}, "--port 0", "1-65535"),
    ({"vmid": -1}, "--vmid -1", "100-999999999"),
    ({"vmid": 99}, "--vmid 99", "100-999999999"),
    ({"vmid": 1_000_000_000}, "--vmid 1000000000", "100-999999999"),
])
def test_options_targets_refuse_are_refused(options: dict[str, int], flag: str,
                                            accepted: str) -> None:
    """A port outside 1-65535 or a Proxmox VM id outside 100-999999999 is an error naming
    the flag, the value and the accepted range."""
    with pytest.raises(ExportError) as err:
        ExportOptions(**options)  # type: ignore[arg-type]
    assert flag in str(err.value)
    assert accepted in str(err.value)
    ExportOptions(port=65535, vmid=999_999_999)  # the bounds themselves are fine


def test_bad_port_on_the_command_line() -> None:
    """``miglab export --port 70000`` exits 1 with one line naming --port."""
    res = runner.invoke(app, ["export", str(WEB), "--to", "qmp", "--port", "70000"])
    assert res.exit_code == 1
    assert res.stderr.startswith("miglab: --port 70000")
    res = runner.invoke(app, ["export", str(WEB), "--to", "proxmox", "--vmid", "-1"])
    assert res.exit_code == 1
    assert "--vmid -1" in res.stderr
    assert "100-999999999" in res.stderr


# ------------------------------------------------------------------------- KubeVirt / Nova


def test_kubevirt_multifd_gap_follows_what_kubevirt_does(named: Callable[[str], Scenario]
                                                         ) -> None:
    """KubeVirt turns multifd on only when postcopy is not allowed: no 'turns multifd on'
    gap when allowPostCopy is true, and a gap when multifd is asked for with postcopy."""
    def multifd_gaps(sc: Scenario) -> list[str]:
        return [g.closest for g in export(sc, "kubevirt").gaps
                if g.setting == "capabilities.multifd"]

    assert any("turns multifd on" in c for c in multifd_gaps(named("web-8g")))
    postcopy = named("postcopy-seconds")
    fields = yaml.safe_load(export(postcopy, "kubevirt").files["migration-policy.yaml"])
    assert fields["spec"]["allowPostCopy"] is True
    assert multifd_gaps(postcopy) == []
    both = load_scenario({**SCENARIOS["postcopy-seconds"], "qemu": "10.1",
                          "capabilities": {"postcopy-ram": True, "multifd": True}})
    assert any("does not use multifd" in c for c in multifd_gaps(both))


@pytest.mark.parametrize("fmt", ["kubevirt", "nova"])
def test_completion_budget_gap_names_its_source(fmt: str) -> None:
    """A budget derived from postcopy-after (30 s over 8 GiB is not whole s/GiB) is labelled
    control.postcopy-after, never control.timeout when the scenario has no timeout."""
    sc = _without_timeout("postcopy-seconds")
    assert sc.control.timeout_s is None
    gaps = export(sc, fmt).gaps
    assert not [g for g in gaps if g.setting == "control.timeout"]
    budget = [g for g in gaps if "per GiB" in g.closest]
    assert [g.setting for g in budget] == ["control.postcopy-after"]
    assert "30 s" in budget[0].wanted


def test_completion_budget_from_a_timeout_keeps_its_label() -> None:
    """A budget that is the scenario's timeout stays labelled control.timeout."""
    sc = load_scenario({**SCENARIOS["odd-units"]})  # 100 s over 3 GiB
    for fmt in ("kubevirt", "nova"):
        assert any(g.setting == "control.timeout" and "per GiB" in g.closest
                   for g in export(sc, fmt).gaps), fmt


# ------------------------------------------------------------------------- Proxmox / oVirt


@pytest.mark.parametrize("bw", [1000, 100_000_000, 1536 * KiB, 128 * MiB])
def test_proxmox_migrate_speed_and_bwlimit_agree(bw: int) -> None:
    """Proxmox uses the lower of migrate_speed (MiB/s) and bwlimit (KiB/s): the export makes
    that bwlimit, the value closest to the scenario, and notes migrate_speed's rounding."""
    sc = load_scenario({**SCENARIOS["odd-units"], "parameters": {"max-bandwidth": bw}})
    out = export(sc, "proxmox")
    qm = out.files["qm.sh"]
    speed = int(re.search(r"--migrate_speed (\d+)", qm).group(1))  # type: ignore[union-attr]
    bwlimit = int(re.search(r"--bwlimit (\d+)", qm).group(1))  # type: ignore[union-attr]
    assert min(speed * MiB, bwlimit * KiB) == bwlimit * KiB
    assert abs(bwlimit * KiB - bw) <= KiB / 2
    speed_gaps = [g for g in out.gaps if "migrate_speed" in g.closest]
    assert bool(speed_gaps) == (speed * MiB != bw)
    assert all(f"{speed}" in g.closest for g in speed_gaps)


def test_ovirt_unlimited_bandwidth_is_noted_and_uses_ovirt_keys() -> None:
    """max-bandwidth 0 becomes assignment_method hypervisor_default, with a gap saying that
    is the hypervisor's configured value, not necessarily unlimited."""
    sc = load_scenario({**SCENARIOS["odd-units"], "parameters": {"max-bandwidth": 0}})
    out = export(sc, "ovirt")
    side = json.loads(out.files["cluster.json"])
    assert side["cluster"]["migration"]["bandwidth"] == {
        "assignment_method": "hypervisor_default"}
    gap = [g for g in out.gaps if g.setting == "parameters.max-bandwidth"]
    assert len(gap) == 1
    assert "not necessarily unlimited" in gap[0].closest


# ------------------------------------------------------------------------- --out


@pytest.mark.parametrize("args", [
    ["export", str(WEB), "--to", "virsh", "--out"],
    ["export", str(WEB), "--to", "qmp", "--out"],
    ["report", str(WEB), "--out"],
    ["import", "--from", "virsh", "virsh migrate --live vm q", "--out"],
])
def test_out_in_a_missing_directory_is_refused(tmp_path: Path, args: list[str]) -> None:
    """--out whose parent directory does not exist is an error; nothing is created."""
    target = tmp_path / "missing" / "deeper" / "x.out"
    res = runner.invoke(app, [*args, str(target)])
    assert res.exit_code == 1
    assert f"--out {target}" in res.stderr
    assert "does not exist" in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_export_out_directory_is_created_inside_an_existing_parent(tmp_path: Path) -> None:
    """A several-file export still creates its own directory (one level)."""
    res = runner.invoke(app, ["export", str(WEB), "--to", "qmp", "--out",
                              str(tmp_path / "qmp")])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "qmp").iterdir()) == ["destination.jsonl",
                                                                    "source.jsonl"]

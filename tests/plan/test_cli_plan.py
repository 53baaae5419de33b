"""The sweep, drain and recommend commands, driven as a user would from the shell."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from sim.cli import app

ROOT = Path(__file__).resolve().parents[2]
WEB = str(ROOT / "data" / "examples" / "web-8g.yaml")

runner = CliRunner()  # drives the real ``miglab`` app


def test_sweep_writes_a_parquet_table(tmp_path: Path) -> None:
    """`miglab sweep BASE --vary … --out FILE` writes one row per combination (3 × 2)."""
    out = tmp_path / "s.parquet"
    res = runner.invoke(app, ["sweep", WEB, "--vary", "downtime-limit=100:1000:log3",
                              "--vary", "host.link=1Gbit/s,10Gbit/s", "--out", str(out),
                              "--workers", "1", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "6 scenarios: 6 valid" in res.output
    table = pd.read_parquet(out)
    assert table["parameters.downtime-limit"].tolist() == [100, 100, 316, 316, 1000, 1000]


def test_sweep_bad_axis_is_one_clear_line() -> None:
    """A bad --vary exits 1 with a message naming the axis, not a traceback."""
    res = runner.invoke(app, ["sweep", WEB, "--vary", "downtime-limit=0:9:log3"])
    assert res.exit_code == 1
    assert "axis 'downtime-limit'" in res.output
    assert "Traceback" not in res.output


def test_drain_prints_schedule_and_json_summary() -> None:
    """`miglab drain INVENTORY --policy kubevirt --json` reports 20 VMs, all completed."""
    res = runner.invoke(app, ["drain", str(ROOT / "data" / "fleets" / "two-racks.csv"),
                              "--policy", "kubevirt", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["vms"] == summary["completed"] == 20
    assert summary["per_node"] == 2
    assert summary["per_cluster"] == 5


def test_drain_hosts_empties_only_the_chosen_hosts_and_names_the_worst() -> None:
    """`--hosts r1-*,r2-h1` plans the VMs of those hosts only; the worst VMs are named."""
    fleet = str(ROOT / "data" / "fleets" / "two-racks.csv")
    res = runner.invoke(app, ["drain", fleet, "--hosts", "r1-*,r2-h1", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["vms"] == 13  # 3 + 3 + 4 on rack 1, 3 on r2-h1
    res = runner.invoke(app, ["drain", fleet, "--hosts", "r2-h1"])
    assert res.exit_code == 0, res.output
    worst = next(line for line in res.output.splitlines() if line.startswith("worst: "))
    assert "downtime" in worst
    table = [line.split()[1] for line in res.output.splitlines()[1:]
             if line.split() and line.split()[1].startswith("r")]
    assert set(table) == {"r2-h1"}


def test_drain_hosts_that_match_nothing_is_one_clear_line() -> None:
    res = runner.invoke(app, ["drain", str(ROOT / "data" / "fleets" / "two-racks.csv"),
                              "--hosts", "r9-*"])
    assert res.exit_code == 1
    assert "'r9-*' matches no host" in res.output
    assert "r1-h1" in res.output
    assert "Traceback" not in res.output


def test_recommend_impossible_budget_exits_3_and_names_closest() -> None:
    """A 1 ms downtime budget cannot be met: exit 3, the closest settings, the reason."""
    res = runner.invoke(app, ["recommend", WEB, "--max-downtime", "1ms", "--workers", "1"])
    assert res.exit_code == 3, res.output
    assert "closest QEMU/libvirt settings:" in res.output
    assert "No setting meets all constraints" in res.output


def test_recommend_json_answer() -> None:
    """`--json` prints the changes, reasons and the Pareto set."""
    res = runner.invoke(app, ["recommend", WEB, "--max-downtime", "500ms", "--max-total",
                              "2min", "--workers", "1", "--json"])
    assert res.exit_code == 0, res.output
    answer = json.loads(res.output)
    assert answer["feasible"] is True
    assert answer["changes"]["parameters.downtime-limit"] <= 500
    assert all(p["downtime_ms"] <= 500 for p in answer["pareto"])

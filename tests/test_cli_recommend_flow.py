"""From a budget to deployable settings on the command line: recommend → export, and a
report that carries the recommendation."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from sim.cli import app
from sim.scenario import load_scenario

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "examples" / "web-8g.yaml"


def test_recommend_out_writes_a_scenario_that_export_accepts(tmp_path: Path) -> None:
    """`recommend --out` saves the recommended scenario; it loads, meets the budget's
    downtime-limit ceiling, and `miglab export` renders it."""
    out = tmp_path / "rec.yaml"
    runner = CliRunner()
    res = runner.invoke(app, ["recommend", str(EXAMPLE), "--max-downtime", "200ms",
                              "--workers", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    rec = load_scenario(out)
    # the recommendation changes settings of the base (web-8g keeps QEMU's 300 ms default)
    assert rec.parameters.downtime_limit <= 200
    exported = runner.invoke(app, ["export", str(out), "--to", "qmp"])
    assert exported.exit_code == 0, exported.output
    assert f'"downtime-limit": {rec.parameters.downtime_limit}' in exported.output


def test_report_with_budget_contains_the_recommendation(tmp_path: Path) -> None:
    """`report --max-downtime` adds a Recommendation section with its reasons and the
    current-vs-recommended comparison."""
    out = tmp_path / "r.html"
    res = CliRunner().invoke(app, ["report", str(EXAMPLE), "--out", str(out),
                                   "--max-downtime", "500ms", "--max-total", "2min"])
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    assert "<h2>Recommendation</h2>" in html
    assert "binding constraint" in html
    assert "recommended" in html
    assert "current" in html

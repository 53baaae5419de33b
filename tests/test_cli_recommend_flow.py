"""From a budget to deployable settings on the command line: recommend → export, and a
report that carries the recommendation."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from sim.cli import app
from sim.scenario import load_scenario

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "examples" / "web-8g.yaml"


def test_recommend_scenario_out_writes_a_scenario_that_export_accepts(tmp_path: Path) -> None:
    """`recommend --scenario-out` saves the recommended scenario; it loads, meets the
    budget's downtime-limit ceiling, and `miglab export` renders it."""
    out = tmp_path / "rec.yaml"
    runner = CliRunner()
    res = runner.invoke(app, ["recommend", str(EXAMPLE), "--max-downtime", "200ms",
                              "--workers", "1", "--scenario-out", str(out)])
    assert res.exit_code == 0, res.output
    rec = load_scenario(out)
    # the recommendation changes settings of the base (web-8g keeps QEMU's 300 ms default)
    assert rec.parameters.downtime_limit <= 200
    exported = runner.invoke(app, ["export", str(out), "--to", "qmp"])
    assert exported.exit_code == 0, exported.output
    assert f'"downtime-limit": {rec.parameters.downtime_limit}' in exported.output


ISSUE_GUEST = """\
name: web
qemu: "8.2"
vm: {memory: 8GiB, vcpus: 4}
workload: {dirty-rate: 200MiB/s, working-set: 2GiB}
host: {link: 10Gbit/s}
control:
  policy: {kind: KIND}
seed: 1
"""

#: MigrationPolicy spec fields and KubeVirt CR migration fields (docs/management-policies.md §3.3)
KUBEVIRT_POLICY_FIELDS = {"selectors", "allowAutoConverge", "bandwidthPerMigration",
                          "completionTimeoutPerGiB", "allowPostCopy", "allowWorkloadDisruption"}
KUBEVIRT_CR_FIELDS = {"parallelMigrationsPerCluster", "parallelOutboundMigrationsPerNode",
                      "bandwidthPerMigration", "completionTimeoutPerGiB", "progressTimeout",
                      "allowAutoConverge", "allowPostCopy", "allowWorkloadDisruption"}
#: nova.conf [libvirt] live-migration options (docs/management-policies.md §3.4)
NOVA_LIBVIRT_OPTIONS = {"live_migration_bandwidth", "live_migration_downtime",
                        "live_migration_downtime_steps", "live_migration_downtime_delay",
                        "live_migration_completion_timeout", "live_migration_timeout_action",
                        "live_migration_permit_post_copy",
                        "live_migration_permit_auto_converge",
                        "live_migration_with_native_tls", "live_migration_tunnelled",
                        "live_migration_parallel_connections"}


def _predicted_equals_import(tmp_path: Path, kind: str, fmt: str) -> str:
    """Run the issue's example for ``kind``; import the --out file back (the guest from the
    scenario), simulate, and check the printed prediction. Returns the --out text."""
    import json

    from sim.engine import simulate
    from sim.imports import import_text

    scenario = tmp_path / f"{kind}.yaml"
    scenario.write_text(ISSUE_GUEST.replace("KIND", kind), encoding="utf-8")
    out = tmp_path / f"{kind}.export"
    res = CliRunner().invoke(app, ["recommend", str(scenario), "--max-downtime", "150ms",
                                   "--max-total", "2min", "--workers", "1", "--json",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    answer = json.loads(res.stdout)
    assert answer["target"] == kind
    base = load_scenario(scenario).to_dict()  # the user's own file, policy and all
    back = load_scenario(import_text(out.read_text(encoding="utf-8"), fmt, base))
    got = simulate(back, timeline=False).summary()
    assert got["downtime_ms"] == answer["predicted"]["downtime_ms"]
    assert got["total_time_s"] == answer["predicted"]["total_time_s"]
    assert got["downtime_ms"] <= 150
    assert got["total_time_s"] <= 120
    return out.read_text(encoding="utf-8")


def test_issue_example_kubevirt_uses_only_kubevirt_fields(tmp_path: Path) -> None:
    """The issue's 8 GiB KubeVirt guest under 150 ms / 2 min: the --out file holds only
    MigrationPolicy and KubeVirt CR fields, and simulating it gives the printed prediction."""
    import yaml

    text = _predicted_equals_import(tmp_path, "kubevirt", "kubevirt-policy")
    docs = {d["kind"]: d for d in yaml.safe_load_all(text)}
    assert set(docs) == {"MigrationPolicy", "KubeVirt"}
    assert set(docs["MigrationPolicy"]["spec"]) <= KUBEVIRT_POLICY_FIELDS
    assert set(docs["KubeVirt"]["spec"]["configuration"]["migrations"]) <= KUBEVIRT_CR_FIELDS


def test_issue_example_nova_uses_only_nova_options(tmp_path: Path) -> None:
    """The same guest managed by Nova: only nova.conf [libvirt] migration options, and
    simulating the file gives the printed prediction."""
    import configparser

    text = _predicted_equals_import(tmp_path, "nova", "nova")
    cfg = configparser.ConfigParser()
    cfg.read_string(text)
    assert set(cfg["libvirt"]) - set(cfg.defaults()) <= NOVA_LIBVIRT_OPTIONS


def test_recommend_prints_settings_in_the_targets_syntax(tmp_path: Path) -> None:
    """The text answer names the target, each setting as nova.conf writes it, the
    prediction, and then the nova.conf itself."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text(ISSUE_GUEST.replace("KIND", "kubevirt"), encoding="utf-8")
    res = CliRunner().invoke(app, ["recommend", str(scenario), "--for", "nova",
                                   "--max-downtime", "150ms", "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert "target: OpenStack Nova (--for nova: given on the command line)" in res.output
    assert "  live_migration_downtime = " in res.output
    assert "predicted (these settings simulated through the nova policy)" in res.output
    assert "[libvirt]" in res.output
    assert "parameters." not in res.output.split("export for")[0]


def test_recommend_unknown_target_is_one_clear_line() -> None:
    """--for with an unknown platform names the accepted ones."""
    res = CliRunner().invoke(app, ["recommend", str(EXAMPLE), "--for", "vmware"])
    assert res.exit_code == 1
    assert "kubevirt" in res.output
    assert "Traceback" not in res.output


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

"""User mistakes on the planning commands: each is refused up front, naming the flag (or
axis), the value and what is accepted, with a non-zero exit and no traceback; and what the
commands print is what they claim (strict JSON, only real changes)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.fleet import FleetError, load_inventory, plan_drain
from sim.recommend import Constraints, SearchSpace, real_changes, recommend
from sim.result import RamStats, Result
from sim.scenario import Scenario, load_scenario
from sim.sweep import Axis, AxisError, check_axes, parse_axis, run_sweep

ROOT = Path(__file__).resolve().parents[2]
WEB = str(ROOT / "data" / "examples" / "web-8g.yaml")

cli = CliRunner()  # drives the real ``miglab`` app


def _strict_json(text: str) -> Any:
    def refuse(token: str) -> Any:
        raise AssertionError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def _fake(scenario: Scenario, seed: int | None) -> Result:
    return Result(status="completed", converged=True, total_time_ms=1000.0, downtime_ms=5.0,
                  setup_time_ms=0.0, expected_downtime_ms=5.0,
                  ram=RamStats(transferred=1, total=1), seed=1 if seed is None else seed)


# ----------------------------------------------------------------------- 1. sweep axes


@pytest.mark.parametrize(("spec", "fragment"), [
    ("nosuchparam=1,2", "neither a QEMU migration parameter nor a scenario path"),
    ("nosuch.key=1,2", "not a scenario path"),
    ("vm=1,2", "whole section"),
    ("parameters.nosuch=1,2", "not a migration parameter of QEMU"),
    ("capabilities.nosuch=true,false", "not a migration capability of QEMU"),
    ("vm.nosuch=1,2", "unknown key"),
    ("parameters.downtime-limit.x=1,2", "not a migration parameter of QEMU"),
])
def test_unknown_axis_path_is_refused_before_any_run(spec: str, fragment: str) -> None:
    """A path the scenario does not have stops the sweep before a single run."""
    calls: list[Scenario] = []

    def runner(sc: Scenario, seed: int | None) -> Result:
        calls.append(sc)
        return _fake(sc, seed)

    with pytest.raises(AxisError) as info:
        run_sweep(WEB, [parse_axis(spec)], workers=1, runner=runner)
    assert fragment in str(info.value)
    assert spec in str(info.value)
    assert calls == []


def test_known_axis_paths_pass_the_check() -> None:
    """Parameters (bare or dotted), capabilities, section fields and seed are accepted."""
    base = load_scenario(WEB)
    check_axes(base, [parse_axis(s) for s in (
        "downtime-limit=100,200", "parameters.max-bandwidth=1000,2000",
        "capabilities.multifd=true,false", "host.link=1Gbit/s,10Gbit/s",
        "workload.dirty-rate=1MiB/s,2MiB/s", "vm.memory=4GiB,8GiB", "control.timeout=1min",
        "seed=1,2")])


def test_axis_check_suggests_the_near_name() -> None:
    """A misspelt parameter gets a suggestion."""
    with pytest.raises(AxisError, match="did you mean downtime-limit"):
        check_axes(load_scenario(WEB), [Axis("downtime-limt", (1,), "downtime-limt=1")])


@pytest.mark.parametrize("spec", ["downtime-limit=1,,2", "downtime-limit=1,2,",
                                  "downtime-limit=,1"])
def test_empty_list_item_is_refused(spec: str) -> None:
    """An empty item is a typo, not something to drop silently."""
    with pytest.raises(AxisError, match="empty item"):
        parse_axis(spec)


def test_cli_sweep_unknown_axis_exits_1_naming_vary() -> None:
    """`miglab sweep --vary nosuchparam=1,2` exits 1 naming --vary and what is accepted."""
    res = cli.invoke(app, ["sweep", WEB, "--vary", "nosuchparam=1,2", "--workers", "1",
                           "--quiet"])
    assert res.exit_code == 1
    assert "--vary" in res.output
    assert "nosuchparam=1,2" in res.output
    assert "parameters.<" in res.output
    assert "host.link" in res.output
    assert "Traceback" not in res.output
    assert "scenarios:" not in res.output  # nothing ran


@pytest.mark.parametrize(("flag", "value"), [("--chunk-size", "0"), ("--workers", "0"),
                                             ("--seed", "-1")])
def test_cli_sweep_bad_counts_name_the_flag(flag: str, value: str) -> None:
    """Counts below their range are refused with the flag's name, not the Python one."""
    res = cli.invoke(app, ["sweep", WEB, "--vary", "downtime-limit=100", flag, value,
                           "--quiet"])
    assert res.exit_code == 1
    assert f"{flag} {value}" in res.output
    assert "_size" not in res.output
    assert "(=" not in res.output


# ----------------------------------------------------------------------- 2. drain


def _csv(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_invalid_vm_problem_is_kept_with_field_and_value() -> None:
    """The plan keeps the validator's problem (field, value, reason) per invalid VM."""
    inv = {"vms": [{"name": "vm1", "host": "h1", "memory": "1GiB", "dirty-rate": "lots"},
                   {"name": "vm2", "host": "h1", "memory": "1GiB"}]}
    plan = plan_drain(inv, runner=_fake)
    assert set(plan.problems) == {"vm1"}
    p = plan.problems["vm1"]
    assert (p.field, p.value) == ("workload.dirty-rate", "lots")
    assert "lots" in plan.vms.set_index("name").loc["vm1", "error"]
    assert plan.summary()["invalid"] == 1


def test_cli_drain_reports_invalid_vm_and_exits_1(tmp_path: Path) -> None:
    """The invalid VM's field, value and reason go to stderr; the others still plan."""
    inv = _csv(tmp_path, "inv.csv", "name,host,memory,dirty-rate\n"
                                    "vm1,h1,1G,lots\nvm2,h1,1G,1MiB/s\n")
    res = cli.invoke(app, ["drain", str(inv)])
    assert res.exit_code == 1
    assert "vm1" in res.stderr
    assert "workload.dirty-rate" in res.stderr
    assert "'lots'" in res.stderr
    assert "cannot read" in res.stderr
    assert "vm2" in res.stdout
    assert "completed" in res.stdout


def test_cli_drain_json_is_strict_json(tmp_path: Path) -> None:
    """With every VM invalid the worst downtime is unknown: null, never NaN."""
    inv = _csv(tmp_path, "bad.csv", "name,host,memory,dirty-rate\nvm1,h1,8G,lots\n")
    res = cli.invoke(app, ["drain", str(inv), "--json"])
    assert res.exit_code == 1
    assert "NaN" not in res.stdout
    data = _strict_json(res.stdout)
    assert data["max_downtime_ms"] is None
    assert data["invalid_vms"][0]["field"] == "workload.dirty-rate"
    assert data["invalid_vms"][0]["value"] == "lots"


def test_cli_drain_link_flag_is_named_and_always_checked(tmp_path: Path) -> None:
    """A bad --link names --link, whether or not any host lacks a link."""
    nolink = _csv(tmp_path, "nolink.csv", "name,host,memory\nvm1,h1,1G\n")
    linked = _csv(tmp_path, "linked.csv", "name,host,memory,link\nvm1,h1,1G,10Gbit/s\n")
    for inv in (nolink, linked):
        res = cli.invoke(app, ["drain", str(inv), "--link", "fast"])
        assert res.exit_code == 1, res.output
        assert "--link fast" in res.output
        assert "hosts.h1.link" not in res.output
    res = cli.invoke(app, ["drain", str(nolink), "--link", "1000"])
    assert res.exit_code == 1
    assert "--link 1000: give a unit" in res.output


def test_default_link_is_checked_when_every_host_has_one() -> None:
    """load_inventory refuses a bad default_link even when no host would use it."""
    inv = {"hosts": {"h1": {"link": "10Gbit/s"}},
           "vms": [{"name": "vm1", "host": "h1", "memory": "1GiB"}]}
    with pytest.raises(FleetError, match="default_link"):
        load_inventory(inv, default_link="fast")


@pytest.mark.parametrize("flag", ["--per-node", "--per-cluster"])
def test_cli_drain_limits_name_the_flag(tmp_path: Path, flag: str) -> None:
    inv = _csv(tmp_path, "inv.csv", "name,host,memory\nvm1,h1,1G\n")
    res = cli.invoke(app, ["drain", str(inv), flag, "0"])
    assert res.exit_code == 1
    assert f"{flag} 0: expected a whole number ≥ 1" in res.output
    assert "per_node" not in res.output
    assert "per_cluster" not in res.output


# ----------------------------------------------------------------------- 3./4. recommend


@pytest.mark.parametrize("flag", ["--max-downtime", "--max-total", "--max-blocktime"])
def test_cli_duration_flags_need_a_unit(flag: str) -> None:
    """`--max-downtime 500` is ambiguous (ms or s?): refused, with an example."""
    res = cli.invoke(app, ["recommend", WEB, flag, "500", "--workers", "1"])
    assert res.exit_code == 1
    assert f"{flag} 500: give a unit, e.g. 500ms or 500s" in res.output
    assert "closest changes" not in res.output
    assert "recommended" not in res.output


@pytest.mark.parametrize(("args", "expected"), [
    (["--bandwidth-share", "0"], "--bandwidth-share 0: expected a share of the link"),
    (["--bandwidth-share", "1.5"], "--bandwidth-share 1.5:"),
    (["--max-throttle", "-3"], "--max-throttle -3: expected a percentage from 0 to 100"),
    (["--max-throttle", "nan"], "--max-throttle nan:"),
    (["--trials", "0"], "--trials 0: expected a whole number ≥ 1"),
])
def test_cli_recommend_numbers_name_the_flag(args: list[str], expected: str) -> None:
    res = cli.invoke(app, ["recommend", WEB, *args, "--workers", "1"])
    assert res.exit_code == 1
    assert expected in res.output
    assert "max_bandwidth_share" not in res.output
    assert "max_throttle_pct" not in res.output


# ----------------------------------------------------------------------- 5. real changes


def test_real_changes_drops_settings_the_scenario_already_has() -> None:
    """web-8g has multifd off, postcopy off and a 300 ms limit: setting those is no change."""
    sc = load_scenario(WEB)
    got = real_changes(sc, {"capabilities.multifd": False,
                            "capabilities.postcopy-ram": False,
                            "parameters.downtime-limit": 300,
                            "capabilities.auto-converge": False,
                            "parameters.max-bandwidth": 10**9})
    assert got == {"capabilities.auto-converge": False, "parameters.max-bandwidth": 10**9}


def test_recommended_changes_all_change_the_scenario() -> None:
    """Every change listed alters the base; unchanged knobs (multifd off) are not listed."""
    sc = load_scenario(WEB)
    space = SearchSpace(downtime_limits_ms=(300, 2000), bandwidth_shares=(1.0,),
                        auto_converge=(True,), multifd_channels=(0,),
                        postcopy_after_passes=(None,))
    rec = recommend(sc, Constraints(), space=space, refine=False, runner=_fake)
    assert "capabilities.multifd" not in rec.changes
    assert "capabilities.auto-converge" not in rec.changes
    assert "capabilities.postcopy-ram" not in rec.changes
    for path, value in rec.changes.items():
        assert sc.with_changes({path: value}) != sc, path
    # applying the short list still gives the recommended settings
    assert rec.scenario().parameters.max_bandwidth == math.floor(sc.host.link_Bps)


def test_postcopy_turned_off_is_a_listed_change() -> None:
    """A base with postcopy on, searched without postcopy: switching it off is listed."""
    data = load_scenario(WEB).to_dict()
    data["capabilities"]["postcopy-ram"] = True
    sc = load_scenario(data)
    space = SearchSpace(downtime_limits_ms=(300,), bandwidth_shares=(1.0,),
                        auto_converge=(True,), multifd_channels=(0,))
    rec = recommend(sc, Constraints(allow_postcopy=False), space=space, refine=False,
                    runner=_fake)
    assert rec.changes.get("capabilities.postcopy-ram") is False

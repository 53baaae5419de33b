"""Compare and calibrate on a small fixture corpus of five real QEMU 7.2 runs (no QEMU needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.lab.calibrate import HostFit, calibrate, initial_fit, split_corpus, write_host_profile
from sim.lab.compare import (
    compare_corpus,
    compare_record,
    format_table,
    lab_result,
    prediction_scenario,
    summarize,
)
from sim.lab.corpus import append_record, load_corpus, save_corpus, setting_of
from sim.scenario import load_scenario

FIXTURE = Path(__file__).parent / "fixtures" / "mini-corpus.jsonl"
HOST = {"link": "1.2GiB/s", "channel-rate": "1GiB/s", "stop": "2ms"}


@pytest.fixture(scope="module")
def records() -> list[dict[str, object]]:
    """The fixture corpus, loaded once."""
    return load_corpus(FIXTURE)


def _by_name(records: list[dict[str, object]], name: str) -> dict[str, object]:
    return next(r for r in records if r["scenario"]["name"] == name)  # type: ignore[index]


def test_corpus_round_trips(tmp_path: Path, records: list[dict[str, object]]) -> None:
    """Saving and appending keep every record as it was, NaN written as null."""
    out = tmp_path / "c.jsonl"
    save_corpus(out, records[:2])
    append_record(out, {**records[2], "calc-dirty-rate": float("nan")})
    again = load_corpus(out)
    assert again[:2] == records[:2]
    assert again[2]["calc-dirty-rate"] is None


def test_prediction_uses_the_guest_achieved_rate(records: list[dict[str, object]]) -> None:
    """The predicted scenario dirties at the rate the guest reported during the migration."""
    record = _by_name(records, "rate-20M")
    sc = prediction_scenario(record, HOST)
    assert sc.workload.dirty_rate_Bps == pytest.approx(record["guest-rate-during"])
    assert sc.workload.working_set_bytes == 64 << 20
    # 64 MiB working set + the ~500 KiB an idle guest sends as normal pages (118–133 pages)
    assert sc.workload.zero_fraction == pytest.approx(1 - ((64 << 20) + (500 << 10)) / (256 << 20),
                                                      abs=1e-6)
    assert sc.host.channel_rate_Bps == 1 << 30


def test_cancelled_run_takes_time_and_bytes_from_its_timeline(
        records: list[dict[str, object]]) -> None:
    """QEMU 7.2 drops the counters of a cancelled run; the last poll stands in."""
    lab = lab_result(_by_name(records, "wss-64M"))
    assert lab["status"] == "cancelled"
    assert lab["total-time"] > 19_000
    assert lab["ram"]["transferred"] > 500 << 20


def test_verdict_and_errors_per_run(records: list[dict[str, object]]) -> None:
    """A non-converging run is scored on its verdict only; a converging one on every metric."""
    stuck = compare_record(_by_name(records, "wss-64M"), HOST)
    assert stuck.verdict_ok
    assert stuck.total_err_pct is None
    assert stuck.downtime_ok is None
    done = compare_record(_by_name(records, "rate-20M"), HOST)
    assert done.sim_status == "completed"
    assert done.total_err_pct is not None
    assert abs(done.total_err_pct) < 25
    assert done.bytes_err_pct is not None
    assert abs(done.bytes_err_pct) < 10


def test_summary_counts_targets(records: list[dict[str, object]]) -> None:
    """The summary covers every run and says for each target whether it is met."""
    rows = compare_corpus(records, HOST)
    summary = summarize(rows)
    assert summary["runs"] == len(records) == 5
    assert summary["verdict_pct"] == 100.0
    assert set(summary["met"]) == {"total_time_median_pct", "total_time_p90_pct",
                                   "verdict_pct", "downtime_ok_pct", "bytes_ok_pct"}
    assert format_table(rows).count("\n") == len(rows) + 1


def test_split_keeps_repeats_together() -> None:
    """Repeats of one setting land on the same side of the split as the setting."""
    def rec(name: str) -> dict[str, object]:
        return {"scenario": {"name": name}}
    names = [f"s{i}" for i in range(30)]
    records = [rec(n) for n in names] + [rec(f"{n}-r2") for n in names]
    _train, held = split_corpus(records)
    held_names = {r["scenario"]["name"] for r in held}
    assert 0 < len(held) < len(records)
    assert all((n in held_names) == (f"{n}-r2" in held_names) for n in names)


def test_initial_fit_reads_link_and_stop_from_downtime(records: list[dict[str, object]]) -> None:
    """The final copy's bytes over its time give a loopback link of 0.25–8 GiB/s."""
    fit = initial_fit(records)
    assert 2**28 <= fit.link_Bps <= 8 * 2**30
    assert 0.0005 <= fit.stop_s <= 0.05


def test_calibration_does_not_worsen_the_fit(tmp_path: Path,
                                             records: list[dict[str, object]]) -> None:
    """The coordinate search ends at or below the loss of its starting point; the profile loads."""
    from sim.lab.calibrate import loss
    start = loss(records, initial_fit(records).host_section())
    fit = calibrate(records)
    assert fit.loss <= start
    out = tmp_path / "lab-test.yaml"
    write_host_profile(fit, out, runs=len(records))
    import yaml
    section = yaml.safe_load(out.read_text())
    section = {k: v for k, v in section.items()
               if k not in ("description", "source", "calibrated")}
    sc = load_scenario({"vm": {"memory": "1G"}, "host": section})
    assert sc.host.link_Bps == pytest.approx(fit.link_Bps, rel=1e-6)
    assert isinstance(HostFit().host_section()["link"], int)


def test_cli_compare_and_calibrate(tmp_path: Path) -> None:
    """``lab compare`` prints runs and the target table; ``lab calibrate`` writes a profile."""
    from typer.testing import CliRunner

    from sim.cli_lab import lab_app

    runner = CliRunner()
    shown = runner.invoke(lab_app, ["compare", str(FIXTURE), "--host", "lab-tcg"])
    assert shown.exit_code == 0, shown.output
    assert "| rate-20M |" in shown.output
    assert "converge verdict right" in shown.output
    out = tmp_path / "fit.yaml"
    fitted = runner.invoke(lab_app, ["calibrate", str(FIXTURE), "--out", str(out),
                                     "--no-held-out"])
    assert fitted.exit_code == 0, fitted.output
    assert "channel-rate:" in out.read_text()


def test_cli_run_reports_missing_corpus_cleanly(tmp_path: Path) -> None:
    """A corpus path that does not exist is one ``miglab:`` line and exit status 1."""
    from typer.testing import CliRunner

    from sim.cli_lab import lab_app

    shown = CliRunner().invoke(lab_app, ["compare", str(tmp_path / "none.jsonl")])
    assert shown.exit_code == 1
    assert "miglab:" in shown.output


def test_first_touch_rate_is_read_off_the_cpu_bound_runs_and_kept(
        records: list[dict[str, object]]) -> None:
    """``cpu-seq-5M`` (max-bandwidth unlimited): 49 830 normal pages = 204 103 680 bytes, of
    which 41 550 465 went in the final copy, sent in 538 − 104 (downtime) − 5 (setup) =
    429 ms: 162 553 215 / 0.429 = 378.91 MB/s of first copies. The search leaves it there.
    The fixture corpus has no CPU-bound run, so there the rate is not measured.
    """
    cpu = load_corpus(Path(__file__).parents[2] / "data" / "lab" / "cpu-bound-tcg.jsonl")
    run = [_by_name(cpu, "cpu-seq-5M")]
    fit = initial_fit(run)
    assert fit.first_touch_Bps == pytest.approx(162_553_215 / 0.429, rel=1e-9)
    assert fit.measured == ("first_touch_Bps",)
    assert calibrate(run).first_touch_Bps == fit.first_touch_Bps
    assert initial_fit(records).measured == ()


def test_every_repeat_in_the_shipped_corpus_has_its_setting() -> None:
    """``-r2``/``-r3`` name repeats, so no setting may end in ``-r`` and a digit: every
    repeat's setting is itself a run of the corpus (``cpu-seq-r5`` once broke this)."""
    names = {str(r["scenario"]["name"])
             for r in load_corpus(Path(__file__).parents[2] / "data" / "lab")}
    assert setting_of("rate-20M-r2") == "rate-20M"
    assert setting_of("cpu-seq-5M") == "cpu-seq-5M"
    assert sorted(n for n in names if setting_of(n) not in names) == []
    assert sum(setting_of(n) != n for n in names) >= 20  # the repeats are there

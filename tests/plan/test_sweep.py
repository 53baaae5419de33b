"""Sweeps: axes are read as written, points QEMU refuses become rows, and the table is
the same whichever executor ran it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.scenario import Scenario
from sim.sweep import (
    OUTPUT_COLUMNS,
    Axis,
    AxisError,
    SweepError,
    expand,
    fast_variant,
    parse_axis,
    run_chunk,
    run_sweep,
    save_table,
)

AXES = ("downtime-limit=50:2000:log4", "host.link=1Gbit/s,10Gbit/s,25Gbit/s",
        "capabilities.auto-converge=true,false")


def test_list_axis_keeps_units_and_reads_numbers() -> None:
    """A list keeps unit strings as written and reads bare numbers and booleans."""
    assert parse_axis("host.link=1Gbit/s,10Gbit/s").values == ("1Gbit/s", "10Gbit/s")
    assert parse_axis("multifd-channels=2,4").values == (2, 4)
    assert parse_axis("capabilities.auto-converge=true,off").values == (True, False)


def test_bare_parameter_name_means_parameters_section() -> None:
    """``downtime-limit`` is ``parameters.downtime-limit``; dotted paths stay as they are."""
    assert parse_axis("downtime-limit=100").path == "parameters.downtime-limit"
    assert parse_axis("workload.dirty-rate=1MiB/s").path == "workload.dirty-rate"


def test_log_range_is_geometric_and_integer_for_integer_parameters() -> None:
    """100:1000:log3 gives 100, √(100·1000) = 316.2 → 316, 1000 (downtime-limit is an integer)."""
    assert parse_axis("downtime-limit=100:1000:log3").values == (100, 316, 1000)


def test_linear_range_with_units() -> None:
    """1Gbit/s:3Gbit/s:3 steps by 1 Gbit/s and keeps the unit on every value."""
    assert parse_axis("host.link=1Gbit/s:3Gbit/s:3").values == ("1Gbit/s", "2Gbit/s", "3Gbit/s")


def test_linear_range_of_plain_floats() -> None:
    """0:1:5 on a float field gives 0, 0.25, 0.5, 0.75, 1."""
    assert parse_axis("workload.zero-fraction=0:1:5").values == (0.0, 0.25, 0.5, 0.75, 1.0)


def test_random_axis_is_seeded_and_within_bounds() -> None:
    """randN draws N values in [lo, hi]; the same seed draws the same values."""
    a = parse_axis("workload.zero-fraction=0.1:0.6:rand5", seed=7)
    b = parse_axis("workload.zero-fraction=0.1:0.6:rand5", seed=7)
    c = parse_axis("workload.zero-fraction=0.1:0.6:rand5", seed=8)
    assert a.values == b.values != c.values
    assert len(a.values) == 5
    assert all(0.1 <= v <= 0.6 for v in a.values)


@pytest.mark.parametrize(("spec", "fragment"), [
    ("downtime-limit", "'downtime-limit"),          # no '='
    ("downtime-limit=1:2:3:4", "'downtime-limit'"),  # not a range
    ("downtime-limit=0:100:log3", "log range needs ends > 0"),
    ("host.link=1Gbit/s:10MiB/s:3", "same unit"),
    ("bad name=1", "not a scenario path"),
])
def test_invalid_axis_names_the_axis_and_what_is_accepted(spec: str, fragment: str) -> None:
    """A bad axis raises AxisError naming the axis and the problem."""
    with pytest.raises(AxisError, match="axis") as info:
        parse_axis(spec)
    assert fragment in str(info.value)


def test_expand_is_a_cartesian_product_last_axis_fastest() -> None:
    """2 × 2 values give 4 points, ordered like nested loops."""
    pts = expand([Axis("downtime-limit", (1, 2)), Axis("host.link", ("a", "b"))])
    assert [tuple(p.values()) for p in pts] == [(1, "a"), (1, "b"), (2, "a"), (2, "b")]


def test_expand_refuses_the_same_field_twice() -> None:
    """Two axes on one field would overwrite each other, so they are refused."""
    with pytest.raises(AxisError, match="more than once"):
        expand([Axis("downtime-limit", (1,)), Axis("parameters.downtime-limit", (2,))])


def test_point_qemu_refuses_is_a_row_not_a_crash(web: Scenario) -> None:
    """multifd-channels=0 is outside QEMU's 1..255, so its row has valid=False and QEMU's text."""
    table = run_sweep(web, [parse_axis("multifd-channels=0,4")], workers=1)
    assert table["valid"].tolist() == [False, True]
    assert "multifd_channels" in table["error"][0]
    assert "between 1 and 255" in table["error"][0]
    assert table["status"].tolist()[0] == "invalid"
    assert table["status"].tolist()[1] == "completed"


def test_table_is_tidy_with_inputs_then_outputs(web: Scenario) -> None:
    """Columns: point, each axis (plus a numeric column for unit fields), then the outputs."""
    table = run_sweep(web, [parse_axis(a) for a in AXES], workers=1, seed=5)
    assert list(table.columns) == ["point", "parameters.downtime-limit", "host.link",
                                   "host.link_Bps", "capabilities.auto-converge",
                                   *OUTPUT_COLUMNS]
    assert len(table) == 4 * 3 * 2
    assert table["host.link_Bps"].iloc[:2].tolist() == [1.25e8, 1.25e8]  # 1 Gbit/s = 125 MB/s
    assert (table["seed"] == 5).all()


def test_more_link_never_slows_a_converging_point(web: Scenario) -> None:
    """For each downtime limit, total time falls as the link grows 1 → 10 → 25 Gbit/s."""
    table = run_sweep(web, [parse_axis("downtime-limit=100,1000"),
                            parse_axis("host.link=1Gbit/s,10Gbit/s,25Gbit/s"),
                            parse_axis("max-bandwidth=0")], workers=1)
    for _, group in table.groupby("parameters.downtime-limit"):
        times = group.sort_values("host.link_Bps")["total_time_s"].tolist()
        assert times == sorted(times, reverse=True)


def test_serial_pool_and_dask_give_identical_tables(web: Scenario) -> None:
    """The same sweep run serially, on a 2-process pool and on a real Dask LocalCluster
    (reached by its tcp:// scheduler address) gives identical tables."""
    from distributed import LocalCluster

    axes = [parse_axis(a) for a in AXES]
    serial = run_sweep(web, axes, workers=1, seed=2)
    pool = run_sweep(web, axes, workers=2, chunk_size=5, seed=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      protocol="tcp://", dashboard_address=None) as cluster:
        dask = run_sweep(web, axes, scheduler=cluster.scheduler_address, chunk_size=7,
                         seed=2)
    pd.testing.assert_frame_equal(serial, pool)
    pd.testing.assert_frame_equal(serial, dask)


def test_progress_reaches_the_total(web: Scenario) -> None:
    """The progress callback is called as chunks finish and ends at (total, total)."""
    seen: list[tuple[int, int]] = []
    run_sweep(web, [parse_axis("downtime-limit=100:1000:5")], workers=1, chunk_size=2,
              progress=lambda d, t: seen.append((d, t)))
    assert seen == [(2, 5), (4, 5), (5, 5)]


def test_save_parquet_and_csv_round_trip(web: Scenario, tmp_path: Path) -> None:
    """A table saved as Parquet reads back equal; CSV keeps the same rows and columns."""
    table = run_sweep(web, [parse_axis("host.link=1Gbit/s,10Gbit/s")], workers=1)
    pq = save_table(table, tmp_path / "s.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(pq), table)
    back = pd.read_csv(save_table(table, tmp_path / "s.csv"))
    assert back.shape == table.shape
    assert back["downtime_ms"].tolist() == pytest.approx(table["downtime_ms"].tolist())


def test_save_refuses_unknown_suffix(web: Scenario, tmp_path: Path) -> None:
    """Only .parquet/.pq and .csv are written; anything else says so."""
    with pytest.raises(SweepError, match=r"\.parquet or \.csv"):
        save_table(pd.DataFrame({"a": [1]}), tmp_path / "s.xlsx")


def test_invalid_base_is_a_clear_error() -> None:
    """A base scenario with problems is refused before anything runs."""
    with pytest.raises(SweepError, match="base scenario is invalid"):
        run_sweep({"vm": {"memory": "lots"}}, [parse_axis("downtime-limit=1")], workers=1)


def test_integer_field_rounds_and_drops_duplicates() -> None:
    """vCPUs 1:8:3 → 1, 4.5 → 4 (banker's rounding of 4.5), 8; 1:2:4 → 1, 1.33→1, 1.67→2, 2."""
    assert parse_axis("vm.vcpus=1:8:3").values == (1, 4, 8)
    assert parse_axis("vm.vcpus=1:2:4").values == (1, 2)


def test_fast_variants_give_the_same_table_as_the_loader(web: Scenario) -> None:
    """Points built by dataclasses.replace (link, channel rate, dirty rate, downtime limit)
    give exactly the rows that re-loading each point through the validator gives, including
    a point the fast path must hand back (downtime-limit 3000000 is out of QEMU's range)."""
    axes = [parse_axis("downtime-limit=100,3000000"), parse_axis("host.link=1Gbit/s,25Gbit/s"),
            parse_axis("workload.dirty-rate=50MiB/s,900MiB/s"),
            parse_axis("host.channel-rate=0.5GiB/s,3GiB/s")]
    points = expand(axes)
    base = web.to_dict()
    assert run_chunk(base, points, 1, fast=True) == run_chunk(base, points, 1, fast=False)
    variant = fast_variant(web, points[0])
    assert variant is not None
    assert variant.to_dict() == web.with_changes(points[0]).to_dict()
    assert fast_variant(web, points[-1]) is None


def test_every_unit_field_gets_a_numeric_column(web: Scenario) -> None:
    """A field whose name carries a unit gets its number column, the new first-touch-rate too.

    300 MiB/s = 314 572 800 B/s, 200 ms = 0.2 s, 1 GiB = 1 073 741 824 bytes: the columns
    are written by hand here, not read back from the code's own list.
    """
    axes = [parse_axis("host.first-touch-rate=300MiB/s"), parse_axis("host.sync-per-gib=200ms"),
            parse_axis("vm.memory=1GiB")]
    table = run_sweep(web, axes, workers=1)
    assert table["host.first-touch-rate_Bps"].tolist() == [314_572_800.0]
    assert table["host.sync-per-gib_s"].tolist() == [0.2]
    assert table["vm.memory_bytes"].tolist() == [1_073_741_824.0]

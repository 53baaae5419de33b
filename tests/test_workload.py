"""The dirtying models tell how much distinct memory a guest dirties since a clean point."""

from __future__ import annotations

import math

import pytest

from sim.scenario import Workload, load_scenario
from sim.units import GiB, MiB
from sim.workload import (
    CurveDirtying,
    IdleDirtying,
    RandomDirtying,
    SequentialDirtying,
    dirty_model,
    preset_names,
)


def test_sequential_walk_grows_linearly_then_saturates() -> None:
    """A sequential writer at 100 MiB/s over 1 GiB: after 2 s it has touched 200 MiB, after
    20 s all of its 1 GiB (min(r·τ, W) = min(2000 MiB, 1024 MiB))."""
    m = dirty_model(Workload(dirty_rate_Bps=100 * MiB, working_set_bytes=GiB,
                             pattern="sequential"), 4 * GiB)
    assert isinstance(m, SequentialDirtying)
    assert m.distinct_bytes(2.0) == 200 * MiB
    assert m.distinct_bytes(20.0) == GiB


def test_a_sweep_the_sender_keeps_up_with_only_meets_pending_pages_after_a_lap() -> None:
    """1 GiB swept in address order; 256 MiB of it still pending (what it wrote last).

    While the sender keeps up, the sweep writes the 768 MiB of clean pages ahead of it
    before it reaches a pending one: 200 MiB dirtied → 200 MiB fresh; 1000 MiB → 768 MiB.
    Outrun by the sweep, the meeting point is random: 200 MiB × (1 − 256/1024) = 150 MiB.
    Random writes always overlap by the pending share: 150 MiB.
    """
    seq = SequentialDirtying(nominal_rate_Bps=100 * MiB, hot_bytes=GiB)
    assert seq.fresh_bytes(200 * MiB, 256 * MiB) == 200 * MiB
    assert seq.fresh_bytes(1000 * MiB, 256 * MiB) == 768 * MiB
    assert seq.fresh_bytes(200 * MiB, 256 * MiB, outruns_sender=True) == 150 * MiB
    rnd = RandomDirtying(nominal_rate_Bps=100 * MiB, hot_bytes=GiB)
    assert rnd.fresh_bytes(200 * MiB, 256 * MiB) == 150 * MiB
    assert rnd.fresh_bytes(200 * MiB, 2 * GiB) == 0.0
    assert IdleDirtying().fresh_bytes(0.0, 0.0) == 0.0


def test_random_walk_follows_the_coupon_collector_curve() -> None:
    """A random writer at r = 1 GiB/s over W = 1 GiB: after τ = 1 s the distinct share is
    1 − e^(−r·τ/W) = 1 − e^(−1) = 0.632, after 5 s 1 − e^(−5) = 0.9933."""
    m = dirty_model(Workload(dirty_rate_Bps=GiB, working_set_bytes=GiB), 4 * GiB)
    assert isinstance(m, RandomDirtying)
    assert m.distinct_bytes(1.0) == pytest.approx((1 - math.exp(-1)) * GiB)
    assert m.distinct_bytes(5.0) == pytest.approx(0.99326 * GiB, rel=1e-4)
    # early on it is the raw rate: 10 ms at 1 GiB/s ≈ 10.24 MiB minus a 0.5 % collision share
    assert m.distinct_bytes(0.01) == pytest.approx(0.01 * GiB, rel=0.006)


def test_measured_curve_interpolates_and_saturates() -> None:
    """The memcached preset on 32 GiB: 1.44 % at 1 s, halfway between 1 s (1.44 %) and 2 s
    (2.05 %) it is 1.745 %, and after its last point (60 s, 18.05 %) it stays flat."""
    sc = load_scenario({"vm": {"memory": "32G"}, "workload": {"preset": "memcached"}})
    m = dirty_model(sc.workload, sc.vm.memory_bytes)
    assert isinstance(m, CurveDirtying)
    ram = 32 * GiB
    assert m.distinct_bytes(1.0) == pytest.approx(0.0144 * ram)
    assert m.distinct_bytes(1.5) == pytest.approx(0.01745 * ram)
    assert m.distinct_bytes(600.0) == pytest.approx(0.1805 * ram) == m.hot_bytes
    assert m.nominal_rate_Bps == pytest.approx(0.0144 * ram)  # calc-dirty-rate's 1 s window
    assert sc.workload.zero_fraction == 0.61


def test_idle_guest_dirties_nothing() -> None:
    """No rate, no curve: an idle guest."""
    assert isinstance(dirty_model(Workload(), GiB), IdleDirtying)
    assert dirty_model(Workload(), GiB).distinct_bytes(100.0) == 0.0


def test_every_preset_loads_and_documents_its_source() -> None:
    """Each preset in data/workloads is a valid workload with a description and a source."""
    import yaml

    from sim.scenario import data_path

    names = preset_names()
    assert {"idle", "web-server", "database", "memcached", "stress"} <= set(names)
    for name in names:
        raw = yaml.safe_load(data_path("workloads", f"{name}.yaml").read_text())
        assert raw["description"], name
        assert raw["source"], name
        load_scenario({"vm": {"memory": "32G"}, "workload": {"preset": name}})

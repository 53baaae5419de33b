"""Recommendations: a known answer, an impossible budget, the Pareto filter and optuna."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sim.recommend import (
    Constraints,
    RecommendError,
    SearchSpace,
    pareto_mask,
    recommend,
)
from sim.scenario import Scenario

#: downtime-limit × bandwidth share, nothing else: 8 settings.
SMALL = SearchSpace(downtime_limits_ms=(100, 300, 1000, 2000), bandwidth_shares=(0.5, 1.0),
                    auto_converge=(False,), multifd_channels=(0,),
                    postcopy_after_passes=(None,))


def test_pareto_mask_keeps_only_undominated_rows() -> None:
    """(1,2) and (2,1) trade off; (2,2) is beaten by both; (1,2) twice is kept twice."""
    v = np.array([[1, 2], [2, 1], [2, 2], [1, 2]])
    assert pareto_mask(v).tolist() == [True, True, False, True]


def test_only_converging_setting_is_recommended(hot: dict[str, Any]) -> None:
    """The guest dirties 1500 MiB/s over all 4 GiB, more than the 10 Gbit/s link carries
    (1192 MiB/s): a ~2.5 s pass leaves ≈ 4 GiB·(1 − e^(−1500·2.5/4096)) ≈ 2.4 GiB dirty.
    Only the full link with a 2 s limit has a threshold about that large (1.16 GiB/s × 2 s
    ≈ 2.3 GiB); halving the link or the limit halves it (≤ 1.2 GiB), which no pass gets
    under. So that is the one setting of the 8 that converges."""
    rec = recommend(hot, space=SMALL, refine=False, seed=3)
    assert rec.feasible
    assert int(rec.table["converged"].sum()) == 1
    assert rec.changes["parameters.downtime-limit"] == 2000
    assert rec.changes["parameters.max-bandwidth"] == 1_250_000_000
    assert rec.best is not None
    assert rec.best["converged"]
    assert "only setting searched that meets every constraint" in " ".join(rec.reasons)
    assert len(rec.pareto) == 1
    assert (rec.table["seed"] == 3).all()


def test_impossible_budget_says_so_and_names_the_closest(hot: dict[str, Any]) -> None:
    """With a 500 ms downtime budget nothing fits: the one converging setting pauses the
    guest ~1.9 s. The answer says it is impossible and names that setting as closest."""
    rec = recommend(hot, Constraints(max_downtime_ms=500), space=SMALL,
                    refine=False, seed=3)
    assert not rec.feasible
    assert rec.best is None
    assert rec.closest is not None
    assert rec.changes["parameters.downtime-limit"] == 2000
    text = "\n".join(rec.reasons)
    assert "No setting meets all constraints" in text
    assert "Closest: downtime-limit 2000 ms" in text
    assert "Max downtime 500 ms cannot be met by any setting searched" in text
    assert rec.closest["downtime_ms"] > 1500


def test_binding_constraint_and_next_best_are_named(web: Scenario) -> None:
    """Minimising total time under a 500 ms downtime budget: the faster settings all break
    the downtime budget, so that constraint binds, and a next-best with its costs is given."""
    space = SearchSpace(downtime_limits_ms=(100, 300, 2000), bandwidth_shares=(0.5, 1.0),
                        auto_converge=(True,), multifd_channels=(0,),
                        postcopy_after_passes=(None,))
    rec = recommend(web, Constraints(max_downtime_ms=500), space=space, seed=1)
    assert rec.feasible
    assert rec.best is not None
    assert rec.best["downtime_ms"] <= 500
    faster = rec.table[(rec.table["total_time_s"] < rec.best["total_time_s"])
                       & rec.table["converged"]]
    assert len(faster) > 0
    assert (faster["downtime_ms"] > 500).all()
    text = "\n".join(rec.reasons)
    assert "The binding constraint is max downtime" in text
    assert "Next best:" in text
    assert "Margins: max downtime" in text
    # refinement tried midpoints between the grid's downtime limits
    assert len(rec.table) > 6


def test_pareto_set_is_feasible_and_undominated(web: Scenario) -> None:
    """Every Pareto row meets the budget and no feasible row beats it on all three metrics."""
    rec = recommend(web, Constraints(max_total_s=60), seed=1,
                    space=SearchSpace(multifd_channels=(0, 4)))
    feas = rec.table[rec.table["feasible"]]
    metrics = ["downtime_ms", "total_time_s", "guest_cost_s"]
    for _, row in rec.pareto.iterrows():
        assert row["feasible"]
        better = (feas[metrics] <= row[metrics]).all(axis=1) & (
            feas[metrics] < row[metrics]).any(axis=1)
        assert not better.any()


def test_bandwidth_share_constraint_limits_the_grid(web: Scenario) -> None:
    """With at most half the link, no setting tried uses more than 50 %."""
    rec = recommend(web, Constraints(max_bandwidth_share=0.5), space=SMALL, seed=1)
    assert rec.table["bandwidth_share"].max() <= 0.5
    assert rec.changes["parameters.max-bandwidth"] <= 0.5 * 1.25e9


def test_workload_distribution_share_must_converge(hot: dict[str, Any]) -> None:
    """Requiring convergence on a hotter workload too (3000 MiB/s) rules the only
    converging setting out, since nothing in the small grid handles 3000 MiB/s."""
    hotter = {"dirty-rate": "3000MiB/s", "working-set": "4GiB"}
    rec = recommend(hot, Constraints(workloads=(hotter,), min_converge_share=1.0),
                    space=SMALL, refine=False, seed=3)
    assert not rec.feasible
    assert "of the workloads" in rec.reasons[1]
    lax = recommend(hot, Constraints(workloads=(hotter,), min_converge_share=0.0),
                    space=SMALL, refine=False, seed=3)
    assert lax.feasible


def test_postcopy_only_when_allowed(web: Scenario) -> None:
    """Postcopy settings are tried only when allowed."""
    space = SearchSpace(downtime_limits_ms=(300,), bandwidth_shares=(1.0,),
                        auto_converge=(False,), multifd_channels=(0,),
                        postcopy_after_passes=(None, 1))
    off = recommend(web, space=space, refine=False)
    on = recommend(web, Constraints(allow_postcopy=True), space=space, refine=False)
    assert off.table["postcopy_after_passes"].isna().all()
    assert on.table["postcopy_after_passes"].notna().sum() == 1


def test_recommended_scenario_applies_the_changes(web: Scenario) -> None:
    """Recommendation.scenario() is the base with the recommended changes, validated."""
    rec = recommend(web, space=SMALL, refine=False)
    sc = rec.scenario()
    assert sc.parameters.downtime_limit == rec.changes["parameters.downtime-limit"]


def test_optuna_method_finds_a_feasible_setting(hot: dict[str, Any]) -> None:
    """NSGA-II over the small grid finds the one converging setting too (seeded)."""
    rec = recommend(hot, space=SMALL, method="optuna", n_trials=30, seed=3)
    assert rec.feasible
    assert rec.changes["parameters.downtime-limit"] == 2000
    assert rec.method == "optuna"


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"objective": "cheapest"}, "objective"),
    ({"method": "annealing"}, "method"),
])
def test_bad_requests_are_refused(web: Scenario, kwargs: dict[str, str], fragment: str) -> None:
    """Unknown objectives and methods are refused by name."""
    with pytest.raises(RecommendError, match=fragment):
        recommend(web, **kwargs)  # type: ignore[arg-type]


def test_bad_constraint_is_refused() -> None:
    """A bandwidth share outside (0, 1] is refused."""
    with pytest.raises(RecommendError, match="max_bandwidth_share"):
        Constraints(max_bandwidth_share=1.5)

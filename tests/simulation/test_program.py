"""The whole program: stages per strategy, dependencies, costs, determinism and bad input."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from llmplanner.simulation import ValidationError
from llmplanner.simulation.planspec import parse_plan
from llmplanner.simulation.program import CATEGORIES, DAYS_PER_MONTH, simulate_program

from .conftest import EXAMPLES


def load(name: str) -> dict:
    return json.loads((EXAMPLES / f"plan-{name}.json").read_text())


def simulate(data: dict, trials: int = 400, seed: int = 1):
    return simulate_program(parse_plan(data), trials=trials, seed=seed)


STAGES = {
    "from-scratch-7b": [
        "data",
        "burn_in",
        "ladder_1",
        "main",
        "sft_data",
        "sft",
        "pref_data",
        "rlhf",
        "eval",
        "release",
        "cluster",
    ],
    "cpt-7b-domain": ["data", "burn_in", "main", "sft_data", "sft", "eval", "release", "cluster"],
    "sft-7b": ["sft_data", "sft", "eval", "release"],
    "rag": ["ingest", "index", "retrieval_eval", "eval", "serving"],
    "icl": ["prompts", "eval", "serving"],
}


@pytest.mark.parametrize("name, keys", STAGES.items())
def test_each_strategy_has_its_stages_in_order(name, keys):
    result = simulate(load(name))
    got = [s.key for s in result.stages if s.key not in ("team", "storage")]
    assert got == keys


@pytest.mark.parametrize("name", STAGES)
def test_every_stage_starts_after_its_dependencies_in_every_trial(name):
    result = simulate(load(name))
    by_key = {s.key: s for s in result.stages}
    assert any(s.depends_on for s in result.stages), name
    for s in result.stages:
        for dep in s.depends_on:
            assert np.all(s.start_days >= by_key[dep].finish_days - 1e-9)
        assert np.all(s.finish_days >= s.start_days)


@pytest.mark.parametrize("name", ["rag", "icl"])
def test_rag_and_icl_are_never_free(name):
    result = simulate(load(name))
    assert np.all(result.cost_by_category["inference"] > 0)
    assert np.all(result.cost_by_category["gpu_compute"] == 0)


def test_rented_gpus_are_paid_from_delivery_to_the_end_of_the_main_run_month_by_month():
    data = load("from-scratch-7b")
    result = simulate(data)
    st = {s.key: s for s in result.stages}
    cluster = st["cluster"]
    assert np.array_equal(cluster.start_days, st["burn_in"].start_days)
    assert np.array_equal(cluster.finish_days, st["main"].finish_days)
    # 256 H800 at the catalog's 14 CNY per GPU-hour, idle time during the ladder included.
    hours = (cluster.finish_days - cluster.start_days) * 24
    assert np.allclose(cluster.costs["gpu_compute"], hours * 256 * 14.0)
    assert np.all(hours > (st["main"].finish_days - st["main"].start_days) * 24)
    assert not st["main"].costs["gpu_compute"].any()  # counted once, on the reservation
    # The months the cluster is held are the months it is paid for.
    gpu = result.monthly[:, :, CATEGORIES.index("gpu_compute")]
    delivered_in_month_1 = cluster.start_days < result.month_edges[1]
    assert delivered_in_month_1.any() and np.all(gpu[delivered_in_month_1, 0] > 0)


def test_repeated_full_runs_multiply_the_main_run():
    one = load("from-scratch-7b")
    two = copy.deepcopy(one)
    two["full_runs"] = 2
    d1 = simulate(one).stages
    d2 = simulate(two).stages
    main1 = next(s for s in d1 if s.key == "main")
    main2 = next(s for s in d2 if s.key == "main")
    ratio = np.median(main2.finish_days - main2.start_days) / np.median(
        main1.finish_days - main1.start_days
    )
    assert 1.8 < ratio < 2.2


def test_monthly_spend_adds_up_to_the_totals_and_contingency_is_its_share():
    data = load("gpt3-175b")
    result = simulate(data, trials=300)
    for c, cat in enumerate(CATEGORIES):
        assert np.allclose(result.monthly[:, :, c].sum(axis=1), result.cost_by_category[cat])
    rest = sum(result.cost_by_category[c] for c in CATEGORIES if c != "contingency")
    assert np.allclose(result.cost_by_category["contingency"], data.get("contingency", 0.1) * rest)
    assert result.month_edges[-1] >= result.finish_days.max()
    assert len(result.month_edges) == result.monthly.shape[1] + 1


def test_people_cost_is_salaries_over_the_program():
    data = load("sft-7b")
    del data["start_date"]  # equal 30.44-day months (calendar months: tests/test_calendar.py)
    result = simulate(data)
    monthly = (
        0.5 * 37_336 + 39_607
    )  # data engineer at half time + an algorithm researcher (seed 004)
    assert np.allclose(
        result.cost_by_category["people"], monthly * result.finish_days / DAYS_PER_MONTH
    )


def test_same_seed_same_program_and_another_seed_another():
    data = load("cpt-7b-domain")
    a, b, c = simulate(data, seed=5), simulate(data, seed=5), simulate(data, seed=6)
    assert np.array_equal(a.finish_days, b.finish_days) and np.array_equal(
        a.total_cost, b.total_cost
    )
    assert not np.array_equal(a.finish_days, c.finish_days)


def test_no_team_gets_the_default_roles_and_says_so():
    data = load("cpt-7b-domain")
    del data["team"]
    result = simulate(data)
    assert result.team_is_default
    assert {t.role for t in result.team} >= {
        "data_engineer",
        "distributed_training_engineer",
        "run_watcher",
    }


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda d: d.update(strategy="pray"), "strategy"),
        (lambda d: d["cluster"].update(gpu_count=0), "cluster.gpu_count"),
        (lambda d: d["cluster"].update(gpu_count=12), "cluster.gpu_count"),
        (lambda d: d["cluster"].update(gpu_type="Z9"), "cluster.gpu_type"),
        (lambda d: d["cluster"].update(discount=2), "cluster.discount"),
        (lambda d: d["data"][0].update(licence="maybe"), "data.0.licence"),
        (lambda d: d["data"][1].update(tokens=-5), "data.1.tokens"),
        (lambda d: d["team"][0].update(role="wizard"), "team.0.role"),
        (lambda d: d["team"][0].update(headcount=float("nan")), "team.0.headcount"),
        (lambda d: d.update(ladder=[1e9, 0]), "ladder.1"),
        (lambda d: d.update(deadline="2026-01-01"), "deadline"),
        (lambda d: d.update(start_date="yesterday"), "start_date"),
        (lambda d: d["training"].pop("tokens"), "training.tokens"),
        (lambda d: d["training"].update(precision="fp8"), "training.precision"),  # A800 has no FP8
        (lambda d: d.update(budget_cap=-1), "budget_cap"),
        (lambda d: d.update(surprise=1), "surprise"),
        (lambda d: d["sft"].update(epochs=0), "sft.epochs"),
    ],
)
def test_bad_plans_name_the_field(change, field):
    data = load("cpt-7b-domain")
    change(data)
    with pytest.raises(ValidationError) as err:
        parse_plan(data)
    assert err.value.field == field


def test_a_plan_must_be_an_object():
    with pytest.raises(ValidationError) as err:
        parse_plan([1, 2])
    assert err.value.field == "plan"

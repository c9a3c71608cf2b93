"""One time axis: dated GPU pools, dated team lines, data ready dates, calendar months, true
cumulative percentiles and storage by policy (issue 14)."""

from __future__ import annotations

import copy
import datetime as dt
import json

import numpy as np
import pytest

from llmplanner.simulation import ValidationError
from llmplanner.simulation.config import checkpoint_bytes_for
from llmplanner.simulation.hardware import gpu_by_name
from llmplanner.simulation.planspec import parse_plan
from llmplanner.simulation.program import CATEGORIES, DAYS_PER_MONTH, simulate_program
from llmplanner.simulation.report import report

from .conftest import EXAMPLES

HOURS_PER_MONTH = DAYS_PER_MONTH * 24  # 730.5
START = dt.date(2027, 1, 4)


def day(date: str) -> float:
    return float((dt.date.fromisoformat(date) - START).days)


def cpt_plan(**changes) -> dict:
    """A small continued-pretraining program on a dated H100 pool (fast to simulate)."""
    plan = {
        "name": "dated CPT",
        "strategy": "cpt",
        "start_date": START.isoformat(),
        "currency": "USD",
        "model": {"params_b": 1.3},
        "training": {"tokens": 2e10, "precision": "bf16"},
        "clusters": [
            {
                "purpose": "main",
                "gpu_type": "H100",
                "gpu_count": 64,
                "start_date": "2027-03-01",
                "months": 2,
                "price_per_gpu_hour": 2.5,
                "provider_class": "reliable",
            }
        ],
        "team": [{"role": "algorithm_researcher", "headcount": 1, "monthly_cost": 10_000}],
        "data": [{"name": "domain", "tokens": 2e10, "stage": "cpt", "licence": "cleared"}],
    }
    plan.update(changes)
    return plan


def run(plan: dict, trials: int = 300, seed: int = 3):
    return simulate_program(parse_plan(plan), trials=trials, seed=seed)


def month(result, label: str) -> int:
    return result.month_labels.index(label)


def test_a_march_pool_bills_nothing_before_march_and_carries_the_main_run_inside_its_window():
    result = run(cpt_plan())
    st = {s.key: s for s in result.stages}
    assert result.month_labels[:3] == ("2027-01", "2027-02", "2027-03")
    gpu = result.monthly[:, :, CATEGORIES.index("gpu_compute")]
    assert not gpu[:, month(result, "2027-01")].any()
    assert not gpu[:, month(result, "2027-02")].any()
    march = day("2027-03-01")
    assert np.all(st["burn_in"].start_days >= march)
    assert np.all(st["main"].start_days >= march)
    # 64 GPUs × 2.5 USD × 2 months × 730.5 h, used or idle, in every trial: 233,760 USD.
    assert np.allclose(st["cluster"].costs["gpu_compute"], 233_760.0)
    # Delivered on time (most trials), March is paid in full: 31 days × 24 h × 64 × 2.5.
    on_time = result.pools[0].window_start == march
    assert on_time.mean() > 0.8
    assert np.allclose(gpu[on_time, month(result, "2027-03")], 31 * 24 * 64 * 2.5)


def test_a_late_delivery_shifts_the_window_and_everything_on_it():
    result = run(cpt_plan(), trials=1000)
    pool = result.pools[0]
    late = pool.window_start > day("2027-03-01")
    assert 0.03 < late.mean() < 0.2  # reliable provider: 10% late
    st = {s.key: s for s in result.stages}
    assert np.all(st["main"].start_days[late] >= pool.window_start[late])
    assert np.allclose(pool.window_end - pool.window_start, 2 * DAYS_PER_MONTH)


def test_an_idle_pool_is_paid_for_its_whole_window():
    plan = cpt_plan()
    plan["clusters"].append(
        {
            "purpose": "other",
            "gpu_type": "H100",
            "gpu_count": 8,
            "start_date": "2027-02-01",
            "months": 3,
            "price_per_gpu_hour": 3.0,
        }
    )
    result = run(plan)
    idle = next(s for s in result.stages if s.key == "pool_2")
    assert np.allclose(idle.costs["gpu_compute"], 8 * 3.0 * 3 * HOURS_PER_MONTH)  # 52,596
    assert result.pools[1].stages == ()
    report_pool = report(result)["pools"][1]
    assert report_pool["purpose"] == "other" and report_pool["busy_gpu_hours_p50"] == 0


def test_a_main_run_longer_than_its_window_extends_the_rental_and_says_so():
    plan = cpt_plan(training={"tokens": 5e12, "precision": "bf16"})
    plan["clusters"][0]["months"] = 0.3
    result = run(plan)
    st = {s.key: s for s in result.stages}
    pool = result.pools[0]
    beyond = st["main"].finish_days - np.maximum(st["main"].start_days, pool.window_end)
    assert np.all(beyond > 0)
    expected = beyond * 24 * 64 * 2.5
    assert np.allclose(st["main"].costs["gpu_compute"], expected)
    burn_in = np.clip(st["burn_in"].finish_days - pool.window_end, 0, None) * 24 * 64 * 2.5
    assert np.allclose(st["burn_in"].costs["gpu_compute"], burn_in)
    assert set(pool.stages) == {"burn_in", "main", "sft"}  # SFT too: no finetune pool
    on_pool = sum(st[k].costs["gpu_compute"] for k in pool.stages)
    assert np.allclose(pool.extension_cost, on_pool)
    out = report(result)
    assert out["pools"][0]["overrun_policy"] == "extend"
    assert out["pools"][0]["p_extended"] == 1.0
    assert any(r["code"] == "pool_overrun_1" for r in out["risks"])
    # Window + extension = everything the GPUs cost.
    assert np.allclose(
        result.cost_by_category["gpu_compute"],
        st["cluster"].costs["gpu_compute"] + pool.extension_cost,
    )


def test_a_bought_pool_costs_its_depreciation_per_month_plus_power():
    plan = cpt_plan()
    plan["clusters"][0] = {
        "purpose": "main",
        "gpu_type": "H100",
        "gpu_count": 64,
        "start_date": "2027-03-01",
        "months": 6,
        "mode": "buy",
        "depreciation_years": 4,
        "power_price_per_kwh": 0.1,
        "pue": 1.2,
    }
    result = run(plan, trials=50)
    h100 = gpu_by_name("H100")
    depreciation_per_month = h100.capex_usd_per_gpu * 64 / (4 * 12)
    power = 64 * h100.tdp_w / 1000 * 1.2 * 0.1 * 6 * HOURS_PER_MONTH
    window = next(s for s in result.stages if s.key == "cluster").costs["gpu_compute"]
    assert np.allclose(window, 6 * depreciation_per_month + power, rtol=1e-4)


def test_people_are_paid_inside_their_dates_pro_rata_per_calendar_month():
    plan = cpt_plan(
        team=[
            {
                "role": "algorithm_researcher",
                "headcount": 2,
                "monthly_cost": 10_000,
                "allocation": 0.5,
                "start_date": "2027-02-01",
                "end_date": "2027-04-30",
            },
            {
                "role": "data_engineer",
                "headcount": 1,
                "monthly_cost": 12_000,
                "start_date": "2027-01-18",
            },
        ]
    )
    result = run(plan)
    people = result.monthly[:, :, CATEGORIES.index("people")]
    # January: the data engineer from the 18th, 14 of 31 days.
    assert np.allclose(people[:, month(result, "2027-01")], 12_000 * 14 / 31)
    # February and March: dated headcount × salary × allocation, each month in full.
    finish = result.finish_days
    running = finish >= day("2027-04-01")
    assert running.mean() > 0.5
    for label in ("2027-02", "2027-03"):
        assert np.allclose(people[running, month(result, label)], 2 * 10_000 * 0.5 + 12_000)
    # April: the dated line in full; the line without an end until the program ends, pro rata.
    april_days = np.clip(finish - day("2027-04-01"), 0, 30)
    assert np.allclose(people[:, month(result, "2027-04")], 10_000 + 12_000 * april_days / 30)
    # After April only the line without an end date, and only while the program runs.
    may = month(result, "2027-05")
    assert np.all(people[:, may] <= 12_000 + 1e-6)
    assert np.allclose(result.cost_by_category["people"], people.sum(axis=1))


def test_the_team_is_paid_as_entered_even_after_the_program_and_flagged():
    plan = cpt_plan(
        team=[
            {
                "role": "algorithm_researcher",
                "headcount": 3,
                "monthly_cost": 10_000,
                "end_date": "2028-06-30",
            }
        ]
    )
    result = run(plan)
    people = result.monthly[:, :, CATEGORIES.index("people")]
    assert result.month_labels[-1] >= "2028-06"
    assert np.allclose(people[:, month(result, "2028-06")], 30_000)
    codes = {r["code"] for r in report(result)["risks"]}
    assert "paid_after_finish" in codes


def test_a_stage_that_needs_a_role_nobody_holds_yet_is_flagged():
    plan = cpt_plan(
        team=[
            {"role": "algorithm_researcher", "headcount": 1, "monthly_cost": 10_000},
            {
                "role": "distributed_training_engineer",
                "headcount": 1,
                "monthly_cost": 12_000,
                "start_date": "2027-06-01",
            },
            {"role": "data_engineer", "headcount": 1, "monthly_cost": 9_000},
        ]
    )
    risks = {r["code"]: r for r in report(run(plan))["risks"]}
    assert "role_gap_main" in risks and "role_gap_burn_in" in risks
    assert "joins" in risks["role_gap_main"]["title"]
    assert "role_gap_data" not in risks  # the data engineer is there from the start


def test_data_stages_wait_for_their_data():
    plan = cpt_plan(
        data=[
            {"name": "late", "tokens": 2e10, "stage": "cpt", "ready_date": "2027-04-15"},
            {"name": "sft", "tokens": 1e7, "stage": "sft", "ready_date": "2027-05-10"},
        ]
    )
    result = run(plan)
    st = {s.key: s for s in result.stages}
    assert np.all(st["data"].start_days >= day("2027-04-15"))
    assert np.all(st["main"].start_days >= st["data"].finish_days)
    assert np.all(st["sft_data"].start_days >= day("2027-05-10"))


def test_months_are_consecutive_unique_calendar_months():
    data = json.loads((EXAMPLES / "plan-cpt-7b-domain.json").read_text())
    labels = report(simulate_program(parse_plan(data), trials=200, seed=0))["monthly"]["labels"]
    assert labels[0] == "2027-03"
    assert len(set(labels)) == len(labels)
    for a, b in zip(labels, labels[1:], strict=False):
        year, mon = int(a[:4]), int(a[5:])
        assert b == (f"{year + 1}-01" if mon == 12 else f"{year}-{mon + 1:02d}")


def test_cumulative_percentiles_are_monotone_and_end_at_the_total_percentiles():
    data = json.loads((EXAMPLES / "plan-gpt3-175b.json").read_text())
    out = report(simulate_program(parse_plan(data), trials=500, seed=2))
    m = out["monthly"]
    for key, pct in (("cumulative_p50", "p50"), ("cumulative_p90", "p90")):
        path = m[key]
        assert all(b >= a for a, b in zip(path, path[1:], strict=False))
        assert path[-1] == pytest.approx(out["totals"]["cost"][pct], abs=0.02)
    # Adding up monthly P90s overstates the P90 path (the bug of issue 14).
    assert sum(m["total_p90"]) > m["cumulative_p90"][-1]


def test_storage_follows_the_stated_policy():
    plan = cpt_plan()
    del plan["start_date"]  # equal months: a rate × days / 30.44
    plan["clusters"][0].pop("start_date")
    plan["storage"] = {"price_per_tb_month": 100, "archive_price_per_tb_month": 20, "keep_last": 2}
    result = run(plan, trials=100)
    st = {s.key: s for s in result.stages}
    spec = result.spec
    full = checkpoint_bytes_for(float(spec.model.total_params()), "bf16") / 1e12
    weights = spec.model.total_params() * 2 / 1e12
    end = st["release"].finish_days
    main = st["main"]
    expected = 2 * full * 100 * (main.finish_days - main.start_days)
    for frac in (0.25, 0.5, 0.75, 1.0):
        expected = expected + full * 20 * (
            end - (main.start_days + frac * (main.finish_days - main.start_days))
        )
    expected = expected + spec.sft["runs"] * weights * 20 * (end - st["sft"].finish_days)
    raw, ids = 2e10 * 4 / 1e12, 2e10 * (2 if spec.model.vocab <= 65_536 else 4) / 1e12
    expected = expected + raw * 20 * end + ids * 100 * (end - st["data"].finish_days)
    assert np.allclose(result.cost_by_category["storage"], expected / DAYS_PER_MONTH)
    assert report(result)["storage"]["policy"]["keep_last"] == 2


def test_the_older_single_cluster_is_one_open_main_pool():
    data = json.loads((EXAMPLES / "plan-cpt-7b-domain.json").read_text())
    spec = parse_plan(data)
    assert len(spec.clusters) == 1 and spec.cluster.purpose == "main"
    assert spec.cluster.months is None and spec.cluster.start_date is None
    as_pools = copy.deepcopy(data)
    as_pools["clusters"] = [{"purpose": "main", **as_pools.pop("cluster")}]
    a = simulate_program(spec, trials=200, seed=4)
    b = simulate_program(parse_plan(as_pools), trials=200, seed=4)
    assert np.array_equal(a.total_cost, b.total_cost)
    assert np.array_equal(a.finish_days, b.finish_days)


def test_a_finetune_pool_carries_sft_with_its_gpus():
    plan = cpt_plan()
    plan["clusters"].append(
        {
            "purpose": "finetune",
            "gpu_type": "A100-80GB",
            "gpu_count": 16,
            "start_date": "2027-06-01",
            "months": 2,
            "price_per_gpu_hour": 1.8,
        }
    )
    result = run(plan)
    sft = next(s for s in result.stages if s.key == "sft")
    assert sft.gpu_count == 16 and sft.gpu_type == gpu_by_name("A100-80GB").name
    assert np.all(sft.start_days >= day("2027-06-01"))


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda p: p["clusters"][0].update(start_date="2026-12-01"), "clusters.0.start_date"),
        (lambda p: p["clusters"][0].update(start_date="March"), "clusters.0.start_date"),
        (lambda p: p["clusters"][0].update(purpose="training"), "clusters.0.purpose"),
        (lambda p: p["clusters"][0].update(months=0), "clusters.0.months"),
        (lambda p: p["clusters"][0].update(gpu_count=12), "clusters.0.gpu_count"),
        (lambda p: p.update(cluster={"gpu_type": "H100"}), "clusters"),
        (lambda p: p.update(clusters=[]), "clusters"),
        (
            lambda p: p["team"][0].update(start_date="2027-05-01", end_date="2027-04-01"),
            "team.0.end_date",
        ),
        (lambda p: p["data"][0].update(ready_date="soon"), "data.0.ready_date"),
        (lambda p: p.update(storage={"keep_last": 0}), "storage.keep_last"),
        (lambda p: p.update(storage={"tiers": 2}), "storage.tiers"),
    ],
)
def test_bad_dated_lines_name_the_field(change, field):
    plan = cpt_plan()
    change(plan)
    with pytest.raises(ValidationError) as err:
        parse_plan(plan)
    assert err.value.field == field


def test_a_plan_without_a_start_date_starts_on_its_earliest_dated_line():
    plan = cpt_plan()
    del plan["start_date"]
    spec = parse_plan(plan)
    assert spec.start_date == dt.date(2027, 3, 1)
    result = simulate_program(spec, trials=50, seed=0)
    assert result.month_labels[0] == "2027-03"


def test_the_plan_command_prints_the_pools_and_the_calendar_months():
    import subprocess
    import sys

    path = EXAMPLES / "plan-cpt-13b-dated.json"
    out = subprocess.run(
        [sys.executable, "-m", "llmplanner.simulation", "plan", str(path), "--trials", "300"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "main        256 × H100 SXM 80GB (rent), 1 month from 2027-03-01" in out
    assert "finetune    16 × H100 SXM 80GB (rent), 2 months from 2027-04-01" in out
    months = [line.split()[0] for line in out.splitlines() if line.startswith("  2027-")]
    assert months[:4] == ["2027-01", "2027-02", "2027-03", "2027-04"]


# --- review findings (issue 14) ------------------------------------------------------------


def sft_plan(**changes) -> dict:
    plan = {
        "name": "dated SFT",
        "strategy": "sft",
        "start_date": "2027-01-01",
        "currency": "USD",
        "model": {"params_b": 7},
        "sft": {"samples": 20000, "gpu_count": 64},
        "clusters": [
            {
                "purpose": "finetune",
                "gpu_type": "H100",
                "gpu_count": 8,
                "start_date": "2027-06-01",
                "months": 1,
                "price_per_gpu_hour": 2.0,
            }
        ],
    }
    plan.update(changes)
    return plan


def test_an_sft_plan_waits_for_its_pool_and_uses_at_most_its_gpus():
    result = run(sft_plan(), trials=200)
    sft = next(s for s in result.stages if s.key == "sft")
    assert np.all(sft.start_days >= (dt.date(2027, 6, 1) - dt.date(2027, 1, 1)).days)
    assert sft.gpu_count == 8  # 64 asked, 8 booked


def test_a_what_if_on_an_sft_plan_resizes_its_job():
    from llmplanner.simulation.sweep import apply_variant

    plan = sft_plan()
    plan["clusters"][0]["gpu_count"] = 16
    bigger = apply_variant(plan, {"gpu_count": 32})
    assert bigger["clusters"][0]["gpu_count"] == 32 and bigger["sft"]["gpu_count"] == 32
    small = run(apply_variant(plan, {"gpu_count": 8}), trials=100)
    large = run(bigger, trials=100)
    sft_small = next(s for s in small.stages if s.key == "sft")
    sft_large = next(s for s in large.stages if s.key == "sft")
    assert (sft_small.gpu_count, sft_large.gpu_count) == (8, 32)


def test_the_start_of_an_undated_plan_ignores_end_and_ready_dates():
    plan = cpt_plan(
        team=[{"role": "algorithm_researcher", "headcount": 1, "end_date": "2027-09-30"}],
        data=[{"name": "old", "tokens": 2e10, "stage": "cpt", "ready_date": "2024-06-01"}],
    )
    del plan["start_date"]
    assert parse_plan(plan).start_date == dt.date(2027, 3, 1)  # the pool's start


def test_a_pool_no_stage_uses_is_flagged_with_its_cost():
    plan = cpt_plan()
    plan["clusters"].append(
        {
            "purpose": "experiments",
            "gpu_type": "H100",
            "gpu_count": 8,
            "months": 1,
            "start_date": "2027-02-01",
            "price_per_gpu_hour": 3.0,
        }
    )  # a CPT plan has no ladder
    risks = {r["code"]: r for r in report(run(plan, trials=100))["risks"]}
    assert risks["pool_unused_2"]["impact_cost"] == pytest.approx(8 * 3.0 * HOURS_PER_MONTH)


def test_a_stage_after_its_window_pays_its_own_days_not_the_gap():
    plan = cpt_plan(
        data=[{"name": "late", "tokens": 2e10, "stage": "cpt", "ready_date": "2027-06-01"}]
    )
    result = run(plan, trials=100)
    pool = result.pools[0]
    main = next(s for s in result.stages if s.key == "main")
    assert np.all(main.start_days > pool.window_end)  # the window was over
    paid_days = main.finish_days - main.start_days
    assert np.allclose(main.costs["gpu_compute"], paid_days * 24 * 64 * 2.5)
    st = {s.key: s for s in result.stages}
    beyond = [
        st[k].finish_days - np.maximum(st[k].start_days, pool.window_end) for k in pool.stages
    ]
    assert np.allclose(pool.extension_days, np.maximum.reduce(beyond))
    assert np.all(pool.extension_days < main.start_days - pool.window_end)  # not the gap


def test_the_ladder_waits_for_the_pretraining_data():
    plan = json.loads((EXAMPLES / "plan-from-scratch-7b.json").read_text())
    plan["start_date"] = "2027-01-04"
    for d in plan.get("data", []):
        d["ready_date"] = "2027-04-15"
    result = simulate_program(parse_plan(plan), trials=50, seed=0)
    rung = next(s for s in result.stages if s.key == "ladder_1")
    assert np.all(rung.start_days >= day("2027-04-15"))


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda p: p["team"][0].update(end_date="2200-12-31"), "team.0.end_date"),
        (lambda p: p["data"][0].update(ready_date="9999-12-01"), "data.0.ready_date"),
        (lambda p: p["team"][0].update(end_date="2049-01-01"), "team.0.end_date"),
        (
            lambda p: p["clusters"][0].update(start_date="2046-12-01", months=3),
            "clusters.0.start_date",
        ),
    ],
)
def test_dates_far_in_the_future_are_refused_by_name(change, field):
    plan = cpt_plan()
    change(plan)
    with pytest.raises(ValidationError) as err:
        parse_plan(plan)
    assert err.value.field == field

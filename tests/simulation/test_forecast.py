"""Re-forecast from actuals (issue 19): the conjugate updates by hand, money spent as fact."""

from __future__ import annotations

import copy
import datetime as dt
import json
import math

import numpy as np
import pytest

from llmplanner.simulation.errors import ValidationError
from llmplanner.simulation.forecast import (
    DAILY_SIGMA,
    MIN_OBSERVED_SHARE,
    PRIOR_DAYS,
    Actuals,
    forecast,
    main_prior,
    stage_tokens,
    update,
)
from llmplanner.simulation.planspec import parse_plan
from llmplanner.simulation.program import CATEGORIES, DAYS_PER_MONTH, simulate_program
from llmplanner.simulation.report import report

from .conftest import EXAMPLES

TRIALS, SEED = 300, 3
GPUS, PRICE = 256, 16.0  # H800s rented per GPU-hour, paid to the end of the main run
TEAM = [{"role": "distributed_training_engineer", "headcount": 10, "monthly_cost": 50_000}]


def plan() -> dict:
    data = json.loads((EXAMPLES / "plan-from-scratch-7b.json").read_text())
    data.pop("cluster")
    data["clusters"] = [
        {"purpose": "main", "gpu_type": "H800", "gpu_count": GPUS, "price_per_gpu_hour": PRICE}
    ]
    data["team"] = TEAM
    data["training"]["tokens"] = 1e13  # long enough to stay on the critical path
    return data


@pytest.fixture(scope="module")
def baseline():
    spec = parse_plan(plan())
    result = simulate_program(spec, TRIALS, SEED)
    main = next(s for s in result.stages if s.key == "main")
    return spec, result, main_prior(result), main


def halfway(spec, main, prior, share_of_plan: float) -> Actuals:
    """A report halfway through the main run's median span, at ``share_of_plan`` of the
    planned throughput, failing at the planned rate."""
    start = float(np.median(main.start_days))
    elapsed = round(float(np.median(main.finish_days - main.start_days)) / 2)
    return Actuals(
        date=spec.start_date + dt.timedelta(days=round(start) + elapsed),
        tokens_trained=share_of_plan * prior.net_rate * elapsed,
        elapsed_days=elapsed,
        interruptions=round(prior.failures_per_day * elapsed),
    )


def main_finish_by_hand(prior, actuals: Actuals, today: float) -> float:
    """The module docstring's update, written out: observed goodput → observed raw rate →
    precision-weighted log multiplier; gamma means for failures and spikes; remaining tokens at
    the posterior net rate."""
    days, n_fail = actuals.elapsed_days, actuals.interruptions
    g_seen = 1 - prior.checkpoint_share - (n_fail / days) * prior.hours_per_failure / 24
    raw_seen = actuals.tokens_trained / days / g_seen
    weight = (days / DAILY_SIGMA**2) / (1 / prior.raw_log_sigma**2 + days / DAILY_SIGMA**2)
    multiplier = math.exp(weight * math.log(raw_seen / prior.raw_rate))
    fails = (prior.failures_per_day * PRIOR_DAYS + n_fail) / (PRIOR_DAYS + days)
    spikes = prior.spikes_per_day * PRIOR_DAYS / (PRIOR_DAYS + days)
    g_post = (
        1
        - prior.checkpoint_share
        - (fails * prior.hours_per_failure + spikes * prior.hours_per_spike) / 24
    )
    return today + (prior.tokens - actuals.tokens_trained) / (prior.raw_rate * multiplier * g_post)


def test_half_the_planned_throughput_halfway_moves_finish_and_cost_by_the_hand_derived_amount(
    baseline,
):
    spec, _, prior, main = baseline
    slow, on_plan = halfway(spec, main, prior, 0.5), halfway(spec, main, prior, 1.0)
    today = float((slow.date - spec.start_date).days)
    f_slow = forecast(plan(), slow, trials=TRIALS, seed=SEED, spread=False)
    f_plan = forecast(plan(), on_plan, trials=TRIALS, seed=SEED, spread=False)

    # No randomness in the main run: every trial ends it on the same day, derived by hand.
    for f, actuals in ((f_slow, slow), (f_plan, on_plan)):
        by_hand = main_finish_by_hand(prior, actuals, today)
        assert f["main"]["finish_days"]["p10"] == pytest.approx(by_hand, rel=1e-9)
        assert f["main"]["finish_days"]["p90"] == pytest.approx(by_hand, rel=1e-9)
    late = main_finish_by_hand(prior, slow, today) - main_finish_by_hand(prior, on_plan, today)
    assert late > 3  # the slow run is days behind

    # The main run is on the critical path: the program ends later by exactly that much.
    assert f_slow["finish_days"]["p50"] - f_plan["finish_days"]["p50"] == pytest.approx(late)
    # Every extra day costs the main pool (256 GPUs × 24 h × 16/GPU-hour) and the team
    # (10 × 50,000 a month, pro rata), plus the plan's contingency on both.
    gpu = late * GPUS * 24 * PRICE
    people = late * 10 * 50_000 / DAYS_PER_MONTH
    cat_slow, cat_plan = f_slow["cost_by_category"], f_plan["cost_by_category"]
    assert cat_slow["gpu_compute"]["p50"] - cat_plan["gpu_compute"]["p50"] == pytest.approx(gpu)
    assert cat_slow["people"]["p50"] - cat_plan["people"]["p50"] == pytest.approx(people)
    assert f_slow["cost"]["p50"] - f_plan["cost"]["p50"] >= (gpu + people) * (1 + spec.contingency)
    assert f_slow["finish_date_p50"] > f_plan["finish_date_p50"]


def test_a_few_days_move_the_throughput_a_little_and_a_month_dominates(baseline):
    spec, _, prior, main = baseline

    def weight(days: float) -> float:
        actuals = Actuals(
            date=spec.start_date + dt.timedelta(days=60),
            tokens_trained=0.5 * prior.net_rate * days,
            elapsed_days=days,
        )
        return update(prior, actuals).data_weight

    assert weight(3) < 0.35 < 0.65 < weight(30)
    # Same data at half the rate: three days barely move the multiplier, a month nearly halves it.
    few = update(prior, Actuals(spec.start_date, 0.5 * prior.net_rate * 3, 3))
    month = update(prior, Actuals(spec.start_date, 0.5 * prior.net_rate * 30, 30))
    assert 0.8 < few.raw_multiplier < 0.95 and 0.5 < month.raw_multiplier < 0.65


def test_interruptions_update_the_failure_rate_as_a_gamma_posterior(baseline):
    spec, _, prior, _ = baseline
    seen = Actuals(spec.start_date, prior.net_rate * 30, 30, interruptions=90)
    post = update(prior, seen)
    assert post.failures_per_day == pytest.approx(
        (prior.failures_per_day * PRIOR_DAYS + 90) / (PRIOR_DAYS + 30)
    )
    assert post.failures_per_day > 2 * prior.failures_per_day


def test_a_reported_mfu_is_the_throughput_observation(baseline):
    spec, _, prior, _ = baseline
    tokens = prior.net_rate * 10
    low = update(prior, Actuals(spec.start_date, tokens, 10, observed_mfu=prior.mfu * 0.7))
    # MFU is a sharper observation than tokens (σ 0.1 vs 0.5 a day): ten days nearly settle it.
    assert low.data_weight > 0.95 and low.raw_multiplier == pytest.approx(0.7, rel=0.03)


def test_money_already_spent_never_moves(baseline):
    spec, _, prior, main = baseline
    spend = {"gpu_compute": 2_000_000.0, "people": 300_000.0, "data": 800_000.0, "storage": 0.0}
    spend |= {"inference": 0.0, "contingency": 0.0}
    base = halfway(spec, main, prior, 1.0)
    outs = [
        forecast(
            plan(),
            Actuals(
                base.date,
                share * prior.net_rate * base.elapsed_days,
                base.elapsed_days,
                interruptions=fails,
                spend=spend,
            ),
            trials=TRIALS,
            seed=SEED,
        )
        for share, fails in ((0.4, 0), (1.0, 3), (1.3, 40))
    ]
    for f in outs:
        assert f["spent"] == spend and f["spent_total"] == sum(spend.values())
        assert f["spent_from_plan"] == []
        assert f["cost"]["p10"] >= f["spent_total"]
        for c in CATEGORIES:
            assert f["cost_by_category"][c]["p10"] >= spend[c]
        assert f["cost"]["p50"] == pytest.approx(
            f["spent_total"] + f["cost_to_complete"]["p50"], rel=0.02
        )
    # The future differs, the past does not.
    assert outs[0]["cost_to_complete"]["p50"] > outs[2]["cost_to_complete"]["p50"]


def test_a_report_on_the_first_day_gives_back_the_approved_plan(baseline):
    spec, result, _, _ = baseline
    approved = report(result)
    f = forecast(plan(), Actuals(spec.start_date, 0.0, 0.0), trials=TRIALS, seed=SEED)
    totals = approved["totals"]
    assert f["finish_days"]["p50"] == pytest.approx(totals["finish_days"]["p50"], abs=0.5)
    assert f["finish_date_p50"] == totals["finish_date_p50"]
    # Monthly rates pro rata by average months here, by calendar months in the report.
    assert f["cost"]["p50"] == pytest.approx(totals["cost"]["p50"], rel=0.01)
    assert f["spent_from_plan"] == list(CATEGORIES) and f["spent_total"] == 0
    assert [d["text_template"] for d in f["drivers"]] == [
        "The main run has not started: its dates are the plan's"
    ]


def test_the_burn_up_has_the_planned_band_and_the_forecast_from_today(baseline):
    spec, _, prior, main = baseline
    actuals = halfway(spec, main, prior, 0.5)
    f = forecast(plan(), actuals, trials=TRIALS, seed=SEED)
    burn = f["burnup"]
    assert burn["planned"]["p50"][-1] == pytest.approx(prior.tokens)
    assert all(a <= b for a, b in zip(burn["planned"]["p10"], burn["planned"]["p90"], strict=True))
    today = f["as_of_day"]
    shown = [(d, v) for d, v in zip(burn["days"], burn["forecast"]["p50"], strict=True)]
    assert all(v is None for d, v in shown if d < today)
    future = [v for d, v in shown if d >= today]
    assert future[0] >= actuals.tokens_trained and future[-1] <= prior.tokens
    # The forecast line starts on the report's day, at the tokens reported: no gap.
    assert today in burn["days"]
    assert future[0] == pytest.approx(actuals.tokens_trained)
    assert f["drivers"][0]["text"].startswith("Throughput 50% of plan since ")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"date": dt.date(2026, 12, 1)}, "date"),
        ({"tokens_trained": -1.0}, "tokens_trained"),
        ({"elapsed_days": 400.0}, "elapsed_days"),
        ({"interruptions": -2}, "interruptions"),
        ({"observed_mfu": 1.5}, "observed_mfu"),
        ({"spend": {"gpus": 1.0}}, "spend.gpus"),
        ({"spend": {"people": -5.0}}, "spend.people"),
    ],
)
def test_bad_actuals_are_refused_naming_the_field(change, field):
    good = {"date": dt.date(2027, 3, 1), "tokens_trained": 1e11, "elapsed_days": 10.0}
    with pytest.raises(ValidationError) as err:
        forecast(plan(), Actuals(**(good | change)), trials=50)
    assert err.value.field == field


def test_a_plan_without_a_main_run_is_tracked_by_its_stages_not_by_a_main_report():
    data = copy.deepcopy(plan())
    data["strategy"] = "icl"
    with pytest.raises(ValidationError) as err:
        forecast(data, Actuals(dt.date(2027, 3, 1), 0.0, 0.0), trials=50)
    assert err.value.field == "stage"
    day = dt.date(2027, 3, 1)
    answer = forecast(data, Actuals(day, 0.0, 5.0, stage="prompts", progress=0.2), trials=50)
    assert answer["main"] is None and answer["burnup"] is None
    assert [r["key"] for r in answer["stages"]] == ["prompts", "eval"]
    # Nothing reported: the plan as of a day.
    assert forecast(data, [], trials=50, as_of=day)["as_of"] == "2027-03-01"


TRIALS_ODD = 201  # an odd number of trials: a median is one trial's value


def icl_plan() -> dict:
    data = copy.deepcopy(plan())
    data["strategy"] = "icl"
    return data


@pytest.mark.parametrize("share", [0.25, 0.5, 0.8])
def test_a_stage_report_weighs_its_pace_by_the_share_done(share):
    # The prompt library (planned ~14 days, log-normal) reported ``share`` done after 14 days:
    # per trial log D' = (1 − p)·log D + p·log(14 / p), at least the 14 days already spent.
    data, elapsed = icl_plan(), 14.0
    spec = parse_plan(data)
    base = simulate_program(spec, TRIALS_ODD, SEED)
    prompts = next(s for s in base.stages if s.key == "prompts")
    day = spec.start_date + dt.timedelta(days=60)
    today = 60.0
    got = forecast(
        data,
        Actuals(day, 0.0, elapsed, stage="prompts", progress=share),
        trials=TRIALS_ODD,
        seed=SEED,
    )
    planned = prompts.finish_days - prompts.start_days
    by_hand = np.exp((1 - share) * np.log(planned) + share * math.log(elapsed / share))
    finish = (today - elapsed) + np.maximum(by_hand, elapsed)
    row = next(r for r in got["stages"] if r["key"] == "prompts")
    assert row["status"] == "running" and row["progress"] == share
    assert row["finish_days_p50"] == pytest.approx(float(np.median(finish)), abs=1e-9)
    # The evaluation starts when the prompts are done: the program moves with them.
    evaluation = next(r for r in got["stages"] if r["key"] == "eval")
    assert evaluation["finish_days_p50"] > row["finish_days_p50"]
    assert got["finish_days"]["p50"] > float(np.median(base.finish_days))


def test_a_finished_stage_is_its_observed_dates_and_a_late_start_holds_back_what_follows():
    data = icl_plan()
    spec = parse_plan(data)
    day = spec.start_date + dt.timedelta(days=40)
    done = forecast(data, Actuals(day, 0.0, 30.0, stage="prompts", progress=1.0), trials=51)
    row = next(r for r in done["stages"] if r["key"] == "prompts")
    assert row["status"] == "done"
    assert row["start_date_p50"] == (day - dt.timedelta(days=30)).isoformat()
    assert row["finish_date_p50"] == day.isoformat()
    # Reported not started on day 40: it cannot start before then.
    late = forecast(data, Actuals(day, 0.0, 0.0, stage="prompts"), trials=51)
    row = next(r for r in late["stages"] if r["key"] == "prompts")
    assert row["status"] == "not_started" and row["start_date_p50"] == day.isoformat()


def test_sft_progress_is_read_from_its_tokens_and_a_started_sft_means_the_main_run_ended(
    baseline,
):
    spec, result, prior, main = baseline
    sft = next(s for s in result.stages if s.key == "sft")
    sft_start = round(float(np.median(sft.start_days))) - 40  # earlier than the plan's main end
    day = spec.start_date + dt.timedelta(days=sft_start + 4)
    tokens = stage_tokens(spec, "sft")
    assert tokens == (
        spec.sft["samples"] * spec.sft["tokens_per_sample"] * spec.sft["epochs"] * spec.sft["runs"]
    )
    got = forecast(
        plan(),
        Actuals(day, tokens / 2, 4.0, stage="sft"),
        trials=TRIALS,
        seed=SEED,
    )
    rows = {r["key"]: r for r in got["stages"]}
    assert rows["sft"]["progress"] == 0.5 and rows["sft"]["status"] == "running"
    # The main run (not reported) is cut to the SFT's observed start, in every trial.
    assert rows["main"]["status"] == "planned"
    assert rows["main"]["finish_days_p50"] <= sft_start
    assert got["drivers"][0]["text"].startswith("The main run has not been reported; a stage")
    assert got["main"]["finish_days"]["p90"] <= sft_start + 1e-9


def test_spend_is_read_from_the_latest_report_that_gives_each_category(baseline):
    spec, _, prior, main = baseline
    start = round(float(np.median(main.start_days)))
    early = Actuals(
        spec.start_date + dt.timedelta(days=start + 10),
        prior.net_rate * 10,
        10.0,
        spend={"gpu_compute": 100.0, "people": 50.0},
    )
    later = Actuals(
        spec.start_date + dt.timedelta(days=start + 12),
        0.0,
        3.0,
        stage="data",
        progress=1.0,
        spend={"people": 70.0},
    )
    got = forecast(plan(), [early, later], trials=51, seed=SEED)
    assert got["spent"]["people"] == 70.0
    # GPU compute was last reported two days earlier: those two days' rent is added to it.
    assert got["spent"]["gpu_compute"] == pytest.approx(100.0 + 2 * GPUS * 24 * PRICE, rel=1e-6)
    assert got["as_of"] == later.date.isoformat()


@pytest.mark.parametrize(
    ("reports", "field"),
    [
        ([Actuals(dt.date(2027, 3, 1), 0.0, 2.0, stage="nope")], "stage"),
        ([Actuals(dt.date(2027, 3, 1), 0.0, 2.0, stage="team")], "stage"),
        (
            [
                Actuals(dt.date(2027, 3, 1), 0.0, 2.0, stage="sft"),
                Actuals(dt.date(2027, 3, 2), 0.0, 3.0, stage="sft"),
            ],
            "stage",
        ),
        ([Actuals(dt.date(2027, 3, 1), 0.0, 2.0, stage="sft", progress=1.5)], "progress"),
        ([Actuals(dt.date(2027, 3, 1), 0.0, 0.0, stage="sft", progress=0.5)], "elapsed_days"),
        ([], "actuals"),
    ],
)
def test_bad_stage_reports_are_refused_naming_the_field(reports, field):
    with pytest.raises(ValidationError) as err:
        forecast(plan(), reports, trials=20)
    assert err.value.field == field


def test_a_stalled_run_forecasts_a_finite_finish_at_the_floor_rate(baseline):
    # Nothing trained after two weeks: the observed rate is taken at 2% of the plan's, so the
    # forecast stays a date (it was ~4e8 days out and then failed on the calendar).
    spec, _, prior, main = baseline
    start = round(float(np.median(main.start_days)))
    stalled = Actuals(spec.start_date + dt.timedelta(days=start + 14), 0.0, 14.0)
    f = forecast(plan(), stalled, trials=TRIALS, seed=SEED, spread=False)
    assert f["posterior"]["raw_multiplier"] == pytest.approx(
        math.exp(update(prior, stalled).data_weight * math.log(MIN_OBSERVED_SHARE))
    )
    planned_days = float(np.median(main.finish_days - main.start_days))
    late = f["main"]["finish_days"]["p50"] - (start + 14)
    assert 5 * planned_days < late < 60 * planned_days
    assert dt.date.fromisoformat(f["finish_date_p90"]).year < 2200


def test_unreported_contingency_is_not_counted_as_spent(baseline):
    spec, _, prior, main = baseline
    actuals = halfway(spec, main, prior, 1.0)
    f = forecast(plan(), actuals, trials=TRIALS, seed=SEED)
    assert "contingency" in f["spent_from_plan"] and f["spent"]["contingency"] == 0.0
    assert f["spent"]["people"] > 0  # the other categories unreported are taken as planned


def test_a_later_stage_that_started_ends_a_main_run_reported_running_before_it(baseline):
    # The main run reported running at half its tokens on day s+10; SFT reported started two
    # days before day s+15. The SFT start is the later fact: the main run ended by then (not
    # before its own report's day), instead of running on to the latest report's day.
    spec, _, prior, main = baseline
    s = round(float(np.median(main.start_days)))
    day = spec.start_date + dt.timedelta(days=s)
    main_report = Actuals(day + dt.timedelta(days=10), prior.tokens / 2, 10.0)
    sft_report = Actuals(day + dt.timedelta(days=15), 0.0, 2.0, stage="sft", progress=0.1)
    got = forecast(plan(), [main_report, sft_report], trials=51, seed=SEED)
    sft_start = s + 13
    assert got["main"]["finish_days"]["p90"] <= sft_start + 1e-9
    assert got["main"]["finish_days"]["p10"] >= s + 10 - 1e-9
    rows = {r["key"]: r for r in got["stages"]}
    # Its end is past on the forecast's day (the SFT started): likely done, not reported so.
    assert rows["main"]["status"] == "likely_done" and rows["sft"]["status"] == "running"
    assert rows["main"]["finish_days_p50"] <= rows["sft"]["finish_days_p50"]
    # A stage reported running keeps its report's day even when a later stage started earlier.
    early_sft = Actuals(day + dt.timedelta(days=15), 0.0, 8.0, stage="sft", progress=0.5)
    got = forecast(plan(), [main_report, early_sft], trials=51, seed=SEED)
    assert got["main"]["finish_days"]["p50"] == pytest.approx(s + 10)


def test_a_stage_reported_running_whose_forecast_end_is_past_is_likely_done(baseline):
    spec, _, prior, main = baseline
    s = round(float(np.median(main.start_days)))
    day = spec.start_date + dt.timedelta(days=s)
    # Data reported half done on day s; the main run, which needs it, reported started that
    # day: the data stage ended by then, and on the forecast's day (s + 10) it is likely done,
    # only not reported so.
    data = Actuals(day, 0.0, 2.0, stage="data", progress=0.5)
    main_report = Actuals(day + dt.timedelta(days=10), prior.net_rate * 10, 10.0)
    rows = {r["key"]: r for r in forecast(plan(), [data, main_report], trials=51)["stages"]}
    assert rows["data"]["status"] == "likely_done"
    assert rows["main"]["status"] == "running"

"""program.py against numbers worked by hand (issue 15): the calendar, the team, the GPU pools,
storage, data and serving charges, each from the planning assumption or source the module states.

Each test states its inputs and works the expected figure out in a comment from what program.py's
docstrings and comments document: monthly charges paid pro rata per calendar month; a booked pool
paid for its whole window (months × 30.4375 days × 24 h × GPUs × price); team salaries per month;
storage per TB-month (14 bytes per parameter for a training state, 2 for BF16 weights, 4 bytes of
raw text and 2 or 4 bytes of token ids per token) on the fast tier (140 USD) or archived (23 USD);
the data-preparation formula; lognormal durations around planning medians. Quantities that do not
depend on a random draw are asserted exactly (to float rounding); medians of lognormal durations
over a few thousand trials, within a few per cent.

``scripts/mutation.py program`` runs these with tests/simulation/test_program.py and
tests/simulation/test_calendar.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pytest

from llmplanner.simulation.planspec import StoragePolicy, parse_plan
from llmplanner.simulation.program import (
    CATEGORIES,
    CHECKPOINTS_KEPT,
    DAYS_PER_MONTH,
    MAIN_MILESTONES,
    MONTH_BLOCK_BYTES,
    RAW_BYTES_PER_TOKEN,
    STORAGE_USD_PER_TB_MONTH,
    Charge,
    TimeAxis,
    _block_months,
    _data_prep_days,
    _delivery_delay,
    _month_block,
    _ready_day,
    _small_cluster_count,
    _spans,
    default_team,
    simulate_program,
)
from llmplanner.simulation.text import T

START = dt.date(2027, 1, 1)


def day(iso: str) -> float:
    """Days from the program start (2027-01-01) to ``iso``."""
    return float((dt.date.fromisoformat(iso) - START).days)


def run(plan: dict, trials: int = 200, seed: int = 7):
    return simulate_program(parse_plan(plan), trials=trials, seed=seed)


def close(actual, expected) -> bool:
    """Equal to float rounding: within a relative (or absolute) 1e-9."""
    return bool(np.allclose(actual, expected, rtol=1e-9, atol=1e-9))


def by_key(result) -> dict:
    return {s.key: s for s in result.stages}


def median(values: np.ndarray) -> float:
    """The median of a lognormal sample, estimated as its geometric mean (less noisy)."""
    return float(np.exp(np.mean(np.log(values))))


def icl_plan(**changes) -> dict:
    """The smallest program: prompts, evaluation and serving, in USD, from 2027-01-01."""
    plan: dict = {"name": "worked ICL", "strategy": "icl", "start_date": START.isoformat()}
    plan["currency"] = "USD"
    plan.update(changes)
    return plan


def cpt_plan(**changes) -> dict:
    """A small continued-pretraining program (1.3B on 64 H100 booked for two months from 1 March,
    2.50 USD per GPU-hour, a reliable provider), in USD, from 2027-01-01."""
    plan: dict = {
        "name": "worked CPT",
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


# --- the calendar ---------------------------------------------------------------------------------


def test_undated_months_are_equal_months_of_a_julian_year():
    # 365.25 / 12 = 30.4375 days. 61 days need ⌈61 / 30.4375⌉ = ⌈2.004⌉ = 3 months.
    assert DAYS_PER_MONTH == 30.4375
    edges, lengths, labels = TimeAxis(None).months(61)
    assert edges.tolist() == [0.0, 30.4375, 60.875, 91.3125]
    assert lengths.tolist() == [30.4375] * 3
    assert labels == ["M1", "M2", "M3"]
    # Exactly two months (60.875 days) is two months, not three; nothing at all is still one.
    edges, lengths, labels = TimeAxis(None).months(60.875)
    assert edges.tolist() == [0.0, 30.4375, 60.875] and labels == ["M1", "M2"]
    edges, lengths, labels = TimeAxis(None).months(0)
    assert edges.tolist() == [0.0, 30.4375] and lengths.tolist() == [30.4375] and labels == ["M1"]


def test_calendar_months_start_at_the_first_of_the_start_month():
    # From Monday 2027-01-04: January (31 days) ends 28 days in, February (28) on day 56.
    axis = TimeAxis(dt.date(2027, 1, 4))
    edges, lengths, labels = axis.months(56)
    assert edges.tolist() == [0.0, 28.0, 56.0]
    assert lengths.tolist() == [31.0, 28.0]
    assert labels == ["2027-01", "2027-02"]
    # Half a day more needs March (31 days, to day 87).
    edges, lengths, labels = axis.months(56.5)
    assert edges.tolist() == [0.0, 28.0, 56.0, 87.0]
    assert lengths.tolist() == [31.0, 28.0, 31.0]
    assert labels == ["2027-01", "2027-02", "2027-03"]
    # A horizon of nothing still has its first month.
    edges, lengths, labels = axis.months(0)
    assert edges.tolist() == [0.0, 28.0] and labels == ["2027-01"]
    # From the last day of a month: that month's one day covers a horizon of nothing, 1 day
    # covers one day; a day and a half needs February.
    last_day = TimeAxis(dt.date(2027, 1, 31))
    assert last_day.months(0)[0].tolist() == [0.0, 1.0]
    assert last_day.months(1)[0].tolist() == [0.0, 1.0]
    assert last_day.months(1.5)[0].tolist() == [0.0, 1.0, 29.0]


def test_calendar_months_cross_the_year_and_know_leap_februaries():
    # From 2027-12-15: December ends on day 17, January 2028 (31) on 48, February 2028 (29, a
    # leap year) on 77, March (31) on 108 — the first edge at or past day 80.
    edges, lengths, labels = TimeAxis(dt.date(2027, 12, 15)).months(80)
    assert edges.tolist() == [0.0, 17.0, 48.0, 77.0, 108.0]
    assert lengths.tolist() == [31.0, 31.0, 29.0, 31.0]
    assert labels == ["2027-12", "2028-01", "2028-02", "2028-03"]
    # November → December inside one year, and a year of months from October 2029.
    edges, lengths, labels = TimeAxis(dt.date(2029, 10, 1)).months(365)
    assert labels[:4] == ["2029-10", "2029-11", "2029-12", "2030-01"]
    assert lengths.tolist() == [31, 30, 31, 31, 28, 31, 30, 31, 30, 31, 31, 30]
    assert edges[-1] == 365.0


# --- planning constants ---------------------------------------------------------------------------


def test_the_constants_shown_on_the_assumptions_page_match_the_policy_they_describe():
    # The default storage policy (planspec.StoragePolicy): the last 3 full states on the fast tier
    # at the FSx-for-Lustre list price of 0.14 USD per GB-month = 140 USD per TB-month.
    assert CHECKPOINTS_KEPT == 3
    assert CHECKPOINTS_KEPT == StoragePolicy(140.0, 23.0).keep_last
    assert parse_plan(icl_plan()).storage.keep_last == CHECKPOINTS_KEPT
    assert STORAGE_USD_PER_TB_MONTH == 140.0
    assert parse_plan(icl_plan()).storage.price_per_tb_month == STORAGE_USD_PER_TB_MONTH
    # ~4 bytes of raw text per token; milestones at 25/50/75/100% of the main run's tokens.
    assert RAW_BYTES_PER_TOKEN == 4.0
    assert MAIN_MILESTONES == (0.25, 0.5, 0.75, 1.0)
    # 16 MiB per block of months = 16 × 1,048,576 = 16,777,216 bytes.
    assert MONTH_BLOCK_BYTES == 16_777_216
    assert CATEGORIES == ("gpu_compute", "storage", "people", "data", "inference", "contingency")


def test_a_block_of_months_stays_within_its_byte_budget():
    # One month of 1,000 trials × 6 categories × 8 bytes = 48,000 bytes: 16,777,216 // 48,000
    # = 349 months per block (349 × 48,000 = 16,752,000 ≤ 16,777,216 < 350 × 48,000).
    assert _block_months(1000, MONTH_BLOCK_BYTES) == 349
    assert _block_months(1000, 48_000) == 1
    assert _block_months(1000, 96_000) == 2
    assert _block_months(1000, 95_999) == 1
    # Never less than one month, even when one month is over the budget.
    assert _block_months(1000, 1) == 1
    assert _block_months(200_000, MONTH_BLOCK_BYTES) == 1


# --- the default team (seed 004 salaries, CNY per month) ------------------------------------------


@pytest.mark.parametrize(
    "strategy, headcount, monthly",
    [
        # 3 data engineers × 37,336 + 0.5 legal × 30,000 + 6 algorithm × 39,607
        # + 4 distributed-training × 39,607 + run watcher 37,336 + frontend 30,000 + backend 33,000
        # + product manager 35,000 = 112,008 + 15,000 + 237,642 + 158,428 + 37,336 + 30,000
        # + 33,000 + 35,000 = 658,414 CNY; 3 + 0.5 + 6 + 4 + 1 + 1 + 1 + 1 = 17.5 people.
        ("from_scratch", 17.5, 658_414.0),
        # 2 × 37,336 + 0.5 × 30,000 + 3 × 39,607 + 2 × 39,607 + 37,336 + 35,000
        # = 74,672 + 15,000 + 118,821 + 79,214 + 37,336 + 35,000 = 360,043.
        ("cpt", 9.5, 360_043.0),
        # 37,336 + 2 × 39,607 + 0.5 × 33,000 = 37,336 + 79,214 + 16,500 = 133,050.
        ("sft", 3.5, 133_050.0),
        # 37,336 + 39,607 + 2 × 33,000 + 30,000 = 172,943.
        ("rag", 5.0, 172_943.0),
        # 39,607 + 33,000 = 72,607.
        ("icl", 2.0, 72_607.0),
    ],
)
def test_the_default_team_of_each_strategy(strategy, headcount, monthly):
    spec = replace(parse_plan({"strategy": "icl"}), strategy=strategy)
    team = default_team(spec)
    assert sum(t.headcount for t in team) == headcount
    assert sum(t.headcount * t.monthly_cost for t in team) == pytest.approx(monthly, abs=1e-6)
    assert all(t.allocation == 1.0 and t.start_date is None for t in team)


def test_the_default_team_in_usd_divides_the_cny_salaries_by_the_exchange_rate():
    # At 8 CNY per USD: data engineer 37,336 / 8 = 4,667; legal 30,000 / 8 = 3,750;
    # algorithm researcher 39,607 / 8 = 4,950.875.
    spec = replace(parse_plan({"strategy": "icl"}), strategy="cpt", currency="USD", usd_to_cny=8.0)
    pay = {t.role: t.monthly_cost for t in default_team(spec)}
    assert pay["data_engineer"] == 4_667.0
    assert pay["legal"] == 3_750.0
    assert pay["algorithm_researcher"] == 4_950.875
    heads = {t.role: t.headcount for t in default_team(spec)}
    assert heads == {
        "data_engineer": 2.0,
        "legal": 0.5,
        "algorithm_researcher": 3.0,
        "distributed_training_engineer": 2.0,
        "run_watcher": 1.0,
        "product_manager": 1.0,
    }


# --- data preparation -----------------------------------------------------------------------------


def data_spec(team: list[dict], data: list[dict]):
    return parse_plan(icl_plan(team=team, data=data))


def test_data_preparation_days_follow_the_planning_formula():
    # Pretraining data: 1e12 raw (counts fully) + 2.5e12 cleaned (40%: 1e12) + 4e12 deduplicated
    # (10%: 0.4e12) = 2.4e12 tokens of work; 1e12 raw SFT tokens feed another stage.
    # Four data engineers = two pairs: 21 days × 2.4 / 2 = 25.2 days.
    # Unknown licences: 2 (the raw and the deduplicated set) → ⌈2 / 5⌉ = 1 week with legal.
    # 14 + 25.2 + 7 = 46.2 days.
    data = [
        {"name": "a", "tokens": 1e12, "cleaning": "raw", "licence": "unknown"},
        {"name": "b", "tokens": 2.5e12, "cleaning": "cleaned", "licence": "cleared"},
        {"name": "c", "tokens": 4e12, "cleaning": "deduplicated", "licence": "unknown"},
        {"name": "d", "tokens": 1e12, "stage": "sft", "licence": "unknown"},
    ]
    team = [
        {"role": "data_engineer", "headcount": 4, "monthly_cost": 1},
        {"role": "legal", "headcount": 1, "monthly_cost": 1},
    ]
    assert _data_prep_days(data_spec(team, data), ("pretrain",)) == pytest.approx(46.2)
    # Without a legal role the review takes three weeks: 14 + 25.2 + 21 = 60.2.
    assert _data_prep_days(data_spec(team[:1], data), ("pretrain",)) == pytest.approx(60.2)
    # With the SFT set too: 3.4e12 of work → 21 × 3.4 / 2 = 35.7; 3 unknown → 1 week: 56.7.
    assert _data_prep_days(data_spec(team, data), ("pretrain", "sft")) == pytest.approx(56.7)


def test_data_preparation_with_one_engineer_and_many_unknown_licences():
    # One engineer is half a pair: 21 × 1.0 / 0.5 = 42 days for 1e12 raw tokens. Nobody listed
    # counts as one engineer too. Six unknown licences: ⌈6 / 5⌉ = 2 weeks of legal review, or
    # 2 × 21 = 42 days without legal. 14 + 42 + 14 = 70; 14 + 42 + 42 = 98.
    data = [{"name": f"d{i}", "tokens": 1e12 / 6, "licence": "unknown"} for i in range(6)]
    one = [{"role": "data_engineer", "headcount": 1, "monthly_cost": 1}]
    legal = [{"role": "legal", "headcount": 0.5, "monthly_cost": 1}]
    assert _data_prep_days(data_spec(one + legal, data), ("pretrain",)) == pytest.approx(70.0)
    assert _data_prep_days(data_spec(legal, data), ("pretrain",)) == pytest.approx(70.0)
    assert _data_prep_days(data_spec(one, data), ("pretrain",)) == pytest.approx(98.0)
    # Five unknown licences are one week's review, not two: 14 + 21 × (5/6) / 0.5 + 7 = 56.
    assert _data_prep_days(data_spec(one + legal, data[:5]), ("pretrain",)) == pytest.approx(56.0)
    # No data at all: the two weeks of set-up.
    assert _data_prep_days(data_spec(one, []), ("pretrain",)) == 14.0


def test_the_ready_day_is_the_last_arrival_of_the_data_a_stage_reads():
    # From 2027-01-01: 2027-02-15 is day 45, 2027-03-01 day 59; a set ready before the start
    # (2026-12-01, day −31) or without a date is there from day 0.
    spec = data_spec(
        [],
        [
            {"name": "cpt", "tokens": 1e9, "stage": "cpt", "ready_date": "2027-02-15"},
            {"name": "sft", "tokens": 1e9, "stage": "sft", "ready_date": "2027-03-01"},
            {"name": "old", "tokens": 1e9, "stage": "rag", "ready_date": "2026-12-01"},
            {"name": "now", "tokens": 1e9, "stage": "rlhf"},
        ],
    )
    assert day("2027-02-15") == 45.0 and day("2027-03-01") == 59.0
    assert _ready_day(spec, ("cpt",)) == 45.0
    assert _ready_day(spec, ("cpt", "sft")) == 59.0
    assert _ready_day(spec, ("rag",)) == 0.0
    assert _ready_day(spec, ("rlhf",)) == 0.0
    assert _ready_day(spec, ("pretrain",)) == 0.0


# --- auxiliary job sizes --------------------------------------------------------------------------


def pool_of(gpu_count: int, gpu: str = "H100"):
    return parse_plan({"strategy": "icl", "cluster": {"gpu_type": gpu, "gpu_count": gpu_count}})


@pytest.mark.parametrize(
    "wanted, count",
    [
        (0.3, 1),  # at least one GPU
        (1, 1),
        (3, 4),  # log2 3 = 1.58 → 2² = 4
        (5, 4),  # log2 5 = 2.32 → 2² = 4
        (6, 8),  # log2 6 = 2.58 → 2³ = 8
        (12, 16),  # log2 12 = 3.58 → 16 = two servers of 8
        (24, 32),  # log2 24 = 4.58 → 32
        (100, 64),  # 128, more than the pool's 64
    ],
)
def test_an_auxiliary_job_gets_a_power_of_two_gpus_within_its_pool(wanted, count):
    assert _small_cluster_count(pool_of(64).cluster, wanted) == count


def test_an_auxiliary_job_above_one_server_takes_whole_servers():
    # A server of 6 GPUs (a made-up part): 16 wanted → 16 − 16 mod 6 = 12, two whole servers;
    # 6 or fewer stay a power of two on one server (4); a pool of 4 caps 16 at 4.
    pool = pool_of(64).cluster
    six = replace(pool, gpu=replace(pool.gpu, gpus_per_server=6), gpu_count=24)
    assert _small_cluster_count(six, 16) == 12
    assert _small_cluster_count(six, 32) == 24  # capped at the pool's 24, four servers
    assert _small_cluster_count(six, 4) == 4
    assert _small_cluster_count(pool_of(4).cluster, 16) == 4
    assert _small_cluster_count(pool_of(8).cluster, 8) == 8


# --- delivery delay -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "provider, p_late, median_late",
    [("reliable", 0.10, 14.0), ("standard", 0.30, 30.0), ("risky", 0.50, 60.0)],
)
def test_a_pool_is_late_as_often_and_by_as_much_as_its_provider_class(
    provider, p_late, median_late
):
    # reliability.PROVIDER_CLASSES: (probability late, median days late); the delay is lognormal
    # with σ = 0.6, so its quartiles are median × e^(±0.6745 × 0.6) = median × 0.667 and × 1.499.
    pool = replace(pool_of(8).cluster, provider_class=provider)
    delay = _delivery_delay(pool, np.random.default_rng(11), 40_000)
    late = delay > 0
    assert late.mean() == pytest.approx(p_late, abs=0.012)
    assert np.median(delay[late]) == pytest.approx(median_late, rel=0.05)
    q25, q75 = np.percentile(delay[late], [25, 75])
    assert q25 == pytest.approx(0.667 * median_late, rel=0.06)
    assert q75 == pytest.approx(1.499 * median_late, rel=0.06)


# --- cutting charges into calendar months ---------------------------------------------------------

# January, February and March 2027 from 2027-01-01: edges on days 0, 31, 59 and 90.
Q1_EDGES = np.array([0.0, 31.0, 59.0, 90.0])
Q1_LENGTHS = np.array([31.0, 28.0, 31.0])


def charge(category: str, start, finish, *, amount=None, rate=None) -> Charge:
    arr = lambda v: None if v is None else np.asarray(v, dtype=float)  # noqa: E731
    return Charge("x", category, arr(start), arr(finish), amount=arr(amount), rate=arr(rate))


def q1_charges() -> tuple[Charge, ...]:
    return (
        # A salary of 100 (trial 0) from 11 January to 1 March, 310 (trial 1) all quarter.
        charge("people", [10, 0], [59, 90], rate=[100, 310]),
        # 90 spread over the quarter's 90 days (trial 0); nothing (trial 1).
        charge("data", [0, 5], [90, 5], amount=[90, 0]),
        # One-offs: 50 on 1 March (day 59, trial 0), 70 on 1 February (day 31, trial 1).
        charge("inference", [59, 31], [59, 31], amount=[50, 70]),
        # Zero in every trial: no month at all.
        charge("gpu_compute", [0, 0], [90, 90], amount=[0, 0]),
        # A one-off after the last edge (day 95) lands in the last month.
        charge("inference", [95, 95], [95, 95], amount=[5, 5]),
        # 28 a month for 14 of February's 28 days.
        charge("storage", [31, 31], [45, 45], rate=[28, 28]),
        # 10 over one day straddling January and February (noon to noon): 5 in each.
        charge("gpu_compute", [30.5, 30.5], [31.5, 31.5], amount=[10, 10]),
        # One-offs before (day −3) and on (day 0) the start land in January.
        charge("storage", [-3, 0], [-3, 0], amount=[2, 4]),
        # So does one before the start in every trial (day −5).
        charge("inference", [-5, -5], [-5, -5], amount=[1, 1]),
    )


def test_the_months_a_charge_can_touch():
    spans = _spans(q1_charges(), Q1_EDGES)
    # Rate from day 0/10 to 59/90: January to March. The lump from day 0/5 to 90/5: all three
    # (the earliest start to the latest finish over the trials). One-offs on days 59 and 31:
    # February (the month starting on 31) to March. The zero lump: none. Day 95: March only.
    # 31–45: February. 30.5–31.5: January and February. Days −3 and 0, and −5: January.
    assert spans == [(0, 3), (0, 3), (1, 3), None, (2, 3), (1, 2), (0, 2), (0, 1), (0, 1)]
    # A span ending on an edge includes the month starting there (a one-off on the edge).
    edge = (charge("data", [10, 10], [31, 31], amount=[1, 1]),)
    assert _spans(edge, Q1_EDGES) == [(0, 2)]
    assert _spans((charge("data", [10, 10], [20, 20], amount=[1, 1]),), Q1_EDGES) == [(0, 1)]


def test_rates_are_paid_pro_rata_per_calendar_month_and_lumps_per_day():
    charges = q1_charges()
    paid = {0: np.zeros(2), 5: np.zeros(2)}
    out = _month_block(charges, _spans(charges, Q1_EDGES), 2, Q1_EDGES, Q1_LENGTHS, 0.1, 0, 3, paid)
    people, data, inference, storage = (
        out[CATEGORIES.index(c)] for c in ("people", "data", "inference", "storage")
    )
    # Trial 0: 21 of January's 31 days × 100 = 67.74; February in full 100; March nothing.
    # Trial 1: 310 in each full month.
    assert people[:, 0] == pytest.approx([2100 / 31, 100.0, 0.0])
    assert people[:, 1] == pytest.approx([310.0, 310.0, 310.0])
    # 90 over 90 days: 31, 28, 31 — one per day.
    assert data[:, 0] == pytest.approx([31.0, 28.0, 31.0])
    assert not data[:, 1].any()
    # The one-off of 50 on 1 March is March's; 70 on 1 February, February's; 5 after the end,
    # March; 1 before the start, January.
    assert inference[:, 0] == pytest.approx([1.0, 0.0, 55.0])
    assert inference[:, 1] == pytest.approx([1.0, 70.0, 5.0])
    # Half of February at 28 a month: 14; the one-offs of 2 (day −3) and 4 (day 0) in January.
    assert storage[:, 0] == pytest.approx([2.0, 14.0, 0.0])
    assert storage[:, 1] == pytest.approx([4.0, 14.0, 0.0])
    # The day straddling the month edge: half in each month, in both trials.
    assert out[CATEGORIES.index("gpu_compute")] == pytest.approx(np.array([[5, 5], [5, 5], [0, 0]]))
    # Contingency: 10% of each month's other spend. Trial 0, March: 0.1 × (31 + 55) = 8.6;
    # trial 1, February: 0.1 × (310 + 70 + 14 + 5) = 39.9.
    contingency = out[CATEGORIES.index("contingency")]
    assert contingency[2, 0] == pytest.approx(8.6)
    assert contingency[1, 1] == pytest.approx(39.9)
    rest = out[: CATEGORIES.index("contingency")].sum(axis=0)
    assert contingency == pytest.approx(0.1 * rest)
    # The rate charges' totals over the months: 2100/31 + 100 = 167.74 and 930; storage 14.
    assert paid[0] == pytest.approx([2100 / 31 + 100.0, 930.0])
    assert paid[5] == pytest.approx([14.0, 14.0])


def test_a_block_of_months_is_those_months_of_the_whole_matrix():
    charges = q1_charges()
    spans = _spans(charges, Q1_EDGES)
    whole = _month_block(charges, spans, 2, Q1_EDGES, Q1_LENGTHS, 0.25, 0, 3)
    for m0, m1 in ((0, 1), (1, 2), (2, 3), (1, 3)):
        part = _month_block(charges, spans, 2, Q1_EDGES, Q1_LENGTHS, 0.25, m0, m1)
        assert part.shape == (len(CATEGORIES), m1 - m0, 2)
        assert close(part, whole[:, m0:m1])
    # Trial 1, February, with 25% contingency: 0.25 × (310 + 70 + 14 + 5) = 99.75.
    assert whole[CATEGORIES.index("contingency"), 1, 1] == pytest.approx(99.75)


# --- people ---------------------------------------------------------------------------------------


def test_dated_team_lines_cost_their_salary_per_calendar_month_held():
    # From 2027-01-01 (January 31 days, February 28, March 31, April 30):
    # - 2 researchers × 10,000 × 50% from 1 February to 30 April: 10,000 in each of three months;
    # - a backend engineer at 9,300 from 18 to 31 January: 14 of 31 days = 9,300 × 14/31 = 4,200;
    # - a product manager at 6,200 from 1 to 15 March (the end date is paid): 15/31 → 3,000;
    # - a frontend engineer at 5,000 until 31 January, from the start: January in full, 5,000;
    # - legal at 1,000 from 1 January (the start itself) to 31 January: January in full, 1,000.
    # January 4,200 + 5,000 + 1,000 = 10,200; February 10,000; March 13,000; April 10,000:
    # 43,200 in all, in every trial (no line depends on when the program ends).
    team = [
        {
            "role": "algorithm_researcher",
            "headcount": 2,
            "monthly_cost": 10_000,
            "allocation": 0.5,
            "start_date": "2027-02-01",
            "end_date": "2027-04-30",
        },
        {
            "role": "backend",
            "monthly_cost": 9_300,
            "start_date": "2027-01-18",
            "end_date": "2027-01-31",
        },
        {
            "role": "product_manager",
            "monthly_cost": 6_200,
            "start_date": "2027-03-01",
            "end_date": "2027-03-15",
        },
        {"role": "frontend", "monthly_cost": 5_000, "end_date": "2027-01-31"},
        {
            "role": "legal",
            "monthly_cost": 1_000,
            "start_date": "2027-01-01",
            "end_date": "2027-01-31",
        },
    ]
    result = run(icl_plan(team=team), trials=50)
    people = CATEGORIES.index("people")
    assert result.month_labels[:4] == ("2027-01", "2027-02", "2027-03", "2027-04")
    by_month = [10_200, 10_000, 13_000, 10_000]
    assert result.monthly_summary.p50[:4, people] == pytest.approx(by_month)
    assert result.monthly_summary.p90[:4, people] == pytest.approx(by_month)
    assert not result.monthly_summary.p90[4:, people].any()
    assert close(result.cost_by_category["people"], 43_200.0)
    team_stage = by_key(result)["team"]
    assert close(team_stage.costs["people"], 43_200.0)  # the rates' totals, on the stage
    # The team's bar runs from the start to the later of the program's end and the last paid day
    # (30 April is day 119: paid through day 120).
    assert np.all(team_stage.start_days == 0.0)
    assert close(team_stage.finish_days, np.maximum(result.finish_days, 120.0))
    assert team_stage.name == "Team" and team_stage.stream == "operations"
    assert result.team[0].headcount == 2.0 and not result.team_is_default


def test_an_undated_team_line_is_paid_until_the_program_goes_live():
    # One researcher at 3,100 a month from the start to the end of the build (evaluation done):
    # pro rata per calendar month, i.e. 3,100 × 31/31 for January in full and 100 a day in the
    # 31-day January, 3,100 × d/28 for d days of February.
    result = run(icl_plan(team=[{"role": "algorithm_researcher", "monthly_cost": 3_100}]))
    finish = result.finish_days
    jan = np.minimum(finish, 31.0) * 100.0
    feb = np.clip(finish - 31.0, 0.0, 28.0) * 3_100 / 28
    mar = np.clip(finish - 59.0, 0.0, 31.0) * 100.0
    assert finish.max() < 90  # prompts and evaluation: about four weeks
    assert close(result.cost_by_category["people"], jan + feb + mar)
    assert close(result.monthly[:, 0, CATEGORIES.index("people")], jan)


# --- serving --------------------------------------------------------------------------------------


def test_serving_by_the_token_for_a_year():
    # ICL defaults in USD: 5,000 requests a day × 3,000 tokens = 15 M tokens a day at 2.00 USD per
    # million = 30 USD a day, for 12 months × 30.4375 = 365.25 days: 10,957.50 USD.
    result = run(icl_plan(), trials=50)
    serving = by_key(result)["serving"]
    assert close(serving.finish_days - serving.start_days, 365.25)
    assert close(serving.costs["inference"], 10_957.5)
    assert close(result.cost_by_category["inference"], 10_957.5)
    assert not result.cost_by_category["gpu_compute"].any()
    assert serving.depends_on == ("eval",) and serving.name == "Serving"
    assert serving.stream == "operations" and serving.pool is None and serving.gpu_count == 0
    assert serving.gpu_type == ""


def test_serving_on_rented_gpus_without_a_serving_pool():
    # 4 of the plan's H100 at 2.00 USD per GPU-hour for 365.25 days:
    # 365.25 × 24 × 4 × 2.00 = 8,766 × 8 = 70,128 USD. The plan's open pool carries no main run,
    # so it books no window of its own.
    plan = icl_plan(
        cluster={"gpu_type": "H100", "gpu_count": 8, "price_per_gpu_hour": 2.0},
        serving={"gpus": 4},
    )
    result = run(plan, trials=50)
    serving = by_key(result)["serving"]
    assert close(serving.costs["inference"], 70_128.0)
    assert close(result.cost_by_category["inference"], 70_128.0)
    assert serving.gpu_count == 4
    assert "cluster" not in by_key(result)
    assert not result.cost_by_category["gpu_compute"].any()


def test_rag_pays_embedding_the_corpus_serving_and_the_vector_database():
    # RAG defaults in USD: embedding 2e9 tokens at 0.10 USD per million = 200 USD, with the
    # inventory's data (1,234 USD) on the ingest stage. Serving: 5,000 × 1,500 tokens = 7.5 M a day
    # at 2.00 = 15 USD a day × 365.25 = 5,478.75, plus the vector database at 400 a month × 12
    # = 4,800: 10,278.75. Inference in all: 200 + 10,278.75 = 10,478.75 USD.
    plan = {"strategy": "rag", "start_date": START.isoformat(), "currency": "USD"}
    plan["data"] = [{"name": "docs", "tokens": 1e9, "stage": "rag", "cost": 1_234}]
    result = run(plan, trials=50)
    st = by_key(result)
    assert close(st["ingest"].costs["inference"], 200.0)
    assert close(st["ingest"].costs["data"], 1_234.0)
    assert close(st["serving"].costs["inference"], 10_278.75)
    assert close(result.cost_by_category["inference"], 10_478.75)
    assert close(result.cost_by_category["data"], 1_234.0)
    # Storage: no model, so 4-byte ids. 1e9 tokens: 0.004 TB raw archived from the start at 23
    # (0.092 a month), 0.004 TB of ids on the fast tier from the end of the ingest at 140 (0.56).
    rates = storage_rates(result)
    assert [r for _, _, r in rates] == pytest.approx([0.092, 0.56])
    assert np.all(rates[0][0] == 0.0)
    assert np.array_equal(rates[1][0], st["ingest"].finish_days)


def test_an_open_serving_pool_is_paid_per_use_from_its_delivery():
    # 8 H100 at 2.00 USD, no months: paid only while serving runs on them, 365.25 days:
    # 365.25 × 24 × 8 × 2.00 = 140,256 USD, as inference (the pool only serves). An open pool that
    # carries no main run arrives on its date, 1 February = day 31, in every trial. Serving on a
    # pool runs on the whole pool, even if serving.gpus asks for 4.
    pool = {"purpose": "serving", "gpu_type": "H100", "gpu_count": 8, "price_per_gpu_hour": 2.0}
    plan = icl_plan(clusters=[{**pool, "start_date": "2027-02-01"}], serving={"gpus": 4})
    result = run(plan, trials=100)
    st = by_key(result)
    use = result.pools[0]
    assert np.all(use.window_start == 31.0) and np.all(use.window_end == 31.0)
    assert use.open_window and use.stages == ("serving",)
    assert not use.window_cost.any()
    assert close(use.extension_cost, 140_256.0)
    assert close(use.extension_days, 365.25)
    assert "cluster" not in st  # no window is booked
    assert np.all(st["serving"].start_days >= 31.0)
    assert close(st["serving"].costs["inference"], 140_256.0)
    assert close(result.cost_by_category["inference"], 140_256.0)
    assert not result.cost_by_category["gpu_compute"].any()
    assert st["serving"].pool == 0 and st["serving"].gpu_count == 8
    assert st["serving"].gpu_type == "H100 SXM 80GB"


def test_a_booked_serving_pool_is_paid_for_its_window_and_extended_for_a_late_start():
    # 8 H100 at 2.00 USD booked for 12 months from the start: 12 × 30.4375 × 24 × 8 × 2.00
    # = 140,256 USD whatever happens. Serving starts after the evaluation (and the delivery),
    # runs as long as the window, so it runs on past the window's end by exactly the days it
    # started after the window's start: those are paid on top, 24 × 8 × 2.00 = 384 USD a day.
    pool = {
        "purpose": "serving",
        "gpu_type": "H100",
        "gpu_count": 8,
        "price_per_gpu_hour": 2.0,
        "start_date": START.isoformat(),
        "months": 12,
        "provider_class": "risky",
        "name": "Provider X",
    }
    result = run(icl_plan(clusters=[pool]), trials=2000)
    st = by_key(result)
    use = result.pools[0]
    assert close(use.window_end - use.window_start, 365.25)
    assert close(use.window_cost, 140_256.0)
    assert close(st["cluster"].costs["inference"], 140_256.0)
    late_by = st["serving"].start_days - use.window_start
    assert np.all(late_by >= 0) and (late_by > 20).mean() > 0.3  # zero when it waited for the GPUs
    assert close(use.extension_cost, 384.0 * late_by)
    assert close(use.extension_days, late_by)
    assert close(result.cost_by_category["inference"], 140_256.0 + 384.0 * late_by)
    assert not result.cost_by_category["gpu_compute"].any()
    # The booking's bar: the window, on no pool itself, named after the pool.
    booked = st["cluster"]
    assert booked.name == "GPUs booked: 8 × H100 SXM 80GB (Provider X)"
    assert booked.note == "12 months booked (serving), paid used or idle"
    assert booked.pool is None and booked.gpu_count == 8 and booked.stream == "operations"
    assert booked.gpu_type == "H100 SXM 80GB"
    # The same seed draws the same delivery again.
    again = run(icl_plan(clusters=[pool]), trials=2000)
    assert np.array_equal(again.pools[0].window_start, use.window_start)
    assert np.array_equal(booked.start_days, use.window_start)
    assert np.array_equal(booked.finish_days, use.window_end)
    assert not use.open_window and use.stages == ("serving",)
    # A risky provider is late half the time, by a median of 60 days (reliability's classes).
    late = use.window_start > 0
    assert late.mean() == pytest.approx(0.5, abs=0.05)
    assert np.median(use.window_start[late]) == pytest.approx(60.0, rel=0.1)
    assert np.all(st["serving"].start_days >= use.window_start)


def test_an_idle_serving_pool_is_an_operating_cost_and_a_one_month_booking_says_so():
    # A continued-pretraining plan with a serving pool but no serving: 8 H100 at 3.00 USD for one
    # month, 730.5 h × 8 × 3.00 = 17,532 USD, billed as inference (a serving pool), not compute.
    plan = cpt_plan()
    plan["clusters"].append(
        {
            "purpose": "serving",
            "gpu_type": "H100",
            "gpu_count": 8,
            "price_per_gpu_hour": 3.0,
            "start_date": "2027-02-01",
            "months": 1,
        }
    )
    result = run(plan, trials=50)
    idle = by_key(result)["pool_2"]
    assert close(idle.costs["inference"], 17_532.0)
    assert not idle.costs["gpu_compute"].any()
    assert idle.note == "1 month booked (serving), paid used or idle"
    assert idle.name == "GPUs booked: 8 × H100 SXM 80GB"
    assert close(result.cost_by_category["inference"], 17_532.0)
    assert result.pools[1].stages == () and not result.pools[1].extension_cost.any()


# --- data and instruction data --------------------------------------------------------------------


def test_each_data_stage_pays_for_the_datasets_it_reads():
    # Continued pretraining without preference tuning: the data-mix stage pays for the CPT and RAG
    # sets (1,000 + 300); instruction data pays 20,000 samples × 0.50 = 10,000 for labelling plus
    # the SFT set (50) and, with no preference stage, the RLHF set (7): 10,057. 11,357 in all.
    data = [
        {"name": "cpt", "tokens": 2e10, "stage": "cpt", "cost": 1_000, "licence": "cleared"},
        {"name": "rag", "tokens": 1e8, "stage": "rag", "cost": 300, "licence": "cleared"},
        {"name": "sft", "tokens": 1e7, "stage": "sft", "cost": 50, "licence": "cleared"},
        {"name": "pref", "tokens": 1e7, "stage": "rlhf", "cost": 7, "licence": "cleared"},
    ]
    sft = {"samples": 20_000, "cost_per_sample": 0.5}
    result = run(cpt_plan(data=data, sft=sft), trials=50)
    st = by_key(result)
    assert close(st["data"].costs["data"], 1_300.0)
    assert close(st["sft_data"].costs["data"], 10_057.0)
    assert close(result.cost_by_category["data"], 11_357.0)
    assert "pref_data" not in st
    # With DPO the preference stage pays for the RLHF set (7), instruction data no longer does:
    # 10,050 + 7, the same 11,357 in all.
    result = run(cpt_plan(data=data, sft=sft, rlhf={"method": "dpo"}), trials=50)
    st = by_key(result)
    assert close(st["sft_data"].costs["data"], 10_050.0)
    assert close(st["pref_data"].costs["data"], 7.0)
    assert close(st["data"].costs["data"], 1_300.0)
    assert close(result.cost_by_category["data"], 11_357.0)


def test_an_sft_plan_pays_for_all_its_data_on_instruction_data():
    # SFT only: instruction data reads every set (pretrain 100 + cpt 20 + rag 3 + sft 5 + rlhf 1)
    # plus 1,000 samples × 2.00: 2,129. An ICL plan pays the whole inventory on its prompt library.
    data = [
        {"name": n, "tokens": 1e6, "stage": n, "cost": c}
        for n, c in (("pretrain", 100), ("cpt", 20), ("rag", 3), ("sft", 5), ("rlhf", 1))
    ]
    plan = {
        "strategy": "sft",
        "start_date": START.isoformat(),
        "currency": "USD",
        "model": {"params_b": 1.3},
        "cluster": {"gpu_type": "H100", "gpu_count": 8, "price_per_gpu_hour": 2.0},
        "sft": {"samples": 1_000, "cost_per_sample": 2.0, "tokens_per_sample": 100},
        "data": data,
    }
    result = run(plan, trials=50)
    assert close(by_key(result)["sft_data"].costs["data"], 2_129.0)
    # All five sets are stored: 5 × 1e6 tokens × 4 bytes = 2e-5 TB raw, × 2 bytes = 1e-5 TB ids.
    assert result.storage_tb["raw_data_tb"] == pytest.approx(2e-5)
    assert result.storage_tb["tokenised_data_tb"] == pytest.approx(1e-5)
    result = run(icl_plan(data=data), trials=50)
    assert close(by_key(result)["prompts"].costs["data"], 129.0)
    # Without a model, ids take 4 bytes: 2e-5 TB of each.
    assert result.storage_tb == pytest.approx({"raw_data_tb": 2e-5, "tokenised_data_tb": 2e-5})
    plan = {"strategy": "rag", "start_date": START.isoformat(), "data": data}
    assert run(plan, trials=20).storage_tb == pytest.approx(result.storage_tb)


def test_data_stages_wait_for_their_last_dataset():
    # 2027-02-15 is day 45, 2027-03-01 day 59, 2027-04-01 day 90.
    data = [
        {"name": "cpt", "tokens": 2e10, "stage": "cpt", "ready_date": "2027-02-15"},
        {"name": "rag", "tokens": 1e6, "stage": "rag", "ready_date": "2027-03-01"},
        {"name": "sft", "tokens": 1e6, "stage": "sft", "ready_date": "2027-04-01"},
        {"name": "rlhf", "tokens": 1e6, "stage": "rlhf", "ready_date": "2027-03-01"},
    ]
    assert (day("2027-02-15"), day("2027-03-01"), day("2027-04-01")) == (45.0, 59.0, 90.0)
    st = by_key(run(cpt_plan(data=data, rlhf={"method": "dpo"}), trials=50))
    assert np.all(st["data"].start_days == 59.0)  # the mix waits for the RAG set too
    assert np.all(st["sft_data"].start_days == 90.0)
    assert np.all(st["pref_data"].start_days >= st["sft_data"].finish_days)
    st = by_key(run(icl_plan(data=data), trials=50))
    assert np.all(st["prompts"].start_days == 90.0)  # the prompt library reads every set


# --- the GPU pools of a training plan -------------------------------------------------------------


def test_a_booked_main_pool_carries_burn_in_the_main_run_and_sft():
    # 64 H100 × 2.50 USD for 2 months: 2 × 730.5 h × 160 USD/h = 233,760 USD, used or idle.
    result = run(cpt_plan(), trials=100)
    st = by_key(result)
    use = result.pools[0]
    assert close(use.window_cost, 233_760.0)
    assert close(use.window_end - use.window_start, 60.875)
    assert use.stages == ("burn_in", "main", "sft") and not use.open_window
    assert close(use.busy_gpu_hours, sum(st[k].gpu_hours for k in use.stages))
    assert close(st["main"].gpu_hours, (st["main"].finish_days - st["main"].start_days) * 1536)
    # The whole program fits in the window: nothing paid beyond it.
    assert np.all(st["sft"].finish_days < use.window_end)
    assert not use.extension_cost.any() and not use.extension_days.any()
    assert close(result.cost_by_category["gpu_compute"], 233_760.0)
    booked = st["cluster"]
    assert booked.name == "GPUs booked: 64 × H100 SXM 80GB"
    assert booked.note == "2 months booked (main training), paid used or idle"
    # March 2027 (day 59) is its first month when the GPUs arrive on time.
    on_time = use.window_start == 59.0
    assert on_time.mean() > 0.7
    march = result.month_labels.index("2027-03")
    gpu = result.monthly[:, :, CATEGORIES.index("gpu_compute")]
    assert close(gpu[on_time, march], 31 * 24 * 160.0)  # 119,040 USD
    assert not gpu[:, :march].any()


def test_an_open_main_cluster_is_paid_to_the_end_of_the_main_run_then_per_use():
    # The older single cluster: 64 H100 at 2.50 from delivery to the end of the main run, then SFT
    # on 8 of them (the default, min(64, 8)), paid per use: its days × 24 × 8 × 2.50 = 480 a day.
    plan = cpt_plan()
    plan["cluster"] = {"gpu_type": "H100", "gpu_count": 64, "price_per_gpu_hour": 2.5}
    del plan["clusters"]
    result = run(plan, trials=100)
    st = by_key(result)
    use = result.pools[0]
    reserved = st["cluster"]
    assert reserved.name == "Cluster reserved: 64 × H100 SXM 80GB"
    assert reserved.note == "paid from delivery to the end of the main run, idle time included"
    assert use.open_window and np.array_equal(use.window_end, st["main"].finish_days)
    assert close(use.window_cost, (use.window_end - use.window_start) * 24 * 160.0)
    sft_days = st["sft"].finish_days - st["sft"].start_days
    assert st["sft"].gpu_count == 8
    assert close(st["sft"].costs["gpu_compute"], sft_days * 480.0)
    assert close(use.extension_cost, sft_days * 480.0)
    assert close(use.extension_days, sft_days)
    assert close(result.cost_by_category["gpu_compute"], use.window_cost + sft_days * 480.0)


def test_sft_on_the_open_pool_of_an_sft_plan_is_paid_per_use_at_any_size():
    # No main run: the pool books no window; 16 GPUs asked on an 8-GPU open pool are taken (paid
    # per use): days × 24 × 16 × 2.00 = 768 USD a day.
    plan = {
        "strategy": "sft",
        "start_date": START.isoformat(),
        "currency": "USD",
        "model": {"params_b": 1.3},
        "cluster": {"gpu_type": "H100", "gpu_count": 8, "price_per_gpu_hour": 2.0},
        "sft": {"samples": 40_000, "gpu_count": 16, "runs": 2},
    }
    result = run(plan, trials=100)
    st = by_key(result)
    sft = st["sft"]
    assert "cluster" not in st and sft.gpu_count == 16
    days = sft.finish_days - sft.start_days
    assert close(sft.costs["gpu_compute"], days * 768.0)
    assert close(sft.gpu_hours, days * 24 * 16)
    assert close(result.cost_by_category["gpu_compute"], days * 768.0)
    assert sft.name == "SFT (2 runs)" and sft.depends_on == ("sft_data",)


def test_a_booked_finetune_pool_gives_sft_its_gpus():
    # An SFT plan's own booked pool of 16: the job takes all 16, whatever sft.gpu_count says (8).
    pool = {
        "purpose": "finetune",
        "gpu_type": "H100",
        "gpu_count": 16,
        "start_date": "2027-02-01",
        "months": 1,
        "price_per_gpu_hour": 2.0,
    }
    plan = sft_only(clusters=[pool], sft={"gpu_count": 8})
    del plan["cluster"]
    assert by_key(run(plan, trials=10))["sft"].gpu_count == 16
    # A CPT plan's separate finetune pool of 16: the 8 asked for.
    plan = cpt_plan(sft={"gpu_count": 8})
    plan["clusters"].append(pool)
    sft = by_key(run(plan, trials=10))["sft"]
    assert sft.gpu_count == 8 and sft.pool == 1


def test_sft_fine_tunes_on_sequences_of_at_most_4096_tokens():
    # A model trained on 8,192-token sequences fine-tunes on 4,096-token ones: its SFT job is the
    # same as the same model's at 4,096 — with the same seed, the same days in every trial.
    def sft_of(seq_len: int):
        plan = cpt_plan(training={"tokens": 2e10, "precision": "bf16", "seq_len": seq_len})
        return by_key(run(plan, trials=20))["sft"]

    long, short = sft_of(8192), sft_of(4096)
    assert np.allclose(durations(long), durations(short), rtol=1e-12, atol=0)
    assert not np.allclose(durations(sft_of(2048)), durations(short), rtol=1e-6, atol=0)


def test_each_sft_run_takes_its_compute_time_plus_a_day():
    # 2e6 samples × 800 tokens × 3 epochs = 4.8e9 tokens a run: 6 × 1.311e9 × 4.8e9 = 3.78e19
    # FLOPs on 8 H100 (7.9e15 FLOP/s at 989.4 TFLOPS each) is 4,771 s at full use — 0.11 to
    # 0.14 days at 40–50% MFU. Three runs with a day of evaluation after each: 3 × (1.11 to
    # 1.14) ≈ 3.3 to 3.4 days at the median.
    plan = sft_only(sft={"samples": 2e6, "tokens_per_sample": 800, "epochs": 3, "runs": 3})
    days = durations(by_key(run(plan, trials=3000))["sft"])
    assert 3.25 < median(days) < 3.5


def test_an_sft_job_that_does_not_fit_says_by_how_much():
    # A 70B model: 70e9 × 16 bytes = 1,120 GB of state, more than 8 × 80 GB.
    plan = sft_only(model={"params_b": 70}, rlhf={"method": "dpo"})
    st = by_key(run(plan, trials=10))
    assert st["sft"].shortfall_gib > 0
    # DPO's memory is checked as the same model trained on the same GPUs: the same shortfall.
    assert st["rlhf"].shortfall_gib == st["sft"].shortfall_gib


def test_sft_on_the_main_pool_of_a_training_plan_gets_a_power_of_two_of_gpus():
    # 24 GPUs asked on the 64-GPU main pool: 2^round(log2 24 = 4.58) = 32.
    st = by_key(run(cpt_plan(sft={"gpu_count": 24}), trials=20))
    assert st["sft"].gpu_count == 32
    assert st["sft"].depends_on == ("sft_data", "main")


# --- storage (USD list prices: 140 per TB-month on the fast tier, 23 archived) --------------------

# The 1.3B shape inferred for ``{"params_b": 1.3}``, and what it keeps (14 bytes a parameter for a
# full BF16 training state with Adam, 2 for BF16 weights).
PARAMS_1_3B = 1_311_311_872
STATE_TB = 0.018358366208  # 14 × 1,311,311,872 = 18,358,366,208 bytes
WEIGHTS_TB = 0.002622623744  # 2 × 1,311,311,872 = 2,622,623,744 bytes


def storage_rates(result) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """The storage charges: (start, finish, rate per month) — each is constant over the trials."""
    out = []
    for ch in result.charges:
        if ch.category == "storage":
            assert ch.stage == "storage" and ch.rate is not None and ch.amount is None
            assert np.all(ch.rate == ch.rate[0])
            out.append((ch.start, ch.finish, float(ch.rate[0])))
    return out


def test_storage_of_a_continued_pretraining_program_follows_the_default_policy():
    # Keep the last 3 states on the fast tier while the main run writes them:
    #   3 × 0.018358366208 TB × 140 = 7.71051380736 USD a month, from the main run's start to end;
    # archive one state at 25, 50, 75 and 100% of the main run: 0.018358366208 × 23
    #   = 0.422242422784 a month each, from that point to the end of the program;
    # archive the weights of the 3 SFT runs: 3 × 0.002622623744 × 23 = 0.180961038336 a month
    #   from the end of SFT;
    # raw text, 2e10 tokens × 4 bytes = 0.08 TB archived from the start (no ready date):
    #   0.08 × 23 = 1.84 a month;
    # token ids, 2 bytes each below a 65,536 vocabulary: 0.04 TB on the fast tier from the end of
    #   the data-mix build: 0.04 × 140 = 5.6 a month.
    result = run(cpt_plan(), trials=50)
    spec = result.spec
    assert spec.model.total_params() == PARAMS_1_3B and spec.model.vocab <= 65_536
    st = by_key(result)
    main, end = st["main"], result.finish_days
    rates = storage_rates(result)
    assert [r for _, _, r in rates] == pytest.approx(
        [7.71051380736] + [0.422242422784] * 4 + [0.180961038336, 1.84, 5.6], rel=1e-12
    )
    (hot_start, hot_end, _), *archived = rates
    assert np.array_equal(hot_start, main.start_days) and np.array_equal(hot_end, main.finish_days)
    length = main.finish_days - main.start_days
    for (start, finish, _), frac in zip(archived[:4], (0.25, 0.5, 0.75, 1.0), strict=True):
        assert close(start, main.start_days + frac * length)
        assert np.array_equal(finish, end)
    assert np.array_equal(archived[4][0], st["sft"].finish_days)
    assert np.all(archived[5][0] == 0.0)
    assert np.array_equal(archived[6][0], st["data"].finish_days)
    assert all(np.array_equal(finish, end) for _, finish, _ in archived)
    assert result.storage_tb == pytest.approx(
        {
            "checkpoint_tb": STATE_TB,
            "weights_tb": WEIGHTS_TB,
            "raw_data_tb": 0.08,
            "tokenised_data_tb": 0.04,
        },
        rel=1e-12,
    )
    storage = st["storage"]
    assert storage.name == "Storage" and storage.stream == "operations"
    assert np.all(storage.start_days == 0.0) and np.array_equal(storage.finish_days, end)


def test_raw_data_is_archived_from_its_ready_date():
    # The CPT set arrives on 25 January (day 24): 7 of January's 31 days archived,
    # 1.84 × 7/31 = 0.41548… USD in January — where the data-mix build has not yet finished
    # (the token ids wait for it), that is all of January's storage.
    data = [{"name": "domain", "tokens": 2e10, "stage": "cpt", "ready_date": "2027-01-25"}]
    result = run(cpt_plan(data=data), trials=200)
    st = by_key(result)
    rates = storage_rates(result)
    assert np.all(rates[6][0] == 24.0) and rates[6][2] == pytest.approx(1.84)
    storage = result.monthly[:, 0, CATEGORIES.index("storage")]
    waiting = st["data"].finish_days >= 31
    assert waiting.mean() > 0.9
    assert close(storage[waiting], 1.84 * 7 / 31)


def test_storage_without_a_model_and_with_a_custom_policy():
    # An ICL plan has no model: token ids are taken as 4 bytes. 5e11 tokens: raw 2 TB and ids
    # 2 TB; 2.5e11 tokens: 1 TB each. At 1,000 per TB-month hot and 100 archived: raw 2 × 100
    # = 200 a month from the ready date (day 31) and 1 × 100 = 100 from the start (its ready date,
    # 2026-12-01, is before the program); ids 2 × 1,000 = 2,000 and 1,000 a month from the end
    # of the prompt library. In all 3 TB of raw text and 3 TB of ids.
    plan = icl_plan(
        data=[
            {"name": "docs", "tokens": 5e11, "stage": "rag", "ready_date": "2027-02-01"},
            {"name": "faq", "tokens": 2.5e11, "stage": "sft", "ready_date": "2026-12-01"},
        ],
        storage={"price_per_tb_month": 1000, "archive_price_per_tb_month": 100, "keep_last": 5},
    )
    result = run(plan, trials=50)
    rates = storage_rates(result)
    assert [r for _, _, r in rates] == pytest.approx([200.0, 2_000.0, 100.0, 1_000.0])
    assert np.all(rates[0][0] == 31.0) and np.all(rates[2][0] == 0.0)
    prompts = by_key(result)["prompts"]
    assert np.array_equal(rates[1][0], prompts.finish_days)
    assert np.array_equal(rates[3][0], prompts.finish_days)
    assert all(np.array_equal(finish, result.finish_days) for _, finish, _ in rates)
    assert result.storage_tb == {"raw_data_tb": 3.0, "tokenised_data_tb": 3.0}


def test_each_dataset_is_tokenised_by_the_stage_that_reads_it_and_tuned_weights_are_archived():
    # A CPT plan with DPO. Token ids (2 bytes) on the fast tier at 140 per TB-month: the CPT set's
    # (2e10 → 0.04 TB, 5.6 a month), the pretraining set's (1.5e9 → 0.003 TB, 0.42) and the RAG
    # set's (1e9 → 0.28) from the end of the data-mix build; the SFT set's (3e9 → 0.84) from the
    # end of instruction data; the preference set's (5e8 → 0.14) from the end of preference data.
    # Raw text (4 bytes) archived at 23 from the start: 1.84, 0.138, 0.092, 0.276 and 0.046.
    # The preference-tuned weights, one run: 0.002622623744 TB × 23 = 0.060320346112 a month from
    # the end of DPO (after the 3 SFT runs' 0.180961038336).
    data = [
        {"name": "cpt", "tokens": 2e10, "stage": "cpt", "licence": "cleared"},
        {"name": "web", "tokens": 1.5e9, "stage": "pretrain", "licence": "cleared"},
        {"name": "rag", "tokens": 1e9, "stage": "rag", "licence": "cleared"},
        {"name": "sft", "tokens": 3e9, "stage": "sft", "licence": "cleared"},
        {"name": "pref", "tokens": 5e8, "stage": "rlhf", "licence": "cleared"},
    ]
    result = run(cpt_plan(data=data, rlhf={"method": "dpo"}), trials=30)
    st = by_key(result)
    rates = storage_rates(result)
    assert [r for _, _, r in rates[5:7]] == pytest.approx([0.180961038336, 0.060320346112])
    assert np.array_equal(rates[5][0], st["sft"].finish_days)
    assert np.array_equal(rates[6][0], st["rlhf"].finish_days)
    by_rate = {round(r, 9): start for start, _, r in rates[7:]}
    assert sorted(by_rate) == [0.046, 0.092, 0.138, 0.14, 0.276, 0.28, 0.42, 0.84, 1.84, 5.6]
    for raw in (0.046, 0.092, 0.138, 0.276, 1.84):
        assert np.all(by_rate[raw] == 0.0)
    for ids in (5.6, 0.42, 0.28):
        assert np.array_equal(by_rate[ids], st["data"].finish_days)
    assert np.array_equal(by_rate[0.84], st["sft_data"].finish_days)
    assert np.array_equal(by_rate[0.14], st["pref_data"].finish_days)
    # 2.6e10 tokens in all: 0.104 TB of raw text, 0.052 TB of ids.
    assert result.storage_tb["raw_data_tb"] == pytest.approx(0.104)
    assert result.storage_tb["tokenised_data_tb"] == pytest.approx(0.052)
    assert st["rlhf"].note == "" and st["rlhf"].name == "Preference tuning (DPO)"


@pytest.mark.parametrize("vocab, id_bytes", [(65_536, 2), (65_537, 4)])
def test_token_ids_take_two_bytes_up_to_a_65536_vocabulary(vocab, id_bytes):
    # 2e10 tokens × 2 bytes = 0.04 TB (× 140 = 5.6 a month); × 4 bytes = 0.08 TB (11.2 a month).
    plan = cpt_plan()
    plan["model"] = {"params_b": 1.3, "vocab": vocab}
    result = run(plan, trials=20)
    assert result.storage_tb["tokenised_data_tb"] == pytest.approx(0.02 * id_bytes)
    assert storage_rates(result)[-1][2] == pytest.approx(2.8 * id_bytes)


def test_keep_last_and_the_prices_of_a_cny_plan():
    # In CNY the default prices are the USD ones × 7.2: 1,008 hot and 165.6 archived per TB-month.
    # Keeping 5 states: 5 × 0.018358366208 × 1,008 = 92.526165688… a month; 2e10 raw tokens
    # archived: 0.08 × 165.6 = 13.248; two SFT runs' weights: 2 × 0.002622623744 × 165.6
    # = 0.868613… a month.
    plan = cpt_plan(currency="CNY", storage={"keep_last": 5}, sft={"runs": 2})
    result = run(plan, trials=20)
    rates = [r for _, _, r in storage_rates(result)]
    assert rates[0] == pytest.approx(5 * STATE_TB * 1_008)
    assert rates[0] == pytest.approx(92.5261656883, rel=1e-9)
    assert rates[1] == pytest.approx(STATE_TB * 165.6)
    assert rates[5] == pytest.approx(2 * WEIGHTS_TB * 165.6)
    assert rates[6] == pytest.approx(13.248)


# --- durations: lognormal around the planning medians ---------------------------------------------


def assert_lognormal(days: np.ndarray, median_days: float, sigma: float) -> None:
    """``days`` drawn lognormally around ``median_days`` with ``sigma`` (a few thousand trials:
    the geometric mean within 3%, the spread of the logarithms within 10%)."""
    assert median(days) == pytest.approx(median_days, rel=0.03)
    assert float(np.std(np.log(days))) == pytest.approx(sigma, rel=0.1)


def durations(stage) -> np.ndarray:
    return stage.finish_days - stage.start_days


def test_the_icl_stages_take_their_planning_medians():
    # A prompt library: two weeks; evaluation: two weeks (σ 0.3 each). The program goes live at
    # the end of the evaluation.
    result = run(icl_plan(), trials=3000)
    st = by_key(result)
    assert_lognormal(durations(st["prompts"]), 14.0, 0.3)
    assert_lognormal(durations(st["eval"]), 14.0, 0.3)
    assert np.array_equal(result.finish_days, st["eval"].finish_days)
    assert st["prompts"].name == "Prompt library" and st["prompts"].stream == "algorithm"
    assert result.main_run is None and result.goodput is None
    # Without trials and seed: 2,000 trials from seed 0.
    default = simulate_program(parse_plan(icl_plan()))
    assert (default.trials, default.seed, default.finish_days.shape) == (2000, 0, (2000,))
    assert st["eval"].name == "Evaluation" and st["eval"].depends_on == ("prompts",)


def test_the_rag_stages_take_their_planning_medians():
    # Ingest: a week plus a week per 5e9 tokens, 1e10 tokens → 7 + 14 = 21 days; the index five
    # days; retrieval evaluation and evaluation two weeks each (σ 0.3).
    plan = {"strategy": "rag", "start_date": START.isoformat(), "rag": {"corpus_tokens": 1e10}}
    result = run(plan, trials=3000)
    st = by_key(result)
    assert_lognormal(durations(st["ingest"]), 21.0, 0.3)
    assert_lognormal(durations(st["index"]), 5.0, 0.3)
    assert_lognormal(durations(st["retrieval_eval"]), 14.0, 0.3)
    assert_lognormal(durations(st["eval"]), 14.0, 0.3)
    assert [(st[k].name, st[k].stream, st[k].depends_on) for k in st if k != "serving"][:4] == [
        ("Corpus ingest and embedding", "data", ()),
        ("Vector index", "engineering", ("ingest",)),
        ("Retrieval evaluation", "algorithm", ("index",)),
        ("Evaluation", "algorithm", ("retrieval_eval",)),
    ]
    assert np.array_equal(result.finish_days, st["eval"].finish_days)
    # CNY defaults: 1e10 tokens × 0.70 CNY per million = 7,000 CNY of embedding.
    assert close(st["ingest"].costs["inference"], 7_000.0)


def sft_only(**changes) -> dict:
    plan = {
        "strategy": "sft",
        "start_date": START.isoformat(),
        "currency": "USD",
        "model": {"params_b": 1.3},
        "cluster": {"gpu_type": "H100", "gpu_count": 8, "price_per_gpu_hour": 2.0},
        "sft": {"samples": 40_000, "tokens_per_sample": 800, "epochs": 3, "runs": 3},
    }
    plan.update(changes)
    return plan


def test_the_sft_stages_take_their_planning_medians():
    # Instruction data: two weeks plus a day per 5,000 samples, 40,000 → 14 + 8 = 22 days (σ 0.3).
    # SFT: 3 runs of 40,000 × 800 × 3 = 9.6e7 tokens (minutes on 8 H100) plus a day of evaluation
    # each: ≈ 3 × 1 = 3 days (σ 0.3). Preference data: two weeks plus a day per 5,000 pairs,
    # 30,000 → 20 days; DPO on a few minutes of compute, twice, plus five days of tuning: ≈ 5
    # days (σ 0.35). Release: a week (σ 0.3).
    result = run(sft_only(rlhf={"method": "dpo", "preference_pairs": 30_000}), trials=3000)
    st = by_key(result)
    assert_lognormal(durations(st["sft_data"]), 22.0, 0.3)
    assert_lognormal(durations(st["sft"]), 3.0, 0.3)
    assert_lognormal(durations(st["pref_data"]), 20.0, 0.3)
    assert_lognormal(durations(st["rlhf"]), 5.0, 0.35)
    assert_lognormal(durations(st["release"]), 7.0, 0.3)
    assert close(st["sft"].gpu_hours, durations(st["sft"]) * 24 * 8)
    assert close(st["rlhf"].gpu_hours, durations(st["rlhf"]) * 24 * 8)
    assert close(result.gpu_hours, st["sft"].gpu_hours + st["rlhf"].gpu_hours)
    assert np.array_equal(result.finish_days, st["release"].finish_days)
    rows = [(s.key, s.name, s.stream, s.depends_on) for s in result.stages]
    assert rows[:7] == [
        ("sft_data", "Instruction data", "data", ()),
        ("sft", "SFT (3 runs)", "algorithm", ("sft_data",)),
        ("pref_data", "Preference data", "data", ("sft_data",)),
        ("rlhf", "Preference tuning (DPO)", "algorithm", ("sft", "pref_data")),
        ("eval", "Evaluation", "algorithm", ("rlhf",)),
        ("release", "Release", "engineering", ("eval",)),
        ("team", "Team", "operations", ()),
    ]
    assert st["sft"].note == "96M tokens per run"  # 9.6e7 tokens
    assert st["rlhf"].gpu_count == 8 and st["rlhf"].pool == 0 and st["sft"].pool == 0
    assert st["rlhf"].gpu_type == "H100 SXM 80GB" == st["sft"].gpu_type


def test_the_continued_pretraining_stages_and_their_medians():
    # Data-mix build: two weeks plus three weeks per trillion tokens per pair of data engineers,
    # 2e10 cleared raw tokens with nobody listed (one engineer, half a pair):
    # 14 + 21 × 0.02 / 0.5 = 14.84 days (σ 0.35). Burn-in of 64 GPUs: a week (σ 0.3); of 256:
    # 7 + 2 × log2(256 / 64) = 11 days.
    result = run(cpt_plan(), trials=3000)
    st = by_key(result)
    assert_lognormal(durations(st["data"]), 14.84, 0.35)
    assert_lognormal(durations(st["burn_in"]), 7.0, 0.3)
    assert np.all(st["burn_in"].start_days >= result.pools[0].window_start)
    assert (st["burn_in"].start_days == result.pools[0].window_start).all()
    main = st["main"]
    assert close(durations(main), result.goodput.wall_hours / 24.0)
    rows = [(s.key, s.name, s.stream, s.depends_on) for s in result.stages]
    assert rows[:7] == [
        ("data", "Data mix build", "data", ()),
        ("burn_in", "Infrastructure burn-in", "engineering", ()),
        ("main", "Continued pretraining", "engineering", ("data", "burn_in")),
        ("sft_data", "Instruction data", "data", ()),
        ("sft", "SFT (3 runs)", "algorithm", ("sft_data", "main")),
        ("eval", "Evaluation", "algorithm", ("sft",)),
        ("release", "Release", "engineering", ("eval",)),
    ]
    assert st["burn_in"].gpu_count == 64 == main.gpu_count and main.pool == 0
    assert st["burn_in"].gpu_type == "H100 SXM 80GB" == main.gpu_type
    assert main.note.endswith(f", MFU {result.main_run.layout.mfu:.0%}")
    plan = cpt_plan()
    plan["clusters"][0]["gpu_count"] = 256
    st = by_key(run(plan, trials=3000))
    assert_lognormal(durations(st["burn_in"]), 11.0, 0.3)


def test_the_planning_medians_scale_each_trials_draw_exactly():
    # A lognormal duration is its median × e^(σz): with the same seed, two plans draw the same z,
    # so a stage's durations in two plans stand in the ratio of their medians, trial by trial.
    def stage_days(plan: dict, key: str) -> np.ndarray:
        return durations(by_key(run(plan, trials=100))[key])

    # Burn-in, 7 + 2 × log2(GPUs / 64) days, never under 7: 64 → 7, 128 → 9, 256 → 11, 32 → 7.
    def burn_in(gpus: int) -> np.ndarray:
        plan = cpt_plan()
        plan["clusters"][0]["gpu_count"] = gpus
        return stage_days(plan, "burn_in")

    base = burn_in(64)
    assert np.allclose(burn_in(128) / base, 9 / 7, rtol=1e-12, atol=0)
    assert np.allclose(burn_in(256) / base, 11 / 7, rtol=1e-12, atol=0)
    assert np.allclose(burn_in(32) / base, 1.0, rtol=1e-12, atol=0)
    # Instruction data, 14 days + 1 per 5,000 samples: 40,000 → 22, 90,000 → 32.
    ratio = stage_days(sft_only(sft={"samples": 90_000}), "sft_data") / stage_days(
        sft_only(sft={"samples": 40_000}), "sft_data"
    )
    assert np.allclose(ratio, 32 / 22, rtol=1e-12, atol=0)
    # SFT, runs × (the run's days + 1): 3 runs take three times as long as 1.
    ratio = stage_days(sft_only(sft={"runs": 3}), "sft") / stage_days(
        sft_only(sft={"runs": 1}), "sft"
    )
    assert np.allclose(ratio, 3.0, rtol=1e-12, atol=0)
    # Preference data, 14 days + 1 per 5,000 pairs: 30,000 → 20, 80,000 → 30.
    ratio = stage_days(
        sft_only(rlhf={"method": "dpo", "preference_pairs": 80_000}), "pref_data"
    ) / stage_days(sft_only(rlhf={"method": "dpo", "preference_pairs": 30_000}), "pref_data")
    assert np.allclose(ratio, 30 / 20, rtol=1e-12, atol=0)

    # Corpus ingest, 7 days + 7 per 5e9 tokens: 5e9 → 14, 1e10 → 21.
    def ingest(corpus: float) -> np.ndarray:
        return stage_days({"strategy": "rag", "rag": {"corpus_tokens": corpus}}, "ingest")

    assert np.allclose(ingest(1e10) / ingest(5e9), 21 / 14, rtol=1e-12, atol=0)


def test_two_full_runs_add_their_wall_clock_times():
    # Each trial draws two runs from the goodput Monte Carlo; the main run lasts both.
    result = run(cpt_plan(full_runs=2), trials=100)
    main = by_key(result)["main"]
    wall = result.goodput.wall_hours
    assert wall.shape == (200,)
    assert close(durations(main), (wall[:100] + wall[100:]) / 24.0)
    assert close(main.gpu_hours, (wall[:100] + wall[100:]) * 64)
    assert main.name == "Continued pretraining × 2 runs"


# --- the main run's inputs ------------------------------------------------------------------------


def test_the_main_run_reliability_inputs_come_from_the_plan():
    # The goodput Monte Carlo gets the plan's pool: 64 H100 (8 per server), an unstable class with
    # a risky provider, async checkpoints written at 5 GB/s: a 14-byte-per-parameter state of the
    # 1.3B model, 18,358,366,208 bytes / 5e9 B/s = 3.6716732416 s per save. Two full runs of 30
    # trials → 60 draws, seeded one above the program's seed (7 + 1 = 8).
    plan = cpt_plan(full_runs=2)
    plan["clusters"][0].update(
        reliability_class="unstable",
        provider_class="risky",
        checkpoint="async",
        checkpoint_storage_gbps=5,
    )
    result = run(plan, trials=30, seed=7)
    g = result.goodput.spec
    assert g.gpu_count == 64 and g.gpus_per_server == 8
    assert g.checkpoint_save_s == pytest.approx(3.6716732416, rel=1e-12)
    assert (g.reliability_class, g.provider_class, g.checkpoint) == ("unstable", "risky", "async")
    assert g.precision == "bf16" and g.params == PARAMS_1_3B
    assert g.trials == 60 and g.seed == 8
    assert g.work_hours == result.main_run.wall_clock_hours
    # The main pool's window opens on 1 March (day 59) plus the run's own delivery delay.
    use = result.pools[0]
    assert close(use.window_start, 59.0 + result.goodput.start_delay_days[:30])
    assert (use.window_start > 59.0).any()


def test_the_main_pool_is_delivered_as_late_as_its_provider_class():
    # reliability.PROVIDER_CLASSES, drawn with the main run: a risky provider is late half the
    # time by a median of 60 days; a reliable one 10% of the time by a median of 14 days. The
    # window, the burn-in and the main run move with it.
    for provider, p_late, median_late in (("risky", 0.5, 60.0), ("reliable", 0.1, 14.0)):
        plan = cpt_plan()
        plan["clusters"][0]["provider_class"] = provider
        result = run(plan, trials=2500, seed=3)
        late_by = result.pools[0].window_start - 59.0
        late = late_by > 0
        assert late.mean() == pytest.approx(p_late, abs=0.035)
        assert np.median(late_by[late]) == pytest.approx(median_late, rel=0.2)
        assert np.all(late_by >= 0)
        assert np.array_equal(by_key(result)["burn_in"].start_days, result.pools[0].window_start)


def test_a_full_precision_plan_keeps_twelve_byte_states():
    # FP32 with Adam: 4 bytes of weights + 8 of moments = 12 per parameter:
    # 12 × 1,311,311,872 = 15,735,742,464 bytes = 0.015735742464 TB, written at the standard
    # class's 20 GB/s in 0.7867871232 s. (BF16: 14 bytes, 0.9179183104 s.)
    plan = cpt_plan(training={"tokens": 2e10, "precision": "fp32"})
    result = run(plan, trials=20)
    assert result.storage_tb["checkpoint_tb"] == pytest.approx(0.015735742464, rel=1e-12)
    assert result.goodput.spec.checkpoint_save_s == pytest.approx(0.7867871232, rel=1e-12)
    assert result.goodput.spec.precision == "fp32"
    bf16 = run(cpt_plan(), trials=20)
    assert bf16.goodput.spec.checkpoint_save_s == pytest.approx(0.9179183104, rel=1e-12)
    # FP32 matrix multiplies on an H100 (67 TFLOPS) are far slower than BF16 (989 TFLOPS).
    assert result.main_run.wall_clock_hours > 5 * bf16.main_run.wall_clock_hours
    fp8 = run(cpt_plan(training={"tokens": 2e10, "precision": "fp8"}), trials=20)
    assert fp8.main_run.wall_clock_hours < bf16.main_run.wall_clock_hours


def test_the_main_run_trains_the_plans_tokens_in_its_batches():
    # 2e10 tokens in batches of 4 Mi tokens (4,194,304) of 2,048-token sequences = 2,048
    # sequences: 2e10 / 4,194,304 = 4,768.37 steps, on the plan's 64 H100.
    est = run(cpt_plan(), trials=10).main_run
    assert est.tokens == 2e10 and est.gpu_count == 64
    assert est.steps == pytest.approx(2e10 / 4_194_304)
    assert est.params_total == PARAMS_1_3B


def test_a_main_run_that_does_not_fit_says_by_how_much():
    # A 70B model on 8 H100 of 80 GB: 70e9 × 16 bytes of state alone is 1,120 GB > 640 GB.
    plan = cpt_plan(model={"params_b": 70}, training={"tokens": 1e9, "precision": "bf16"})
    plan["clusters"][0]["gpu_count"] = 8
    result = run(plan, trials=10)
    main = by_key(result)["main"]
    assert not result.main_run.fits and result.main_run.shortfall_gib > 0
    assert main.shortfall_gib == result.main_run.shortfall_gib


# --- the builder ----------------------------------------------------------------------------------


def builder(trials: int = 4):
    from llmplanner.simulation.program import _Builder

    return _Builder(parse_plan(icl_plan()), np.random.default_rng(0), trials)


def test_a_stage_starts_after_its_dependencies_its_date_and_its_delay():
    b = builder()
    b.add("a", T("A"), "data", (), np.array([1.0, 2.0, 3.0, 4.0]))
    b.add("b", T("B"), "data", (), np.full(4, 10.0), not_before=2.5)
    # After both (finish 1–4 and 12.5), no earlier than day 11, then 3 days late: 15.5, 15.5,
    # 15.5, 15.5 → finishing 5 days later.
    c = b.add(
        "c",
        T("C"),
        "algorithm",
        ("a", "b"),
        np.full(4, 5.0),
        not_before=11.0,
        delay_days=np.full(4, 3.0),
    )
    assert close(c.start_days, 15.5) and close(c.finish_days, 20.5)
    d = b.add(
        "d", T("D"), "algorithm", ("a",), np.full(4, 5.0), delay_days=np.array([0, 1, 2, 3.0])
    )
    assert close(d.start_days, [1.0, 3.0, 5.0, 7.0])
    # A stage with no GPU, no note and no charge: empty defaults, read-only shared zeros.
    assert (c.gpu_type, c.gpu_count, c.note, c.shortfall_gib, c.pool) == ("", 0, "", 0.0, None)
    assert not c.gpu_hours.any() and not c.gpu_hours.flags.writeable
    assert all(not v.any() and not v.flags.writeable for v in c.costs.values())
    # An exact finish overrides start + duration; an exact start overrides the dependencies.
    e = b.add(
        "e",
        T("E"),
        "data",
        ("c",),
        np.full(4, 1.0),
        start_days=np.zeros(4),
        finish_days=np.full(4, 0.5),
    )
    assert np.all(e.start_days == 0.0) and np.all(e.finish_days == 0.5)


def test_a_lognormal_median_is_never_below_a_thousandth_of_a_day():
    b = builder(trials=4000)
    half = b.lognormal(0.5, 0.3)
    assert median(half) == pytest.approx(0.5, rel=0.03)
    floor = b.lognormal(0.0, 0.2)
    assert median(floor) == pytest.approx(1e-3, rel=0.03)


def test_a_lump_charge_is_booked_on_its_stage_and_a_rate_is_not_until_the_months_are_known():
    b = builder()
    b.add("s", T("S"), "data", (), np.full(4, 10.0))
    b.charge("s", "data", 0, 10, amount=np.array([1.0, 2.0, 3.0, 4.0]))
    b.charge("s", "data", 2, 1, amount=5.0)  # an end before the start is the start
    b.charge("s", "people", 0, 10, rate=300)  # whole numbers are kept as floats
    s = b.stages["s"]
    assert s.costs["data"].tolist() == [6.0, 7.0, 8.0, 9.0]
    assert not s.costs["people"].any()
    lump, backwards, rate = b.charges
    assert lump.amount.tolist() == [1.0, 2.0, 3.0, 4.0] and lump.rate is None
    assert backwards.start.tolist() == [2.0] * 4 and backwards.finish.tolist() == [2.0] * 4
    assert rate.rate.tolist() == [300.0] * 4 and rate.amount is None
    assert rate.start.dtype == float and rate.finish.tolist() == [10.0] * 4
    assert rate.rate.dtype == float and rate.finish.dtype == float
    assert lump.stage == backwards.stage == rate.stage == "s"
    assert lump.category == "data" and rate.category == "people"
    b.charge("s", "data", 0, 10, amount=7)
    assert b.charges[-1].amount.dtype == float and b.charges[-1].amount.tolist() == [7.0] * 4


# --- the scaling ladder and preference tuning ---------------------------------------------------


def scratch_plan(**changes) -> dict:
    """The CPT plan trained from scratch, with a ladder of 0.2B and 0.5B and no preference stage."""
    plan = cpt_plan(strategy="from_scratch", ladder=[2e8, 5e8], rlhf={"method": "none"})
    plan.update(changes)
    return plan


def test_the_ladder_runs_chinchilla_tokens_on_the_gpus_each_rung_needs():
    # Rungs of 0.2B, 0.5B and 1B under a 1.3B model (1.311e9 parameters) on 64 GPUs:
    # 64 × √(0.2 / 1.311) = 25.0, 64 × √(0.5 / 1.311) = 39.5 and 64 × √(1 / 1.311) = 55.9 GPUs
    # wanted → 2^round(4.64) = 32, 2^round(5.30) = 32 and 2^round(5.80) = 64, where they fit.
    # Tokens: 20 per parameter, 4e9, 1e10 and 2e10 (all under the main run's 3e10). Three days of
    # analysis each on top of minutes of compute: ≈ 3 days (σ 0.25). Each archives a state of
    # 14 bytes per parameter at 23 USD per TB-month: 2.8e9 B = 0.0028 TB → 0.0644 USD a month,
    # 7e9 B → 0.161, 1.4e10 B → 0.322, from the rung's end.
    plan = scratch_plan(ladder=[2e8, 5e8, 1e9], training={"tokens": 3e10, "precision": "bf16"})
    result = run(plan, trials=2000)
    st = by_key(result)
    one, two, three = st["ladder_1"], st["ladder_2"], st["ladder_3"]
    assert (one.name, one.stream, one.depends_on) == (
        "Scaling ladder: 0.2B",
        "algorithm",
        ("burn_in",),
    )
    assert (two.name, two.depends_on) == ("Scaling ladder: 0.5B", ("ladder_1",))
    assert (three.name, three.depends_on) == ("Scaling ladder: 1B", ("ladder_2",))
    assert st["main"].name == "Main pretraining"
    assert st["main"].depends_on == ("data", "burn_in", "ladder_3")
    assert st["data"].name == "Data preparation"
    assert (one.gpu_count, two.gpu_count, three.gpu_count) == (32, 32, 64)
    assert one.pool == two.pool == three.pool == 0
    assert one.note.startswith("4B tokens on 32 GPUs, MFU ")
    assert two.note.startswith("10B tokens on 32 GPUs, MFU ")
    assert three.note.startswith("20B tokens on 64 GPUs, MFU ")
    assert one.gpu_type == "H100 SXM 80GB" and one.shortfall_gib == 0.0
    assert_lognormal(durations(one), 3.0, 0.25)
    assert_lognormal(durations(two), 3.0, 0.25)
    assert close(one.gpu_hours, durations(one) * 24 * 32)
    assert close(three.gpu_hours, durations(three) * 24 * 64)
    rates = storage_rates(result)
    assert [r for _, _, r in rates[5:8]] == pytest.approx([0.0644, 0.161, 0.322])
    for (start, finish, _), rung in zip(rates[5:8], (one, two, three), strict=True):
        assert np.array_equal(start, rung.finish_days)
        assert np.array_equal(finish, result.finish_days)


def test_full_precision_ladder_states_are_twelve_bytes_a_parameter():
    # FP32 with Adam: 12 bytes a parameter. A 0.2B rung: 2.4e9 B = 0.0024 TB × 23 = 0.0552 USD a
    # month (0.0644 in BF16).
    plan = scratch_plan(ladder=[2e8], training={"tokens": 2e10, "precision": "fp32"})
    rates = storage_rates(run(plan, trials=10))
    assert rates[5][2] == pytest.approx(0.0552)


def test_a_ladder_on_its_own_pool_starts_when_the_pool_arrives_and_reports_what_does_not_fit():
    # An 8-GPU experiments pool booked from 1 February (day 31, plus the standard provider's
    # delay): the rungs run there, not after the burn-in of the main pool. A 60B rung needs far
    # more than 8 × 80 GB: it keeps the 8 GPUs and reports the shortfall. Its tokens are capped
    # at the main run's 2e10 (Chinchilla would be 1.2e12).
    plan = scratch_plan(ladder=[2e8, 6e10])
    plan["clusters"].append(
        {
            "purpose": "experiments",
            "gpu_type": "H100",
            "gpu_count": 8,
            "start_date": "2027-02-01",
            "months": 1,
            "price_per_gpu_hour": 3.0,
        }
    )
    result = run(plan, trials=300)
    st = by_key(result)
    one, two = st["ladder_1"], st["ladder_2"]
    exp = result.pools[1]
    assert exp.stages == ("ladder_1", "ladder_2")
    assert one.depends_on == () and one.pool == 1 and one.gpu_count == 8
    assert np.array_equal(one.start_days, exp.window_start)
    assert (exp.window_start > 31).mean() == pytest.approx(0.3, abs=0.08)  # standard provider
    assert np.all(exp.window_start >= 31.0)
    assert two.name == "Scaling ladder: 60B" and two.gpu_count == 8
    assert two.shortfall_gib > 0 and two.note.startswith("20B tokens on 8 GPUs")
    assert st["pool_2"].note == "1 month booked (experiments), paid used or idle"
    assert close(st["pool_2"].costs["gpu_compute"], 730.5 * 8 * 3.0)  # 17,532


def test_an_auxiliary_job_doubles_its_gpus_until_it_fits():
    from llmplanner.simulation.architecture import infer_from_params
    from llmplanner.simulation.program import _fitting_run

    # Training state: 16 bytes a parameter (BF16 weights and gradients, FP32 Adam). A 60B model
    # needs 960 GB: more than 8 × 80 GB, so 8 GPUs are doubled to 16 (60 GB of state each), where
    # it fits. 100B needs 1,600 GB: more than 16 × 80 GB too, so 32. A 13B model (208 GB) fits on
    # the 8 asked for.
    spec = parse_plan(cpt_plan())
    pool = spec.cluster

    def fit(params: float, on=pool):
        model = infer_from_params(params, seq_len=2048, vocab=spec.model.vocab)
        return _fitting_run(spec, on, model, 1e9, 8)

    assert [(c, e.fits) for c, e in (fit(13e9), fit(60e9), fit(100e9))] == [
        (8, True),
        (16, True),
        (32, True),
    ]
    # On a pool of 16 the 100B model fits nowhere: the whole pool, with the shortfall.
    count, est = fit(100e9, on=replace(pool, gpu_count=16))
    assert count == 16 and not est.fits and est.shortfall_gib > 0
    # A server of 4 (a made-up part) hands the goodput model its size.
    four = replace(pool, gpu=replace(pool.gpu, gpus_per_server=4))
    result = simulate_program(replace(spec, clusters=(four,)), trials=10, seed=1)
    assert result.goodput.spec.gpus_per_server == 4


def test_ppo_splits_the_samples_into_prompt_and_response_and_grows_until_it_fits():
    from llmplanner.simulation.program import _ppo_plan

    def spec_of(params_b: float, tokens: float = 800):
        return parse_plan(
            cpt_plan(
                model={"params_b": params_b},
                sft={"tokens_per_sample": tokens},
                rlhf={"method": "ppo", "preference_pairs": 51_200},
            )
        )

    spec = spec_of(1.3)
    pool, model = spec.cluster, spec.model
    # 800 tokens per sample: 400 of prompt, 400 of response; 51,200 pairs in batches of 512:
    # 100 iterations. The compute-bound passes run at the SFT job's MFU.
    plan = _ppo_plan(spec, pool, model, 8, 0.37)
    cfg = plan.config
    assert (cfg.prompt_len, cfg.response_len, cfg.gpu_count, cfg.mfu) == (400, 400, 8, 0.37)
    assert plan.iterations == 100 and plan.memory.fits
    assert cfg.precision == "bf16" and cfg.gpu is pool.gpu
    # 801 tokens: 400 + 401; one token: 1 + 1 (neither may be empty).
    cfg = _ppo_plan(spec_of(1.3, 801), pool, model, 8, 0.37).config
    assert (cfg.prompt_len, cfg.response_len) == (400, 401)
    cfg = _ppo_plan(spec_of(1.3, 1), pool, model, 8, 0.37).config
    assert (cfg.prompt_len, cfg.response_len) == (1, 1)
    # In the plan's precision.
    fp8 = replace(spec, precision="fp8")
    assert _ppo_plan(fp8, pool, model, 8, 0.37).config.precision == "fp8"
    # An MFU outside (0, 1] falls back to 0.4; 1.0 itself is kept.
    assert _ppo_plan(spec, pool, model, 8, 0.0).config.mfu == 0.4
    assert _ppo_plan(spec, pool, model, 8, 1.5).config.mfu == 0.4
    assert _ppo_plan(spec, pool, model, 8, 1.0).config.mfu == 1.0
    # Four resident 30B models do not fit on 8 H100: doubled in whole servers to 16, where they
    # do; 70B ones need all 64 GPUs of the pool.
    big = spec_of(30)
    plan = _ppo_plan(big, big.cluster, big.model, 8, 0.4)
    assert plan.config.gpu_count == 16 and plan.memory.fits
    huge = spec_of(70)
    plan = _ppo_plan(huge, huge.cluster, huge.model, 8, 0.4)
    assert plan.config.gpu_count == 64 and plan.memory.fits
    # On a pool of 32 they fit nowhere: the largest count, with the shortfall.
    small_pool = replace(huge.cluster, gpu_count=32)
    plan = _ppo_plan(huge, small_pool, huge.model, 8, 0.4)
    assert plan.config.gpu_count == 32 and not plan.memory.fits
    assert plan.memory.shortfall_gib > 0


def test_a_ppo_stage_runs_on_the_finetune_gpus_after_sft_and_the_preference_data():
    # 51,201 pairs in batches of 512 prompts: ⌈100.002⌉ = 101 iterations.
    plan = cpt_plan(rlhf={"method": "ppo", "preference_pairs": 51_201})
    st = by_key(run(plan, trials=50))
    rl = st["rlhf"]
    assert rl.name == "RLHF (PPO)" and rl.depends_on == ("sft", "pref_data")
    assert rl.gpu_count == 8 and rl.pool == 0 and rl.shortfall_gib == 0.0
    assert rl.note.startswith("actor, critic, reference and reward model: ")
    assert "GiB per GPU on 8 GPUs; 101 iterations of 512 prompts, " in rl.note
    assert rl.note.endswith(" of each generating")
    assert close(rl.gpu_hours, durations(rl) * 24 * 8)
    assert st["eval"].depends_on == ("rlhf",)


# --- the money per month ------------------------------------------------------------------------


def test_the_monthly_summary_is_the_percentiles_of_every_trials_months_in_any_block_size():
    # An ICL program with a salaried team and a serving pool that may arrive late: the spend per
    # month differs between trials. P50/P90 per month and category, per month over all categories,
    # and of each trial's running total, equal np.percentile of the whole trials × months matrix
    # — whether the months are cut one at a time, two at a time or all at once.
    pool = {
        "purpose": "serving",
        "gpu_type": "H100",
        "gpu_count": 8,
        "price_per_gpu_hour": 2.0,
        "start_date": "2027-02-01",
        "months": 3,
        "provider_class": "risky",
    }
    plan = icl_plan(clusters=[pool], team=[{"role": "backend", "monthly_cost": 3_000}])
    spec, trials = parse_plan(plan), 300
    result = simulate_program(spec, trials=trials, seed=5)
    monthly = result.monthly
    months = len(result.month_labels)
    assert monthly.shape == (trials, months, len(CATEGORIES))
    totals = monthly.sum(axis=2)
    running = np.cumsum(totals, axis=1)
    s = result.monthly_summary
    assert close(s.p50, np.percentile(monthly, 50, axis=0))
    assert close(s.p90, np.percentile(monthly, 90, axis=0))
    assert close(s.total_p50, np.percentile(totals, 50, axis=0))
    assert close(s.total_p90, np.percentile(totals, 90, axis=0))
    assert close(s.cumulative_p50, np.percentile(running, 50, axis=0))
    assert close(s.cumulative_p90, np.percentile(running, 90, axis=0))
    assert not close(s.p50, s.p90)  # the trials do differ
    assert close(result.cumulative, running)
    assert close(running[:, -1], result.total_cost)
    for c, cat in enumerate(CATEGORIES):
        assert close(monthly[:, :, c].sum(axis=1), result.cost_by_category[cat])
    # 10% contingency on the rest, in every month.
    assert close(monthly[:, :, -1], 0.1 * monthly[:, :, :-1].sum(axis=2))
    one_month = trials * len(CATEGORIES) * 8  # bytes of one month of the block
    for budget in (1, 2 * one_month, 5 * one_month):
        other = simulate_program(spec, trials=trials, seed=5, month_block_bytes=budget)
        for key in ("p50", "p90", "total_p50", "total_p90", "cumulative_p50", "cumulative_p90"):
            assert np.array_equal(getattr(other.monthly_summary, key), getattr(s, key)), key
        for cat in CATEGORIES:
            assert np.array_equal(other.cost_by_category[cat], result.cost_by_category[cat])
        team = next(st for st in other.stages if st.key == "team")
        assert np.array_equal(team.costs["people"], by_key(result)["team"].costs["people"])
    # The result carries its inputs and its calendar: months of 31, 28, 31, 30… days from 1 January.
    assert (result.trials, result.seed, result.spec) == (trials, 5, spec)
    assert result.month_lengths[:4].tolist() == [31.0, 28.0, 31.0, 30.0]
    assert result.month_edges[:5].tolist() == [0.0, 31.0, 59.0, 90.0, 120.0]
    assert len(result.month_edges) == months + 1 == len(result.month_lengths) + 1
    assert result.charges and all(ch.start.shape == (trials,) for ch in result.charges)
    assert [p.index for p in result.pools] == [0] and result.pools[0].pool is spec.clusters[0]


def test_stages_wait_for_their_data_in_every_strategy():
    # Preference data ready on 1 June (day 151) holds the preference stage back; RAG data ready on
    # 1 April (day 90) holds the ingest back.
    data = [{"name": "pref", "tokens": 1e6, "stage": "rlhf", "ready_date": "2027-06-01"}]
    st = by_key(run(cpt_plan(data=data, rlhf={"method": "dpo"}), trials=30))
    assert np.all(st["pref_data"].start_days == 151.0)
    assert np.all(st["rlhf"].start_days >= st["pref_data"].finish_days)
    data = [{"name": "docs", "tokens": 1e6, "stage": "rag", "ready_date": "2027-04-01"}]
    plan = {"strategy": "rag", "start_date": START.isoformat(), "data": data}
    assert np.all(by_key(run(plan, trials=30))["ingest"].start_days == 90.0)


def test_a_from_scratch_data_build_counts_the_pretraining_tokens_and_cpt_runs_no_ladder():
    # 2e11 raw pretraining tokens, one engineer (half a pair), cleared: 14 + 21 × 0.2 / 0.5
    # = 22.4 days (σ 0.35).
    data = [{"name": "web", "tokens": 2e11, "stage": "pretrain", "licence": "cleared"}]
    st = by_key(run(scratch_plan(data=data), trials=2000))
    assert_lognormal(durations(st["data"]), 22.4, 0.35)
    # A ladder entered on a continued-pretraining plan is not run.
    st = by_key(run(cpt_plan(ladder=[2e8]), trials=10))
    assert not any(key.startswith("ladder") for key in st)
    assert st["main"].depends_on == ("data", "burn_in")

"""The reliability Monte Carlo against published cluster figures and its own laws."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from llmplanner.simulation import ValidationError
from llmplanner.simulation.config import parse_goodput
from llmplanner.simulation.reliability import (
    DEFAULT_RATES,
    GoodputSpec,
    simulate_goodput,
    simulate_goodput_loop,
    young_daly_interval_h,
)

from .conftest import REPO


def test_meta_rsc_job_mtbf_at_1024_and_16384_gpus():
    # Kokolis et al. 2024: job MTTF 7.9 h at 1,024 GPUs, 1.8 h projected at 16,384.
    assert 24 / DEFAULT_RATES.per_day(1024, 8) == pytest.approx(7.9, rel=0.1)
    assert 24 / DEFAULT_RATES.per_day(16384, 8) == pytest.approx(1.8, rel=0.1)


def test_meta_rsc_failures_per_1000_node_days_at_scale():
    # RSC-1: 6.50 failures per 1000 node-days (the size-proportional part dominates at 16k GPUs).
    nodes = 16384 / 8
    per_1000_node_days = DEFAULT_RATES.per_day(16384, 8) / nodes * 1000
    assert 5.0 <= per_1000_node_days <= 8.0


def test_bloom_loses_a_gpu_every_week_or_so():
    # BigScience chronicles: "every week or so we have hardware issues where one of the gpus dies".
    per_week = DEFAULT_RATES.gpu_per_1000_gpu_days * 384 / 1000 * 7
    assert 0.5 <= per_week <= 2.0


def test_bloom_loses_at_most_one_checkpoint_interval_per_failure():
    spec = GoodputSpec(
        gpu_count=384, work_hours=100 * 24, checkpoint_save_s=40, checkpoint_interval_min=180,
        params=176e9, trials=2000, seed=1, lottery=False,
    )  # fmt: skip
    result = simulate_goodput(spec)
    failures = np.maximum(result.interruptions + result.loss_spikes, 1)
    # ≤ 3 h per failure (≤ 6 h after a loss spike, which rolls back one checkpoint further).
    assert np.all(result.lost_work_hours / failures <= 6.0)
    assert np.median(result.lost_work_hours / failures) <= 3.0


def test_opt_175b_sees_about_two_to_three_interruptions_a_day():
    # Zhang et al. 2022 + metaseq chronicles: ~2 machines down every day; 40+ restarts in two weeks;
    # ≥ 35 manual restarts over about two months on 992 A100.
    spec = GoodputSpec(gpu_count=992, work_hours=33 * 24, checkpoint_save_s=300, params=175e9,
                       precision="fp16", trials=4000, seed=7)  # fmt: skip
    result = simulate_goodput(spec)
    per_day = result.interruptions / (result.wall_hours / 24)
    assert 1.5 <= np.median(per_day) <= 4.0
    assert np.percentile(result.interruptions, 10) >= 35


def test_llama3_405b_interruptions_and_effective_time_fall_in_the_simulated_range():
    # Dubey et al. 2024 §3.3.4: 419 unexpected interruptions in 54 days on 16,384 H100; > 90% of the
    # time was effective training. Checkpoints there were fast (asynchronous, seconds to save).
    spec = GoodputSpec(
        gpu_count=16384, work_hours=54 * 24 * 0.92, checkpoint_save_s=15, params=405e9,
        reliability_class="hyperscaler", trials=4000, seed=3,
    )  # fmt: skip
    result = simulate_goodput(spec)
    p10, p90 = np.percentile(result.interruptions, [10, 90])
    assert p10 <= 419 <= p90
    assert np.percentile(result.effective_training_time, 90) >= 0.9


def test_young_daly_interval():
    # Young: √(2·δ·M) for δ ≪ M; Daly's correction is small there.
    assert young_daly_interval_h(0.001, 10.0) == pytest.approx(np.sqrt(2 * 0.001 * 10.0), rel=0.02)
    assert young_daly_interval_h(0.1, 10.0) == pytest.approx(1.3485, rel=1e-3)
    assert young_daly_interval_h(30.0, 10.0) == 10.0


def test_the_optimal_interval_wastes_less_than_much_shorter_or_longer_ones():
    base = dict(
        gpu_count=4096,
        work_hours=30 * 24,
        checkpoint_save_s=600,
        trials=4000,
        seed=5,
        lottery=False,
    )
    optimal = simulate_goodput(GoodputSpec(**base))
    best_min = optimal.optimal_interval_h * 60
    for factor in (0.2, 5.0):
        other = simulate_goodput(GoodputSpec(**base, checkpoint_interval_min=best_min * factor))
        assert optimal.wall_hours.mean() < other.wall_hours.mean()


def test_same_seed_same_result_and_another_seed_another():
    spec = GoodputSpec(gpu_count=1024, work_hours=500, trials=500, seed=11)
    a, b = simulate_goodput(spec), simulate_goodput(spec)
    assert np.array_equal(a.wall_hours, b.wall_hours) and np.array_equal(
        a.interruptions, b.interruptions
    )
    c = simulate_goodput(GoodputSpec(gpu_count=1024, work_hours=500, trials=500, seed=12))
    assert not np.array_equal(a.wall_hours, c.wall_hours)


def test_the_vectorised_simulation_agrees_with_the_event_by_event_loop():
    spec = GoodputSpec(
        gpu_count=8192, work_hours=40 * 24, checkpoint_save_s=200, trials=400, seed=2
    )
    vec = simulate_goodput(spec).wall_hours
    loop = simulate_goodput_loop(spec)
    assert vec.mean() == pytest.approx(loop.mean(), rel=0.02)
    assert np.percentile(vec, 90) == pytest.approx(np.percentile(loop, 90), rel=0.05)


def test_fp16_has_more_loss_spikes_than_bf16():
    common = dict(gpu_count=1024, work_hours=60 * 24, params=175e9, trials=2000, seed=4)
    fp16 = simulate_goodput(GoodputSpec(**common, precision="fp16"))
    bf16 = simulate_goodput(GoodputSpec(**common, precision="bf16"))
    assert fp16.loss_spikes.mean() > 3 * bf16.loss_spikes.mean()


def test_effective_training_time_falls_with_scale():
    small = simulate_goodput(GoodputSpec(gpu_count=64, work_hours=500, trials=1000, seed=1))
    large = simulate_goodput(GoodputSpec(gpu_count=16384, work_hours=500, trials=1000, seed=1))
    assert (
        np.median(large.effective_training_time) < np.median(small.effective_training_time) <= 1.0
    )


@pytest.mark.parametrize(
    "data, field",
    [
        ({"gpu_type": "H100", "gpu_count": 0, "wall_clock_days": 10}, "gpu_count"),
        ({"gpu_type": "H100", "gpu_count": 64, "wall_clock_days": float("nan")}, "wall_clock_days"),
        ({"gpu_type": "H100", "gpu_count": 64}, "wall_clock_days"),
        ({"gpu_type": "Z1", "gpu_count": 64, "wall_clock_days": 10}, "gpu_type"),
        (
            {
                "gpu_type": "H100",
                "gpu_count": 64,
                "wall_clock_days": 10,
                "reliability_class": "meh",
            },
            "reliability_class",
        ),
        ({"gpu_type": "H100", "gpu_count": 64, "wall_clock_days": 10, "trials": -5}, "trials"),
        ({"gpu_type": "H100", "gpu_count": 64, "wall_clock_days": 10, "seed": "x"}, "seed"),
        (
            {"gpu_type": "H100", "gpu_count": 64, "wall_clock_days": 10, "checkpoint_save_s": 0},
            "checkpoint_save_s",
        ),
        ({"gpu_type": "H100", "gpu_count": 64, "wall_clock_days": 10, "surprise": 1}, "surprise"),
    ],
)
def test_bad_goodput_input_names_the_field(data, field):
    with pytest.raises(ValidationError) as err:
        parse_goodput(data)
    assert err.value.field == field


def test_goodput_from_tokens_uses_the_layout_search_and_checkpoint_size():
    spec = parse_goodput(
        {"gpu_type": "A100", "gpu_count": 1024, "tokens": 300e9, "model": {"preset": "gpt3-175b"}}
    )
    assert 10 * 24 < spec.work_hours < 60 * 24
    assert spec.checkpoint_save_s == pytest.approx(
        175.2e9 * 14 / 20e9, rel=0.01
    )  # 2.45 TB at 20 GB/s


def test_cli_goodput_prints_the_documented_json(tmp_path):
    run = tmp_path / "run.json"
    run.write_text(
        json.dumps(
            {"gpu_type": "H100", "gpu_count": 2048, "wall_clock_days": 30, "trials": 500, "seed": 1}
        )
    )
    out = subprocess.run(
        [sys.executable, "-m", "llmplanner.simulation", "goodput", str(run), "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    for key in ("interruptions", "effective_training_time", "wall_clock_days"):
        assert set(data[key]) == {"p10", "p50", "p90"}
    assert data["optimal_checkpoint_interval_min"] > 0

"""reliability.py against numbers worked by hand (issue 15): rates, intervals and laws, sourced.

Each test states its inputs and works the expected figure out in a comment from what the module's
docstrings say (failure rates per 1000 GPU-/node-days, the class multipliers, Young/Daly's interval,
sync vs async blocked seconds, loss spikes × √(N / 100B), the Poisson process of interruptions),
then asserts that figure. The Monte Carlo is checked against analytical expectations of the model
it documents (the work-time a Poisson process with restarts needs per checkpoint interval, Poisson
means, lognormal means), with bounds loose enough for any sampling noise of the fixed seeds but
tight enough to notice a changed constant.

Reference rates (``FailureRates`` defaults, the ``standard`` class):

    GPU 0.40 per 1000 GPU-days; host 1.3, network 2.0, software 1.8 per 1000 node-days;
    software 0.012 a day per job.

``scripts/mutation.py reliability`` runs these with tests/simulation/test_reliability.py.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest

from llmplanner.simulation import ValidationError
from llmplanner.simulation.reliability import (
    DEFAULT_RATES,
    FailureRates,
    GoodputSpec,
    checkpoint_bytes,
    simulate_goodput,
    simulate_goodput_loop,
    young_daly_interval_h,
)

# A single "software" term a day and nothing else: a cluster whose failure rate is chosen exactly.
# 2.4 a day = 0.1 an hour: MTBF 10 h.


def only_per_job(per_day: float) -> FailureRates:
    return FailureRates(
        gpu_per_1000_gpu_days=0.0,
        host_per_1000_node_days=0.0,
        network_per_1000_node_days=0.0,
        software_per_day=per_day,
        software_per_1000_node_days=0.0,
    )


# ---------------------------------------------------------------------------------------------
# Checkpoint size
# ---------------------------------------------------------------------------------------------


def test_checkpoint_bytes_is_fourteen_bytes_a_parameter_in_bf16_and_twelve_in_fp32():
    # BF16 with Adam: 2 (weights) + 12 (FP32 master copy + two FP32 moments) = 14 B a parameter.
    # BLOOM-176B: 176e9 × 14 = 2.464e12 B (2.24 TiB), the ≈ 2.3 TB its chronicles report.
    assert checkpoint_bytes(176e9, "bf16") == pytest.approx(2.464e12, rel=1e-12)
    assert checkpoint_bytes(1e9, "fp16") == pytest.approx(14e9, rel=1e-12)
    # FP32: 4 (weights) + 8 (two FP32 moments, no separate master copy) = 12 B a parameter.
    assert checkpoint_bytes(1e9, "fp32") == pytest.approx(12e9, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# Failure rates
# ---------------------------------------------------------------------------------------------


def test_standard_rates_per_cause_at_1024_gpus():
    # 1,024 GPUs on 8-GPU servers = 128 servers.
    #   gpu      0.40 × 1024 / 1000                 = 0.4096
    #   host     1.3 × 128 / 1000                   = 0.1664
    #   network  2.0 × 128 / 1000                   = 0.2560
    #   software 1.8 × 128 / 1000 + 0.012 = 0.2304 + 0.012 = 0.2424
    # total 1.0744 a day (the docstring's "1.07 a day at 1,024 GPUs (22 h between failures)":
    # 24 / 1.0744 = 22.34 h); hardware 0.4096 + 0.1664 + 0.256 = 0.832.
    causes = DEFAULT_RATES.by_cause(1024, 8)
    assert list(causes) == ["gpu", "host", "network", "software"]
    assert causes["gpu"] == pytest.approx(0.4096, rel=1e-12)
    assert causes["host"] == pytest.approx(0.1664, rel=1e-12)
    assert causes["network"] == pytest.approx(0.256, rel=1e-12)
    assert causes["software"] == pytest.approx(0.2424, rel=1e-12)
    assert DEFAULT_RATES.per_day(1024, 8) == pytest.approx(1.0744, rel=1e-12)
    assert DEFAULT_RATES.hardware_per_day(1024, 8) == pytest.approx(0.832, rel=1e-12)


def test_a_part_filled_server_counts_as_a_whole_one():
    # 12 GPUs on 8-GPU servers occupy ⌈12 / 8⌉ = 2 servers (not 1.5, not 12 × 8 = 96).
    # Distinct rates so that each term is told apart:
    #   gpu      5 × 12 / 1000          = 0.060
    #   host     7 × 2 / 1000           = 0.014
    #   network  11 × 2 / 1000          = 0.022
    #   software 13 × 2 / 1000 + 0.5    = 0.526
    rates = FailureRates(
        gpu_per_1000_gpu_days=5.0,
        host_per_1000_node_days=7.0,
        network_per_1000_node_days=11.0,
        software_per_day=0.5,
        software_per_1000_node_days=13.0,
    )
    causes = rates.by_cause(12, 8)
    assert causes == pytest.approx(
        {"gpu": 0.060, "host": 0.014, "network": 0.022, "software": 0.526}, rel=1e-12
    )
    # per day: 0.060 + 0.014 + 0.022 + 0.526 = 0.622; hardware: 0.060 + 0.014 + 0.022 = 0.096.
    assert rates.per_day(12, 8) == pytest.approx(0.622, rel=1e-12)
    assert rates.hardware_per_day(12, 8) == pytest.approx(0.096, rel=1e-12)
    # 16 GPUs fill exactly 2 servers: the same node terms.
    assert rates.by_cause(16, 8)["host"] == pytest.approx(0.014, rel=1e-12)


def test_one_server_fails_every_seven_weeks():
    # 8 GPUs = 1 server: 0.4 × 8 / 1000 + (1.3 + 2.0 + 1.8) / 1000 + 0.012
    # = 0.0032 + 0.0051 + 0.012 = 0.0203 a day → 1 / 0.0203 = 49.3 days between failures (the
    # docstring's "~49 days", Kokolis et al.'s 47.7 for 8-GPU jobs).
    assert DEFAULT_RATES.per_day(8, 8) == pytest.approx(0.0203, rel=1e-12)
    assert 1 / DEFAULT_RATES.per_day(8, 8) == pytest.approx(49.26, rel=1e-3)


@pytest.mark.parametrize(
    "klass, multiplier, restart",
    [("hyperscaler", 0.46, 10.0), ("standard", 1.0, 20.0), ("unstable", 3.0, 45.0)],
)
def test_class_scales_every_rate_and_sets_the_restart(klass, multiplier, restart):
    # 1,024 GPUs: 1.0744 a day (above) × the class's multiplier:
    # hyperscaler 0.494224, standard 1.0744, unstable 3.2232; restart 10 / 20 / 45 min.
    spec = GoodputSpec(gpu_count=1024, work_hours=100, reliability_class=klass)
    assert spec.failures_per_day == pytest.approx(1.0744 * multiplier, rel=1e-12)
    assert spec.restart_minutes == restart
    # A given restart time wins over the class's.
    given = GoodputSpec(gpu_count=1024, work_hours=100, reliability_class=klass, restart_min=7.5)
    assert given.restart_minutes == 7.5


def test_hyperscaler_rate_at_16k_gpus_matches_llama3():
    # 16,384 GPUs = 2,048 servers: gpu 0.4 × 16.384 = 6.5536, host 1.3 × 2.048 = 2.6624,
    # network 2.0 × 2.048 = 4.096, software 1.8 × 2.048 + 0.012 = 3.6984 → 17.0104 a day;
    # × 0.46 = 7.824784 a day (Llama 3: 419 in 54 days = 7.76 a day).
    spec = GoodputSpec(gpu_count=16384, work_hours=1, reliability_class="hyperscaler")
    assert spec.failures_per_day == pytest.approx(7.824784, rel=1e-12)
    assert spec.failures_per_day == pytest.approx(419 / 54, rel=0.01)


# ---------------------------------------------------------------------------------------------
# Checkpoint strategy, blocked seconds and write lag
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "klass, strategy", [("hyperscaler", "async"), ("standard", "sync"), ("unstable", "sync")]
)
def test_checkpoint_strategy_defaults_to_the_class_and_a_given_one_wins(klass, strategy):
    spec = GoodputSpec(gpu_count=64, work_hours=10, reliability_class=klass)
    assert spec.checkpoint_strategy == strategy
    for given in ("sync", "async"):
        spec = GoodputSpec(gpu_count=64, work_hours=10, reliability_class=klass, checkpoint=given)
        assert spec.checkpoint_strategy == given


def test_sync_checkpoint_blocks_for_the_whole_write_and_lags_nothing():
    # Sync: training waits for all of the write, 300 s; nothing stays to be written afterwards.
    spec = GoodputSpec(gpu_count=64, work_hours=10, checkpoint_save_s=300.0, checkpoint="sync")
    assert spec.checkpoint_blocked_s == 300.0
    assert spec.checkpoint_lag_s == 0.0
    # A snapshot time is an async input only: sync still blocks for the write.
    spec = GoodputSpec(
        gpu_count=64, work_hours=10, checkpoint_save_s=300.0, checkpoint="sync",
        checkpoint_snapshot_s=5.0,
    )  # fmt: skip
    assert spec.checkpoint_blocked_s == 300.0


def test_async_checkpoint_blocks_for_the_shard_copy_to_host_memory():
    # 7e9 parameters in BF16: 7e9 × 14 = 98e9 B; over 8 GPUs a shard is 12.25e9 B; at 25 GB/s
    # over PCIe that is 12.25 / 25 = 0.49 s, plus 1 s of coordination = 1.49 s blocked.
    # The write to storage (120 s) goes on in the background: the lag is 120 s.
    spec = GoodputSpec(gpu_count=8, work_hours=10, checkpoint="async", params=7e9)
    assert spec.checkpoint_blocked_s == pytest.approx(1.49, rel=1e-12)
    assert spec.checkpoint_lag_s == 120.0
    # 64 GPUs: 98e9 / 64 = 1.53125e9 B → 0.06125 s + 1 s = 1.06125 s.
    spec = GoodputSpec(gpu_count=64, work_hours=10, checkpoint="async", params=7e9)
    assert spec.checkpoint_blocked_s == pytest.approx(1.06125, rel=1e-12)
    # FP32 175B on 8 GPUs: 175e9 × 12 / 8 = 262.5e9 B → 10.5 s + 1 s = 11.5 s.
    spec = GoodputSpec(
        gpu_count=8, work_hours=10, checkpoint="async", params=175e9, precision="fp32"
    )
    assert spec.checkpoint_blocked_s == pytest.approx(11.5, rel=1e-12)


def test_async_blocked_time_never_exceeds_the_write_itself():
    # 1e12 parameters on 8 GPUs: 14e12 / 8 = 1.75e12 B → 70 s + 1 s = 71 s of copy, but the whole
    # write takes 30 s: a save cannot block longer than it takes, so 30 s.
    spec = GoodputSpec(
        gpu_count=8, work_hours=10, checkpoint="async", params=1e12, checkpoint_save_s=30.0
    )
    assert spec.checkpoint_blocked_s == 30.0
    # A measured snapshot time replaces the PCIe estimate, capped by the write the same way.
    spec = GoodputSpec(
        gpu_count=8, work_hours=10, checkpoint="async", checkpoint_save_s=30.0,
        checkpoint_snapshot_s=4.0,
    )  # fmt: skip
    assert spec.checkpoint_blocked_s == 4.0
    spec = GoodputSpec(
        gpu_count=8, work_hours=10, checkpoint="async", checkpoint_save_s=30.0,
        checkpoint_snapshot_s=45.0,
    )  # fmt: skip
    assert spec.checkpoint_blocked_s == 30.0


# ---------------------------------------------------------------------------------------------
# Loss spikes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "precision, params, per_day",
    [
        ("fp16", 100e9, 0.18),  # OPT's logbook at 100B
        ("fp16", 25e9, 0.09),  # × √(25 / 100) = × 0.5
        ("fp16", 400e9, 0.36),  # × √4 = × 2
        ("fp16", 2500e9, 0.72),  # × √25 = × 5, capped at × 4
        ("bf16", 100e9, 0.01),  # BLOOM, Llama 3
        ("bf16", 900e9, 0.03),  # × √9 = × 3
        ("fp32", 100e9, 0.01),  # everything but FP16 is the BF16 figure
    ],
)
def test_loss_spikes_per_day(precision, params, per_day):
    spec = GoodputSpec(gpu_count=8, work_hours=1, precision=precision, params=params)
    assert spec.loss_spikes_per_day == pytest.approx(per_day, rel=1e-12)


def test_opt_175b_expects_eight_spikes_in_33_days():
    # 0.18 × √1.75 = 0.18 × 1.32288 = 0.23812 a day; × 33 days = 7.86 ≈ the 8 of OPT's logbook.
    spec = GoodputSpec(gpu_count=992, work_hours=1, precision="fp16", params=175e9)
    assert spec.loss_spikes_per_day == pytest.approx(0.23812, rel=1e-4)
    assert spec.loss_spikes_per_day * 33 == pytest.approx(8, rel=0.02)


# ---------------------------------------------------------------------------------------------
# Young / Daly
# ---------------------------------------------------------------------------------------------


def test_daly_interval_worked_with_fractions():
    # δ = 0.5 h, M = 16 h: δ / 2M = 1/64, √(1/64) = 1/8; √(2 · 0.5 · 16) = 4.
    # 4 · (1 + (1/8)/3 + (1/64)/9) − 0.5 = 4 + 1/6 + 1/144 − 0.5 = 3.5 + 25/144 = 3.6736111 h.
    assert young_daly_interval_h(0.5, 16.0) == pytest.approx(3.5 + 25 / 144, rel=1e-12)
    # δ = 2 h, M = 9 h: δ / 2M = 1/9, √ = 1/3; √(2 · 2 · 9) = 6.
    # 6 · (1 + 1/9 + 1/81) − 2 = 6 + 2/3 + 2/27 − 2 = 4 + 20/27 = 4.7407407 h.
    assert young_daly_interval_h(2.0, 9.0) == pytest.approx(4 + 20 / 27, rel=1e-12)


def test_daly_interval_is_the_mtbf_once_a_save_takes_two_mtbfs():
    # δ ≥ 2M: the interval is M. At δ = 2M exactly the formula would give
    # √(4M²) · (1 + 1/3 + 1/9) − 2M = 2M · 13/9 − 2M = 8M/9, not M: the boundary belongs to M.
    assert young_daly_interval_h(20.0, 10.0) == 10.0
    assert young_daly_interval_h(25.0, 10.0) == 10.0
    # Just under 2M the formula applies: 19.98 h and 10 h give 8.88 h, about 8M/9.
    assert young_daly_interval_h(19.98, 10.0) == pytest.approx(80 / 9, rel=2e-3)


# ---------------------------------------------------------------------------------------------
# Validation: every field named, every documented limit accepted at the limit, refused beyond
# ---------------------------------------------------------------------------------------------

BASE = dict(gpu_count=64, work_hours=100.0)

# (field, largest accepted value, smallest refused value above it); the limits:
#   gpu_count ≤ 1,000,000; work_hours ≤ 24 × 365 × 20 = 175,200 h (twenty years);
#   gpus_per_server ≤ 256; checkpoint_save_s ≤ 86,400 s (a day);
#   checkpoint_interval_min and restart_min ≤ 60 × 24 × 30 = 43,200 min (thirty days);
#   checkpoint_snapshot_s ≤ 86,400 s; trials ≤ 1,000,000; params ≤ 1e14.
LIMITS = [
    ("gpu_count", 1_000_000, 1_000_001),
    ("work_hours", 175_200.0, 175_200.5),
    ("gpus_per_server", 256, 257),
    ("checkpoint_save_s", 86_400.0, 86_400.5),
    ("checkpoint_interval_min", 43_200.0, 43_200.5),
    ("restart_min", 43_200.0, 43_200.5),
    ("checkpoint_snapshot_s", 86_400.0, 86_400.5),
    ("trials", 1_000_000, 1_000_001),
    ("params", 1e14, 1e14 + 0.5),  # 1e14 + 0.5 is a float of its own (spacing 1/64 there)
]


@pytest.mark.parametrize("name, largest, refused", LIMITS)
def test_each_limit_is_accepted_at_the_limit_and_refused_beyond(name, largest, refused):
    spec = GoodputSpec(**{**BASE, name: largest})
    assert spec.validate() is spec
    with pytest.raises(ValidationError) as err:
        GoodputSpec(**{**BASE, name: refused}).validate()
    assert err.value.field == name
    assert "implausibly large" in err.value.message


@pytest.mark.parametrize("name", [n for n, _, _ in LIMITS])
def test_each_number_must_be_positive_and_names_its_field(name):
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValidationError) as err:
            GoodputSpec(**{**BASE, name: bad}).validate()
        assert err.value.field == name


@pytest.mark.parametrize("name", ["gpu_count", "gpus_per_server", "trials"])
def test_counts_must_be_whole_numbers(name):
    # 2.5 GPUs, 2.5 GPUs a server, 2.5 trials: refused as not whole; 2.0 is whole.
    with pytest.raises(ValidationError) as err:
        GoodputSpec(**{**BASE, name: 2.5}).validate()
    assert err.value.field == name
    assert "whole number" in err.value.message
    GoodputSpec(**{**BASE, name: 2.0}).validate()


def test_optional_inputs_may_be_left_out():
    # None ⇒ Young/Daly interval, the class's restart, the class's checkpoint strategy and the
    # PCIe estimate of the snapshot: all accepted.
    spec = GoodputSpec(
        **BASE, checkpoint_interval_min=None, restart_min=None, checkpoint=None,
        checkpoint_snapshot_s=None,
    )  # fmt: skip
    assert spec.validate() is spec


@pytest.mark.parametrize("seed", [0, 1, 2**40])
def test_any_whole_seed_from_zero_is_accepted(seed):
    GoodputSpec(**BASE, seed=seed).validate()


@pytest.mark.parametrize("seed", [-1, 1.0, True, False, "1", None])
def test_other_seeds_are_refused(seed):
    with pytest.raises(ValidationError) as err:
        GoodputSpec(**BASE, seed=seed).validate()
    assert err.value.field == "seed"
    assert err.value.message == "must be a whole number ≥ 0"


@pytest.mark.parametrize(
    "name, bad, message",
    [
        ("reliability_class", "meh", "must be one of hyperscaler, standard, unstable"),
        ("provider_class", "meh", "must be one of reliable, standard, risky"),
        ("checkpoint", "lazy", "must be one of sync, async"),
    ],
)
def test_choices_are_listed_in_the_message(name, bad, message):
    with pytest.raises(ValidationError) as err:
        GoodputSpec(**BASE, **{name: bad}).validate()
    assert err.value.field == name
    assert err.value.message == message


@pytest.mark.parametrize(
    "name, values",
    [
        ("reliability_class", ["hyperscaler", "standard", "unstable"]),
        ("provider_class", ["reliable", "standard", "risky"]),
        ("checkpoint", ["sync", "async"]),
    ],
)
def test_every_listed_choice_is_accepted(name, values):
    for value in values:
        GoodputSpec(**BASE, **{name: value}).validate()


# ---------------------------------------------------------------------------------------------
# The checkpoint interval a simulation uses
# ---------------------------------------------------------------------------------------------


def test_sync_interval_is_daly_of_the_save_and_the_mtbf():
    # 1.5 failures a day → MTBF 24 / 1.5 = 16 h; a sync save of 1,800 s = 0.5 h blocks it all:
    # Daly(0.5, 16) = 3.5 + 25/144 = 3.6736111 h = 220.41667 min (worked above).
    spec = GoodputSpec(
        gpu_count=64, work_hours=50, checkpoint_save_s=1800.0, rates=only_per_job(1.5),
        checkpoint="sync", lottery=False, trials=20, params=1e9,
    )  # fmt: skip
    result = simulate_goodput(spec)
    assert result.interval_h == pytest.approx(3.5 + 25 / 144, rel=1e-12)
    assert result.optimal_interval_h == pytest.approx(3.5 + 25 / 144, rel=1e-12)
    assert result.failures_per_day == pytest.approx(1.5, rel=1e-12)
    summary = result.summary()
    assert summary["failures_per_day"] == pytest.approx(1.5, rel=1e-12)
    assert summary["mean_time_between_failures_h"] == pytest.approx(16.0, rel=1e-12)
    assert summary["checkpoint_interval_min"] == pytest.approx(220.41667, rel=1e-6)
    assert summary["optimal_checkpoint_interval_min"] == pytest.approx(220.41667, rel=1e-6)
    assert summary["checkpoint"] == "sync"
    assert summary["checkpoint_blocked_s"] == 1800.0
    assert summary["checkpoint_write_s"] == 1800.0


def test_a_given_interval_is_used_and_the_optimum_still_reported():
    # Same cluster, an interval of 120 min given: used as 2 h; the optimum stays 3.6736 h.
    spec = GoodputSpec(
        gpu_count=64, work_hours=50, checkpoint_save_s=1800.0, rates=only_per_job(1.5),
        checkpoint="sync", checkpoint_interval_min=120.0, lottery=False, trials=20, params=1e9,
    )  # fmt: skip
    result = simulate_goodput(spec)
    assert result.interval_h == 2.0
    assert result.optimal_interval_h == pytest.approx(3.5 + 25 / 144, rel=1e-12)
    assert result.summary()["checkpoint_interval_min"] == pytest.approx(120.0, rel=1e-12)


def test_async_interval_cannot_be_shorter_than_the_write():
    # MTBF 16 h; async, an 18 s snapshot (0.005 h) blocks training, the write takes 3,600 s = 1 h.
    # Daly(0.005, 16): δ/2M = 1/6400, √ = 1/80; √(2 · 0.005 · 16) = 0.4;
    # 0.4 · (1 + 1/240 + 1/57600) − 0.005 = 0.4 + 0.0016667 + 0.0000069 − 0.005 = 0.3966736 h,
    # shorter than the 1 h write: the next checkpoint cannot start before the last is written,
    # so the optimum is 1 h = 60 min.
    common = dict(
        gpu_count=64, work_hours=50, checkpoint_save_s=3600.0, checkpoint_snapshot_s=18.0,
        rates=only_per_job(1.5), checkpoint="async", lottery=False, trials=20, params=1e9,
    )  # fmt: skip
    with warnings.catch_warnings():
        # An interval exactly as long as the write leaves no room for a "late" failure (after
        # the write, before the next checkpoint): nothing is divided by that zero width.
        warnings.simplefilter("error")
        result = simulate_goodput(GoodputSpec(**common))
    assert result.interval_h == pytest.approx(1.0, rel=1e-12)
    assert result.optimal_interval_h == pytest.approx(1.0, rel=1e-12)
    summary = result.summary()
    assert summary["checkpoint"] == "async"
    assert summary["checkpoint_blocked_s"] == 18.0
    assert summary["checkpoint_write_s"] == 3600.0
    # Exactly the write's length is allowed...
    assert simulate_goodput(GoodputSpec(**common, checkpoint_interval_min=60.0)).interval_h == 1.0
    # ... 30 min is refused, with both lengths in the message.
    with pytest.raises(ValidationError) as err:
        simulate_goodput(GoodputSpec(**common, checkpoint_interval_min=30.0))
    assert err.value.field == "checkpoint_interval_min"
    assert err.value.message == (
        "an async checkpoint every 30.0 min cannot be shorter than its 60.0-min write to storage"
    )


def test_async_interval_is_daly_when_daly_is_longer_than_the_write():
    # MTBF 16 h; async with a snapshot as long as the write, 1,800 s = 0.5 h: Daly(0.5, 16) =
    # 3.6736 h, longer than the 0.5 h write, so it stands.
    spec = GoodputSpec(
        gpu_count=64, work_hours=50, checkpoint_save_s=1800.0, checkpoint_snapshot_s=1800.0,
        rates=only_per_job(1.5), checkpoint="async", lottery=False, trials=20, params=1e9,
    )  # fmt: skip
    assert simulate_goodput(spec).interval_h == pytest.approx(3.5 + 25 / 144, rel=1e-12)


def test_an_interval_that_never_completes_is_refused_with_the_optimum():
    # 2.4 failures a day = 0.1 an hour (MTBF 10 h). A sync save of 180 s = 0.05 h:
    # Daly(0.05, 10): δ/2M = 0.0025, √0.0025 = 0.05; √(2 · 0.05 · 10) = 1;
    # 1 · (1 + 0.05/3 + 0.0025/9) − 0.05 = 1 + 0.016667 + 0.000278 − 0.05 = 0.966944 h
    # = 58.02 min. Given 15,000 min = 250 h, each interval expects 0.1 × (250 + 0.05) = 25.0
    # failures (> 20): it would essentially never complete.
    common = dict(
        gpu_count=64, work_hours=1.0, checkpoint_save_s=180.0, rates=only_per_job(2.4),
        checkpoint="sync", lottery=False, trials=20, params=1e9,
    )  # fmt: skip
    with pytest.raises(ValidationError) as err:
        simulate_goodput(GoodputSpec(**common, checkpoint_interval_min=15_000.0))
    assert err.value.field == "checkpoint_interval_min"
    assert err.value.message == (
        "15000 min between checkpoints never completes on this cluster: a failure is expected "
        "every 10.0 h; use the optimum (58 min)"
    )
    # 11,700 min = 195 h expects 0.1 × (195 + 0.05) = 19.5 failures an interval: allowed, and a
    # 1-h run (one partial interval) finishes.
    result = simulate_goodput(GoodputSpec(**common, checkpoint_interval_min=11_700.0))
    assert np.all(np.isfinite(result.wall_hours))


def test_twenty_expected_failures_an_interval_is_still_allowed():
    # 24 failures a day = 1.0 an hour; a sync 0.5-h save every 1,170 min = 19.5 h: overhead
    # 1 + 0.5/19.5, so an interval expects 1.0 × (19.5 + 0.5) = 20 failures, exactly the limit
    # ("beyond ~20 ... never finishes"): allowed. A 1-h run is one partial interval.
    spec = GoodputSpec(
        gpu_count=64, work_hours=1.0, checkpoint_save_s=1800.0, rates=only_per_job(24.0),
        checkpoint="sync", checkpoint_interval_min=1170.0, lottery=False, trials=20, params=1e9,
    )  # fmt: skip
    assert simulate_goodput(spec).interval_h == 19.5
    # 1,200 min: 1.0 × (20 + 0.5) = 20.5 failures an interval: refused.
    with pytest.raises(ValidationError) as err:
        simulate_goodput(replace(spec, checkpoint_interval_min=1200.0))
    assert err.value.field == "checkpoint_interval_min"


def test_an_async_write_longer_than_the_failures_allow_is_refused():
    # 2 failures an hour; async with a 36 s snapshot and a 12 h write (43,200 s): the interval
    # cannot be shorter than 12 h = 720 min, which expects 2 × 12 × (1 + 0.01/12) = 24.02
    # failures (> 20).
    spec = GoodputSpec(
        gpu_count=64, work_hours=50, checkpoint_save_s=43_200.0, checkpoint_snapshot_s=36.0,
        rates=only_per_job(48.0), checkpoint="async", lottery=False, trials=20, params=1e9,
    )  # fmt: skip
    with pytest.raises(ValidationError) as err:
        simulate_goodput(spec)
    assert err.value.field == "checkpoint_save_s"
    assert err.value.message == (
        "an async checkpoint takes 720 min to write and a failure is expected every 0.5 h: "
        "no checkpoint would ever be written; use faster storage"
    )


# ---------------------------------------------------------------------------------------------
# A quiet cluster: no interruptions, no loss spikes, only the checkpoints' cost
# ---------------------------------------------------------------------------------------------

# 1e-6 interruptions a day and a 1-parameter model (0.01 × √1e-11 ≈ 3e-8 loss spikes a day): over
# a few hundred hours nothing happens in any trial, and every hour of wall time is work or saving.


def quiet(**kw):
    base = dict(
        gpu_count=64, work_hours=100.0, rates=only_per_job(1e-6), params=1.0, lottery=False,
        trials=400, seed=3,
    )  # fmt: skip
    return simulate_goodput(GoodputSpec(**{**base, **kw}))


def test_sync_saves_cost_their_share_of_every_interval():
    # Sync, 0.5 h saves every 2 h of work: 1 + 0.5/2 = 1.25 wall hours per work hour.
    # 100 h of work → 125 h of wall time, 25 h of it saving; effective training time 100/125 = 0.8.
    r = quiet(checkpoint="sync", checkpoint_save_s=1800.0, checkpoint_interval_min=120.0)
    clean = r.whole_run_restarts == 0
    assert clean.sum() > 300
    assert np.all(r.interruptions == 0) and np.all(r.loss_spikes == 0)
    assert np.all(r.lost_work_hours == 0) and np.all(r.recovery_hours == 0)
    assert np.all(r.useful_hours == 100.0)
    assert r.wall_hours[clean] == pytest.approx(np.full(clean.sum(), 125.0), rel=1e-12)
    assert r.checkpoint_hours[clean] == pytest.approx(np.full(clean.sum(), 25.0), rel=1e-12)
    assert r.work_hours[clean] == pytest.approx(np.full(clean.sum(), 100.0), rel=1e-12)
    assert r.effective_training_time[clean] == pytest.approx(np.full(clean.sum(), 0.8), rel=1e-12)
    # A restarted run redoes part of its work, and saves while it does: wall = 1.25 × work.
    assert r.wall_hours == pytest.approx(1.25 * r.work_hours, rel=1e-12)
    summary = r.summary()
    assert summary["wall_clock_days"]["p50"] == pytest.approx(125 / 24, rel=1e-12)
    assert summary["effective_training_time"]["p50"] == pytest.approx(0.8, rel=1e-12)
    assert summary["interruptions"] == {"p10": 0.0, "p50": 0.0, "p90": 0.0}
    assert summary["lost_work_hours"] == {"p10": 0.0, "p50": 0.0, "p90": 0.0}
    assert summary["loss_spikes"] == {"p10": 0.0, "p50": 0.0, "p90": 0.0}


def test_async_saves_cost_only_their_snapshot():
    # Async, the same 0.5 h write but a 360 s = 0.1 h snapshot, every 2 h: 1 + 0.1/2 = 1.05;
    # 100 h of work → 105 h of wall time, 5 h of it blocked. The write runs in the background.
    r = quiet(
        checkpoint="async", checkpoint_save_s=1800.0, checkpoint_snapshot_s=360.0,
        checkpoint_interval_min=120.0,
    )  # fmt: skip
    clean = r.whole_run_restarts == 0
    assert r.wall_hours[clean] == pytest.approx(np.full(clean.sum(), 105.0), rel=1e-12)
    assert r.checkpoint_hours[clean] == pytest.approx(np.full(clean.sum(), 5.0), rel=1e-12)
    assert r.effective_training_time[clean] == pytest.approx(
        np.full(clean.sum(), 100 / 105), rel=1e-12
    )


# ---------------------------------------------------------------------------------------------
# Interruptions: a Poisson process that undoes the work since the last checkpoint
# ---------------------------------------------------------------------------------------------

# With failures at a per work hour, an interval of τ work hours is retried until one attempt
# outlives it: each attempt survives with e^{−aτ}, so the failures per interval are geometric with
# mean e^{aτ} − 1, and the work-time spent per interval is E[min(T, τ)] / P(T ≥ τ) =
# ((1 − e^{−aτ}) / a) / e^{−aτ} = (e^{aτ} − 1) / a (the classic restart formula): the work lost
# per interval is (e^{aτ} − 1) / a − τ.
#
# Sync case worked: 2.4 failures a day = 0.1 per wall hour. A sync save of 360 s = 0.1 h every
# τ = 2 h of work: 1.05 wall hours per work hour, so a = 0.1 × 1.05 = 0.105 per work hour and
# aτ = 0.21. e^{0.21} = 1.233678:
#   failures per interval  0.233678;  over 200 h = 100 intervals: 23.3678 a run;
#   lost per interval      0.233678 / 0.105 − 2 = 2.225505 − 2 = 0.225505 work-h
#                          × 1.05 = 0.236780 wall h; a run: 23.678 h;
#   restarts (standard class: median 20 min, lognormal σ 0.5): mean (1/3) · e^{0.5²/2}
#                          = 0.333333 × 1.133148 = 0.377716 h each; a run: 23.3678 × 0.377716
#                          = 8.8264 h;
#   wall = 200 × 1.05 + 23.678 + 8.826 = 242.504 h.


def sync_run(seed: int = 0, **kw):
    base = dict(
        gpu_count=64, work_hours=200.0, rates=only_per_job(2.4), params=1.0, lottery=False,
        trials=4000, seed=seed, checkpoint="sync", checkpoint_save_s=360.0,
        checkpoint_interval_min=120.0,
    )  # fmt: skip
    return simulate_goodput(GoodputSpec(**{**base, **kw}))


def test_sync_failures_lost_work_and_restarts_match_the_poisson_expectation():
    r = sync_run()
    clean = r.whole_run_restarts == 0  # runs that did not have to redo part of the work
    assert r.interruptions[clean].mean() == pytest.approx(23.3678, rel=0.02)
    assert r.lost_work_hours[clean].mean() == pytest.approx(23.678, rel=0.02)
    assert r.recovery_hours[clean].sum() / r.interruptions[clean].sum() == pytest.approx(
        0.377716, rel=0.02
    )
    assert r.wall_hours[clean].mean() == pytest.approx(242.504, rel=0.01)
    assert np.all(r.loss_spikes == 0)
    # Without spikes, nothing of the recovery is a spike's.
    assert np.all(r.spike_recovery_hours == 0)
    # Failures strike while the cluster runs (work, saves, work lost), not while it restarts:
    # 23.3678 failures in 242.504 − 8.8264 = 233.678 running hours = 0.1 an hour, the input.
    running = r.wall_hours[clean] - r.recovery_hours[clean]
    assert r.interruptions[clean].sum() / running.sum() == pytest.approx(0.1, rel=0.02)


def test_a_failure_never_loses_more_than_one_interval_when_sync():
    # Each sync failure loses less than τ = 2 work hours = 2.1 wall hours: a run with k failures
    # loses under 2.1 k; and the 0.5-h restart median makes recovery positive whenever k > 0.
    r = sync_run(seed=1, trials=1000)
    assert np.all(r.lost_work_hours <= 2.1 * r.interruptions + 1e-9)
    assert np.all((r.recovery_hours > 0) == (r.interruptions > 0))
    assert np.all((r.lost_work_hours > 0) == (r.interruptions > 0))


def test_a_longer_restart_costs_proportionally_more():
    # The unstable class restarts in a median 45 min: 0.75 × 1.133148 = 0.849861 h each; a given
    # 6 min (0.1 h): 0.113315 h.
    r = sync_run(seed=2, reliability_class="unstable", rates=only_per_job(0.8))
    # (0.8 × 3 = 2.4 a day: the same failures as above.)
    assert r.failures_per_day == pytest.approx(2.4, rel=1e-12)
    assert r.recovery_hours.sum() / r.interruptions.sum() == pytest.approx(0.849861, rel=0.02)
    r = sync_run(seed=2, restart_min=6.0)
    assert r.recovery_hours.sum() / r.interruptions.sum() == pytest.approx(0.113315, rel=0.02)


def test_a_partial_last_interval_is_retried_like_the_others():
    # 2.4 failures a day, sync 0.1 h saves every 2 h; work 1 h only: one partial interval of 1 h
    # (no full one). a = 0.1 × (1 + 0.1/2) = 0.105; failures e^{0.105} − 1 = 0.110711 a run.
    # Lost work a run: (e^{0.105} − 1) / 0.105 − 1 = 0.054391 work-h × 1.05 = 0.057111 wall h —
    # a failure in the partial interval loses T < 1 h, not T < τ = 2 h (it used to: 0.110 h).
    r = sync_run(seed=4, work_hours=1.0, trials=20000)
    clean = r.whole_run_restarts == 0
    assert r.interruptions[clean].mean() == pytest.approx(0.110711, rel=0.05)
    assert r.lost_work_hours[clean].mean() == pytest.approx(0.057111, rel=0.08)
    # Most runs see no failure, many exactly one: each failure loses some work and a restart,
    # a run without one loses nothing.
    assert np.sum(r.interruptions == 1) > 1000
    assert np.array_equal(r.lost_work_hours > 0, r.interruptions > 0)
    assert np.array_equal(r.recovery_hours > 0, r.interruptions > 0)
    # 2.5 h: one full interval of 2 h, then 0.5 h: e^{0.21} − 1 + e^{0.0525} − 1
    # = 0.233678 + 0.053903 = 0.287581 failures a run.
    r = sync_run(seed=5, work_hours=2.5, trials=20000)
    clean = r.whole_run_restarts == 0
    assert r.interruptions[clean].mean() == pytest.approx(0.287581, rel=0.05)


# Async case worked: the same 0.1 failures per wall hour; async saves block 36 s = 0.01 h every
# τ = 4 h of work (1 + 0.01/4 = 1.0025 wall h per work h, a = 0.10025), and write for w = 1 h in
# the background. A failure in the first w of an interval that follows a completed one (newest
# checkpoint not yet written) rolls back one interval further.
#
# Let G = e^{aτ} − 1 be the failures to complete an interval from a durable checkpoint (above),
# and F the failures to get from "interval k just completed, not durable" to "k + 1 completed":
#   F = (1 − e^{−aw}) (1 + G + F) + (e^{−aw} − e^{−aτ}) (1 + G)
#   ⇒ F e^{−aw} = (1 − e^{−aτ})(1 + G) = G  ⇒  F = e^{aw} (e^{aτ} − 1).
# Likewise the work-time S = (e^{aτ} − 1)/a from a durable checkpoint becomes e^{aw} S:
#   S' = (1 − e^{−aτ})/a + (1 − e^{−aw}) (S + S') + (e^{−aw} − e^{−aτ}) S ⇒ S' e^{−aw} = S.
# Numbers: e^{0.401} = 1.493336, e^{0.10025} = 1.105447:
#   F = 1.105447 × 0.493336 = 0.545357 failures an interval (sync: 0.493336, 10% fewer);
#   lost = 1.105447 × 0.493336 / 0.10025 − 4 = 5.439976 − 4 = 1.439976 work-h an interval
#          (sync: 0.921057).
# 402 h of work = 100 intervals and 2 h: ≈ 100 × 0.545357 = 54.54 failures and 100 × 1.439976
# × 1.0025 = 144.36 wall h lost (the first interval, from a durable start, and the last partial
# one shift both by under 0.5%).


def async_run(seed: int = 0, **kw):
    base = dict(
        gpu_count=64, work_hours=402.0, rates=only_per_job(2.4), params=1.0, lottery=False,
        trials=3000, seed=seed, checkpoint="async", checkpoint_save_s=3600.0,
        checkpoint_snapshot_s=36.0, checkpoint_interval_min=240.0,
    )  # fmt: skip
    return simulate_goodput(GoodputSpec(**{**base, **kw}))


def test_async_failures_during_the_write_roll_back_one_interval_more():
    r = async_run()
    clean = r.whole_run_restarts == 0
    assert r.interruptions[clean].mean() == pytest.approx(54.54, rel=0.02)
    assert r.lost_work_hours[clean].mean() == pytest.approx(144.36, rel=0.02)
    # wall = 402 × 1.0025 + lost + failures × 0.377716 h of restart
    #      = 403.005 + 144.36 + 54.54 × 0.377716 = 403.005 + 144.36 + 20.60 = 567.97 h.
    assert r.wall_hours[clean].mean() == pytest.approx(567.97, rel=0.01)
    assert r.checkpoint_hours[clean] == pytest.approx(np.full(clean.sum(), 1.005), rel=1e-9)


def test_async_rollbacks_lose_at_most_two_intervals_each():
    # A failure loses under τ = 4 work hours, or under τ + w = 5 when it undoes the newest
    # checkpoint: at most 5 × 1.0025 = 5.0125 wall hours each.
    r = async_run(seed=1, trials=500)
    assert np.all(r.lost_work_hours <= 5.0125 * r.interruptions + 1e-9)


def test_the_event_loop_plays_the_same_async_model():
    # The plain-Python loop, event by event, against the same expectation: 402 × 1.0025 + 144.36
    # + 54.54 × 0.377716 = 567.97 h (the loop draws no whole-run restarts of its own; its 2% of
    # runs redo 5–30% more, about +0.35% on the mean, inside the tolerance).
    spec = GoodputSpec(
        gpu_count=64, work_hours=402.0, rates=only_per_job(2.4), params=1.0, lottery=False,
        trials=300, seed=6, checkpoint="async", checkpoint_save_s=3600.0,
        checkpoint_snapshot_s=36.0, checkpoint_interval_min=240.0,
    )  # fmt: skip
    walls = simulate_goodput_loop(spec)
    assert walls.shape == (300,)
    assert walls.mean() == pytest.approx(567.97, rel=0.03)
    assert len(simulate_goodput_loop(spec, trials=7)) == 7
    assert len(simulate_goodput_loop(spec, trials=7000)) == 300


def test_the_event_loop_plays_the_same_sync_model():
    # 242.504 h (the sync case above; restarted runs add ≈ 2% × 17.5% ≈ 0.35%).
    spec = GoodputSpec(
        gpu_count=64, work_hours=200.0, rates=only_per_job(2.4), params=1.0, lottery=False,
        trials=400, seed=8, checkpoint="sync", checkpoint_save_s=360.0,
        checkpoint_interval_min=120.0,
    )  # fmt: skip
    assert simulate_goodput_loop(spec).mean() == pytest.approx(242.504 * 1.0035, rel=0.02)


def numeric_truncated_exponential(a: float, width: float) -> tuple[float, float]:
    """Mean and variance of T ~ exponential(a) given T < width, by integrating a·e^{−at}."""
    t = np.linspace(0.0, width, 200_001)
    density = a * np.exp(-a * t)
    mass = np.trapezoid(density, t)
    mean = np.trapezoid(t * density, t) / mass
    return float(mean), float(np.trapezoid(t * t * density, t) / mass - mean**2)


def test_lost_work_and_restarts_have_the_spread_of_their_distributions():
    # Sync, 0.1 failures per wall hour, a 0.5-h save every 1 h of work: overhead 1.5, a = 0.15.
    # Each failure loses T ~ exponential(0.15) given T < 1 h, in wall hours × 1.5; integrated:
    # mean ≈ 0.48750 work-h, variance ≈ 0.08324 (a uniform on [0, 1) would give 0.5, 1/12).
    # A run with k failures loses a sum of k of them: mean k · 0.4875 · 1.5, variance
    # k · 0.08324 · 1.5² = k · 0.18729; so (lost − k · 0.73125) / √k has variance 0.18729.
    # Restarts are lognormal, median 20 min, σ 0.5: mean m = (1/3) · e^{0.125} = 0.377716 h,
    # variance (e^{0.25} − 1) · m² = 0.284025 × 0.142669 = 0.040522 per restart.
    mean_t, var_t = numeric_truncated_exponential(0.15, 1.0)
    assert mean_t == pytest.approx(0.48750, rel=1e-4)
    assert var_t == pytest.approx(0.08324, rel=1e-3)
    r = sync_run(seed=0, checkpoint_save_s=1800.0, checkpoint_interval_min=60.0)
    k = r.interruptions.astype(float)
    assert k.min() > 0
    # Failures: 200 intervals × (e^{0.15} − 1) = 200 × 0.161834 = 32.37 a run (≈ 2% of the runs
    # redo 5–30% more).
    assert k[r.whole_run_restarts == 0].mean() == pytest.approx(32.37, rel=0.02)
    lost, rec = r.lost_work_hours, r.recovery_hours
    assert lost.sum() / k.sum() == pytest.approx(mean_t * 1.5, rel=0.01)
    assert np.var((lost - k * mean_t * 1.5) / np.sqrt(k)) == pytest.approx(var_t * 1.5**2, rel=0.08)
    assert rec.sum() / k.sum() == pytest.approx(0.377716, rel=0.008)
    assert np.var((rec - k * 0.377716) / np.sqrt(k)) == pytest.approx(0.040522, rel=0.12)


def test_failures_split_by_cause_in_proportion_to_their_rates():
    # 1,000 GPUs on 10-GPU servers (100 servers), rates chosen for round shares:
    #   gpu 1.0 × 1000/1000 = 1.0, host 2.0 × 100/1000 = 0.2, network 3.0 × 0.1 = 0.3,
    #   software 5.0 × 0.1 + 0 = 0.5 → 2.0 a day; shares 50%, 10%, 15%, 25%.
    rates = FailureRates(
        gpu_per_1000_gpu_days=1.0,
        host_per_1000_node_days=2.0,
        network_per_1000_node_days=3.0,
        software_per_day=0.0,
        software_per_1000_node_days=5.0,
    )
    r = simulate_goodput(
        GoodputSpec(
            gpu_count=1000, gpus_per_server=10, work_hours=200.0, rates=rates, params=1.0,
            lottery=False, trials=2000, seed=9, checkpoint="sync", checkpoint_save_s=360.0,
            checkpoint_interval_min=120.0,
        )
    )  # fmt: skip
    assert r.failures_per_day == pytest.approx(2.0, rel=1e-12)
    by_cause = r.interruptions_by_cause
    assert list(by_cause) == ["gpu", "host", "network", "software"]
    assert np.array_equal(sum(by_cause.values()), r.interruptions)  # every failure has a cause
    total = r.interruptions.sum()
    for cause, share in (("gpu", 0.5), ("host", 0.1), ("network", 0.15), ("software", 0.25)):
        assert by_cause[cause].sum() / total == pytest.approx(share, abs=0.01)
    summary = r.summary()
    for cause in ("gpu", "host", "network", "software"):
        p10, p50, p90 = np.percentile(by_cause[cause], [10, 50, 90])
        assert summary[f"{cause}_failures"] == {"p10": p10, "p50": p50, "p90": p90}


# ---------------------------------------------------------------------------------------------
# Loss spikes in the Monte Carlo
# ---------------------------------------------------------------------------------------------


def test_fp16_loss_spikes_roll_back_an_interval_more_and_need_a_person():
    # FP16 at 400B: 0.18 × √4 = 0.36 spikes a day = 0.015 an hour of training; 2,000 h of work
    # → 30 spikes a run. Sync 0.5-h saves every 2 h: overhead 1.25. Each spike loses the work
    # since the last checkpoint (uniform on [0, τ)) plus one interval: uniform on [τ, 2τ), mean
    # 1.5 × 2 × 1.25 = 3.75 wall h, variance (2 × 1.25)² / 12 = 0.520833. A person looks for a
    # lognormal median 6 h (σ 0.5): mean 6 · e^{0.125} = 6.798888 h, variance (e^{0.25} − 1) ·
    # 6.798888² = 0.284025 × 46.2249 = 13.1290. No interruptions (10⁻⁹ a day).
    # Wall: 2,000 × 1.25 + 30 × (3.75 + 6.798888) = 2,500 + 316.47 = 2,816.47 h.
    r = simulate_goodput(
        GoodputSpec(
            gpu_count=64, work_hours=2000.0, rates=only_per_job(1e-9), params=400e9,
            precision="fp16", lottery=False, trials=10_000, seed=0, checkpoint="sync",
            checkpoint_save_s=1800.0, checkpoint_interval_min=120.0,
        )
    )  # fmt: skip
    assert r.interruptions.sum() == 0
    clean = r.whole_run_restarts == 0
    s = r.loss_spikes.astype(float)
    assert s[clean].mean() == pytest.approx(30.0, rel=0.015)
    lost, rec, spike = r.lost_work_hours, r.recovery_hours, r.spike_recovery_hours
    assert lost.sum() / s.sum() == pytest.approx(3.75, rel=0.01)
    assert np.var((lost - 3.75 * s) / np.sqrt(s)) == pytest.approx(0.520833, rel=0.05)
    assert rec.sum() / s.sum() == pytest.approx(6.798888, rel=0.01)
    assert np.var((rec - 6.798888 * s) / np.sqrt(s)) == pytest.approx(13.129, rel=0.12)
    # What the spikes cost, all of it: the work they lose and the people's time.
    assert spike == pytest.approx(lost + rec, rel=1e-12)
    assert r.wall_hours[clean].mean() == pytest.approx(2816.47, rel=0.01)
    assert r.wall_hours == pytest.approx(1.25 * r.work_hours + lost + rec, rel=1e-12)
    assert r.summary()["loss_spikes"]["p50"] == pytest.approx(30.0, abs=1.0)


def test_bf16_loss_spikes_are_rare_and_quick_to_handle():
    # BF16 at 900B: 0.01 × √9 = 0.03 a day = 0.00125 an hour; 8,000 h → 10 spikes a run;
    # a person looks for a median 2 h: mean 2 · e^{0.125} = 2.266296 h.
    r = simulate_goodput(
        GoodputSpec(
            gpu_count=64, work_hours=8000.0, rates=only_per_job(1e-9), params=900e9,
            precision="bf16", lottery=False, trials=2000, seed=0, checkpoint="sync",
            checkpoint_save_s=1800.0, checkpoint_interval_min=120.0,
        )
    )  # fmt: skip
    clean = r.whole_run_restarts == 0
    assert r.loss_spikes[clean].mean() == pytest.approx(10.0, rel=0.03)
    assert r.recovery_hours.sum() / r.loss_spikes.sum() == pytest.approx(2.266296, rel=0.02)


# ---------------------------------------------------------------------------------------------
# Per-trial draws: the hardware lottery, whole-run restarts, provider delays
# ---------------------------------------------------------------------------------------------


def test_the_throughput_lottery_stays_within_its_clip():
    # speed ~ lognormal(0, 0.08) clipped to [0.7, 1.15]; useful hours = work / speed, so within
    # [100 / 1.15, 100 / 0.7] = [86.957, 142.857]. P(speed > 1.15) = P(z > ln 1.15 / 0.08 =
    # 1.747) = 4.0% of runs sit exactly at the upper clip (the lower one, P(z < −4.46) = 4e-6,
    # is out of reach of a quick test). log speed has σ ≈ 0.08 (0.077: the clip).
    r = quiet(lottery=True, trials=100_000, seed=0, checkpoint_interval_min=120.0)
    useful = r.useful_hours
    assert useful.min() == pytest.approx(100 / 1.15, rel=1e-12)
    assert useful.max() <= 100 / 0.7
    assert np.mean(np.isclose(useful, 100 / 1.15, rtol=1e-12)) == pytest.approx(0.040, abs=0.003)
    log_speed = np.log(100 / useful)
    assert np.median(log_speed) == pytest.approx(0.0, abs=0.002)
    assert np.std(log_speed) == pytest.approx(0.077, abs=0.003)
    # Without the lottery every run trains at the nominal speed.
    assert np.all(quiet(lottery=False, trials=50).useful_hours == 100.0)


def test_the_failure_lottery_raises_the_mean_rate_by_its_lognormal_mean():
    # Each run's failure rate × m, m ~ lognormal(0, 0.5): E[m^k] = e^{k² · 0.125}.
    # 0.24 a day = 0.01 an hour; sync 36-s saves every 1 h: overhead 1.01, a = 0.0101 m per work
    # hour, failures per interval e^{0.0101 m} − 1; averaged over m:
    # 0.0101 · e^{0.125} + 0.0101²/2 · e^{0.5} + 0.0101³/6 · e^{1.125}
    # = 0.0114445 + 0.0000841 + 0.0000005 = 0.0115291 per hour of work (without the lottery
    # e^{0.0101} − 1 = 0.0101512).
    common = dict(
        gpu_count=64, work_hours=1000.0, rates=only_per_job(0.24), params=1.0, trials=10000,
        seed=0, checkpoint="sync", checkpoint_save_s=36.0, checkpoint_interval_min=60.0,
    )  # fmt: skip
    r = simulate_goodput(GoodputSpec(**common, lottery=True))
    assert r.interruptions.sum() / r.work_hours.sum() == pytest.approx(0.0115291, rel=0.03)
    r = simulate_goodput(GoodputSpec(**common, lottery=False))
    assert r.interruptions.sum() / r.work_hours.sum() == pytest.approx(0.0101512, rel=0.02)


@pytest.mark.parametrize("precision, share", [("fp16", 0.08), ("bf16", 0.02), ("fp32", 0.02)])
def test_whole_run_restarts_redo_five_to_thirty_percent(precision, share):
    # A planning assumption: 8% of FP16 runs and 2% of the others restart from scratch and redo
    # a uniform 5–30% of the work (mean 17.5%, standard deviation 0.25/√12 = 0.0722).
    r = quiet(precision=precision, trials=20000, seed=1)
    restarted = r.whole_run_restarts == 1
    assert r.whole_run_restarts.dtype.kind == "i"
    assert set(np.unique(r.whole_run_restarts)) <= {0, 1}
    assert restarted.mean() == pytest.approx(share, abs=0.006)
    ratio = r.work_hours / r.useful_hours
    assert np.all(ratio[~restarted] == 1.0)
    assert ratio[restarted].min() >= 1.05 and ratio[restarted].max() <= 1.30
    assert ratio[restarted].mean() == pytest.approx(1.175, abs=0.01)
    assert ratio[restarted].std() == pytest.approx(0.0722, abs=0.006)


@pytest.mark.parametrize(
    "provider, late_share, median_days",
    [("reliable", 0.10, 14.0), ("standard", 0.30, 30.0), ("risky", 0.50, 60.0)],
)
def test_provider_delays(provider, late_share, median_days):
    # The provider class: a share of clusters is delivered late by a lognormal delay (median as
    # given, σ 0.6); the others start on the day.
    r = quiet(provider_class=provider, trials=100_000, seed=2)
    delay = r.start_delay_days
    late = delay > 0
    assert np.all(delay[~late] == 0.0)
    assert late.mean() == pytest.approx(late_share, abs=0.01)
    assert np.exp(np.mean(np.log(delay[late]))) == pytest.approx(median_days, rel=0.03)
    assert np.std(np.log(delay[late])) == pytest.approx(0.6, abs=0.03)
    summary = r.summary()["start_delay_days"]
    p10, p50, p90 = np.percentile(delay, [10, 50, 90])
    assert summary == {"p10": p10, "p50": p50, "p90": p90}


# ---------------------------------------------------------------------------------------------
# Async rollbacks: more cases of the worked model above
# ---------------------------------------------------------------------------------------------


def test_async_write_nearly_as_long_as_the_interval():
    # 0.1 failures per wall hour; async, τ = 2 h, a 1.5-h write (5,400 s), a 900-s = 0.25-h
    # snapshot: overhead 1 + 0.25/2 = 1.125, a = 0.1125, aτ = 0.225, aw = 0.16875.
    # e^{0.225} − 1 = 0.252323 (sync: failures per interval); e^{0.16875} = 1.183827;
    # work-time per interval e^{aw} (e^{aτ} − 1)/a = 1.183827 × 0.252323 / 0.1125 = 2.655165 h:
    # lost 0.655165 work-h × 1.125 = 0.737061 wall h an interval; 100 intervals (201 h, one
    # partial hour): ≈ 73.71 h. Failures: 100 × 1.183827 × 0.252323 = 29.87.
    r = simulate_goodput(
        GoodputSpec(
            gpu_count=64, work_hours=201.0, rates=only_per_job(2.4), params=1.0, lottery=False,
            trials=4000, seed=3, checkpoint="async", checkpoint_save_s=5400.0,
            checkpoint_snapshot_s=900.0, checkpoint_interval_min=120.0,
        )
    )  # fmt: skip
    clean = r.whole_run_restarts == 0
    assert r.interruptions[clean].mean() == pytest.approx(29.87, rel=0.03)
    assert r.lost_work_hours[clean].mean() == pytest.approx(73.71, rel=0.02)


def test_async_failure_count_of_a_short_run_follows_the_documented_draws():
    # _draw_failures' docstring: over N = 10 intervals of τ = 4 h (40 h of work, no partial),
    # write w = 1 h, a = 0.10025 (the async case worked above), p = e^{−aτ} = 0.669642,
    # e^{−aw} = 0.904615:
    #   undone U ~ NB(N, e^{−aw}):                  E = 10 × (1/0.904615 − 1)        = 1.05443
    #   late   L ~ Bin(N − 1, 1 − p/e^{−aw}):       E = 9 × (1 − 0.740248)           = 2.33777
    #   plain    ~ NB(U + L + 1, p):                E = (1.05443 + 2.33777 + 1) × 0.493336
    #                                                                                = 2.16684
    #   failures = U + L + plain:                   E = 5.55904 a run.
    r = async_run(seed=4, work_hours=40.0, trials=20000)
    clean = r.whole_run_restarts == 0
    assert r.interruptions[clean].mean() == pytest.approx(5.55904, rel=0.02)
    # 42 h: the same 10 intervals and a last partial 2 h, retried until it survives:
    # NB(1, e^{−2a}) adds e^{0.2005} − 1 = 0.222017 → 5.78106.
    r = async_run(seed=5, work_hours=42.0, trials=20000)
    clean = r.whole_run_restarts == 0
    assert r.interruptions[clean].mean() == pytest.approx(5.78106, rel=0.015)


# ---------------------------------------------------------------------------------------------
# The event-by-event loop
# ---------------------------------------------------------------------------------------------


def test_the_loop_on_a_quiet_cluster_is_exactly_work_times_overhead():
    # Nothing fails, nothing spikes: every trial's wall time is its work (the same per-trial
    # draws as the vectorised run, whole-run restarts included) × (1 + 0.5/2) = 1.25.
    spec = GoodputSpec(
        gpu_count=64, work_hours=100.0, rates=only_per_job(1e-9), params=1.0, lottery=True,
        trials=300, seed=5, checkpoint="sync", checkpoint_save_s=1800.0,
        checkpoint_interval_min=120.0,
    )  # fmt: skip
    walls = simulate_goodput_loop(spec)
    vec = simulate_goodput(spec)
    assert walls == pytest.approx(1.25 * vec.work_hours, rel=1e-12)
    assert walls == pytest.approx(vec.wall_hours, rel=1e-12)


def test_the_loop_rolls_back_further_and_calls_a_person_on_a_loss_spike():
    # FP16 at 400B: 0.015 spikes per hour (above); no interruptions; sync 36-s saves every
    # τ = 6 h: overhead o = 1 + 0.01/6 = 1.0016667. In the loop spikes strike per hour of
    # running, redone work included. Each loses the work since the last checkpoint (≈ τ/2) plus
    # one interval: 1.5 τ = 9 work hours, and costs a lognormal 6-h median of a person's time
    # (mean 6.798888 h). Spikes n over W = 1,000 h of work satisfy n = 0.015 · o · (W + 9 n):
    #   n = 0.015025 × 1000 / (1 − 0.015025 × 9) = 15.025 / 0.864775 = 17.374;
    #   wall = (1000 + 9 × 17.374) × 1.0016667 + 17.374 × 6.798888
    #        = 1158.30 + 118.13 = 1276.4 h.
    spec = GoodputSpec(
        gpu_count=64, work_hours=1000.0, rates=only_per_job(1e-9), params=400e9,
        precision="fp16", lottery=False, trials=400, seed=0, checkpoint="sync",
        checkpoint_save_s=36.0, checkpoint_interval_min=360.0,
    )  # fmt: skip
    walls = simulate_goodput_loop(spec)
    clean = simulate_goodput(spec).whole_run_restarts == 0
    assert walls[clean].mean() == pytest.approx(1276.4, rel=0.02)
    # Deterministic for a seed: the same walls again.
    assert np.array_equal(simulate_goodput_loop(spec), walls)


def test_the_summary_reports_the_10th_50th_and_90th_percentiles():
    # The summary's distributions are p10 / p50 / p90 of the per-trial arrays, in the units
    # their names say: days for the wall clock (hours / 24), a share for the effective time.
    r = sync_run(seed=6, trials=500, lottery=True, provider_class="risky")
    summary = r.summary()
    arrays = {
        "interruptions": r.interruptions,
        "loss_spikes": r.loss_spikes,
        "effective_training_time": r.useful_hours / r.wall_hours,
        "wall_clock_days": r.wall_hours / 24,
        "start_delay_days": r.start_delay_days,
        "lost_work_hours": r.lost_work_hours,
        "software_failures": r.interruptions,  # the only cause of only_per_job()
        "gpu_failures": np.zeros(500),
    }
    for key, values in arrays.items():
        p10, p50, p90 = np.percentile(values, [10, 50, 90])
        assert summary[key] == pytest.approx({"p10": p10, "p50": p50, "p90": p90}, rel=1e-12)
        assert all(type(v) is float for v in summary[key].values())
    assert np.all(r.effective_training_time < 1.0)

"""PPO's four resident models and the time of an iteration (``rlhf``), worked by hand, and the
program's PPO stage that uses them (issue 15)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from llmplanner.simulation import program
from llmplanner.simulation.architecture import PRESETS
from llmplanner.simulation.hardware import gpu_by_name
from llmplanner.simulation.planspec import parse_plan
from llmplanner.simulation.program import _ppo_plan, simulate_program
from llmplanner.simulation.rlhf import (
    DECODE_MBU,
    PPOConfig,
    decode_seconds,
    kv_bytes_per_token,
    plan_ppo,
    ppo_iteration,
    ppo_memory,
    training_state_bytes_per_gpu,
)

from .conftest import EXAMPLES

GIB = 2**30
A100 = gpu_by_name("A100-80GB")  # 80 GiB, 2.039 TB/s HBM, 312 dense BF16 TFLOP/s
# Parameters as the core counts them (architecture.ModelSpec.total_params).
P7 = 6_738_677_760  # Llama-2 7B
P70 = 68_977_958_912  # Llama-2 70B


def seven_b(**kw) -> PPOConfig:
    return PPOConfig(PRESETS["llama2-7b"], A100, 8, 512, 512, mfu=0.4, **kw).validate()


def test_the_parameter_counts_the_worked_numbers_use():
    assert PRESETS["llama2-7b"].total_params() == P7
    assert PRESETS["llama2-70b"].total_params() == P70
    # Llama-2 7B: 2 (K, V) × 32 layers × 32 KV heads × 128 × 2 bytes = 524,288 bytes per token.
    assert kv_bytes_per_token(PRESETS["llama2-7b"]) == 524_288


def test_a_7b_ppo_fits_on_8_a100_80gb_worked_by_hand():
    cfg = seven_b()
    trained, frozen = training_state_bytes_per_gpu(cfg)
    # Actor and critic trained: 2 × P × 16 bytes (2 weights, 2 gradients, 12 Adam) over 8 GPUs.
    assert trained == 2 * P7 * 16 / 8 == 26_954_711_040  # 25.10 GiB
    # Reference and reward model frozen: 2 × P × 2 bytes over 8 GPUs.
    assert frozen == 2 * P7 * 2 / 8 == 3_369_338_880  # 3.14 GiB
    mem = ppo_memory(cfg)
    assert mem.trained_gib + mem.frozen_gib == pytest.approx(28.2415, abs=1e-3)
    # Reserve: 2.5 GiB + 5% of the states = 3.912 GiB; free for generation 80 − 28.24 − 3.91 =
    # 47.85 GiB. The gathered actor (2 × P = 12.55 GiB) takes under half of it: replicas of one
    # GPU, eight of them, 64 of the 512 prompts each. A sequence of 1,024 tokens holds 0.5 GiB of
    # KV cache; 47.85 − 12.55 = 35.29 GiB holds 70, so all 64 decode together: 32 GiB.
    assert mem.reserve_gib == pytest.approx(3.9121, abs=1e-3)
    lay = mem.layout
    assert (lay.width, lay.replicas, lay.per_replica) == (1, 8, 64)
    assert (lay.concurrent, lay.waves) == (64, 1)
    assert lay.weights_gib == pytest.approx(12.5518, abs=1e-3)
    assert lay.kv_gib == 32.0
    # 28.24 + 3.91 + 12.55 + 32 = 76.71 GiB ≤ 80: it fits.
    assert mem.total_gib == pytest.approx(76.7053, abs=1e-3)
    assert mem.fits and mem.shortfall_gib == 0.0


def test_a_70b_ppo_does_not_fit_on_8_gpus_of_80_gb():
    cfg = PPOConfig(PRESETS["llama2-70b"], A100, 8, 512, 512).validate()
    mem = ppo_memory(cfg)
    # Actor and critic alone: 2 × 68.98e9 × 16 / 8 = 275.9e9 bytes = 256.96 GiB per GPU.
    assert mem.trained_gib == pytest.approx(2 * P70 * 16 / 8 / GIB) == pytest.approx(256.96, 1e-4)
    assert mem.frozen_gib == pytest.approx(2 * P70 * 2 / 8 / GIB)  # 32.12 GiB
    assert not mem.fits
    assert mem.shortfall_gib > 256.96 + 32.12 - 80.0
    assert mem.shortfall_gib == pytest.approx(mem.total_gib - 80.0)


def test_smaller_critic_and_reward_models_take_less():
    cfg = seven_b(critic_params=1e9, reward_params=1e9)
    trained, frozen = training_state_bytes_per_gpu(cfg)
    assert trained == (P7 + 1e9) * 16 / 8
    assert frozen == (P7 + 1e9) * 2 / 8


def test_decode_is_the_weights_read_once_per_step_over_the_hbm_bandwidth():
    # 512 steps reading the 16-bit 7B (13.48e9 bytes) on one A100 at 50% of 2.039 TB/s:
    # 512 × 13,477,355,520 / (2.039e12 × 0.5) = 6.768 s.
    assert DECODE_MBU == 0.5
    assert decode_seconds(2 * P7, 1, A100, 512) == pytest.approx(6.7684, abs=1e-3)
    # Spread over 4 GPUs holding a quarter of the weights each: four times faster.
    assert decode_seconds(2 * P7, 4, A100, 512) == pytest.approx(6.7684 / 4, abs=1e-3)


def test_a_7b_ppo_iteration_worked_by_hand():
    it = ppo_iteration(seven_b())
    # Decode: each of the 512 steps reads the weights (13.48e9 bytes) and the KV cache of 64
    # sequences at their mean length, 512 + 256 = 768 tokens (64 × 768 × 524,288 = 25.77e9 bytes):
    # 39.25e9 / 1.0195e12 = 38.5 ms (computing 2 × P × 64 FLOPs takes 6.9 ms: memory-bound).
    assert it.decode_s == pytest.approx(512 * (2 * P7 + 64 * 768 * 524_288) / (2.039e12 * 0.5))
    assert it.decode_s == pytest.approx(19.710, abs=1e-2)
    flops_per_s = 8 * 312e12 * 0.4  # 8 GPUs at the SFT job's MFU
    tokens = 512 * 1024
    # Prefill 2·P per prompt token; experience: actor, reference, reward, critic forward, 2·P
    # each; training: actor and critic forward and backward, 6·P each.
    assert it.prefill_s == pytest.approx(2 * P7 * 512 * 512 / flops_per_s)  # 3.54 s
    assert it.experience_s == pytest.approx(4 * 2 * P7 * tokens / flops_per_s)  # 28.31 s
    assert it.training_s == pytest.approx(2 * 6 * P7 * tokens / flops_per_s)  # 42.46 s
    assert it.total_s == pytest.approx(3.539 + 19.710 + 28.309 + 42.464, abs=1e-2)


def test_a_whole_ppo_stage_adds_the_reward_model_to_the_iterations():
    cfg = seven_b()
    plan = plan_ppo(cfg, episodes=100_000, pairs=100_000, tokens_per_sample=1000)
    assert plan.iterations == 196  # ⌈100,000 / 512⌉
    # The reward model: one epoch, chosen and rejected, 6·P FLOPs per token.
    assert plan.reward_model_s == pytest.approx(6 * P7 * 2 * 100_000 * 1000 / (8 * 312e12 * 0.4))
    assert plan.wall_clock_s == pytest.approx(plan.reward_model_s + 196 * plan.iteration.total_s)
    assert 0.0 < plan.generation_share < 1.0


def test_more_gpus_shard_the_states_thinner():
    one = ppo_memory(PPOConfig(PRESETS["llama2-70b"], A100, 64, 512, 512))
    two = ppo_memory(PPOConfig(PRESETS["llama2-70b"], A100, 128, 512, 512))
    assert two.trained_gib == pytest.approx(one.trained_gib / 2)
    assert two.fits


def gpt3_plan() -> dict:
    return json.loads((EXAMPLES / "plan-gpt3-175b.json").read_text())


def test_the_gpt3_example_runs_ppo_on_twice_the_sft_gpus_because_64_cannot_hold_four_175b():
    spec = parse_plan(gpt3_plan())
    a800 = spec.cluster.gpu
    on_64 = ppo_memory(PPOConfig(PRESETS["gpt3-175b"], a800, 64, 500, 500))
    # 2 × 175.2e9 × 16 / 64 = 87.6e9 bytes = 81.6 GiB of trained states alone.
    assert on_64.trained_gib == pytest.approx(81.58, abs=0.01) and not on_64.fits
    result = simulate_program(spec, trials=300, seed=0)
    rlhf = next(s for s in result.stages if s.key == "rlhf")
    sft = next(s for s in result.stages if s.key == "sft")
    assert sft.gpu_count == 64 and rlhf.gpu_count == 128
    assert rlhf.shortfall_gib == 0.0
    assert "actor, critic, reference and reward model" in rlhf.note
    assert np.allclose(rlhf.gpu_hours, (rlhf.finish_days - rlhf.start_days) * 24 * 128)


def test_the_ppo_stage_takes_its_days_from_the_ppo_model(monkeypatch):
    plans = []

    def keep(*args, **kwargs):
        plans.append(_ppo_plan(*args, **kwargs))
        return plans[-1]

    monkeypatch.setattr(program, "_ppo_plan", keep)
    result = simulate_program(parse_plan(gpt3_plan()), trials=2000, seed=3)
    (plan,) = plans
    rlhf = next(s for s in result.stages if s.key == "rlhf")
    days = rlhf.finish_days - rlhf.start_days
    # Two attempts plus five days of tuning, lognormal (σ 0.35) around that median.
    assert np.median(days) == pytest.approx(2 * plan.wall_clock_days + 5.0, rel=0.05)
    # No longer the planning 4× of the SFT compute: the iterations and the reward model.
    assert plan.wall_clock_s == pytest.approx(
        plan.reward_model_s + plan.iterations * plan.iteration.total_s
    )


def test_a_ppo_stage_that_fits_on_no_gpu_of_its_pool_reports_the_shortfall():
    data = json.loads((EXAMPLES / "plan-sft-7b.json").read_text())
    data["model"] = {"preset": "llama2-70b"}
    data["rlhf"] = {"method": "ppo", "preference_pairs": 20_000}
    spec = parse_plan(data)
    result = simulate_program(spec, trials=100, seed=0)
    rlhf = next(s for s in result.stages if s.key == "rlhf")
    assert rlhf.gpu_count == 8  # the pool has 8 GPUs: nothing to double onto
    expected = ppo_memory(PPOConfig(PRESETS["llama2-70b"], spec.cluster.gpu, 8, 500, 500))
    assert rlhf.shortfall_gib == pytest.approx(expected.shortfall_gib) and rlhf.shortfall_gib > 200


def test_dpo_keeps_its_treatment_policy_and_reference_on_the_sft_gpus():
    data = copy.deepcopy(gpt3_plan())
    data["rlhf"] = {"method": "dpo", "preference_pairs": 100_000}
    result = simulate_program(parse_plan(data), trials=100, seed=0)
    rlhf = next(s for s in result.stages if s.key == "rlhf")
    assert rlhf.name == "Preference tuning (DPO)"
    assert rlhf.gpu_count == 64 and rlhf.note == ""

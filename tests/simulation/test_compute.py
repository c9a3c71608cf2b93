"""FLOPs per token and the time model's basic laws."""

from __future__ import annotations

import pytest

from llmplanner.simulation import ClusterSpec, Layout, TrainingSpec, gpu_by_name, preset
from llmplanner.simulation.perf import evaluate
from llmplanner.simulation.search import layout_candidates


def _eval(model, training, layout, gpu="A100-80GB"):
    cluster = ClusterSpec(gpu=gpu_by_name(gpu), gpu_count=layout.gpus)
    return evaluate(model, training, cluster, layout_candidates(layout))


def test_model_flops_match_narayanans_formula_for_gpt3():
    # Narayanan et al. 2021 eq. 3 without the recompute pass: 72·l·h²·(1 + s/(6h) + V/(12·l·h)) per
    # token.
    m = preset("gpt3-175b")
    n_layers, h, s, V = m.layers, m.hidden, 2048, m.vocab
    expected = 72 * n_layers * h**2 * (1 + s / (6 * h) + V / (12 * n_layers * h))
    ev = _eval(m, TrainingSpec(1e9, 64, s), Layout(tp=8, pp=8, micro_batch=1))
    assert ev.model_flops_per_token == pytest.approx(expected, rel=0.01)


def test_model_flops_are_about_6n_plus_attention():
    # Kaplan 2020 / PaLM: 6N + 12·L·h·s.
    m = preset("llama2-7b")
    ev = _eval(m, TrainingSpec(1e9, 8, 4096), Layout(dp=8))
    six_n = 6 * (m.total_params() - m.vocab * m.hidden)  # input embedding is a look-up
    assert ev.model_flops_per_token == pytest.approx(
        six_n + 12 * m.layers * m.hidden * 4096, rel=0.01
    )


def test_moe_counts_active_parameters_only():
    m = preset("mixtral-8x7b")
    ev = _eval(m, TrainingSpec(1e9, 8, 4096), Layout(dp=8, ep=8, zero=1))
    assert ev.model_flops_per_token < 6 * 0.4 * m.total_params()
    assert ev.model_flops_per_token == pytest.approx(
        6 * (m.active_params() - m.vocab * m.hidden) + 12 * m.layers * m.hidden * 4096, rel=0.01
    )


def test_full_recompute_adds_a_forward_pass_to_hardware_flops_only():
    m = preset("llama2-7b")
    t = TrainingSpec(1e9, 64, 4096)
    none = _eval(m, t, Layout(dp=8, recompute="none"))
    full = _eval(m, t, Layout(dp=8, recompute="full"))
    assert none.model_flops_per_token == full.model_flops_per_token
    ratio = float(full.hardware_flops_per_token[0]) / none.model_flops_per_token
    assert 1.25 < ratio < 1.34  # ≈ 4/3, less the output layer that is not recomputed
    assert float(full.hfu[0]) > float(full.mfu[0])


def test_the_pipeline_bubble_is_p_minus_1_over_m_v():
    # Narayanan et al. 2021: the 1F1B bubble is (p−1)/v micro-batch times, i.e. (p−1)/(m·v) of the
    # m micro-batches' time.
    m = preset("gpt3-175b")
    t = TrainingSpec(1e9, 64, 2048)
    bubbles = {}
    for vp in (1, 2, 4):
        ev = _eval(m, t, Layout(tp=8, pp=8, vp=vp, dp=1, micro_batch=1))
        t_mb, micro = float(ev.micro_batch_s[0]), float(ev.micro_batches[0])
        assert micro == 64
        assert float(ev.bubble_s[0]) == pytest.approx(7 / vp * t_mb, rel=1e-9)
        assert float(ev.bubble_s[0]) / (micro * t_mb) == pytest.approx(7 / (64 * vp), rel=1e-9)
        bubbles[vp] = float(ev.bubble_s[0])
    assert bubbles[1] > bubbles[2] > bubbles[4]


def test_fp8_is_faster_than_bf16_on_hopper_but_not_twice():
    m = preset("llama3-70b")
    lay = Layout(tp=4, pp=4, dp=4, micro_batch=1)
    bf16 = _eval(m, TrainingSpec(1e9, 64, 8192, "bf16"), lay, "H100")
    fp8 = _eval(m, TrainingSpec(1e9, 64, 8192, "fp8"), lay, "H100")
    speedup = float(fp8.tokens_per_s[0] / bf16.tokens_per_s[0])
    assert 1.1 < speedup < 2.0


def test_slower_nvlink_makes_a800_slower_than_a100_with_tensor_parallelism():
    m = preset("gpt3-175b")
    t = TrainingSpec(1e9, 256, 2048)
    lay = Layout(tp=8, pp=8, dp=4, micro_batch=1)
    a100 = _eval(m, t, lay, "A100-80GB")
    a800 = _eval(m, t, lay, "A800")
    assert float(a800.step_time_s[0]) > float(a100.step_time_s[0])
    # 600 → 400 GB/s: the bandwidth term grows 1.5×; the per-hop latency term does not.
    assert 1.3 < float(a800.tp_comm_s[0]) / float(a100.tp_comm_s[0]) <= 1.5

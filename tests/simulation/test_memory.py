"""Memory formulas against worked numbers from their papers."""

from __future__ import annotations

import numpy as np
import pytest

from llmplanner.simulation import (
    ClusterSpec,
    Layout,
    ModelSpec,
    TrainingSpec,
    gpu_by_name,
    infer_from_params,
    preset,
)
from llmplanner.simulation.perf import (
    GIB,
    activation_units,
    checkpoint_bytes,
    evaluate,
    model_state_bytes,
    training_state_bytes,
)
from llmplanner.simulation.search import layout_candidates

PSI = 7.5e9  # ZeRO paper, Figure 1: Ψ = 7.5B parameters, N_d = 64 data-parallel GPUs, K = 12


@pytest.mark.parametrize("zero, expected_gb", [(0, 120.0), (1, 31.4), (2, 16.6), (3, 1.9)])
def test_zero_stages_match_the_zero_paper_figure_1(zero, expected_gb):
    w, g, o = model_state_bytes(PSI, zero, 64)
    assert float(w + g + o) / 1e9 == pytest.approx(expected_gb, rel=0.02)


def test_mixed_precision_adam_needs_16_bytes_per_parameter():
    assert training_state_bytes(1.0) == 16.0
    assert training_state_bytes(1.0, precision="fp32") == 16.0  # 4 weights + 4 grads + 8 moments


def test_200b_parameters_need_at_least_3_tb_of_training_state():
    # seed 001: 200B × 4 bytes = 800 GB of weights; with gradients and optimizer ≥ 3 TB.
    weights, _, _ = model_state_bytes(200e9, zero=0, shard=1, precision="fp32")
    assert float(weights) == 800e9
    assert training_state_bytes(200e9) >= 3e12


def test_a_gpt3_class_checkpoint_with_optimizer_state_is_2_to_3_tb():
    size = checkpoint_bytes(preset("gpt3-175b"))
    assert 2e12 <= size <= 3e12  # seed 000: "2T or 3T"; BLOOM-176B's was 2.3 TB


def test_bloom_checkpoint_is_reproduced_at_14_bytes_per_parameter():
    bloom_like = infer_from_params(176e9, vocab=250_880)
    assert checkpoint_bytes(bloom_like) / 1e12 == pytest.approx(2.3, rel=0.08)


def test_activation_units_are_korthikantis_34_without_dropout_masks():
    gpt = ModelSpec("gpt", layers=2, hidden=1024, heads=16, ffn_hidden=4096)
    assert activation_units(gpt) == pytest.approx(32.0)
    # GQA keeps smaller K and V: Llama-3 8B (8 of 32 KV heads) keeps less attention state.
    llama = preset("llama3-8b")
    mha = ModelSpec("mha", layers=2, hidden=4096, heads=32, ffn_hidden=14336, gated_mlp=True)
    assert activation_units(llama) < activation_units(mha)


def _memory(model, training, layout, gpu="A100-80GB"):
    cluster = ClusterSpec(gpu=gpu_by_name(gpu), gpu_count=layout.gpus)
    return evaluate(model, training, cluster, layout_candidates(layout))


def test_activations_follow_korthikanti_with_sequence_parallelism():
    model = ModelSpec("gpt", layers=8, hidden=4096, heads=32, ffn_hidden=16384, vocab=1)
    training = TrainingSpec(tokens=1e9, global_batch_seqs=4, seq_len=2048)
    ev = _memory(model, training, Layout(tp=4, pp=1, dp=1, micro_batch=1))
    # 32·s·b·h / t per layer × 8 layers, plus the tiny logits of a 1-word vocabulary.
    expected = 32 * 2048 * 1 * 4096 / 4 * 8
    assert float(ev.activations_bytes[0]) == pytest.approx(expected, rel=0.01)


def test_full_recompute_keeps_only_layer_inputs_plus_one_layer():
    model = ModelSpec("gpt", layers=8, hidden=4096, heads=32, ffn_hidden=16384, vocab=1)
    training = TrainingSpec(tokens=1e9, global_batch_seqs=4, seq_len=2048)
    ev = _memory(model, training, Layout(tp=1, micro_batch=1, recompute="full"))
    sbh = 2048 * 4096
    expected = 2 * sbh * 8 + 32 * sbh
    assert float(ev.activations_bytes[0]) == pytest.approx(expected, rel=0.01)


def test_unfused_attention_keeps_the_score_matrices():
    model = ModelSpec("gpt", layers=2, hidden=4096, heads=32, ffn_hidden=16384, vocab=1)
    flash = TrainingSpec(tokens=1e9, global_batch_seqs=1, seq_len=2048, flash_attention=True)
    unfused = TrainingSpec(tokens=1e9, global_batch_seqs=1, seq_len=2048, flash_attention=False)
    a = float(_memory(model, flash, Layout()).activations_bytes[0])
    b = float(_memory(model, unfused, Layout()).activations_bytes[0])
    # Korthikanti's 5·a·s²·b bytes per layer for the scores, softmax and dropout.
    assert b - a == pytest.approx(5 * 32 * 2048**2 * 2, rel=0.01)


def test_a_layout_that_does_not_fit_reports_memory_beyond_capacity():
    ev = _memory(
        preset("gpt3-175b"),
        TrainingSpec(1e9, 8, 2048),
        Layout(tp=8, micro_batch=1),
        gpu="A100-80GB",
    )
    assert not bool(ev.feasible[0])
    assert float(ev.memory_bytes[0]) / GIB > 80


def test_zero3_divides_weights_across_data_parallel_ranks():
    model = preset("llama2-7b")
    training = TrainingSpec(tokens=1e9, global_batch_seqs=64, seq_len=4096)
    z0 = _memory(model, training, Layout(dp=8, zero=0))
    z3 = _memory(model, training, Layout(dp=8, zero=3))
    assert float(z3.weights_bytes[0]) == pytest.approx(float(z0.weights_bytes[0]) / 8)
    assert np.all(z3.memory_bytes < z0.memory_bytes)

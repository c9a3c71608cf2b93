"""Worked numbers for the terms of ``perf.py`` that test_perf_terms.py and test_realistic_search.py
leave out (issue 15: mutation testing of the step-time and memory model).

Most tests run a toy model on a toy GPU whose numbers make the arithmetic short:

- GPU: 96 TFLOP/s dense BF16/FP16 (192 FP8), 1 TB/s of HBM (ridge point 96 FLOPs per byte),
  200 GB/s bidirectional scale-up (100 GB/s one way), a 160 Gbit/s NIC (20 GB/s), 4 per server.
- Efficiency: GEMMs 0.5 of peak on Ampere, attention 0.5, network 0.5 of the line rate (so
  50 GB/s inside a server, 10 GB/s per NIC), 1 µs per ring hop, 0.1 allocator fragmentation.
- Model: 4 layers, hidden 1,024, 8 heads of 128, MLP 4,096 (not gated), vocabulary 1,024.
  Attention 4·1024² + 2·1024 = 4,196,352 parameters, MLP 2·1024·4096 + 2·1024 = 8,390,656: a
  layer holds 12,587,008; the embedding 1,048,576.
- Sequences of 384 tokens: one query block of 384 runs flash attention at half its long-sequence
  rate, and with a micro-batch of one sequence and h/t = 1,024 a GEMM's size efficiency is
  1 / (1 + 256/1024 + 96/384) = 2/3, i.e. 96e12 · 0.5 · 2/3 = 32 TFLOP/s.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from llmplanner.simulation.architecture import ModelSpec
from llmplanner.simulation.hardware import GPUSpec
from llmplanner.simulation.perf import (
    DEFAULT_EFFICIENCY,
    FITTED_FILE,
    GIB,
    Candidates,
    Efficiency,
    _communication,
    _compute,
    _memory,
    _parameters,
    _setup,
    activation_units,
    checkpoint_bytes,
    evaluate,
    fp8_cast_units,
    load_fitted,
    state_bytes,
    training_state_bytes,
)
from llmplanner.simulation.search import layout_candidates
from llmplanner.simulation.specs import ClusterSpec, Layout, Overlap, TrainingSpec

GPU = GPUSpec(
    key="toy",
    name="Toy",
    aliases=(),
    vendor="test",
    generation="ampere",
    peak_tflops={"fp32": 12.0, "tf32": 48.0, "fp16": 96.0, "bf16": 96.0, "fp8": 192.0},
    memory_gib=80.0,
    hbm_tbps=1.0,
    scaleup_gbps_bidir=200.0,
    scaleout_gbit_per_gpu=160.0,
    gpus_per_server=4,
)
HOPPER = replace(GPU, key="toy-h", generation="hopper")
EFF = Efficiency(
    gemm_peak_fraction_ampere=0.5,
    gemm_peak_fraction_hopper=0.25,
    gemm_peak_fraction_other=0.2,
    fp8_gemm_relative=0.75,
    attention_peak_fraction=0.5,
    gemm_half_width=256.0,
    elementwise_bytes_per_token_layer_h=40.0,
    kernel_launch_s=1e-9,
    net_efficiency=0.5,
    tp_overlap_exposed=0.25,
    dp_overlap=0.5,
    bucket_params=1e6,
    allocator_fragmentation=0.1,
    hop_latency_s=1e-6,
    fp8_cast_factor=0.5,
    softmax_bytes_per_score=34.0,
    step_overhead_s=0.125,
    # Hidden communication is free in these worked numbers; its contention has its own test.
    overlap_contention=0.0,
)
TOY = ModelSpec("toy", layers=4, hidden=1024, heads=8, ffn_hidden=4096, vocab=1024)
LAYER = 12_587_008
EMB = 1_048_576
# Toy MoE: the first layer dense, three MoE layers of 8 experts of width 512 (top-2) and a shared
# one. Expert: 2·1024·512 + 2·1024 = 1,050,624 parameters.
MOE = ModelSpec(
    "toy-moe",
    layers=4,
    hidden=1024,
    heads=8,
    ffn_hidden=4096,
    vocab=1024,
    moe_experts=8,
    moe_top_k=2,
    moe_shared_experts=1,
    moe_ffn_hidden=512,
    moe_dense_layers=1,
)
EXPERT = 1_050_624
NO_LATENCY = EFF.replace(hop_latency_s=0.0)
SEQ = 384


def training(batch: int = 4, **kw) -> TrainingSpec:
    return TrainingSpec(tokens=1e9, global_batch_seqs=batch, seq_len=kw.pop("seq_len", SEQ), **kw)


def cluster_for(layout: Layout, gpu: GPUSpec = GPU, **kw) -> ClusterSpec:
    return ClusterSpec(gpu, layout.gpus, **kw)


def run(model=TOY, train=None, gpu=GPU, eff=EFF, cluster_kw=None, **layout_kw):
    layout = Layout(**layout_kw)
    cluster = cluster_for(layout, gpu, **(cluster_kw or {}))
    return evaluate(model, train or training(), cluster, layout_candidates(layout), eff)


def phases(model=TOY, train=None, gpu=GPU, eff=EFF, cluster_kw=None, **layout_kw):
    """The phases of ``evaluate`` one by one: setup, parameters, compute, communication, memory."""
    layout = Layout(**layout_kw)
    cluster = cluster_for(layout, gpu, **(cluster_kw or {}))
    S = _setup(model, train or training(), cluster, layout_candidates(layout), eff)
    P = _parameters(S)
    mem, p_first, p_expert = _memory(S, P)
    C = _compute(S, P)
    K = _communication(S, P, C, p_first, p_expert)
    return S, P, C, K, mem


def valid(model=TOY, train=None, gpus=None, per_server=0, **layout_kw) -> bool:
    layout = Layout(**layout_kw)
    cluster = ClusterSpec(GPU, gpus or layout.gpus, gpus_per_server=per_server)
    ev = evaluate(model, train or training(), cluster, layout_candidates(layout), EFF)
    return bool(ev.valid[0])


def approx(x, rel=1e-9):
    # Relative only: many of these are microseconds, below pytest's default 1e-12 absolute slack.
    return pytest.approx(x, rel=rel, abs=0.0)


# ---- small pieces ------------------------------------------------------------------------------


def test_the_state_bytes_of_each_precision_and_optimizer():
    # FP32/TF32: 4-byte weights and gradients; Adam keeps m and v (8), SGD momentum (4),
    # Adafactor its factored moments (≈ 4). Mixed precision: 16-bit weights and gradients plus the
    # FP32 master copy (4) with the moments: Adam 12, SGD 8, Adafactor 4.5.
    assert state_bytes("fp32", "adam") == (4.0, 4.0, 8.0)
    assert state_bytes("tf32", "sgd") == (4.0, 4.0, 4.0)
    assert state_bytes("fp32", "adafactor") == (4.0, 4.0, 4.0)
    assert state_bytes("bf16", "adam") == (2.0, 2.0, 12.0)
    assert state_bytes("fp16", "sgd") == (2.0, 2.0, 8.0)
    assert state_bytes("bf16", "adafactor") == (2.0, 2.0, 4.5)


def test_gemm_and_attention_fractions_per_generation():
    eff = Efficiency(
        gemm_peak_fraction_ampere=0.8,
        gemm_peak_fraction_hopper=0.7,
        gemm_peak_fraction_other=0.6,
        attention_peak_fraction=0.4,
    )
    assert eff.gemm_fraction("ampere") == 0.8
    assert eff.gemm_fraction("hopper") == 0.7
    assert eff.gemm_fraction("blackwell") == 0.7  # the Hopper software stack
    assert eff.gemm_fraction("turing") == 0.6
    # Attention: 0.4 × the generation's ratio; eager stacks on Hopper/Blackwell run FA2 (0.5).
    assert eff.attention_fraction("ampere") == approx(0.4)
    assert eff.attention_fraction("ampere", fused=False) == approx(0.4)
    assert eff.attention_fraction("hopper") == approx(0.42)
    assert eff.attention_fraction("blackwell") == approx(0.42)
    assert eff.attention_fraction("hopper", fused=False) == approx(0.2)
    assert eff.attention_fraction("blackwell", fused=False) == approx(0.2)
    assert eff.attention_fraction("volta") == approx(0.24)
    assert eff.attention_fraction("turing", fused=False) == approx(0.24)
    assert eff.attention_fraction("cdna3") == approx(0.2)  # unknown: half of Ampere's


def test_the_priors_are_the_documented_physical_values():
    prior = Efficiency()
    # Documented in the Efficiency docstring and the module docstring.
    assert prior.fp8_gemm_relative == 0.9  # "prior 0.9"
    assert prior.kernel_launch_s == 5e-6  # "~5 µs for a PyTorch eager op"
    assert prior.net_efficiency == 0.8  # "NCCL tests reach ~80% of the line rate"
    assert prior.bucket_params == 40e6  # "Megatron-Core: 40M-parameter buckets"
    assert prior.allocator_fragmentation == 0.07  # "Planning assumption: 7%"
    assert prior.gemm_peak_fraction_other == 0.65
    # Ranges the docstring gives: cuBLAS GEMMs reach 0.7–0.9 of peak; flash attention on A100 at
    # most 73%; shares of a window or of the communication lie between 0 and 1.
    assert 0.7 <= prior.gemm_peak_fraction_ampere <= 0.9
    assert 0.7 <= prior.gemm_peak_fraction_hopper <= 0.9
    assert 0.3 <= prior.attention_peak_fraction <= 0.73
    assert 0 < prior.tp_overlap_exposed < 1
    assert 0 < prior.dp_overlap < 1
    # A ring hop costs microseconds, not milliseconds; a step's fixed overhead is under a second.
    assert 1e-6 <= prior.hop_latency_s <= 1e-4
    assert 0 < prior.step_overhead_s < 1


def test_the_default_efficiency_applies_every_stored_fitted_value():
    stored = json.loads(FITTED_FILE.read_text(encoding="utf-8"))["parameters"]
    assert stored  # the shipped fit
    for name, value in stored.items():
        assert getattr(DEFAULT_EFFICIENCY, name) == float(value), name
    # What the fit does not touch keeps its prior.
    assert DEFAULT_EFFICIENCY.net_efficiency == Efficiency().net_efficiency
    assert DEFAULT_EFFICIENCY.hop_latency_s == Efficiency().hop_latency_s


def test_activation_and_fp8_cast_units_of_a_gated_gqa_layer():
    # h 1,024, 8 query heads and 2 KV heads of 128 (K, V 256 wide), gated MLP of 2,816.
    model = ModelSpec(
        "gqa", layers=2, hidden=1024, heads=8, kv_heads=2, ffn_hidden=2816, gated_mlp=True
    )
    # Attention keeps its input 2, Q/K/V 2 · (1024 + 512)/1024 = 3, the projection input 2: 7;
    # the MLP its input 2 and gate, up and activation outputs 3 · 2 · 2816/1024 = 16.5; norms 4.
    assert activation_units(model) == approx(7 + 18.5 + 4)
    # A token passing an MLP 1,024 wide (e.g. top-k experts): 2 + 6 = 8.
    assert activation_units(model, 1024) == approx(7 + 8 + 4)
    # FP8 casts, 6 bytes per element: forward inputs h + q + h + f = 1024 · 3 + 2816 = 5,888;
    # backward output gradients (q + 2 kv) + h + 2f + h = 1536 + 1024 + 5632 + 1024 = 9,216.
    assert fp8_cast_units(model, 2816) == approx(6 * (5888 + 9216) / 1024)


def test_fp32_states_and_checkpoints():
    # FP32 Adafactor: 4 + 4 + 4 = 12 bytes per parameter (mixed precision would be 8.5).
    assert training_state_bytes(1.0, "fp32", "adafactor") == 12.0
    # An FP32 checkpoint: 4-byte weights + Adam's m and v (8) per parameter, 52,446,208 of them
    # (4 layers, embedding and head, final norm); mixed precision: 2 + 12.
    assert checkpoint_bytes(TOY, "fp32") == 52_446_208 * 12
    assert checkpoint_bytes(TOY) == 52_446_208 * 14


def test_replace_changes_only_the_named_parameters():
    eff = EFF.replace(net_efficiency=0.25)
    assert eff.net_efficiency == 0.25
    assert eff.gemm_half_width == 256.0 and eff.step_overhead_s == 0.125


def test_load_fitted_applies_only_fitted_parameters(tmp_path):
    assert load_fitted(tmp_path / "absent.json") == Efficiency()
    path = tmp_path / "fitted.json"
    # net_efficiency is not a fitted parameter: a stored value is ignored.
    path.write_text(
        json.dumps({"parameters": {"gemm_half_width": "100", "net_efficiency": 0.1}}),
        encoding="utf-8",
    )
    fitted = load_fitted(path)
    assert fitted.gemm_half_width == 100.0
    assert fitted.net_efficiency == Efficiency().net_efficiency
    path.write_text(json.dumps({"data_sha256": "x"}), encoding="utf-8")
    assert load_fitted(path) == Efficiency()


def test_candidates_take_and_length():
    cand = Candidates(
        *(np.array([1, 2, 4]) for _ in range(7)),
        recompute=np.array([0, 1, 2]),
        zero=np.array([0, 1, 3]),
        offload=np.array([0, 0, 1]),
    )
    assert len(cand) == 3
    picked = cand.take(np.array([2, 0]))
    assert len(picked) == 2
    assert list(picked.tp) == [4, 1] and list(picked.recompute) == [2, 0]
    assert list(picked.zero) == [3, 0] and list(picked.offload) == [1, 0]


# ---- setup: batch rounding and stage layer counts --------------------------------------------


def test_the_batch_is_rounded_to_whole_micro_batches_within_5_percent():
    # 41 sequences on 4 ranks of 1: 10.25 → 10 micro-batches, 40 sequences (2.4% short): valid.
    ev = run(train=training(41), dp=4)
    assert ev.micro_batches[0] == 10
    assert ev.valid[0]
    # 20 on 3 ranks: 6.67 → 7, 21 sequences, exactly 5% over: still valid.
    ev = run(train=training(20), dp=3)
    assert ev.micro_batches[0] == 7
    assert ev.valid[0]
    # 18 on 4 ranks: 4.5 → 4 (round half to even), 16 sequences, 11% short: invalid.
    ev = run(train=training(18), dp=4)
    assert ev.micro_batches[0] == 4
    assert not ev.valid[0]
    # 2 on 4 ranks: 0.5 rounds to 0, but a rank runs at least one micro-batch (4 sequences).
    ev = run(train=training(2), dp=4)
    assert ev.micro_batches[0] == 1
    assert not ev.valid[0]
    # The batch really run is what the throughput counts: 21 sequences of 384 tokens per step.
    ev = run(train=training(20), dp=3)
    assert ev.tokens_per_s[0] * ev.step_time_s[0] == approx(21 * 384)


def test_micro_batches_per_rank_and_tokens_per_micro_batch():
    # 16 sequences, 2 ranks, micro-batches of 4: 2 per rank; tokens per micro-batch 4·384.
    S, *_ = phases(train=training(16), dp=2, micro_batch=4)
    assert S.m[0] == 2 and S.batch[0] == 16
    assert S.tokens_mb[0] == 1536
    # Context parallelism splits the sequence: 384 / 2 tokens per GPU and micro-batch.
    S, *_ = phases(train=training(16), dp=2, cp=2, micro_batch=1)
    assert S.tokens_mb[0] == 192 and S.m[0] == 8


@pytest.mark.parametrize(
    "layers, pp, vp, expected",
    [
        # 9 on 2: 5 per stage would be 10, one spare: the first stage gets the cut (4, 5, 5).
        (9, 2, 1, (4, 5, 5)),
        # 10 on 4: 3 per stage, 2 spare, one off the first and one off the last.
        (10, 4, 1, (2, 3, 2)),
        # 12 on 5: 3 per stage, 3 spare: 2 off the first, 1 off the last.
        (12, 5, 1, (1, 3, 2)),
        # 9 on 8: 2 per stage, 7 spare, but a stage keeps at least one layer.
        (9, 8, 1, (1, 2, 1)),
        # 10 on 2 × 2 virtual: chunks of ceil(10/4) = 3, 6 per rank, 2 spare: 5 and 5, and with
        # two stages there is no middle one: the fuller of the two, 5.
        (10, 2, 2, (5, 5, 5)),
        # 8 on 2 × 2 virtual: even.
        (8, 2, 2, (4, 4, 4)),
        # 7 on 3: 3 per stage, 2 spare: one off the first and one off the last.
        (7, 3, 1, (2, 3, 2)),
        # One stage holds everything.
        (7, 1, 1, (7, 7, 7)),
    ],
)
def test_uneven_stages_lighten_the_first_and_the_last(layers, pp, vp, expected):
    model = replace(TOY, layers=layers)
    S, *_ = phases(model, training(8), pp=pp, vp=vp)
    assert (S.n_first[0], S.n_mid[0], S.n_last[0]) == expected


def test_fp32_gradient_buffers_only_for_fused_bf16_and_fp8():
    # Megatron-Core keeps FP32 main gradients for BF16 and FP8 (4 bytes per parameter), FP16 keeps
    # FP16 (2), eager FSDP stacks BF16 (2); FP32 training has 4-byte gradients anyway.
    params = 4 * LAYER + 2 * EMB  # one stage, untied head
    for precision, framework, per_param in (
        ("bf16", "megatron", 4),
        ("fp8", "megatron", 4),
        ("fp16", "megatron", 2),
        ("bf16", "fsdp", 2),
        ("fp32", "megatron", 4),
    ):
        ev = run(train=training(precision=precision, framework=framework))
        assert ev.grads_bytes[0] == approx(params * per_param), (precision, framework)
    # "auto" runs ZeRO-3 on the eager stack (BF16 gradients), ZeRO-2 on fused kernels.
    z3 = run(train=training(), dp=2, zero=3)
    assert z3.grads_bytes[0] == approx(params * 2 / 2)
    z2 = run(train=training(), dp=2, zero=2)
    assert z2.grads_bytes[0] == approx(params * 4 / 2)


# ---- validity --------------------------------------------------------------------------------


def test_validity_rules_one_by_one():
    assert valid(tp=2, dp=2)
    # The GPUs must be exactly used.
    assert not valid(tp=2, dp=2, gpus=8)
    # Heads (8) and the MLP (4,096) must divide by TP.
    assert valid(tp=8, per_server=8)
    assert not valid(model=replace(TOY, heads=6, head_dim=128), tp=4)
    assert not valid(model=replace(TOY, ffn_hidden=4098), tp=4)
    assert valid(model=replace(TOY, ffn_hidden=4098), tp=2)
    # TP stays inside a server (4 GPUs): 4 is fine, 8 is not.
    assert valid(tp=4)
    assert not valid(tp=8, dp=1)
    # pp·vp ≤ layers (4).
    assert valid(train=training(8), pp=4)
    assert valid(train=training(8), pp=2, vp=2)
    assert not valid(train=training(8), pp=2, vp=4)
    assert not valid(model=replace(TOY, layers=3), train=training(8), pp=4)
    # Context parallel needs seq_len divisible by 2·cp: 384 = 2·2·96 = 2·4·48 but not 2·256.
    assert valid(cp=2)
    assert valid(cp=4)
    assert not valid(train=training(seq_len=390), cp=2)
    assert valid(train=training(seq_len=390), cp=1)
    assert valid(train=training(seq_len=385), cp=1)  # no CP: any length
    # Interleaving needs a pipeline and micro-batches a multiple of pp.
    assert not valid(model=replace(TOY, layers=8), vp=2)
    assert valid(train=training(4), pp=2, vp=2)
    # ZeRO-2/3 not with a pipeline; ZeRO-1 is fine.
    assert valid(train=training(4), pp=2, dp=2, zero=1)
    assert not valid(train=training(4), pp=2, dp=2, zero=2)
    assert not valid(train=training(4), pp=2, dp=2, zero=3)
    assert valid(dp=2, zero=2)
    assert valid(dp=2, zero=3)
    # ZeRO-3 not with context parallelism; ZeRO-2 is.
    assert not valid(cp=2, dp=2, zero=3)
    assert valid(cp=2, dp=2, zero=2)
    # EP only for MoE models.
    assert not valid(dp=2, ep=2)


def test_interleaving_needs_micro_batches_in_multiples_of_the_stages():
    # 6 micro-batches on 2 stages: fine; 3 on 2: not; 8 on 4 stages of an 8-layer model: fine.
    assert valid(train=training(6), pp=2, vp=2)
    assert not valid(train=training(3), pp=2, vp=2)
    assert valid(model=replace(TOY, layers=8), train=training(8), pp=4, vp=2)
    assert not valid(model=replace(TOY, layers=8), train=training(6), pp=4, vp=2)
    # Without a pipeline interleaving means nothing: refused even with a friendly count.
    assert not valid(train=training(4), pp=1, vp=2)


def test_expert_parallel_divides_the_experts_and_the_data_parallel_ranks():
    # 8 experts: EP 2, 4, 8 divide them; EP must also divide dp·cp.
    assert valid(model=MOE, train=training(8), dp=8, ep=8)
    assert valid(model=MOE, train=training(8), dp=4, ep=4)
    assert valid(model=MOE, train=training(8), dp=2, cp=2, ep=4)
    assert not valid(model=MOE, train=training(8), dp=2, ep=4)
    assert not valid(model=replace(MOE, moe_experts=6), train=training(8), dp=4, ep=4)
    assert valid(model=replace(MOE, moe_experts=6), train=training(8), dp=4, ep=2)
    assert valid(model=MOE, train=training(8), dp=4, ep=1)
    # The MoE rules add to the others: the GPUs must still be used exactly.
    assert not valid(model=MOE, train=training(8), dp=4, ep=2, gpus=8)


def test_grouped_query_attention_splits_kv_heads_evenly_over_tp():
    # 8 query heads, 2 KV heads: TP 2 holds one KV head per GPU, TP 4 replicates each over 2.
    gqa = replace(TOY, kv_heads=2)
    assert valid(model=gqa, tp=2)
    assert valid(model=gqa, tp=4)
    # 3 KV heads of 12 on TP 2: neither divides the other.
    odd = replace(TOY, heads=12, kv_heads=3, head_dim=64, ffn_hidden=4096)
    assert valid(model=odd, tp=1)
    assert not valid(model=odd, tp=2)
    assert not valid(model=odd, tp=4)  # 12 heads on 4 divide, 3 KV heads on 4 do not
    assert not valid(model=replace(odd, kv_heads=6), tp=4)
    assert valid(model=replace(odd, kv_heads=6), tp=2)
    # The KV rule adds to the others: the GPUs must still be used exactly.
    assert not valid(model=gqa, tp=2, gpus=4)
    # Multi-head attention (kv = heads) has no extra rule: 8 heads on TP 8.
    assert valid(tp=8, per_server=8)


# ---- parameters --------------------------------------------------------------------------------


def test_moe_parameters_per_gpu_and_per_token():
    S, P, *_ = phases(MOE, training(8), dp=2, ep=2)
    # Per layer, averaged over 1 dense layer and 3 MoE layers: dense 12,587,008; MoE layer on
    # one GPU of EP 2 = attention 4,196,352 + (8/2 routed + 1 shared) · 1,050,624 = 9,449,472
    # (the router's 8,192 is not held). (12,587,008 + 3 · 9,449,472) / 4 = 10,233,856.
    assert P.layer_total_gpu[0] == approx(10_233_856)
    # Routed experts on the GPU: 3 · 4 · 1,050,624 / 4 = 3,151,872 per layer.
    assert P.expert_gpu_per_layer[0] == approx(3_151_872)
    # A token passes: dense 12,587,008, MoE attention + 3 experts + router
    # 4,196,352 + 3,151,872 + 8,192 = 7,356,416 → (12,587,008 + 3 · 7,356,416) / 4 = 8,664,064.
    assert P.active_mm_per_layer == approx(8_664_064)
    # Of which routed (top-2 experts of the 3 MoE layers): 3 · 2 · 1,050,624 / 4 = 1,575,936.
    assert P.routed_mm_per_layer == approx(1_575_936)
    assert P.dense_mm_per_layer == approx(8_664_064 - 1_575_936)
    # MLP width a token sees: (4,096 + 3 · (2 + 1) · 512) / 4 = 2,176.
    assert P.mlp_width_units == approx(2176)
    assert P.emb_gpu == approx(EMB)
    # TP 2 halves what a GPU holds, not what a token passes through.
    S2, P2, *_ = phases(MOE, training(8), tp=2, dp=2, ep=2)
    assert P2.layer_total_gpu[0] == approx(10_233_856 / 2)
    assert P2.expert_gpu_per_layer[0] == approx(3_151_872 / 2)
    assert P2.emb_gpu == approx(EMB / 2)
    assert P2.active_mm_per_layer == approx(8_664_064)


def test_dense_parameters_per_gpu():
    _, P, *_ = phases(tp=4)
    assert P.layer_total_gpu[0] == approx(LAYER / 4)
    assert P.active_mm_per_layer == LAYER
    assert P.dense_mm_per_layer == LAYER
    assert P.routed_mm_per_layer == 0
    assert P.mlp_width_units == 4096
    assert P.emb_gpu == approx(EMB / 4)
    assert np.all(P.expert_gpu_per_layer == 0)


# ---- compute -------------------------------------------------------------------------------------


def test_toy_layer_time_from_gemms_attention_and_elementwise_traffic():
    S, P, C, K, mem = phases()
    # GEMMs: 2 FLOPs × 12,587,008 × 384 tokens × 3 passes at 32 TFLOP/s.
    assert C.gemm_rate[0] == approx(32e12)
    t_gemm = 2 * 12_587_008 * 384 * 3 / 32e12
    # Flash attention: forward 4·s·q per token = 4·384·1024·384 = 603,979,776 FLOPs per
    # micro-batch, half executed under the causal mask, 3 passes, at 96e12 · 0.5 · 1.0 (Ampere) ·
    # 1/(1 + 384/384).
    t_attn = 0.5 * 603_979_776 * 3 / (96e12 * 0.5 * 0.5)
    assert C.t_attention[0] == approx(t_attn)
    # Elementwise: 40 bytes per token and unit of hidden: 40 · 384 · 1024 at 1 TB/s.
    t_elem = 40 * 384 * 1024 / 1e12
    assert C.t_layer[0] == approx(t_gemm + t_attn + t_elem)
    # The head: 6 · V · h FLOPs per token at the GEMM rate.
    assert C.t_head[0] == approx(6 * 1024 * 1024 * 384 / 32e12)


def test_tensor_parallel_narrows_the_gemms_and_splits_the_work():
    _, _, C, _, _ = phases(tp=2)
    # h/t = 512: 1/(1 + 256/512 + 96/384) = 1/1.75 → 48e12 / 1.75.
    rate = 48e12 / 1.75
    assert C.gemm_rate[0] == approx(rate)
    t_gemm = 6 * 12_587_008 / 2 * 384 / rate
    t_attn = 0.5 * 603_979_776 / 2 * 3 / (96e12 * 0.5 * 0.5)
    t_elem = 40 * 384 * 512 / 1e12
    assert C.t_attention[0] == approx(t_attn)
    assert C.t_layer[0] == approx(t_gemm + t_attn + t_elem)
    assert C.t_head[0] == approx(6 * 1024 * 512 * 384 / rate)


def test_micro_batches_of_two_sequences_fill_the_gemms_better():
    _, _, C, _, _ = phases(train=training(8), micro_batch=2)
    # 768 tokens: 1/(1 + 0.25 + 96/768) = 1/1.375.
    rate = 48e12 / 1.375
    assert C.gemm_rate[0] == approx(rate)
    t_gemm = 6 * 12_587_008 * 768 / rate
    t_attn = 0.5 * 4 * 384 * 1024 * 768 * 3 / (96e12 * 0.5 * 0.5)
    assert C.t_layer[0] == approx(t_gemm + t_attn + 40 * 768 * 1024 / 1e12)


def test_context_parallel_blocks_run_flash_attention_slower():
    _, _, C, _, _ = phases(cp=2)
    # 192 tokens per GPU: block efficiency 1/(1 + 384/192) = 1/3, GEMMs 1/(1 + 0.25 + 0.5).
    t_attn = 0.5 * 4 * 384 * 1024 * 192 * 3 / (96e12 * 0.5 / 3)
    assert C.t_attention[0] == approx(t_attn)
    rate = 48e12 / 1.75
    t_gemm = 6 * 12_587_008 * 192 / rate
    assert C.t_layer[0] == approx(t_gemm + t_attn + 40 * 192 * 1024 / 1e12)


def test_recomputation_passes_and_hardware_flops():
    _, _, none, _, _ = phases(recompute="none")
    _, _, sel, _, _ = phases(recompute="selective")
    _, _, full, _, _ = phases(recompute="full")
    gemm3 = 6 * 12_587_008 * 384 / 32e12
    attn3 = 0.5 * 603_979_776 * 3 / 24e12
    elem = 40 * 384 * 1024 / 1e12
    # Selective: attention runs its forward again (4 passes), the GEMMs do not.
    assert sel.t_attention[0] == approx(attn3 * 4 / 3)
    assert sel.t_layer[0] == approx(gemm3 + attn3 * 4 / 3 + elem)
    # Full: everything forward again: GEMMs 4 passes, attention 4, elementwise × 4/3.
    assert full.t_attention[0] == approx(attn3 * 4 / 3)
    assert full.t_layer[0] == approx((gemm3 + attn3 + elem) * 4 / 3)
    # Model FLOPs per token: 6 · (4 · 12,587,008 + 1024 · 1024) + 12 · 4 · 384 · 1024
    # = 308,379,648 + 18,874,368 = 327,254,016, the same for all three.
    for c in (none, sel, full):
        assert c.model_flops_tok == approx(327_254_016)
    # Hardware FLOPs add the recomputed forward: the attention's 18,874,368 / 3 = 6,291,456 for
    # selective; for full also 2 · 4 · 12,587,008 = 100,696,064 of the layers' GEMMs.
    assert none.hw_flops_tok[0] == approx(327_254_016)
    assert sel.hw_flops_tok[0] == approx(327_254_016 + 6_291_456)
    assert full.hw_flops_tok[0] == approx(327_254_016 + 6_291_456 + 100_696_064)


def test_mfu_counts_model_flops_and_hfu_the_recomputed_ones_too():
    ev = run(recompute="full")
    # MFU = tokens/s per GPU × model FLOPs per token / peak.
    assert ev.mfu[0] == approx(ev.tokens_per_s[0] * 327_254_016 / 96e12)
    assert ev.hfu[0] == approx(ev.tokens_per_s[0] * (327_254_016 + 106_987_520) / 96e12)
    assert ev.model_flops_per_token == approx(327_254_016)
    # Per GPU: two GPUs of DP halve each one's share.
    ev2 = run(train=training(4), dp=2)
    assert ev2.mfu[0] == approx(ev2.tokens_per_s[0] / 2 * 327_254_016 / 96e12)
    assert ev2.hfu[0] == approx(ev2.mfu[0])


def test_kernel_launches_bound_a_tiny_layer():
    slow_host = EFF.replace(kernel_launch_s=1e-3)
    # Fused stack: 40 kernels per layer and micro-batch; full recompute launches a third more.
    _, _, C, _, _ = phases(eff=slow_host)
    assert C.t_layer[0] == approx(40 * 1e-3)
    _, _, C, _, _ = phases(eff=slow_host, recompute="full")
    assert C.t_layer[0] == approx(40 * 4 / 3 * 1e-3)
    # Eager PyTorch: 120.
    _, _, C, _, _ = phases(eff=slow_host, train=training(framework="fsdp"))
    assert C.t_layer[0] == approx(120 * 1e-3)
    _, _, C, _, _ = phases(eff=slow_host, train=training(framework="fsdp"), recompute="full")
    assert C.t_layer[0] == approx(160 * 1e-3)


def test_eager_stacks_move_three_times_the_elementwise_bytes():
    gemm = 6 * 12_587_008 * 384 / 32e12
    attn = 0.5 * 603_979_776 * 3 / 24e12
    for kwargs in ({"train": training(framework="fsdp")}, {"dp": 2, "zero": 3}):
        _, _, C, _, _ = phases(**kwargs)
        assert C.t_layer[0] == approx(gemm + attn + 3 * 40 * 384 * 1024 / 1e12), kwargs
    # Full recompute on eager: 120 bytes × 4/3.
    _, _, C, _, _ = phases(train=training(framework="fsdp"), recompute="full")
    assert C.t_layer[0] == approx((gemm + attn) * 4 / 3 + 160 * 384 * 1024 / 1e12)


def test_eager_stacks_on_hopper_run_flash_attention_2():
    # Hopper: GEMMs at 0.25 of peak here; attention 0.5 × 1.05 fused, 0.5 × 0.5 eager (FA2).
    _, _, fused, _, _ = phases(gpu=HOPPER, train=training(framework="megatron"))
    _, _, eager, _, _ = phases(gpu=HOPPER, train=training(framework="fsdp"))
    assert fused.t_attention[0] == approx(0.5 * 603_979_776 * 3 / (96e12 * 0.525 * 0.5))
    assert eager.t_attention[0] == approx(0.5 * 603_979_776 * 3 / (96e12 * 0.25 * 0.5))
    # GEMM rate on Hopper: 96e12 · 0.25 · 2/3 = 16e12.
    assert fused.gemm_rate[0] == approx(16e12)


def test_fp8_gemms_attention_in_bf16_and_cast_traffic():
    _, _, C, _, _ = phases(train=training(precision="fp8"))
    # FP8 peak 192 TFLOP/s at 0.5 · 0.75. A GEMM of M rows does 2·M FLOPs per 1-byte FP8 weight:
    # the weights' reads take as long as the FLOPs at 2·M = 192e12 / 1e12, M = 96 rows — the same
    # as BF16's 2·M FLOPs per 2-byte weight at 96e12: 1/(1 + 0.25 + 96/384) = 1/1.5.
    rate = 192e12 * 0.375 / 1.5
    assert C.gemm_rate[0] == approx(rate)
    # Attention stays on the BF16 peak: the same time as in BF16.
    attn = 0.5 * 603_979_776 * 3 / (96e12 * 0.5 * 0.5)
    assert C.t_attention[0] == approx(attn)
    # Elementwise: 40 + 0.5 × 96 cast units (GPT shape, see test_realistic_search) = 88.
    elem = 88 * 384 * 1024 / 1e12
    assert C.t_layer[0] == approx(6 * 12_587_008 * 384 / rate + attn + elem)
    assert C.t_head[0] == approx(6 * 1024 * 1024 * 384 / rate)
    # A GPU without BF16 runs FP8 training's attention on its FP16 peak.
    no_bf16 = replace(GPU, key="toy-fp16", peak_tflops={"fp16": 64.0, "fp8": 192.0})
    _, _, C, _, _ = phases(gpu=no_bf16, train=training(precision="fp8"))
    assert C.t_attention[0] == approx(0.5 * 603_979_776 * 3 / (64e12 * 0.5 * 0.5))
    # A card whose FP16 peak differed from its BF16 one: attention takes the BF16 peak.
    mixed = replace(GPU, key="toy-mixed", peak_tflops={"fp16": 48.0, "bf16": 96.0, "fp8": 192.0})
    _, _, C, _, _ = phases(gpu=mixed, train=training(precision="fp8"))
    assert C.t_attention[0] == approx(attn)
    # MFU on FP8 is measured against the FP8 peak.
    ev = run(train=training(precision="fp8"))
    assert ev.mfu[0] == approx(ev.tokens_per_s[0] * 327_254_016 / 192e12)


def test_unfused_attention_moves_the_score_matrix_through_hbm():
    no_flash = training(flash_attention=False)
    _, _, C, _, _ = phases(train=no_flash)
    # All attention FLOPs at the GEMM fraction (0.5), and 8 heads × 384 × 384 = 1,179,648 scores
    # at 34 bytes each.
    matmul = 603_979_776 * 3 / (96e12 * 0.5)
    assert C.t_attention[0] == approx(matmul + 1_179_648 * 34 / 1e12)
    # Recomputing re-runs the forward: 4 passes and 13 more bytes per score.
    for rc in ("selective", "full"):
        _, _, C, _, _ = phases(train=no_flash, recompute=rc)
        assert C.t_attention[0] == approx(matmul * 4 / 3 + 1_179_648 * 47 / 1e12), rc
    # TP 2: 4 heads per GPU.
    _, _, C, _, _ = phases(train=no_flash, tp=2)
    assert C.t_attention[0] == approx(matmul / 2 + 589_824 * 34 / 1e12)


def test_unfused_attention_scores_are_not_kept_with_selective_recompute():
    flash = run(recompute="selective")
    unfused = run(train=training(flash_attention=False), recompute="selective")
    assert unfused.activations_bytes[0] == approx(flash.activations_bytes[0])
    # Without recompute the scores are kept: 5 bytes × 8 heads × 384² per layer, × 4 layers.
    kept = run(train=training(flash_attention=False))
    plain = run()
    assert kept.activations_bytes[0] - plain.activations_bytes[0] == approx(5 * 8 * 384**2 * 4)


def test_moe_expert_gemms_run_on_the_routed_tokens():
    _, P, C, _, _ = phases(MOE, training(8), dp=2, ep=2)
    # Dense GEMMs: 8,664,064 − 1,575,936 = 7,088,128 parameters at 32 TFLOP/s.
    t_gemm = 6 * 7_088_128 * 384 / 32e12
    # Each expert sees ep · tokens · k / E = 2 · 384 · 2 / 8 = 192 tokens:
    # 1/(1 + 256/512 + 96/192) = 1/2 of 48 TFLOP/s.
    t_expert = 6 * 1_575_936 * 384 / (48e12 / 2)
    t_attn = 0.5 * 603_979_776 * 3 / 24e12
    # Elementwise traffic does not depend on the MLP width.
    t_elem = 40 * 384 * 1024 / 1e12
    assert C.t_layer[0] == approx(t_gemm + t_expert + t_attn + t_elem)
    # Hardware FLOPs per token: 6 · (4 · 8,664,064 + 1024²) + 18,874,368.
    assert C.model_flops_tok == approx(6 * (4 * 8_664_064 + 1_048_576) + 18_874_368)
    # TP 2: the GEMMs 512 wide (1/(1 + 0.5 + 0.25)), each expert 512/2 = 256 wide
    # (1/(1 + 1 + 0.5)); all FLOPs and the elementwise bytes split over 2 GPUs.
    _, _, C2, _, _ = phases(MOE, training(8), tp=2, dp=2, ep=2)
    t_layer_tp2 = (
        6 * 7_088_128 / 2 * 384 / (48e12 / 1.75)
        + 6 * 1_575_936 / 2 * 384 / (48e12 / 2.5)
        + t_attn / 2
        + t_elem / 2
    )
    assert C2.t_layer[0] == approx(t_layer_tp2)
    _, _, full, _, _ = phases(MOE, training(8), dp=2, ep=2, recompute="full")
    assert full.t_layer[0] == approx((t_gemm + t_expert + t_attn + t_elem) * 4 / 3)
    assert full.hw_flops_tok[0] == approx(C.model_flops_tok + 2 * 4 * 8_664_064 + 6_291_456)


# ---- communication -------------------------------------------------------------------------------


def test_tensor_parallel_collectives_per_layer():
    # TP 2 in one server (50 GB/s): all-gather/reduce-scatter of 384 · 1024 · 2 = 786,432 bytes,
    # each GPU moving half of it, plus one 1 µs hop. 8 per layer and micro-batch.
    ring = 0.5 * 786_432 / 50e9 + 1e-6
    _, _, _, K, _ = phases(tp=2)
    assert K.tp_layer[0] == approx(8 * ring)
    # Full recompute repeats the forward's 4.
    _, _, _, K, _ = phases(tp=2, recompute="full")
    assert K.tp_layer[0] == approx(12 * ring)
    # TP overlap leaves 0.25 exposed on fused kernels, nothing hidden on eager ones.
    overlapped = training(overlap=Overlap(tp_comm=True))
    _, _, _, K, _ = phases(tp=2, train=overlapped)
    assert K.tp_layer[0] == approx(0.25 * 8 * ring)
    eager = training(overlap=Overlap(tp_comm=True), framework="fsdp")
    _, _, _, K, _ = phases(tp=2, train=eager)
    assert K.tp_layer[0] == approx(8 * ring)
    # Per step: 4 micro-batches × 4 layers.
    ev = run(tp=2)
    assert ev.tp_comm_s[0] == approx(4 * 4 * 8 * ring)
    # TP 4: 3/4 of the buffer and 3 hops.
    _, _, _, K, _ = phases(tp=4)
    assert K.tp_layer[0] == approx(8 * (0.75 * 786_432 / 50e9 + 3e-6))
    # No TP, no collectives.
    _, _, _, K, _ = phases()
    assert K.tp_layer[0] == 0


def test_hopper_overlaps_tensor_parallel_communication_by_default_on_fused_stacks():
    ring = 0.5 * 786_432 / 50e9 + 1e-6
    _, _, _, K, _ = phases(gpu=HOPPER, tp=2)
    assert K.tp_layer[0] == approx(0.25 * 8 * ring)
    _, _, _, K, _ = phases(gpu=HOPPER, tp=2, train=training(framework="fsdp"))
    assert K.tp_layer[0] == approx(8 * ring)
    _, _, _, K, _ = phases(gpu=HOPPER, tp=2, train=training(framework="megatron"))
    assert K.tp_layer[0] == approx(0.25 * 8 * ring)


def test_a_group_across_servers_gets_one_nic_per_member_capped_by_nvlink():
    ring = 0.5 * 786_432  # bytes per GPU for TP 2
    # Servers of 1 GPU: TP 2 spans two, one member per server: one NIC, 20 GB/s × 0.5.
    _, _, _, K, _ = phases(tp=2, cluster_kw={"gpus_per_server": 1})
    assert K.tp_layer[0] == approx(8 * (ring / 10e9 + 1e-6))
    # Servers of 2 GPUs, TP 4: 2 members per server → 2 NICs = 40 GB/s × 0.5.
    _, _, _, K, _ = phases(tp=4, cluster_kw={"gpus_per_server": 2})
    assert K.tp_layer[0] == approx(8 * (0.75 * 786_432 / 20e9 + 3e-6))
    # 800 Gbit/s NICs: 2 × 100 GB/s would exceed the 100 GB/s NVLink: capped at 100 × 0.5.
    _, _, _, K, _ = phases(tp=4, cluster_kw={"gpus_per_server": 2, "scaleout_gbit_per_gpu": 800})
    assert K.tp_layer[0] == approx(8 * (0.75 * 786_432 / 50e9 + 3e-6))
    # A faster NVLink override speeds up a group inside a server: 400 GB/s bidirectional.
    _, _, _, K, _ = phases(tp=2, cluster_kw={"scaleup_gbps_bidir": 400})
    assert K.tp_layer[0] == approx(8 * (ring / 100e9 + 1e-6))


def test_context_parallel_ring_hides_behind_attention():
    # CP 2 in a server: K and V of 192 tokens × 1024 × 2 bytes each = 786,432 bytes, sent 3 times
    # (forward; dK, dV backward), one ring step, plus 3 hops of 1 µs.
    raw = 786_432 * 3 / 50e9 + 3e-6
    attn = 0.5 * 4 * 384 * 1024 * 192 * 3 / (96e12 * 0.5 / 3)
    _, _, C, K, _ = phases(cp=2)
    assert C.t_attention[0] == approx(attn)
    assert K.cp_layer[0] == approx(raw - attn)
    # CP 4: 96 tokens, 3 ring steps, 9 hops; attention 1/(1 + 4) efficient.
    raw4 = 3 * 393_216 * 3 / 50e9 + 9e-6
    attn4 = 0.5 * 4 * 384 * 1024 * 96 * 3 / (96e12 * 0.5 / 5)
    _, _, _, K, _ = phases(cp=4)
    assert K.cp_layer[0] == approx(raw4 - attn4)
    # Per step: 4 micro-batches × 4 layers; each layer waits for its exposed exchange.
    ev = run(cp=2)
    assert ev.cp_comm_s[0] == approx(16 * (raw - attn))
    t_layer = 6 * 12_587_008 * 192 / (48e12 / 1.75) + attn + 40 * 192 * 1024 / 1e12
    head = 6 * 1024 * 1024 * 192 / (48e12 / 1.75)
    assert ev.micro_batch_s[0] == approx(4 * (t_layer + raw - attn) + head)
    # TP 4 × CP 2 leaves the server: one NIC per CP member (10 GB/s); K, V split over TP.
    raw_x = 786_432 / 4 * 3 / 10e9 + 3e-6
    _, _, C, K, _ = phases(tp=4, cp=2)
    assert K.cp_layer[0] == approx(raw_x - C.t_attention[0])
    # GQA: 2 KV heads of 128 move a quarter of MHA's K and V (servers of 1 GPU: 10 GB/s).
    _, _, C, K, _ = phases(replace(TOY, kv_heads=2), cp=2, cluster_kw={"gpus_per_server": 1})
    assert C.t_attention[0] == approx(attn)
    assert K.cp_layer[0] == approx(196_608 * 3 / 10e9 + 3e-6 - attn)
    # Attention longer than the exchange hides it all.
    _, _, _, K, _ = phases(cp=2, cluster_kw={"scaleup_gbps_bidir": 2000})
    assert K.cp_layer[0] == 0


def test_moe_all_to_all_in_and_out_of_the_server():
    # EP 8 over 2 servers of 4: each GPU sends top-2 copies of 384 tokens × 1024 × 2 bytes
    # = 1,572,864 bytes per all-to-all, 4 all-to-alls; of the 8 destinations 3 others are in its
    # server (50 GB/s), 4 in the other (its NIC, 10 GB/s); 7 hops. Only 3 of 4 layers are MoE.
    per_a2a = 1_572_864 * (3 / 8 / 50e9 + 4 / 8 / 10e9)
    raw = (4 * per_a2a + 4 * 7e-6) * 3 / 4
    _, _, C, K, _ = phases(MOE, training(8), dp=8, ep=8)
    assert K.ep_layer[0] == approx(raw)
    ev = run(MOE, training(8), dp=8, ep=8)
    assert ev.ep_comm_s[0] == approx(1 * 4 * raw)
    # Full recompute: 6 all-to-alls.
    _, _, _, K, _ = phases(MOE, training(8), dp=8, ep=8, recompute="full")
    assert K.ep_layer[0] == approx((6 * per_a2a + 6 * 7e-6) * 3 / 4)
    # FP8 dispatch (1 byte) with BF16 combine (2): 1.5 bytes on average.
    _, _, _, K, _ = phases(MOE, training(8, precision="fp8"), dp=8, ep=8)
    assert K.ep_layer[0] == approx((4 * per_a2a * 0.75 + 4 * 7e-6) * 3 / 4)
    # Node-limited routing to 1 server per token (top-2): half the cross-server copies.
    limited = replace(MOE, moe_node_limit=1)
    per_limited = 1_572_864 * (3 / 8 / 50e9 + 4 / 8 * 0.5 / 10e9)
    _, _, _, K, _ = phases(limited, training(8), dp=8, ep=8)
    assert K.ep_layer[0] == approx((4 * per_limited + 4 * 7e-6) * 3 / 4)
    # A limit at or above top-k changes nothing.
    _, _, _, K, _ = phases(replace(MOE, moe_node_limit=4), training(8), dp=8, ep=8)
    assert K.ep_layer[0] == approx(raw)
    # EP 4 inside one server: all over NVLink.
    _, _, _, K, _ = phases(MOE, training(8), dp=4, ep=4)
    assert K.ep_layer[0] == approx((4 * 1_572_864 * 3 / 4 / 50e9 + 4 * 3e-6) * 3 / 4)
    # TP 2 × EP 4 on 8 GPUs: 2 EP members per server, tokens split over TP.
    per_tp = 786_432 * (1 / 4 / 50e9 + 2 / 4 / 10e9)
    _, _, _, K, _ = phases(MOE, training(8), tp=2, dp=4, ep=4)
    assert K.ep_layer[0] == approx((4 * per_tp + 4 * 3e-6) * 3 / 4)
    # TP 4 fills a server: an EP 2 partner is always in the other server (1 µs hop, 10 GB/s).
    _, _, _, K, _ = phases(MOE, training(8), tp=4, dp=2, ep=2)
    assert K.ep_layer[0] == approx((4 * 393_216 * 0.5 / 10e9 + 4 * 1e-6) * 3 / 4)
    # CP 3 × EP 4 on 3 servers of 4: one whole CP group per server, so every other EP member is in
    # another server; 128 tokens per GPU: 128 · 2 · 1024 · 2 = 524,288 bytes, 3/4 of it leaving.
    _, _, _, K, _ = phases(MOE, training(8), cp=3, dp=4, ep=4)
    assert K.ep_layer[0] == approx((4 * 524_288 * 0.75 / 10e9 + 4 * 3e-6) * 3 / 4)
    # No EP: no all-to-all.
    _, _, _, K, _ = phases(MOE, training(8), dp=2)
    assert K.ep_layer[0] == 0


def test_overlapped_all_to_all_hides_behind_the_layer():
    raw = (4 * 1_572_864 * (3 / 8 / 50e9 + 4 / 8 / 10e9) + 4 * 7e-6) * 3 / 4
    overlapped = training(8, overlap=Overlap(ep_a2a=True))
    _, _, C, K, _ = phases(MOE, overlapped, dp=8, ep=8)
    assert K.ep_layer[0] == approx(max(0.0, raw - C.t_layer[0]))
    slow_net = {"scaleout_gbit_per_gpu": 8}  # 1 GB/s NICs: the exchange outlasts the layer
    _, _, C, K, _ = phases(MOE, overlapped, dp=8, ep=8, cluster_kw=slow_net)
    raw_slow = (4 * 1_572_864 * (3 / 8 / 50e9 + 4 / 8 / 0.5e9) + 4 * 7e-6) * 3 / 4
    assert K.ep_layer[0] == approx(raw_slow - C.t_layer[0])
    assert K.ep_layer[0] > 0


def test_pipeline_point_to_point_per_micro_batch():
    # PP 2 in one server: activations of 384 × 1024 × 2 bytes sent forward and their gradients
    # back: 2 · 786,432 bytes at 50 GB/s per micro-batch.
    _, _, _, K, _ = phases(train=training(4), pp=2)
    assert K.p2p[0] == approx(2 * 786_432 / 50e9)
    ev = run(train=training(4), pp=2)
    assert ev.pp_comm_s[0] == approx(4 * 2 * 786_432 / 50e9)
    # Interleaved over 2 chunks: twice the boundaries.
    _, _, _, K, _ = phases(train=training(4), pp=2, vp=2)
    assert K.p2p[0] == approx(4 * 786_432 / 50e9)
    # DP 4 fills a server with each stage: the boundary crosses servers, one NIC (10 GB/s).
    _, _, _, K, _ = phases(train=training(4), pp=2, dp=4)
    assert K.p2p[0] == approx(2 * 786_432 / 10e9)
    # TP 2 splits the activations (sequence parallel) and keeps PP 2 inside the server.
    _, _, _, K, _ = phases(train=training(4), tp=2, pp=2)
    assert K.p2p[0] == approx(786_432 / 50e9)
    # TP 2 × DP 2 fill the server of 4: across servers.
    _, _, _, K, _ = phases(train=training(4), tp=2, pp=2, dp=2)
    assert K.p2p[0] == approx(786_432 / 10e9)
    # TP 2 × CP 2 fill the server too; CP halves the tokens: 2 · 192 · 1024 · 2 / 2 bytes.
    _, _, _, K, _ = phases(train=training(4), tp=2, cp=2, pp=2)
    assert K.p2p[0] == approx(393_216 / 10e9)
    # No pipeline, no transfers.
    _, _, _, K, _ = phases()
    assert K.p2p[0] == 0


def test_data_parallel_gradient_reduce_and_parameter_gather_bytes():
    # DP 2 in a server, one stage holding 4 · 12,587,008 + 2 · 1,048,576 = 52,445,184 parameters.
    # Fused BF16 reduces FP32 gradients (4 bytes), gathers BF16 weights (2): half of each moves.
    # (Hop latency off: see test_a_dense_model_pays_one_ring_latency_per_collective.)
    params = 52_445_184
    _, _, _, K, _ = phases(train=training(4), eff=NO_LATENCY, dp=2, zero=1)
    assert K.dp_reduce[0] == approx(0.5 * params * 4 / 50e9)
    assert K.dp_gather[0] == approx(0.5 * params * 2 / 50e9)
    assert K.dp_params_gpu[0] == approx(params)
    # FP16 (FP16 gradients): 2 bytes both ways.
    _, _, _, K, _ = phases(train=training(4, precision="fp16"), eff=NO_LATENCY, dp=2, zero=1)
    assert K.dp_reduce[0] == approx(0.5 * params * 2 / 50e9)
    # FP32 training: 4-byte gradients and weights.
    _, _, _, K, _ = phases(train=training(4, precision="fp32"), eff=NO_LATENCY, dp=2, zero=1)
    assert K.dp_reduce[0] == approx(0.5 * params * 4 / 50e9)
    assert K.dp_gather[0] == approx(0.5 * params * 4 / 50e9)
    # Context parallel ranks hold the same weights: DP 1 × CP 2 reduce over 2 as well.
    _, _, _, K, _ = phases(train=training(4), eff=NO_LATENCY, cp=2, zero=1)
    assert K.dp_reduce[0] == approx(0.5 * params * 4 / 50e9)
    # DP 8 over 2 servers: 4 members per server × 10 GB/s = 40 GB/s (× 0.5 efficiency applied:
    # min(100, 4 × 20) × 0.5); 7/8 of the bytes.
    _, _, _, K, _ = phases(train=training(8), eff=NO_LATENCY, dp=8, zero=1)
    assert K.dp_gather[0] == approx(7 / 8 * params * 2 / 40e9)
    # TP 2 × DP 4 on 8 GPUs: a DP ring has 2 members in each server (4 GPUs // TP 2), so 2 NICs:
    # min(100, 2 × 20) × 0.5 = 20 GB/s; a GPU holds half of the parameters.
    _, _, _, K, _ = phases(train=training(4), eff=NO_LATENCY, tp=2, dp=4, zero=1)
    assert K.dp_gather[0] == approx(3 / 4 * params / 2 * 2 / 20e9)


def test_whole_tp_groups_per_server_set_the_dp_ring_members_per_server():
    # Hidden 1,536, 12 heads, MLP 6,144: a layer holds 4 · 1536² + 2 · 1536 + 2 · 1536 · 6144
    # + 2 · 1536 = 28,317,696 parameters, the embedding 1,572,864. TP 3 × DP 4 on 3 servers of 4:
    # one whole TP group fits a server, so each DP ring has one member per server: one NIC,
    # min(100, 1 × 20) × 0.5 = 10 GB/s. A GPU holds (4 · 28,317,696 + 2 · 1,572,864) / 3
    # = 38,805,504 parameters; the gather moves 3/4 of their 2 bytes.
    model = ModelSpec("tp3", layers=4, hidden=1536, heads=12, ffn_hidden=6144, vocab=1024)
    _, _, _, K, _ = phases(model, training(4), eff=NO_LATENCY, tp=3, dp=4, zero=1)
    assert K.dp_params_gpu[0] == approx(38_805_504)
    assert K.dp_gather[0] == approx(0.75 * 38_805_504 * 2 / 10e9)


def test_a_dense_model_pays_one_ring_latency_per_collective():
    # DP 2, dense: one ring per collective, n − 1 = 1 hop of 1 µs on top of the bytes:
    # 0.5 · 52,445,184 · 4 / 50e9 = 2.09780736e-3 s + 1e-6. A dense model has no expert share:
    # no second ring, no second hop.
    _, _, _, K, _ = phases(train=training(4), dp=2, zero=1)
    assert K.dp_reduce[0] == approx(0.5 * 52_445_184 * 4 / 50e9 + 1e-6)
    assert K.dp_gather[0] == approx(0.5 * 52_445_184 * 2 / 50e9 + 1e-6)
    # DP 4: 3 hops.
    _, _, _, K, _ = phases(train=training(4), dp=4, zero=1)
    assert K.dp_gather[0] == approx(0.75 * 52_445_184 * 2 / 50e9 + 3e-6)


def test_moe_expert_gradients_reduce_over_fewer_replicas():
    # DP 4, EP 2: dense parameters reduce over 4 ranks, routed experts over 4 / 2 = 2.
    # First stage: 4 · 10,233,856 + 2 · 1,048,576 = 43,032,576 of which experts 4 · 3,151,872
    # = 12,607,488, dense 30,425,088.
    _, _, _, K, _ = phases(MOE, training(8), dp=4, ep=2, zero=1)
    dense = 3 / 4 * 30_425_088 * 2 / 50e9 + 3e-6
    expert = 1 / 2 * 12_607_488 * 2 / 50e9 + 1e-6
    assert K.dp_gather[0] == approx(dense + expert)
    assert K.dp_reduce[0] == approx(2 * (dense + expert) - 4e-6)
    # EP over all DP ranks: every expert has one replica, nothing to reduce for them; the dense
    # parameters are the same 30,425,088.
    _, _, _, K, _ = phases(MOE, training(8), dp=4, ep=4, zero=1)
    assert K.dp_gather[0] == approx(dense)


def test_zero3_gathers_every_micro_batch_and_hides_behind_the_stage():
    # FSDP (eager) over DP 2: forward and backward all-gather the 16-bit weights and the backward
    # reduce-scatters the gradients: 3 rings of 52,445,184 · 2 bytes, half of it moving, one
    # collective per layer, each paying n − 1 = 1 hop of 1 µs: 3 · 4 · 1 µs.
    z3 = 3 * 0.5 * 52_445_184 * 2 / 50e9 + 3 * 4 * 1e-6
    S, P, C, K, _ = phases(train=training(2), dp=2, zero=3)
    assert K.z3_comm[0] == approx(z3)
    # Eager layer: GEMMs + attention + 120 bytes of elementwise traffic.
    t_layer = 6 * 12_587_008 * 384 / 32e12 + 0.5 * 603_979_776 * 3 / 24e12 + 120 * 393_216 / 1e12
    assert C.t_layer[0] == approx(t_layer)
    t_stage = 4 * t_layer + 6 * 1024 * 1024 * 384 / 32e12
    # Prefetch hides it behind 0.5 of the stage's compute; what is left is exposed.
    ev = run(train=training(2), dp=2, zero=3)
    assert ev.micro_batches[0] == 1
    assert ev.dp_comm_s[0] == approx(z3 - 0.5 * t_stage)
    assert ev.micro_batch_s[0] == approx(t_stage + z3 - 0.5 * t_stage)
    # Without prefetch all of it is exposed.
    no_prefetch = training(2, overlap=Overlap(param_gather=False))
    ev = run(train=no_prefetch, dp=2, zero=3)
    assert ev.dp_comm_s[0] == approx(z3)
    assert ev.micro_batch_s[0] == approx(t_stage + z3)
    # DP 4: 3/4 of the bytes, 3 hops per layer and collective.
    _, _, _, K, _ = phases(train=training(4), dp=4, zero=3)
    assert K.z3_comm[0] == approx(3 * 0.75 * 52_445_184 * 2 / 50e9 + 3 * 4 * 3e-6)
    # No data parallelism: nothing to gather, no hops.
    _, _, _, K, _ = phases(train=training(4), dp=1, zero=3)
    assert K.z3_comm[0] == 0
    # MoE over DP 4 × EP 2: dense 30,425,088 parameters over 4, routed experts 12,607,488 over 2;
    # the per-layer hops follow the dense ring (3 per collective).
    _, _, _, K, _ = phases(MOE, training(8), dp=4, ep=2, zero=3)
    assert K.z3_comm[0] == approx(
        3 * 0.75 * 30_425_088 * 2 / 50e9 + 3 * 0.5 * 12_607_488 * 2 / 50e9 + 3 * 4 * 3e-6
    )
    # Fast links: fully hidden.
    ev = run(train=training(2), dp=2, zero=3, cluster_kw={"scaleup_gbps_bidir": 20000})
    assert ev.dp_comm_s[0] == 0


def test_bucketed_reduction_exposes_the_rest_or_the_last_bucket():
    # DP 2 ZeRO-1 on the toy model; one micro-batch per step. The micro-batch's compute: 4 layers
    # and the head; backward 2/3 of it, forward 1/3, each hiding at most 0.5 of its window.
    # (Hop latency off: see test_a_dense_model_pays_one_ring_latency_per_collective.)
    params = 52_445_184
    reduce = 0.5 * params * 4 / 50e9
    gather = 0.5 * params * 2 / 50e9
    t_layer = 6 * 12_587_008 * 384 / 32e12 + 0.5 * 603_979_776 * 3 / 24e12 + 40 * 393_216 / 1e12
    t_mb = 4 * t_layer + 6 * 1024 * 1024 * 384 / 32e12
    backward, forward = 2 / 3 * t_mb, 1 / 3 * t_mb
    ev = run(train=training(2), eff=NO_LATENCY, dp=2, zero=1)
    assert ev.compute_s[0] == approx(t_mb)
    assert ev.dp_comm_s[0] == approx((reduce - 0.5 * backward) + (gather - 0.5 * forward))
    # Plain DDP all-reduces the 4-byte gradients (a reduce-scatter and an all-gather of them)
    # during the backward pass.
    ev = run(train=training(2), eff=NO_LATENCY, dp=2, zero=0)
    assert ev.dp_comm_s[0] == approx(2 * reduce - 0.5 * backward)
    # Big buckets (30M of the 52M parameters): the last bucket is larger than what is left.
    big = NO_LATENCY.replace(bucket_params=30e6)
    ev = run(train=training(2), dp=2, zero=1, eff=big)
    share = 30e6 / params
    assert ev.dp_comm_s[0] == approx(reduce * share + gather * share)
    # A bucket beyond the whole model: nothing hides.
    ev = run(train=training(2), dp=2, zero=0, eff=NO_LATENCY.replace(bucket_params=1e9))
    assert ev.dp_comm_s[0] == approx(2 * reduce)
    # Gradient overlap without parameter-gather overlap: the gather is exposed.
    ev = run(train=training(2, overlap=Overlap(param_gather=False)), eff=NO_LATENCY, dp=2, zero=1)
    assert ev.dp_comm_s[0] == approx((reduce - 0.5 * backward) + gather)
    ev = run(train=training(2, overlap=Overlap(grad_reduce=False)), eff=NO_LATENCY, dp=2, zero=1)
    assert ev.dp_comm_s[0] == approx(reduce + (gather - 0.5 * forward))
    # ZeRO-2 communicates like ZeRO-1.
    ev = run(train=training(2), eff=NO_LATENCY, dp=2, zero=2)
    assert ev.dp_comm_s[0] == approx((reduce - 0.5 * backward) + (gather - 0.5 * forward))


def test_hidden_communication_still_slows_the_compute_beside_it():
    # overlap_contention 0.5: the hidden part of a collective costs half its duration (NCCL's SMs
    # and HBM traffic beside the kernels; Pati et al. 2024). DP 2 ZeRO-1 as in the test above:
    # reduce − 0.5·backward exposed, 0.5·backward hidden ⇒ + 0.5 × 0.5·backward; the gather alike.
    params = 52_445_184
    reduce = 0.5 * params * 4 / 50e9
    gather = 0.5 * params * 2 / 50e9
    t_layer = 6 * 12_587_008 * 384 / 32e12 + 0.5 * 603_979_776 * 3 / 24e12 + 40 * 393_216 / 1e12
    t_mb = 4 * t_layer + 6 * 1024 * 1024 * 384 / 32e12
    backward, forward = 2 / 3 * t_mb, 1 / 3 * t_mb
    eff = NO_LATENCY.replace(overlap_contention=0.5)
    ev = run(train=training(2), eff=eff, dp=2, zero=1)
    assert ev.dp_comm_s[0] == approx(
        (reduce - 0.5 * backward)
        + 0.5 * (0.5 * backward)
        + (gather - 0.5 * forward)
        + 0.5 * (0.5 * forward)
    )
    # Nothing overlapped: nothing hidden, nothing more to pay.
    ev = run(train=training(2, overlap=Overlap(False, False)), eff=eff, dp=2, zero=1)
    assert ev.dp_comm_s[0] == approx(reduce + gather)
    # FSDP on links so fast that all of it hides: half of its time remains.
    z3 = 3 * 0.5 * params * 2 / (20000e9 / 2 * 0.5)
    ev = run(train=training(2), eff=eff, dp=2, zero=3, cluster_kw={"scaleup_gbps_bidir": 20000})
    assert ev.dp_comm_s[0] == approx(0.5 * z3, rel=1e-6)  # no hop latency in NO_LATENCY


def test_with_a_pipeline_the_reduction_hides_behind_a_middle_stage():
    # PP 2 × DP 2, 8 layers: stages of 4; the window is the 4 layers' compute (no head).
    model = replace(TOY, layers=8)
    params = 4 * 12_587_008 + 1_048_576  # first stage: layers and the embedding
    reduce = 0.5 * params * 4 / 50e9
    gather = 0.5 * params * 2 / 50e9
    t_layer = 6 * 12_587_008 * 384 / 32e12 + 0.5 * 603_979_776 * 3 / 24e12 + 40 * 393_216 / 1e12
    ev = run(model, training(4), eff=NO_LATENCY, pp=2, dp=2, zero=1)
    assert ev.micro_batches[0] == 2
    assert ev.compute_s[0] == approx(2 * 4 * t_layer)
    window = 4 * t_layer
    assert ev.dp_comm_s[0] == approx(
        (reduce - 0.5 * 2 / 3 * window) + (gather - 0.5 * 1 / 3 * window)
    )


# ---- memory --------------------------------------------------------------------------------------


def test_memory_of_one_gpu_with_the_allocator_reserve():
    ev = run(train=training(4))
    # States: 4 layers + embedding + untied head = 52,445,184 parameters × (2 + 4 + 12) bytes.
    params = 52_445_184
    assert ev.weights_bytes[0] == approx(2 * params)
    assert ev.grads_bytes[0] == approx(4 * params)
    assert ev.optimizer_bytes[0] == approx(12 * params)
    # Activations: 32 bytes per token and hidden unit per layer (GPT shape), 384 · 1024 · 32
    # = 12,582,912, × 4 layers, one micro-batch in flight; logits and their gradient
    # 2 · 2 · 384 · 1024 = 1,572,864.
    acts = 4 * 12_582_912 + 1_572_864
    assert ev.activations_bytes[0] == approx(acts)
    # Reserve: 2.5 GiB + 5% of the states + 10% (the fragmentation here) of the activations.
    other = 2.5 * 2**30 + 0.05 * 18 * params + 0.1 * acts
    assert ev.other_bytes[0] == approx(other, rel=1e-13)  # nothing else, not even a byte
    assert ev.memory_bytes[0] == approx(18 * params + acts + other)


def test_a_layout_that_exactly_fills_the_gpu_fits():
    ev = run()
    exact = replace(GPU, key="toy-exact", memory_gib=float(ev.memory_bytes[0]) / GIB)
    assert run(gpu=exact).feasible[0]
    smaller = replace(GPU, key="toy-small", memory_gib=float(ev.memory_bytes[0]) / GIB * 0.999)
    tight = run(gpu=smaller)
    assert tight.valid[0] and not tight.feasible[0]
    # An invalid layout never fits.
    assert not run(train=training(seq_len=390), cp=2).feasible[0]


def test_tied_embeddings_hold_the_table_once_on_a_single_stage():
    tied = run(replace(TOY, tied_embeddings=True))
    assert tied.weights_bytes[0] == approx(2 * (4 * 12_587_008 + 1_048_576))
    untied = run()
    assert untied.weights_bytes[0] == approx(2 * (4 * 12_587_008 + 2 * 1_048_576))


def test_zero_stages_shard_each_state_over_dp_times_cp():
    params = 52_445_184
    z0 = run(train=training(4), dp=2, zero=0)
    assert (z0.weights_bytes[0], z0.grads_bytes[0], z0.optimizer_bytes[0]) == (
        approx(2 * params),
        approx(4 * params),
        approx(12 * params),
    )
    z1 = run(train=training(4), dp=2, zero=1)
    assert z1.optimizer_bytes[0] == approx(12 * params / 2)
    assert z1.grads_bytes[0] == approx(4 * params)
    z2 = run(train=training(4), dp=2, zero=2)
    assert z2.grads_bytes[0] == approx(4 * params / 2)
    assert z2.weights_bytes[0] == approx(2 * params)
    # ZeRO-3 on the eager stack: BF16 gradients, everything over 2.
    z3 = run(train=training(4), dp=2, zero=3)
    assert z3.weights_bytes[0] == approx(2 * params / 2)
    assert z3.grads_bytes[0] == approx(2 * params / 2)
    assert z3.optimizer_bytes[0] == approx(12 * params / 2)
    # CP ranks shard too: DP 2 × CP 2 over 4.
    z1cp = run(train=training(4), dp=2, cp=2, zero=1)
    assert z1cp.optimizer_bytes[0] == approx(12 * params / 4)
    # Offloading moves the optimizer states off the GPU.
    off = run(train=training(4), dp=2, zero=1, offload="cpu")
    assert off.optimizer_bytes[0] == 0


def test_zero3_keeps_two_unsharded_layers_of_weights_and_gradients():
    # On a fused stack (framework megatron) the buffers are two layers of 2 + 2 bytes.
    train = training(4, framework="megatron")
    ev = run(train=train, dp=2, zero=3)
    params = 52_445_184
    states = params / 2 * (2 + 4 + 12)
    reserve = 2.5 * 2**30 + 0.05 * states + 0.1 * ev.activations_bytes[0]
    assert ev.other_bytes[0] == approx(reserve + 2 * 12_587_008 * 4)


def test_zero3_buffers_in_fp32_hold_4_byte_weights_and_gradients():
    # FP32 Adam: 4 + 4 + 8 bytes per parameter, all sharded over DP 2; two unsharded layers of
    # 4-byte weights and 4-byte gradients in flight.
    ev = run(train=training(4, precision="fp32"), dp=2, zero=3)
    params = 52_445_184
    assert ev.weights_bytes[0] == approx(4 * params / 2)
    assert ev.optimizer_bytes[0] == approx(8 * params / 2)
    reserve = 2.5 * 2**30 + 0.05 * 16 * params / 2 + 0.1 * ev.activations_bytes[0]
    assert ev.other_bytes[0] == approx(reserve + 2 * 12_587_008 * 8)
    # And gathers 4-byte weights: 3 rings of half of 52,445,184 · 4 bytes, 3 · 4 layers · 1 hop.
    _, _, _, K, _ = phases(train=training(4, precision="fp32"), dp=2, zero=3)
    assert K.z3_comm[0] == approx(3 * 0.5 * params * 4 / 50e9 + 3 * 4 * 1e-6)


def test_moe_expert_states_shard_over_dp_cp_over_ep():
    # DP 4 × EP 2 on one stage: 43,032,576 parameters of which 12,607,488 in routed experts,
    # 30,425,088 dense. ZeRO-1: optimizer of the dense ones over 4, of the experts over 2.
    z1 = run(MOE, training(8), dp=4, ep=2, zero=1)
    assert z1.weights_bytes[0] == approx(2 * 43_032_576)
    assert z1.grads_bytes[0] == approx(4 * 43_032_576)
    assert z1.optimizer_bytes[0] == approx(12 * 30_425_088 / 4 + 12 * 12_607_488 / 2)
    # The optimizer step updates what the GPU owns: 30,425,088/4 + 12,607,488/2 = 13,910,016.
    assert z1.optimizer_s[0] == approx(13_910_016 * 28 / 1e12)
    z2 = run(MOE, training(8), dp=4, ep=2, zero=2)
    assert z2.weights_bytes[0] == approx(2 * 43_032_576)
    assert z2.grads_bytes[0] == approx(4 * (30_425_088 / 4 + 12_607_488 / 2))
    z3 = run(MOE, training(8), dp=4, ep=2, zero=3)
    assert z3.weights_bytes[0] == approx(2 * (30_425_088 / 4 + 12_607_488 / 2))
    # EP 4 of DP 4: one replica of each expert, nothing to shard them over. 2 routed experts per
    # GPU in each of 3 MoE layers: 6 · 1,050,624 = 6,303,744; dense still 30,425,088.
    z1e = run(MOE, training(8), dp=4, ep=4, zero=1)
    assert z1e.weights_bytes[0] == approx(2 * (30_425_088 + 6_303_744))
    assert z1e.optimizer_bytes[0] == approx(12 * 30_425_088 / 4 + 12 * 6_303_744)


def test_moe_states_in_fp32_and_offloaded():
    # FP32 Adam (4 + 4 + 8) on DP 4 × EP 2, ZeRO-1: weights of all 43,032,576 parameters, the
    # optimizer of the dense 30,425,088 over 4 and of the 12,607,488 in experts over 2.
    ev = run(MOE, training(8, precision="fp32"), dp=4, ep=2, zero=1)
    assert ev.weights_bytes[0] == approx(4 * 43_032_576)
    assert ev.grads_bytes[0] == approx(4 * 43_032_576)
    assert ev.optimizer_bytes[0] == approx(8 * 30_425_088 / 4 + 8 * 12_607_488 / 2)
    # CPU offload takes the experts' optimizer states off the GPU too.
    off = run(MOE, training(8), dp=4, ep=2, zero=1, offload="cpu")
    assert off.optimizer_bytes[0] == 0


def test_moe_activations_follow_the_width_a_token_passes():
    # MLP width per token averaged over the layers: 2,176 (see the parameters test). Per token
    # and unit of hidden: attention 2 + 2 · 3 + 2 = 10, MLP 2 + 4 · 2176 / 1024 = 10.5, norms 4:
    # 24.5 → 384 · 1024 · 24.5 = 9,633,792 bytes per layer; 4 layers and the logits.
    ev = run(MOE, training(8), dp=2, ep=2)
    assert ev.activations_bytes[0] == approx(4 * 9_633_792 + 1_572_864)


def test_the_fullest_stage_weighs_activations_with_the_allocator_share():
    # 7 layers on PP 2: first stage 3 layers, last 4; both hold the embedding. The last has one
    # more layer of states, 18 · 12,587,008 = 226,566,144 bytes; the first holds 2 micro-batches of
    # its 3 layers, the last 1 of its 4 and the logits. Per layer and micro-batch of T tokens:
    # 32 · 1024 · T bytes; logits 4 · 1024 · T.
    model = replace(TOY, layers=7)
    # T = 2,304 (6 sequences): first − last activations = (6 − 4) · 75,497,472 − 9,437,184
    # = 141,557,760; × 1.1 = 155.7M < 226.6M: the last stage is fuller.
    ev = run(model, training(12), pp=2, micro_batch=6)
    assert ev.weights_bytes[0] == approx(2 * (4 * 12_587_008 + 1_048_576))
    assert ev.activations_bytes[0] == approx(4 * 75_497_472 + 9_437_184)
    # T = 3,840 (10 sequences): (6 − 4) · 125,829,120 − 15,728,640 = 235,929,600; × 1.1
    # = 259.5M > 226.6M: now the first stage is fuller (× 1 or × 0.9 would not say so).
    ev = run(model, training(20), pp=2, micro_batch=10)
    assert ev.weights_bytes[0] == approx(2 * (3 * 12_587_008 + 1_048_576))
    assert ev.activations_bytes[0] == approx(6 * 125_829_120)


def test_an_interleaved_middle_stage_holds_its_share_of_micro_batches():
    # 14 layers on PP 4 × 2 chunks: chunks of 2, 4 layers per rank, 2 spare → 3, 4, 4, 3. With 4
    # micro-batches the first holds 4 × (1 + 3/8) of its 3 layers, a middle one 3 × 1.375 of its
    # 4 — the same 16.5 layer-micro-batches — and a whole layer more of states: the middle one.
    ev = run(replace(TOY, layers=14), training(4), pp=4, vp=2)
    assert ev.weights_bytes[0] == approx(2 * 4 * 12_587_008)
    assert ev.activations_bytes[0] == approx(4 * 3 * 1.375 * 12_582_912)


def test_the_fullest_pipeline_stage_sets_the_memory():
    # 8 layers on PP 2, 2 micro-batches: the first stage holds 2 in flight, the last 1 plus the
    # logits; both hold 4 layers and the embedding. The first is fuller.
    model = replace(TOY, layers=8)
    ev = run(model, training(4), pp=2)
    assert ev.weights_bytes[0] == approx(2 * (4 * 12_587_008 + 1_048_576))
    assert ev.activations_bytes[0] == approx(4 * 12_582_912 * 2)
    # Interleaved over 2 chunks: × (1 + 1/(2·2)).
    ev = run(model, training(4), pp=2, vp=2)
    assert ev.activations_bytes[0] == approx(4 * 12_582_912 * 2 * 1.25)
    # 9 layers: the last stage has 5 and the head, the first 4: the last is fuller.
    ev = run(replace(TOY, layers=9), training(4), pp=2)
    assert ev.weights_bytes[0] == approx(2 * (5 * 12_587_008 + 1_048_576))
    assert ev.activations_bytes[0] == approx(5 * 12_582_912 + 1_572_864)
    # 10 layers on 4 stages (2, 3, 3, 2) with 4 micro-batches: a middle stage holds 3 layers and
    # 3 micro-batches in flight, the first 2 layers × 4: the middle one is fullest.
    ev = run(replace(TOY, layers=10), training(4), pp=4)
    assert ev.weights_bytes[0] == approx(2 * 3 * 12_587_008)
    assert ev.activations_bytes[0] == approx(3 * 3 * 12_582_912)
    # With one micro-batch the middle stage still holds one.
    ev = run(replace(TOY, layers=10), training(1), pp=4)
    assert ev.activations_bytes[0] == approx(3 * 12_582_912)


def test_full_recompute_memory_with_tensor_parallelism():
    # TP 2: each layer keeps its input 2 · 384 · 1024 / 2 bytes and one layer is recomputed at a
    # time (32 · 384 · 1024 / 2); logits split over TP.
    ev = run(tp=2, recompute="full")
    assert ev.activations_bytes[0] == approx(4 * 393_216 + 16 * 393_216 + 4 * 393_216 / 2)


# ---- the step ------------------------------------------------------------------------------------


def test_the_step_of_a_two_stage_pipeline():
    # 9 layers on PP 2 (4 and 5): the last stage runs 5 layers and the head; 4 micro-batches; the
    # bubble is one micro-batch (p − 1 = 1).
    model = replace(TOY, layers=9)
    t_layer = 6 * 12_587_008 * 384 / 32e12 + 0.5 * 603_979_776 * 3 / 24e12 + 40 * 393_216 / 1e12
    head = 6 * 1024 * 1024 * 384 / 32e12
    p2p = 2 * 786_432 / 50e9
    t_mb = 5 * t_layer + head + p2p
    ev = run(model, training(4), pp=2)
    assert ev.micro_batch_s[0] == approx(t_mb)
    assert ev.bubble_s[0] == approx(t_mb)
    assert ev.compute_s[0] == approx(4 * 5 * t_layer)
    # Optimizer: the first stage's 4 layers and the embedding, 28 bytes each at 1 TB/s.
    opt = (4 * 12_587_008 + 1_048_576) * 28 / 1e12
    assert ev.optimizer_s[0] == approx(opt)
    assert ev.overhead_s[0] == 0.125
    assert ev.step_time_s[0] == approx(5 * t_mb + opt + 0.125)
    assert ev.tokens_per_s[0] == approx(4 * 384 / (5 * t_mb + opt + 0.125))
    # Interleaved over 2 chunks (10 layers: 6 on the fuller rank): the bubble halves.
    ev = run(replace(TOY, layers=10), training(4), pp=2, vp=2)
    assert ev.bubble_s[0] == approx(ev.micro_batch_s[0] / 2)


def test_the_head_and_the_middle_stage_race_for_the_pace():
    # 10 layers on 4 stages (2, 3, 3, 2): a middle stage (3 layers) outlasts the last (2 + head).
    t_layer = 6 * 12_587_008 * 384 / 32e12 + 0.5 * 603_979_776 * 3 / 24e12 + 40 * 393_216 / 1e12
    p2p = 2 * 786_432 / 50e9
    ev = run(replace(TOY, layers=10), training(4), pp=4)
    assert ev.micro_batch_s[0] == approx(3 * t_layer + p2p)
    assert ev.bubble_s[0] == approx(3 * (3 * t_layer + p2p))
    # A 32k vocabulary: the head (6 · 32768 · 1024 · 384 FLOPs at 32 TFLOP/s) makes the last
    # stage the slowest.
    big_vocab = replace(TOY, layers=10, vocab=32768)
    head = 6 * 32768 * 1024 * 384 / 32e12
    ev = run(big_vocab, training(4), pp=4)
    assert ev.micro_batch_s[0] == approx(2 * t_layer + head + p2p)


def test_single_stage_step_with_tensor_parallel_communication():
    # TP 2, no pipeline: one micro-batch runs the 4 layers with their TP collectives and the head.
    rate = 48e12 / 1.75
    t_layer = (
        6 * 12_587_008 / 2 * 384 / rate
        + 0.5 * 603_979_776 / 2 * 3 / 24e12
        + (40 * 384 * 512 / 1e12)
    )
    tp = 8 * (0.5 * 786_432 / 50e9 + 1e-6)
    head = 6 * 1024 * 512 * 384 / rate
    t_mb = 4 * (t_layer + tp) + head
    ev = run(train=training(4), tp=2)
    assert ev.micro_batch_s[0] == approx(t_mb)
    assert ev.bubble_s[0] == 0
    assert ev.compute_s[0] == approx(4 * (4 * t_layer + head))
    opt = (4 * 12_587_008 + 2 * 1_048_576) / 2 * 28 / 1e12
    assert ev.step_time_s[0] == approx(4 * t_mb + opt + 0.125)


def test_nvme_offload_adds_reading_and_writing_the_states():
    # ZeRO-1 over DP 2: the GPU owns 52,445,184 / 2 parameters. CPU offload: PCIe 4 bytes at
    # 25 GB/s and Adam at 0.25 G/s; NVMe also reads and writes 12 bytes each at 3 GB/s.
    owned = 52_445_184 / 2
    base = owned * 28 / 1e12
    cpu = run(train=training(4), dp=2, zero=1, offload="cpu")
    nvme = run(train=training(4), dp=2, zero=1, offload="nvme")
    assert cpu.optimizer_s[0] == approx(base + owned * 4 / 25e9 + owned / 0.25e9)
    assert nvme.optimizer_s[0] == approx(cpu.optimizer_s[0] + owned * 24 / 3e9)
    # FP32 training: 8-byte Adam states.
    nvme32 = run(train=training(4, precision="fp32"), dp=2, zero=1, offload="nvme")
    cpu32 = run(train=training(4, precision="fp32"), dp=2, zero=1, offload="cpu")
    assert nvme32.optimizer_s[0] - cpu32.optimizer_s[0] == approx(owned * 16 / 3e9)
    # ZeRO-0 owns everything.
    z0 = run(train=training(4), dp=2, zero=0)
    assert z0.optimizer_s[0] == approx(52_445_184 * 28 / 1e12)
    # CP ranks share the ownership: DP 2 × CP 2 own a quarter each.
    z1cp = run(train=training(4), dp=2, cp=2, zero=1)
    assert z1cp.optimizer_s[0] == approx(52_445_184 / 4 * 28 / 1e12)
    # The PCIe copy at exactly 25 GB/s and the NVMe traffic at exactly 3 GB/s.
    assert cpu.optimizer_s[0] - base - owned / 0.25e9 == approx(owned * 4 / 25e9, rel=1e-12)
    assert nvme.optimizer_s[0] - cpu.optimizer_s[0] == approx(owned * 24 / 3e9, rel=1e-12)


def test_moe_optimizer_step_over_the_owned_experts():
    # DP 4 × EP 4 (ZeRO-1): a GPU owns a quarter of the dense 30,425,088 and all of its
    # 6,303,744 expert parameters (one replica each): 13,910,016.
    ev = run(MOE, training(8), dp=4, ep=4, zero=1)
    assert ev.optimizer_s[0] == approx((30_425_088 / 4 + 6_303_744) * 28 / 1e12)
    # ZeRO-0 over DP 4 × EP 2: everything on the GPU, 43,032,576 parameters.
    ev = run(MOE, training(8), dp=4, ep=2, zero=0)
    assert ev.optimizer_s[0] == approx(43_032_576 * 28 / 1e12)


def test_several_candidates_are_evaluated_independently():
    # The same layouts one by one and as one array give the same numbers.
    layouts = [
        Layout(tp=2, dp=2),
        Layout(tp=1, dp=4, zero=3),
        Layout(tp=1, pp=2, dp=2, recompute="full"),
        Layout(tp=4, micro_batch=2, recompute="selective"),
    ]
    cluster = ClusterSpec(GPU, 4)
    train = training(8)
    one_by_one = [evaluate(TOY, train, cluster, layout_candidates(lay), EFF) for lay in layouts]
    cands = [layout_candidates(lay) for lay in layouts]
    stacked = Candidates(
        **{
            name: np.concatenate([getattr(c, name) for c in cands])
            for name in ("tp", "pp", "dp", "cp", "ep", "vp", "mb", "recompute", "zero", "offload")
        }
    )
    together = evaluate(TOY, train, cluster, stacked, EFF)
    for i, ev in enumerate(one_by_one):
        assert together.step_time_s[i] == approx(ev.step_time_s[0])
        assert together.memory_bytes[i] == approx(ev.memory_bytes[0])
        assert together.valid[i] == ev.valid[0]
    assert math.isfinite(float(together.mfu.max()))

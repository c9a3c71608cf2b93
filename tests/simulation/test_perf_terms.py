"""Each term of the step-time and memory model against a number worked by hand (issue 15: one-line
changes to ``perf.py`` must not survive the suite)."""

from __future__ import annotations

import pytest

from llmplanner.simulation.architecture import PRESETS
from llmplanner.simulation.hardware import gpu_by_name
from llmplanner.simulation.perf import (
    DEFAULT_EFFICIENCY,
    GIB,
    Efficiency,
)
from llmplanner.simulation.specs import ClusterSpec, Overlap, TrainingSpec

from .conftest import evaluate_layout

GPT3 = PRESETS["gpt3-175b"]
LLAMA7 = PRESETS["llama2-7b"]
MIXTRAL = PRESETS["mixtral-8x7b"]
A100 = gpu_by_name("A100-80GB")
H100 = gpu_by_name("H100")


one = evaluate_layout


def test_first_stage_holds_one_micro_batch_per_stage_in_flight():
    # GPT-3 on TP8 PP8: 12 layers per stage. Per layer and micro-batch of 2,048 tokens the layer
    # keeps 32 bytes per token and unit of hidden size (attention 2 + 6 + 2, MLP 2 + 16, norms 4),
    # ÷ 8 with sequence parallelism: 2048 · 12288 · 32 / 8 = 100,663,296 bytes. The first of 8
    # stages holds 8 micro-batches in flight: × 12 layers × 8.
    training = TrainingSpec(tokens=1e12, global_batch_seqs=1536, seq_len=2048)
    ev = one(GPT3, training, ClusterSpec(A100, 1024), tp=8, pp=8, dp=16, micro_batch=1)
    assert ev.activations_bytes[0] == pytest.approx(100_663_296 * 12 * 8)
    # Interleaving 2 chunks per stage: × (1 + (p − 1)/(p · v)) = 1 + 7/16.
    inter = one(GPT3, training, ClusterSpec(A100, 1024), tp=8, pp=8, vp=2, dp=16, micro_batch=1)
    assert inter.activations_bytes[0] == pytest.approx(100_663_296 * 12 * 8 * (1 + 7 / 16))


def test_zero3_gathers_two_layers_of_weights_and_gradients():
    # Llama-2-7B layer: attention 4·4096² + 2·4096 = 67,117,056; MLP 3·4096·11008 + 2·4096 =
    # 135,274,496; together 202,391,552 parameters. FSDP keeps two layers unsharded (the one
    # computing and the one prefetched), weights and gradients in 16 bits: 2 · 202,391,552 · 4.
    training = TrainingSpec(tokens=1e12, global_batch_seqs=64, seq_len=4096)
    z3 = one(LLAMA7, training, ClusterSpec(A100, 8), tp=1, pp=1, dp=8, micro_batch=1, zero=3)
    states = z3.weights_bytes[0] + z3.grads_bytes[0] + z3.optimizer_bytes[0]
    reserve = 2.5 * GIB + 0.05 * states + 0.07 * z3.activations_bytes[0]
    assert z3.other_bytes[0] - reserve == pytest.approx(2 * 202_391_552 * 4, rel=1e-6)


def test_the_optimizer_step_reads_and_writes_28_bytes_per_owned_parameter():
    # ZeRO-1 over 8 ranks: each owns 1/8 of the 6,738,415,616 parameters (plus the final norm's
    # 4,096); Adam moves 28 bytes per owned parameter through 2.039 TB/s of HBM.
    training = TrainingSpec(tokens=1e12, global_batch_seqs=64, seq_len=4096)
    ev = one(LLAMA7, training, ClusterSpec(A100, 8), tp=1, pp=1, dp=8, micro_batch=1, zero=1)
    owned = (6_738_415_616 + 4096) / 8
    assert ev.optimizer_s[0] == pytest.approx(owned * 28 / 2.039e12, rel=1e-3)
    # CPU offload adds the PCIe copy (4 bytes at 25 GB/s) and CPU Adam at 0.25 G params/s.
    off = one(
        LLAMA7,
        training,
        ClusterSpec(A100, 8),
        tp=1,
        pp=1,
        dp=8,
        micro_batch=1,
        zero=1,
        offload="cpu",
    )
    assert off.optimizer_s[0] - ev.optimizer_s[0] == pytest.approx(
        owned * 4 / 25e9 + owned / 0.25e9, rel=1e-3
    )


def test_context_parallel_ring_traffic_on_the_scale_out_network():
    # Llama-2-7B at 32k tokens, TP8 × CP2: the CP pair spans two servers. Per layer and
    # micro-batch each GPU exchanges K and V (2 · 4096 / 8 wide, 2 bytes) for 16,384 tokens, three
    # times (forward, backward dK, dV): 3 · 16384 · 2 · 512 · 2 bytes per step of the ring, one
    # step. Exposed time differs between a 1 and a 2 Gbit/s network by that traffic over the
    # difference of the two bandwidths (× 0.8 efficiency), × 32 layers × 8 micro-batches.
    training = TrainingSpec(tokens=1e12, global_batch_seqs=64, seq_len=32768)
    layout = dict(tp=8, pp=1, cp=2, dp=8, micro_batch=1, recompute="full", zero=1)
    slow = one(LLAMA7, training, ClusterSpec(A100, 128, scaleout_gbit_per_gpu=1), **layout)
    less_slow = one(LLAMA7, training, ClusterSpec(A100, 128, scaleout_gbit_per_gpu=2), **layout)
    traffic = 3 * 16384 * 2 * 512 * 2
    # The CP pair's bus: one NIC per member in a server (tp = 8 fills it) → the NIC's rate.
    per_step = traffic * (1 / (1e9 / 8 * 0.8) - 1 / (2e9 / 8 * 0.8))
    m = 64 / 8
    assert slow.cp_comm_s[0] - less_slow.cp_comm_s[0] == pytest.approx(per_step * 32 * m, rel=1e-6)


def test_moe_all_to_all_bytes_on_the_scale_out_network():
    # Mixtral on 16 GPUs, EP16: each GPU sends top-2 copies of 4,096 tokens × 4,096 wide, 2 bytes,
    # 4 times (dispatch and combine, forward and backward); 8 of the 16 experts' GPUs are in the
    # other server, so 8/16 of it crosses the scale-out network. Two networks' difference isolates
    # that share; × 32 MoE layers × 4 micro-batches.
    training = TrainingSpec(tokens=1e12, global_batch_seqs=64, seq_len=4096)
    layout = dict(tp=1, pp=1, dp=16, ep=16, micro_batch=1, recompute="none", zero=1)
    slow = one(MIXTRAL, training, ClusterSpec(H100, 16, scaleout_gbit_per_gpu=10), **layout)
    fast = one(MIXTRAL, training, ClusterSpec(H100, 16, scaleout_gbit_per_gpu=20), **layout)
    volume = 4 * 4096 * 2 * 4096 * 2 * (8 / 16)
    per_layer = volume * (1 / (10e9 / 8 * 0.8) - 1 / (20e9 / 8 * 0.8))
    assert slow.ep_comm_s[0] - fast.ep_comm_s[0] == pytest.approx(per_layer * 32 * 4, rel=1e-6)


def test_bucketed_gradient_reduction_hides_behind_the_last_backward_pass():
    # Exposed = max(last bucket, reduction − dp_overlap × the last micro-batch's backward), the
    # backward being 2/3 of the micro-batch's compute, plus overlap_contention × the hidden rest.
    training = TrainingSpec(tokens=1e12, global_batch_seqs=64, seq_len=4096)
    layout = dict(tp=1, pp=1, dp=16, micro_batch=4, zero=0)
    none = one(
        LLAMA7,
        TrainingSpec(
            tokens=1e12,
            global_batch_seqs=64,
            seq_len=4096,
            overlap=Overlap(grad_reduce=False, param_gather=False),
        ),
        ClusterSpec(A100, 16),
        **layout,
    )
    ev = one(LLAMA7, training, ClusterSpec(A100, 16), **layout)
    comm = none.dp_comm_s[0]
    backward = (2 / 3) * ev.compute_s[0] / ev.micro_batches[0]
    params = LLAMA7.total_params() + LLAMA7.hidden
    bucket = comm * 40e6 / params
    exposed = max(bucket, comm - DEFAULT_EFFICIENCY.dp_overlap * backward)
    # The hidden rest still slows the backward it runs beside (overlap_contention).
    expected = exposed + DEFAULT_EFFICIENCY.overlap_contention * (comm - exposed)
    assert ev.dp_comm_s[0] == pytest.approx(expected, rel=1e-4)


def test_gpus_outside_the_calibration_get_the_conservative_gemm_fraction():
    assert Efficiency().gemm_fraction("cdna3") == 0.65
    assert DEFAULT_EFFICIENCY.gemm_fraction("volta") == 0.65
    mi300x = gpu_by_name("MI300X")
    training = TrainingSpec(tokens=1e12, global_batch_seqs=64, seq_len=4096)
    ev = one(LLAMA7, training, ClusterSpec(mi300x, 8), tp=1, pp=1, dp=8, micro_batch=4, zero=1)
    # GEMMs are ~90% of the work: MFU must sit below the 0.65 GEMM ceiling but not far below.
    assert 0.40 < ev.mfu[0] < 0.65
    halved = one(
        LLAMA7,
        training,
        ClusterSpec(mi300x, 8),
        DEFAULT_EFFICIENCY.replace(gemm_peak_fraction_other=0.325),
        tp=1,
        pp=1,
        dp=8,
        micro_batch=4,
        zero=1,
    )
    assert halved.mfu[0] < 0.65 * ev.mfu[0]


def test_short_gemms_are_bound_by_reading_their_weights():
    # The roofline ridge of an A100 is 312e12 / 2.039e12 ≈ 153 FLOPs per byte: a micro-batch of
    # 153 tokens runs its GEMMs at half their rate (on top of the width term). 1 sequence of 256
    # tokens vs 16 of 256: the small one's GEMMs are slower per token by (1 + w + 153/256) /
    # (1 + w + 153/4096), w = gemm_half_width / 4096.
    w = DEFAULT_EFFICIENCY.gemm_half_width / 4096
    ridge = 312e12 / 2.039e12
    small = one(
        LLAMA7,
        TrainingSpec(tokens=1e12, global_batch_seqs=8, seq_len=256),
        ClusterSpec(A100, 8),
        tp=1,
        pp=1,
        dp=8,
        micro_batch=1,
        zero=1,
    )
    big = one(
        LLAMA7,
        TrainingSpec(tokens=1e12, global_batch_seqs=128, seq_len=256),
        ClusterSpec(A100, 8),
        tp=1,
        pp=1,
        dp=8,
        micro_batch=16,
        zero=1,
    )
    per_token_small = small.compute_s[0] / 256
    per_token_big = big.compute_s[0] / (16 * 256)
    ratio = (1 + w + ridge / 256) / (1 + w + ridge / 4096)
    # GEMMs dominate but attention and elementwise work do not scale this way: within 15%.
    assert per_token_small / per_token_big == pytest.approx(ratio, rel=0.15)
    assert per_token_small / per_token_big > 1.3

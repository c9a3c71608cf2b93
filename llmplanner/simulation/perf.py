"""Vectorised memory and step-time model for arrays of candidate layouts.

Every function here takes candidate layouts as a ``Candidates`` struct of numpy arrays (one entry
per layout) so that a whole search space is evaluated in a handful of array operations. The same
code evaluates one layout (arrays of length 1); the plain-Python loop baseline of the benchmark
calls it with scalars.

Sources of the formulas:
- FLOPs per token 6N + 12·L·s·(heads·d_head) (Kaplan et al. 2020; PaLM appendix B, Chowdhery et al.
  2022), N counting the matrix-multiply parameters including the output projection (Narayanan et
  al. 2021, eq. 3). Causal flash attention executes half of the attention FLOPs the convention
  counts.
- Activation memory per layer s·b·h·(34 + 5·a·s/h) bytes, ÷t with sequence parallelism; selective
  recomputation drops the 5·a·s/h term, full recomputation keeps the layer input only (Korthikanti
  et al. 2022, "Reducing Activation Recomputation in Large Transformer Models", §4), generalised to
  GQA and gated MLPs by counting the tensors each block keeps.
- Model states 2 + 2 + 12 bytes per parameter for mixed-precision Adam, sharded by ZeRO stage
  (Rajbhandari et al. 2020).
- Pipeline bubble (p−1)/(m·v) of the ideal time for 1F1B with v interleaved stages; first-stage
  activation memory grows by (1 + (p−1)/(p·v)) with interleaving (Narayanan et al. 2021, §2.2).
- Ring collectives move (n−1)/n of the buffer per GPU for all-gather / reduce-scatter and twice that
  for all-reduce (Patarasuk & Yuan 2009); a ring across servers gets one NIC per member GPU in a
  server, so its bus bandwidth is the NIC rate times the members per server, capped by NVLink.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from .architecture import ModelSpec
from .specs import ClusterSpec, TrainingSpec, normalise_precision

GIB = 2.0**30
RECOMPUTE_CODES = {"none": 0, "selective": 1, "full": 2}
OFFLOAD_CODES = {"none": 0, "cpu": 1, "nvme": 2}


@dataclass(frozen=True)
class Efficiency:
    """The handful of efficiency parameters the model is calibrated with (global, never per run).

    ``gemm_peak_fraction``: fraction of dense peak a large BF16/FP16 GEMM reaches, per GPU
    generation
    (cuBLAS/hipBLASLt measurements put it at 0.7–0.9). ``fp8_gemm_relative``: FP8 GEMM fraction of
    the
    FP8 peak relative to the BF16 fraction. ``attention_peak_fraction``: flash attention's fraction
    of
    the BF16 peak. The half-saturation sizes say how small matrices lose efficiency: a GEMM of width
    ``gemm_half_width`` (hidden ÷ TP) or of ``gemm_half_tokens`` rows (tokens per micro-batch per
    GPU)
    runs at half the large-matrix rate. ``elementwise_bytes_per_token_layer_h`` counts the bytes
    (in units of hidden size) that norms, activations and residuals move through HBM per token and
    layer, forward and backward. ``net_efficiency``: achieved fraction of link bandwidth for large
    collectives. ``tp_exposed_fraction``: share of tensor-parallel communication not hidden behind
    compute (not fitted: the published runs cannot separate it; half, as Megatron-Core overlaps TP
    communication on Hopper and older stacks do not). ``dp_overlap``: how much of one micro-batch's
    compute can hide data-parallel collectives (not fitted either: half, for prefetch one layer deep
    and stream contention).
    ``hop_latency_s``: per-hop latency of a ring collective. ``step_overhead_s``: fixed time per
    optimizer step (data loading, logging, synchronisation). ``recompute_forward_fraction``: share
    of
    a forward pass that full activation recomputation actually repeats (frameworks skip work whose
    output is not needed again). ``fp8_cast_bytes_per_token_layer_h``: extra HBM traffic of FP8
    quantisation (casts, amax history) per token and layer, in units of hidden size. The ``eager_*``
    factors scale GEMM, attention and elementwise efficiency of a framework running PyTorch eager
    kernels (FSDP, DeepSpeed, Composer) relative to one with fused kernels (Megatron-Core/NeMo with
    Transformer Engine): kernel fusion is a property of the software stack, not of the hardware.
    """

    gemm_peak_fraction_ampere: float = 0.8913
    gemm_peak_fraction_hopper: float = 0.8359
    gemm_peak_fraction_other: float = 0.65
    fp8_gemm_relative: float = 0.9469
    attention_peak_fraction_ampere: float = 0.4735
    attention_peak_fraction_hopper: float = 0.2454
    gemm_half_width: float = 347.8
    gemm_half_tokens: float = 751.2
    elementwise_bytes_per_token_layer_h: float = 46.15
    net_efficiency: float = 0.80
    tp_exposed_fraction: float = 0.5
    dp_overlap: float = 0.5
    hop_latency_s: float = 10e-6
    recompute_forward_fraction: float = 1.16
    fp8_cast_bytes_per_token_layer_h: float = 251.2
    eager_gemm_relative: float = 1.0
    eager_attention_relative: float = 0.6323
    eager_elementwise_relative: float = 7.86
    softmax_passes: float = 36.44
    step_overhead_s: float = 0.031

    def gemm_fraction(self, generation: str) -> float:
        # Blackwell runs the Hopper software stack; older or less mature stacks (Volta, Turing, Ada,
        # ROCm on CDNA3) are not in the calibration data and get the conservative ``other``.
        return {
            "ampere": self.gemm_peak_fraction_ampere,
            "hopper": self.gemm_peak_fraction_hopper,
            "blackwell": self.gemm_peak_fraction_hopper,
        }.get(generation, self.gemm_peak_fraction_other)

    def attention_fraction(self, generation: str) -> float:
        if generation == "ampere":
            return self.attention_peak_fraction_ampere
        if generation in ("turing", "volta"):
            return self.attention_peak_fraction_ampere * 0.6
        return self.attention_peak_fraction_hopper

    def replace(self, **changes: float) -> Efficiency:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Efficiency(**values)


DEFAULT_EFFICIENCY = Efficiency()


@dataclass
class Candidates:
    """Struct of arrays: one element per candidate layout (integers as int64)."""

    tp: np.ndarray
    pp: np.ndarray
    dp: np.ndarray
    cp: np.ndarray
    ep: np.ndarray
    vp: np.ndarray
    mb: np.ndarray
    recompute: np.ndarray  # 0 none, 1 selective, 2 full
    zero: np.ndarray
    offload: np.ndarray  # 0 none, 1 cpu, 2 nvme

    def __len__(self) -> int:
        return int(np.size(self.tp))

    def take(self, index: np.ndarray) -> Candidates:
        return Candidates(
            **{f.name: np.asarray(getattr(self, f.name))[index] for f in fields(self)}
        )


# Bytes per parameter: (weights, gradients, optimizer states) for the compute precision.
def state_bytes(precision: str, optimizer: str) -> tuple[float, float, float]:
    if precision in ("fp32", "tf32"):
        opt = {"adam": 8.0, "sgd": 4.0, "adafactor": 4.0}[optimizer]
        return 4.0, 4.0, opt
    opt = {"adam": 12.0, "sgd": 8.0, "adafactor": 4.0 + 0.5}[optimizer]
    return 2.0, 2.0, opt


def model_state_bytes(
    params: Any,
    zero: Any,
    shard: Any,
    precision: str = "bf16",
    optimizer: str = "adam",
    offload: Any = 0,
) -> tuple[Any, Any, Any]:
    """(weights, gradients, optimizer states) bytes per GPU for ``params`` parameters held by it.

    ZeRO-1 shards the optimizer states over ``shard`` data-parallel ranks, ZeRO-2 also the
    gradients, ZeRO-3 also the weights (Rajbhandari et al. 2020, Figure 1); offloading moves the
    optimizer states off the GPU.
    """
    w_b, g_b, o_b = state_bytes(precision, optimizer)
    w_div = np.where(np.asarray(zero) >= 3, shard, 1.0)
    g_div = np.where(np.asarray(zero) >= 2, shard, 1.0)
    o_div = np.where(np.asarray(zero) >= 1, shard, 1.0)
    o_gpu = np.where(np.asarray(offload) > 0, 0.0, o_b)
    return params * w_b / w_div, params * g_b / g_div, params * o_gpu / o_div


def checkpoint_bytes(model: ModelSpec, precision: str = "bf16", optimizer: str = "adam") -> float:
    """Bytes of a full training checkpoint: 16-bit weights plus the optimizer states (fp32 master,
    m and v for Adam = 14 bytes per parameter; BLOOM-176B's was 2.3 TB at exactly that)."""
    w_b, _, o_b = state_bytes(precision, optimizer)
    return float(model.total_params()) * (w_b + o_b)


def training_state_bytes(params: float, precision: str = "bf16", optimizer: str = "adam") -> float:
    """Weights + gradients + optimizer states, unsharded (16 bytes/param for mixed Adam)."""
    return params * sum(state_bytes(precision, optimizer))


def activation_units(model: ModelSpec, mlp_width: float | None = None) -> float:
    """Bytes kept per layer for the backward pass, per token and per unit of hidden size.

    Korthikanti et al.'s 34 (attention 11, MLP 19, norms 4) without the two dropout masks, since
    modern pretraining runs without dropout: 32 for GPT-3's shape. Attention keeps its input (2),
    Q/K/V (2·(q + 2·kv)/h) and the output-projection input (2·q/h); the MLP its input (2) and the
    up-projection output(s) and activation output (2·f/h each); the two norms their inputs (4).
    """
    h = float(model.hidden)
    width = float(model.ffn_hidden if mlp_width is None else mlp_width)
    kv_width = float(model.n_kv_heads * model.d_head)
    attn = 2.0 + 2.0 * (model.q_width + 2 * kv_width) / h + 2.0 * model.q_width / h
    mlp = 2.0 + (6.0 if model.gated_mlp else 4.0) * width / h
    return attn + mlp + 4.0


def _ring_time(bytes_per_gpu: Any, n: Any, bw: Any, latency: float) -> Any:
    """Time of a ring all-gather or reduce-scatter of ``bytes_per_gpu`` over ``n`` GPUs."""
    n = np.maximum(n, 1)
    return np.where(n > 1, (n - 1) / n * bytes_per_gpu / bw + (n - 1) * latency, 0.0)


def _group_bandwidth(
    members: Any, inner: Any, per_server: int, scaleup: float, scaleout: float
) -> Any:
    """Bus bandwidth (bytes/s) of a group of ``members`` whose neighbours are ``inner`` ranks apart.

    Ranks are laid out TP innermost, then CP, then DP, then PP (Megatron's order). A group that fits
    inside one server uses the scale-up link; one that spans servers gets one NIC per member GPU in
    a
    server — capped by the scale-up link that carries the intra-server hops.
    """
    span = members * inner
    in_server = span <= per_server
    members_per_server = np.maximum(1, np.minimum(members, per_server // np.maximum(inner, 1)))
    across = np.minimum(scaleup, members_per_server * scaleout)
    return np.where(in_server, scaleup, across)


@dataclass
class Evaluation:
    """Arrays of per-candidate results (seconds, bytes, FLOP/s)."""

    feasible: np.ndarray
    valid: np.ndarray
    memory_bytes: np.ndarray
    weights_bytes: np.ndarray
    grads_bytes: np.ndarray
    optimizer_bytes: np.ndarray
    activations_bytes: np.ndarray
    other_bytes: np.ndarray
    step_time_s: np.ndarray
    compute_s: np.ndarray
    bubble_s: np.ndarray
    tp_comm_s: np.ndarray
    cp_comm_s: np.ndarray
    pp_comm_s: np.ndarray
    dp_comm_s: np.ndarray
    ep_comm_s: np.ndarray
    optimizer_s: np.ndarray
    overhead_s: np.ndarray
    tokens_per_s: np.ndarray
    model_flops_per_token: float
    hardware_flops_per_token: np.ndarray
    mfu: np.ndarray
    hfu: np.ndarray
    micro_batches: np.ndarray
    micro_batch_s: np.ndarray  # one micro-batch on the slowest stage, communication included


def evaluate(
    model: ModelSpec,
    training: TrainingSpec,
    cluster: ClusterSpec,
    cand: Candidates,
    eff: Efficiency = DEFAULT_EFFICIENCY,
) -> Evaluation:
    """Memory per GPU and step time for every candidate (see module docstring for the formulas)."""
    gpu = cluster.gpu
    precision = normalise_precision(training.precision)
    gen = gpu.generation
    peak = gpu.peak_flops(precision)
    peak_attn = gpu.peak_flops("bf16") if precision == "fp8" else peak
    if precision == "fp8" and "bf16" not in gpu.peak_tflops:
        peak_attn = gpu.peak_flops("fp16")
    # Kernel class per candidate: "auto" runs ZeRO-3 (FSDP) layouts on an eager PyTorch stack and
    # tensor/pipeline layouts on fused Megatron-style kernels — the stacks that implement them.
    zero_arr = np.asarray(cand.zero)
    if training.framework == "auto":
        eager = zero_arr >= 3
    else:
        eager = np.full(np.shape(zero_arr), training.framework == "fsdp")
    base_gemm = eff.gemm_fraction(gen) * (eff.fp8_gemm_relative if precision == "fp8" else 1.0)
    gemm_frac = np.where(eager, base_gemm * eff.eager_gemm_relative, base_gemm)
    attn_frac = np.where(
        eager,
        eff.attention_fraction(gen) * eff.eager_attention_relative,
        eff.attention_fraction(gen),
    )
    elem_factor = np.where(eager, eff.eager_elementwise_relative, 1.0)
    rf = eff.recompute_forward_fraction
    per_server = cluster.per_server
    su_bw = cluster.scaleup_bytes_per_s * eff.net_efficiency
    so_bw = cluster.scaleout_bytes_per_s * eff.net_efficiency
    lat = eff.hop_latency_s

    tp, pp, dp, cp, ep, vp, mb = (
        np.asarray(x, dtype=np.float64)
        for x in (cand.tp, cand.pp, cand.dp, cand.cp, cand.ep, cand.vp, cand.mb)
    )
    rc = np.asarray(cand.recompute)
    zero = np.asarray(cand.zero)
    offload = np.asarray(cand.offload)
    full = rc == 2

    L, h, s, V = (
        float(model.layers),
        float(model.hidden),
        float(training.seq_len),
        float(model.vocab),
    )
    q_width = float(model.q_width)
    kv_width = float(model.n_kv_heads * model.d_head)
    B = float(training.global_batch_seqs)

    # ---- validity (divisibility, placement) ----------------------------------------------------
    n_gpu = tp * pp * cp * dp
    # The batch a layout runs: the requested one rounded to whole micro-batches on every
    # data-parallel rank (OPT-175B ran 992 sequences on 124 ranks for a "2M-token" batch), ±5%.
    m = np.maximum(1.0, np.round(B / (dp * mb)))  # micro-batches per step per pipeline
    batch = m * dp * mb
    valid = n_gpu == cluster.gpu_count
    valid &= (np.mod(model.heads, tp) == 0) & (np.mod(model.ffn_hidden, tp) == 0)
    valid &= (pp * vp <= L) & (np.abs(batch - B) <= 0.05 * B)
    valid &= tp <= per_server
    valid &= (cp == 1) | (np.mod(s, 2 * cp) == 0)
    valid &= (vp == 1) | ((pp > 1) & (np.mod(m, pp) == 0))
    valid &= (zero < 2) | (
        pp == 1
    )  # ZeRO-2/3 shard what the pipeline schedule needs every micro-batch
    if model.is_moe:
        valid &= (np.mod(dp * cp, ep) == 0) & (np.mod(model.moe_experts, ep) == 0)
    else:
        valid &= ep == 1
    if model.n_kv_heads < model.heads:
        valid &= (np.mod(model.n_kv_heads, tp) == 0) | (np.mod(tp, model.n_kv_heads) == 0)

    # ---- parameters per GPU
    # -----------------------------------------------------------------------
    attn_p = float(model.attention_params())
    if model.is_moe:
        dense_layers, moe_layers = float(model.dense_layers), float(model.moe_layers)
        expert_p = float(model.expert_params())
        layer_total_gpu = (
            dense_layers * float(model.layer_params_dense()) / tp
            + moe_layers
            * (attn_p / tp + (model.moe_experts / ep + model.moe_shared_experts) * expert_p / tp)
        ) / L
        active_mm_per_layer = (
            dense_layers * float(model.layer_params_dense())
            + moe_layers * float(model.layer_params_moe_active())
        ) / L
        topk_units = float(model.moe_top_k + model.moe_shared_experts) * model.expert_ffn
        mlp_width_units = (dense_layers * model.ffn_hidden + moe_layers * topk_units) / L
        routed_mm_per_layer = moe_layers * model.moe_top_k * expert_p / L
        # Routed experts live on ep ranks only: ZeRO shards their states over dp·cp/ep replicas.
        expert_gpu_per_layer = moe_layers * (model.moe_experts / ep) * expert_p / tp / L
    else:
        layer_total_gpu = float(model.layer_params_dense()) / tp
        active_mm_per_layer = float(model.layer_params_dense())
        mlp_width_units = float(model.ffn_hidden)
        routed_mm_per_layer = 0.0
        expert_gpu_per_layer = np.zeros_like(tp)
    dense_mm_per_layer = active_mm_per_layer - routed_mm_per_layer
    # Stages may be uneven (Llama 3 put 126 layers on 16 stages): the slowest stage sets the pace
    # and
    # the memory, with ceil(L / (p·v)) layers in each of its v virtual chunks.
    layers_per_stage = vp * np.ceil(L / (pp * vp))
    emb_gpu = V * h / tp
    p_stage = layers_per_stage * layer_total_gpu
    p_first = p_stage + emb_gpu + np.where((pp == 1) & (not model.tied_embeddings), emb_gpu, 0.0)
    p_last = p_stage + emb_gpu

    # ---- memory
    # -----------------------------------------------------------------------------------
    w_b, g_b, o_b = state_bytes(precision, training.optimizer)
    shard = dp * cp
    o_div = np.where(zero >= 1, shard, 1.0)

    expert_shard = np.maximum(shard / ep, 1.0)
    p_expert = layers_per_stage * expert_gpu_per_layer

    def states(p: Any) -> tuple[Any, Any, Any]:
        dense = model_state_bytes(p - p_expert, zero, shard, precision, training.optimizer, offload)
        expert = model_state_bytes(
            p_expert, zero, expert_shard, precision, training.optimizer, offload
        )
        return dense[0] + expert[0], dense[1] + expert[1], dense[2] + expert[2]

    tokens_mb = mb * s / cp  # rows of every GEMM on one GPU per micro-batch
    # Tensors each layer keeps for backward (see activation_units), ÷ TP with sequence parallelism.
    units = activation_units(model, mlp_width_units)
    scores_units = 0.0 if training.flash_attention else 5.0 * model.heads * s / h
    per_layer_full = tokens_mb * h * (units + np.where(rc >= 1, 0.0, scores_units)) / tp
    per_layer_kept = np.where(full, 2.0 * tokens_mb * h / tp, per_layer_full)
    inflight = np.minimum(m, pp)
    interleave = np.where(vp > 1, 1.0 + (pp - 1) / (pp * vp), 1.0)
    act_first = per_layer_kept * layers_per_stage * inflight * interleave + np.where(
        full, per_layer_full, 0.0
    )
    logits = (
        2.0 * 2.0 * tokens_mb * V / tp
    )  # 16-bit logits and their gradient (fused cross-entropy)
    act_first = act_first + np.where(pp == 1, logits, 0.0)
    act_last = per_layer_kept * layers_per_stage + np.where(full, per_layer_full, 0.0) + logits
    zero3_buffers = np.where(zero >= 3, 2.0 * layer_total_gpu * (w_b + g_b), 0.0)
    w1, g1, o1 = states(p_first)
    w2, g2, o2 = states(p_last)
    first_total = w1 + g1 + o1 + act_first
    last_total = w2 + g2 + o2 + act_last
    use_first = first_total >= last_total
    fixed_other = 2.5 * GIB  # CUDA context, NCCL and allocator reserves
    weights = np.where(use_first, w1, w2)
    grads = np.where(use_first, g1, g2)
    optim = np.where(use_first, o1, o2)
    acts = np.where(use_first, act_first, act_last)
    other = fixed_other + zero3_buffers + 0.05 * (weights + grads + optim + acts)
    memory = weights + grads + optim + acts + other
    feasible = valid & (memory <= gpu.memory_gib * GIB)

    # ---- FLOPs
    # --------------------------------------------------------------------------------------
    attn_flops_tok = 12.0 * L * s * q_width  # per token, fwd+bwd, causal mask not discounted
    mm_params_tok = L * active_mm_per_layer + V * h
    model_flops_tok = 6.0 * mm_params_tok + attn_flops_tok
    recompute_flops_tok = np.where(
        full,
        2.0 * L * active_mm_per_layer + attn_flops_tok / 3.0,
        np.where(rc == 1, attn_flops_tok / 3.0, 0.0),
    )
    hw_flops_tok = model_flops_tok + recompute_flops_tok

    # ---- compute time per micro-batch on the slowest stage
    # -----------------------------------------
    width = h / tp
    size_eff = 1.0 / (1.0 + eff.gemm_half_width / width + eff.gemm_half_tokens / tokens_mb)
    gemm_rate = peak * gemm_frac * size_eff
    fwd_passes = np.where(full, 3.0 + rf, 3.0)  # forward + backward (2×) [+ recomputed forward]
    layer_gemm_flops = 2.0 * dense_mm_per_layer / tp * tokens_mb * fwd_passes
    # Routed experts: each expert multiplies only the tokens sent to it — ep·tokens·k/E of them —
    # so small expert batches run at lower efficiency (the reason expert parallelism pays).
    if model.is_moe:
        expert_tokens = ep * tokens_mb * model.moe_top_k / model.moe_experts
        expert_eff = 1.0 / (
            1.0
            + eff.gemm_half_width / (model.expert_ffn / tp)
            + eff.gemm_half_tokens / expert_tokens
        )
        expert_time = (
            2.0
            * routed_mm_per_layer
            / tp
            * tokens_mb
            * fwd_passes
            / (peak * gemm_frac * expert_eff)
        )
    else:
        expert_time = np.zeros_like(tp)
    head_gemm_flops = 6.0 * V * h / tp * tokens_mb
    # Flash attention executes half the counted FLOPs under a causal mask; backward ≈ 2× forward,
    # and selective or full recomputation repeats the forward once more. Without flash attention the
    # full score matrix is computed (no causal saving) as batched GEMMs, and softmax/masking move
    # the s×s scores through HBM several times (``softmax_passes``).
    attn_passes = np.where(full, 3.0 + rf, np.where(rc == 1, 4.0, 3.0))
    attn_fwd_flops = 4.0 * s * q_width / tp * tokens_mb
    if training.flash_attention:
        attn_time = 0.5 * attn_fwd_flops * attn_passes / (peak_attn * attn_frac)
    else:
        score_bytes = (
            eff.softmax_passes * 2.0 * model.heads / tp * s * tokens_mb * attn_passes / 3.0
        )
        attn_time = (
            attn_fwd_flops * attn_passes / (peak_attn * eff.gemm_fraction(gen))
            + score_bytes / gpu.hbm_bytes_per_s
        )
    elem_units = eff.elementwise_bytes_per_token_layer_h * elem_factor
    if precision == "fp8":
        elem_units += eff.fp8_cast_bytes_per_token_layer_h
    elem_bytes = elem_units * tokens_mb * h / tp * np.where(full, 1.0 + rf / 3.0, 1.0)
    t_layer = (
        layer_gemm_flops / gemm_rate + expert_time + attn_time + elem_bytes / gpu.hbm_bytes_per_s
    )

    # Tensor-parallel collectives (sequence parallel: all-gather + reduce-scatter around attention
    # and
    # MLP, forward and backward, and again in a recomputed forward).
    tp_bw = (
        _group_bandwidth(
            tp, 1, per_server, cluster.scaleup_bytes_per_s, cluster.scaleout_bytes_per_s
        )
        * eff.net_efficiency
    )
    n_tp_coll = np.where(full, 8.0 + 4.0 * rf, 8.0)
    tp_layer = n_tp_coll * _ring_time(tokens_mb * h * 2.0, tp, tp_bw, lat) * eff.tp_exposed_fraction
    # Context parallel: ring exchange of K and V (forward) and of dK, dV (backward), overlapped with
    # the attention computation it feeds.
    cp_bw = (
        _group_bandwidth(
            cp, tp, per_server, cluster.scaleup_bytes_per_s, cluster.scaleout_bytes_per_s
        )
        * eff.net_efficiency
    )
    kv_bytes = tokens_mb * 2.0 * kv_width / tp * 2.0
    cp_raw = np.where(cp > 1, (cp - 1) * kv_bytes * 3.0 / cp_bw + 3.0 * (cp - 1) * lat, 0.0)
    cp_layer = np.maximum(0.0, cp_raw - attn_time)
    # Expert parallel: all-to-all dispatch and combine, forward and backward (+ recompute).
    if model.is_moe:
        # Each GPU sends (ep−1)/ep of its routed tokens away; the share bound for other servers
        # leaves through its own NIC (all-to-all gets no help from the other NICs of the server).
        a2a_bytes = tokens_mb * model.moe_top_k * h * 2.0 / tp
        n_a2a = np.where(full, 4.0 + 2.0 * rf, 4.0)
        local = np.maximum(1.0, np.minimum(ep, per_server // np.maximum(tp * cp, 1)))
        off_server = (ep - local) / ep
        in_server = (local - 1) / ep
        ep_layer = np.where(
            ep > 1,
            n_a2a * a2a_bytes * (in_server / su_bw + off_server / so_bw) + n_a2a * (ep - 1) * lat,
            0.0,
        )
        ep_layer = ep_layer * (model.moe_layers / L)
    else:
        ep_layer = np.zeros_like(tp)

    t_mb_compute = layers_per_stage * t_layer
    t_head = head_gemm_flops / gemm_rate
    t_mb = layers_per_stage * (t_layer + tp_layer + cp_layer + ep_layer) + t_head

    # ZeRO-3 / FSDP: every micro-batch all-gathers the parameters twice and reduce-scatters
    # gradients;
    # prefetching hides them behind that micro-batch's compute.
    dp_group_bw = (
        _group_bandwidth(
            dp * cp, tp, per_server, cluster.scaleup_bytes_per_s, cluster.scaleout_bytes_per_s
        )
        * eff.net_efficiency
    )
    z3_comm = (
        3.0 * _ring_time((p_first - p_expert) * 2.0, shard, dp_group_bw, lat)
        + 3.0 * _ring_time(p_expert * 2.0, expert_shard, dp_group_bw, lat)
        + 3.0 * layers_per_stage * np.where(shard > 1, lat * np.log2(np.maximum(shard, 2)), 0.0)
    )
    z3_exposed = np.where(zero >= 3, np.maximum(0.0, z3_comm - eff.dp_overlap * t_mb), 0.0)
    t_mb = t_mb + z3_exposed

    # Pipeline: point-to-point of activations per micro-batch and stage boundary (× v when
    # interleaved).
    pp_bw = np.where(tp * cp * dp >= per_server, so_bw, su_bw)
    p2p = np.where(pp > 1, 2.0 * vp * (tokens_mb * h * 2.0 / tp) / pp_bw, 0.0)
    t_mb = t_mb + p2p
    bubble = (pp - 1) / vp * t_mb
    pipeline_s = m * t_mb + bubble

    # Data parallel (ZeRO-0/1/2): one gradient reduce-scatter + parameter all-gather (= all-reduce)
    # per step, partly hidden behind the last micro-batch's backward pass.
    dp_comm = 2.0 * _ring_time(
        (p_first - p_expert) * g_b, shard, dp_group_bw, lat
    ) + 2.0 * _ring_time(p_expert * g_b, expert_shard, dp_group_bw, lat)
    dp_exposed = np.where(zero >= 3, 0.0, np.maximum(0.0, dp_comm - eff.dp_overlap * t_mb))

    # Optimizer step: Adam reads/writes ~28 bytes per parameter it owns (memory bound); offload
    # moves gradients and weights over PCIe (≈25 GB/s per GPU) and runs Adam on the CPU (≈0.25 G
    # params/s per GPU's share of a two-socket host, DeepSpeed ZeRO-Offload, Ren et al. 2021); NVMe
    # adds the states' read and write at ≈3 GB/s per GPU (ZeRO-Infinity, Rajbhandari et al. 2021).
    owned = (p_first - p_expert) / o_div + p_expert / np.where(zero >= 1, expert_shard, 1.0)
    opt_s = owned * 28.0 / gpu.hbm_bytes_per_s
    offload_s = np.where(offload >= 1, owned * 4.0 / 25e9 + owned / 0.25e9, 0.0)
    offload_s = offload_s + np.where(offload >= 2, owned * 2.0 * o_b / 3e9, 0.0)
    optimizer_s = opt_s + offload_s

    step = pipeline_s + dp_exposed + optimizer_s + eff.step_overhead_s
    tokens_step = batch * s
    tokens_per_s = tokens_step / step
    per_gpu_flops = tokens_per_s / cluster.gpu_count
    mfu = per_gpu_flops * model_flops_tok / peak
    hfu = per_gpu_flops * hw_flops_tok / peak

    compute_s = m * t_mb_compute + m * t_head
    return Evaluation(
        feasible=feasible,
        valid=valid,
        memory_bytes=memory,
        weights_bytes=weights,
        grads_bytes=grads,
        optimizer_bytes=optim,
        activations_bytes=acts,
        other_bytes=other,
        step_time_s=step,
        compute_s=compute_s,
        bubble_s=bubble,
        tp_comm_s=m * layers_per_stage * tp_layer,
        cp_comm_s=m * layers_per_stage * cp_layer,
        pp_comm_s=m * p2p,
        dp_comm_s=dp_exposed + m * z3_exposed,
        ep_comm_s=m * layers_per_stage * ep_layer,
        optimizer_s=optimizer_s,
        overhead_s=np.full_like(step, eff.step_overhead_s),
        tokens_per_s=tokens_per_s,
        model_flops_per_token=model_flops_tok,
        hardware_flops_per_token=np.broadcast_to(hw_flops_tok, np.shape(step)),
        mfu=mfu,
        hfu=hfu,
        micro_batches=m,
        micro_batch_s=t_mb,
    )

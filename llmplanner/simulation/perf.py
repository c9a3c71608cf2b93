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
  Layers that do not divide evenly go to the middle stages; the first and last stages, which also
  hold the embedding and the output head, get fewer (Llama 3: 126 layers on 16 stages, one layer
  fewer on the first and the last, Dubey et al. 2024 §3.3.2; Megatron-Core's
  ``decoder_first/last_pipeline_num_layers``). The slowest stage sets the pace.
- Ring collectives move (n−1)/n of the buffer per GPU for all-gather / reduce-scatter and twice that
  for all-reduce (Patarasuk & Yuan 2009); a ring across servers gets one NIC per member GPU in a
  server, so its bus bandwidth is the NIC rate times the members per server, capped by NVLink.
- Communication is hidden only where the software overlaps it (``specs.Overlap``): bucketed
  gradient reduction hides behind the last micro-batch's backward pass except the last bucket
  (PyTorch DDP, Li et al. 2020, §3.2.3: 25 MB buckets; Megatron-Core: 40M-parameter buckets),
  tensor-parallel communication behind the GEMMs only with TP overlap (Transformer Engine).

The evaluation runs in named phases, each with its own tests against worked numbers:
``_compute`` (FLOPs and kernel time per layer), ``_communication`` (TP, CP, EP, DP/FSDP, PP),
``_memory`` (states, activations, allocator reserve) and ``_pipeline`` (micro-batches, bubble,
step time).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from .architecture import ModelSpec
from .hardware import FP4_FORMATS, is_fp8_family, is_low_precision
from .specs import (
    ClusterSpec,
    Overlap,
    TrainingSpec,
    default_overlap,
    normalise_precision,
    resolve_framework,
)

GIB = 2.0**30
RECOMPUTE_CODES = {"none": 0, "selective": 1, "full": 2}
OFFLOAD_CODES = {"none": 0, "cpu": 1, "nvme": 2}


@dataclass(frozen=True)
class Efficiency:
    """The efficiency parameters of the throughput model: global, never per run.

    Fitted by ``python -m llmplanner.simulation calibrate --fit`` on the published data set
    (``data/published_runs.json``) and stored with the data set's hash in
    ``data/fitted_efficiency.json``; the values below are the physical priors the fit starts from
    (and what a parameter keeps when no row exercises it). ``FITTED`` lists the fitted ones.

    - ``gemm_peak_fraction_*``: fraction of the dense peak a large BF16/FP16 GEMM reaches, per GPU
      generation (cuBLAS measurements: 0.7–0.9). ``other`` (Volta, Turing, Ada, CDNA3 on ROCm) is
      not in the data and stays a conservative prior. ``tpu`` (XLA on TPU v5e/v5p/v6e) starts
      from 0.72 and is fitted to MaxText's published Trillium runs (source "MaxText (TPU)").
    - ``fp8_gemm_relative``: an FP8 GEMM's fraction of the FP8 peak relative to BF16's fraction of
      the BF16 peak (prior 0.9: FP8 GEMMs on H100 reach ~1.8× BF16 throughput, not 2×).
    - ``attention_peak_fraction``: flash attention's fraction of the BF16 peak on Ampere at long
      sequences (FlashAttention-2 reaches 50–73% of A100's peak forward, less backward; Dao 2023,
      Fig. 4–6); shorter blocks run slower (``ATTENTION_HALF_TOKENS``).
      Other generations and kernel stacks scale it by ``ATTENTION_GENERATION`` (measured ratios,
      not fitted).
    - ``gemm_half_width``: a GEMM whose output width (hidden ÷ TP) equals this runs at half the
      large-matrix rate: narrow matrices do not fill the GPU's SMs. Short ones (few tokens per
      micro-batch) are bound by reading the weights: a GEMM of M rows reaches half its rate where
      its arithmetic intensity (≈ M FLOPs per weight byte) equals the GPU's ridge point, peak ÷ HBM
      bandwidth (153 tokens on A100, 295 on H100; Williams et al. 2009, the roofline model) — not
      fitted.
    - ``elementwise_bytes_per_token_layer_h``: HBM bytes (per token, layer and unit of hidden size,
      forward + backward) that fused norms, activations and residual adds move; eager PyTorch runs
      ``EAGER_ELEMENTWISE_FACTOR`` times that (counted kernels, see there).
    - ``kernel_launch_s``: host time to launch one kernel (~5 µs for a PyTorch eager op, not
      fitted: no published row is launch-bound). A layer cannot run faster than its kernel launches
      (``KERNELS_PER_LAYER``): tiny models on eager stacks are launch-bound.
    - ``net_efficiency``: achieved fraction of link bandwidth in large collectives (NCCL tests reach
      ~80% of the line rate; not fitted).
    - ``tp_overlap_exposed``: share of TP communication left exposed when the software overlaps it
      (not fitted: the published runs cannot separate it); 1.0 without overlap.
    - ``dp_overlap``: share of the last micro-batch's backward (forward for the parameter gather)
      that bucketed data-parallel collectives can hide behind (stream contention keeps it below 1).
    - ``overlap_contention``: a collective hidden behind compute still slows that compute: NCCL's
      channels each occupy an SM and the transfers share HBM bandwidth with the kernels beside
      them (Pati et al. 2024, "T3: Transparent Tracking & Triggering for Fine-grained Overlap of
      Compute & Collectives", §2: concurrent GEMMs and collectives contend for compute units and
      memory bandwidth). The hidden part of the data-parallel and FSDP collectives adds this share
      of its duration to the step. Prior 0.2; fitted.
    - ``bucket_params``: parameters per gradient bucket; the last bucket is always exposed.
    - ``allocator_fragmentation``: extra memory the caching allocator holds per byte of activations
      (tensors of many sizes are freed and reallocated every micro-batch; PyTorch's CUDA caching
      allocator rounds and splits blocks — see the ``expandable_segments`` notes of the PyTorch
      CUDA semantics documentation). Planning assumption: 7%, the most at which every published
      layout of the data set still fits (they ran).
    - ``hop_latency_s``: per-hop latency of a ring collective. ``step_overhead_s``: fixed time per
      optimizer step (data loading, logging, synchronisation).
    - ``fp8_cast_bytes_per_token_layer_h``: extra HBM traffic of FP8 quantisation per token and
      layer in units of hidden size: every GEMM input is read in BF16 and written in FP8 (and
      transposed for the weight gradient), forward and backward — counted in
      ``fp8_cast_units``; this factor is the achieved-bandwidth penalty of those small kernels.
    - ``softmax_bytes_per_score``: HBM bytes per attention score element (forward + backward) of
      unfused attention (pre-2022 software): counted in the docstring of ``_compute``.
    """

    gemm_peak_fraction_ampere: float = 0.85
    gemm_peak_fraction_hopper: float = 0.80
    gemm_peak_fraction_other: float = 0.65
    gemm_peak_fraction_tpu: float = 0.72
    fp8_gemm_relative: float = 0.90
    attention_peak_fraction: float = 0.45
    gemm_half_width: float = 256.0
    elementwise_bytes_per_token_layer_h: float = 40.0
    kernel_launch_s: float = 5e-6
    net_efficiency: float = 0.80
    tp_overlap_exposed: float = 0.35
    dp_overlap: float = 0.7
    overlap_contention: float = 0.2
    bucket_params: float = 40e6
    allocator_fragmentation: float = 0.07
    hop_latency_s: float = 10e-6
    fp8_cast_factor: float = 1.0
    softmax_bytes_per_score: float = 26.0
    step_overhead_s: float = 0.03

    def gemm_fraction(self, generation: str) -> float:
        # Blackwell runs the Hopper software stack; older or less mature stacks (Volta, Turing, Ada,
        # ROCm on CDNA3) are not in the calibration data and get the conservative ``other``; TPUs
        # their own fitted fraction; Gaudi and CDNA4 their own priors (``GEMM_FRACTION_PRIOR``:
        # priors, not fitted).
        fitted = {
            "ampere": self.gemm_peak_fraction_ampere,
            "hopper": self.gemm_peak_fraction_hopper,
            "blackwell": self.gemm_peak_fraction_hopper,
            "tpu": self.gemm_peak_fraction_tpu,
        }
        if generation in fitted:
            return fitted[generation]
        return GEMM_FRACTION_PRIOR.get(generation, self.gemm_peak_fraction_other)

    def attention_fraction(self, generation: str, fused: bool = True) -> float:
        key = generation if (fused or generation not in ("hopper", "blackwell")) else "hopper-fa2"
        return self.attention_peak_fraction * ATTENTION_GENERATION.get(key, 0.5)

    def replace(self, **changes: float) -> Efficiency:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Efficiency(**values)


# Flash attention's fraction of peak relative to FlashAttention-2 on Ampere (~70% of A100's peak).
# On Hopper it depends on the kernel: FA2 reaches only ~35% of H100's peak, kernels written for
# Hopper's WGMMA/TMA (FlashAttention-3, cuDNN's fused attention used by Transformer Engine) ~75%
# (Shah et al. 2024, FlashAttention-3, §1 and §4.1). Fused stacks (Megatron-Core/NeMo with TE) get
# the Hopper kernels, eager stacks (llm-foundry's FA2) the FA2 rate. Volta/Turing lack the async
# copies FA2 relies on (FA1 ≈ 0.6×).
ATTENTION_GENERATION = {
    # TPUs: XLA's fused (splash) attention, assumed as efficient as FlashAttention-2 on Ampere
    # (estimate; no published kernel-level figure used).
    "tpu": 1.0,
    "ampere": 1.0,
    "hopper": 1.05,
    "blackwell": 1.05,
    "hopper-fa2": 0.5,
    "volta": 0.6,
    "turing": 0.6,
}

# GEMM fraction of peak for hardware the published data set does not cover — priors, not fitted:
# - TPUs are no longer here: ``Efficiency.gemm_peak_fraction_tpu`` is fitted to MaxText's Trillium
#   rows. Its prior, 0.72, was chosen so that MaxText's published TPU v5p runs come out near their
#   measured MFU (configs/v5p README: 32B on v5p-128 at 71.5%, 128B on v5p-256 at 68.7%); PaLM
#   540B reached 46.2% MFU on TPU v4 (Chowdhery et al. 2022, Table 3) with an older compiler.
# - "gaudi": the conservative ``other`` value (0.65): no published MFU of a Gaudi 3 training run was
#   found to calibrate against (MLPerf Training reports time to train, not utilisation).
# - "cdna4": as CDNA3 (ROCm, ``other``): no published MI355X training MFU yet.
GEMM_FRACTION_PRIOR = {"gaudi": 0.65, "cdna4": 0.65}

# What each 8- and 4-bit format costs besides its GEMMs (``hardware.PRECISIONS``):
# - cast bytes per GEMM-input element: tensor-wise FP8 reads the BF16 input (2), writes it in FP8
#   (1) and as its transpose (1) after an amax pass (2) = 6 (``fp8_cast_units``); block formats add
#   their scales for both copies — FP32 per 128 elements (fp8-blockwise: 2 × 4/128), E8M0 per 32
#   (mxfp8: 2 × 1/32; mxfp4: 2 × 1/32), E4M3 per 16 (nvfp4: 2 × 1/16) — and 4-bit formats write
#   half a byte per copy (nvfp4's per-tensor FP32 scale still needs the amax pass).
# - GEMM rate relative to tensor-wise FP8 at the format's peak: block-wise FP8 on Hopper promotes
#   partial sums to FP32 on the CUDA cores every 128 elements to apply the scales (DeepSeek-V3
#   §3.3.2) — 0.95, an estimate; Blackwell applies block scales in the tensor cores (1.0). FP4
#   GEMMs: 0.9, an estimate (block-scale traffic per FLOP doubles).
# - BF16 share of the linear layers: the NVFP4 recipe keeps the most sensitive layers (the last
#   blocks) in BF16 — about 15% of the linear layers of its 12B model (NVIDIA, "Pretraining Large
#   Language Models with NVFP4", 2025; the share for other models is an assumption).
FORMAT_CAST_BYTES = {
    "fp8": 6.0,
    "fp8-blockwise": 6.0 + 2.0 * 4.0 / 128.0,
    "mxfp8": 6.0 + 2.0 / 32.0,
    "nvfp4": 5.0 + 2.0 / 16.0,
    "mxfp4": 5.0 + 2.0 / 32.0,
}
FP4_GEMM_RELATIVE = 0.9
BLOCKWISE_GEMM_RELATIVE = {"hopper": 0.95}
FP4_BF16_GEMM_SHARE = 0.15


def low_precision_gemm_relative(
    precision: str, generation: str, eff: Efficiency, peak: float, peak_bf16: float
) -> float:
    """A GEMM's rate in ``precision`` as a fraction of (peak × the generation's GEMM fraction).

    1 for 16- and 32-bit formats; ``fp8_gemm_relative`` for tensor-wise FP8 (unchanged); the
    block formats' factors above; for FP4 the BF16 share runs at the BF16 peak (time-weighted).
    """
    if not is_low_precision(precision):
        return 1.0
    rel = eff.fp8_gemm_relative
    if precision == "fp8-blockwise":
        rel *= BLOCKWISE_GEMM_RELATIVE.get(generation, 1.0)
    if precision in FP4_FORMATS:
        rel *= FP4_GEMM_RELATIVE
        share = FP4_BF16_GEMM_SHARE
        rel = 1.0 / ((1.0 - share) / rel + share * peak / peak_bf16)
    return rel


# Flash attention slows down on short blocks: a query block of this many tokens runs at half the
# long-sequence rate (FlashAttention-2, Dao 2023, Fig. 4–6: causal, head dim 128, forward +
# backward on A100 reach ~60% of their 16k-token speed at 512 tokens, i.e. half at ~380). With
# context parallelism each step of the ring computes blocks of s/cp tokens.
ATTENTION_HALF_TOKENS = 384.0

# Elementwise traffic of eager PyTorch relative to fused kernels, counted per layer (forward +
# backward): eager runs norm, residual add, bias, activation and their backward as separate kernels
# that each read and write the full tensor (≈ 2× the bytes) and keeps fp32 upcasts in norms (≈ 1.5×
# more), against Megatron-Core/TE's fused norm+cast, bias+activation and dropout+add kernels.
EAGER_ELEMENTWISE_FACTOR = 3.0
# Kernels launched per layer and micro-batch, forward + backward (counted from profiles of a
# GPT layer: a fused Megatron-Core/TE layer ≈ 40, eager PyTorch ≈ 120).
KERNELS_PER_LAYER = {"fused": 40.0, "eager": 120.0}

FITTED = (
    "gemm_peak_fraction_ampere",
    "gemm_peak_fraction_hopper",
    "gemm_peak_fraction_tpu",
    "fp8_gemm_relative",
    "attention_peak_fraction",
    "gemm_half_width",
    "elementwise_bytes_per_token_layer_h",
    "fp8_cast_factor",
    "step_overhead_s",
    "overlap_contention",
)
FITTED_FILE = Path(__file__).resolve().parent / "data" / "fitted_efficiency.json"


def load_fitted(path: Path = FITTED_FILE) -> Efficiency:
    """The priors with the fitted values of ``path`` applied (the priors alone if it is absent)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Efficiency()
    values = {k: float(v) for k, v in data.get("parameters", {}).items() if k in FITTED}
    return Efficiency().replace(**values)


PRIOR_EFFICIENCY = Efficiency()
DEFAULT_EFFICIENCY = load_fitted()


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
    # Nothing to move (a dense model's expert share): no collective is issued, no latency paid.
    active = (n > 1) & (np.asarray(bytes_per_gpu) > 0)
    return np.where(active, (n - 1) / n * bytes_per_gpu / bw + (n - 1) * latency, 0.0)


def _group_bandwidth(
    members: Any, inner: Any, per_server: int, scaleup: float, scaleout: float
) -> Any:
    """Bus bandwidth (bytes/s) of a group of ``members`` whose neighbours are ``inner`` ranks apart.

    Ranks are laid out TP innermost, then CP, then DP, then PP (Megatron's order). A group that fits
    inside one server uses the scale-up link; one that spans servers gets one NIC per member GPU in
    a server — capped by the scale-up link that carries the intra-server hops.
    """
    span = members * inner
    in_server = span <= per_server
    members_per_server = np.maximum(1, np.minimum(members, per_server // np.maximum(inner, 1)))
    across = np.minimum(scaleup, members_per_server * scaleout)
    return np.where(in_server, scaleup, across)


def fp8_cast_units(model: ModelSpec, mlp_width: float, bytes_per_element: float = 6.0) -> float:
    """HBM bytes per token, layer and unit of hidden size that FP8 casting moves.

    Every GEMM input is read in BF16 (2 bytes), written in FP8 (1) and as its FP8 transpose for the
    weight gradient (1), after an amax pass over it (2): 6 bytes per element (Transformer Engine's
    ``cast_transpose`` with delayed scaling, Micikevicius et al. 2022 "FP8 Formats for Deep
    Learning" §4). Inputs: forward the QKV, output-projection, up- and down-projection inputs;
    backward the gradients of their outputs.
    """
    h = float(model.hidden)
    kv_width = float(model.n_kv_heads * model.d_head)
    up = mlp_width * (2.0 if model.gated_mlp else 1.0)
    forward = h + model.q_width + h + mlp_width
    backward = (model.q_width + 2 * kv_width) + h + up + h
    return bytes_per_element * (forward + backward) / h


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


@dataclass
class _Setup:
    """Everything the phases share: the problem's scalars and the candidates' arrays."""

    model: ModelSpec
    training: TrainingSpec
    cluster: ClusterSpec
    eff: Efficiency
    precision: str
    gen: str
    peak: float
    peak_attn: float
    eager: np.ndarray
    overlap: Overlap
    tp: np.ndarray
    pp: np.ndarray
    dp: np.ndarray
    cp: np.ndarray
    ep: np.ndarray
    vp: np.ndarray
    mb: np.ndarray
    rc: np.ndarray
    zero: np.ndarray
    offload: np.ndarray
    m: np.ndarray  # micro-batches per step per pipeline
    batch: np.ndarray  # sequences per step the layout really runs
    tokens_mb: np.ndarray  # rows of every GEMM on one GPU per micro-batch
    grad_factor: np.ndarray  # gradient bytes relative to ``state_bytes`` (2 for FP32 main grads)
    n_mid: np.ndarray  # layers on a middle (the fullest) stage
    n_first: np.ndarray
    n_last: np.ndarray

    @property
    def full(self) -> np.ndarray:
        return np.asarray(self.rc == 2)


def _setup(
    model: ModelSpec,
    training: TrainingSpec,
    cluster: ClusterSpec,
    cand: Candidates,
    eff: Efficiency,
) -> _Setup:
    gpu = cluster.gpu
    precision = normalise_precision(training.precision)
    peak = gpu.peak_flops(precision)
    peak_attn = peak
    if is_low_precision(precision):  # attention (and norms) stay in BF16 (Transformer Engine)
        peak_attn = gpu.peak_flops("bf16" if "bf16" in gpu.peak_tflops else "fp16")
    zero = np.asarray(cand.zero)
    # Kernel class per candidate: "auto" runs ZeRO-3 (FSDP) layouts on an eager PyTorch stack and
    # tensor/pipeline layouts on fused Megatron-style kernels — the stacks that implement them.
    # On TPUs and Gaudi "auto" is the compiled stack (XLA, SynapseAI): never eager.
    framework = resolve_framework(training.framework, gpu.generation)
    if framework == "auto":
        eager = zero >= 3
    else:
        eager = np.full(np.shape(zero), framework == "fsdp")
    overlap = training.overlap or default_overlap(framework, gpu.generation)
    tp, pp, dp, cp, ep, vp, mb = (
        np.asarray(x, dtype=np.float64)
        for x in (cand.tp, cand.pp, cand.dp, cand.cp, cand.ep, cand.vp, cand.mb)
    )
    B = float(training.global_batch_seqs)
    # The batch a layout runs: the requested one rounded to whole micro-batches on every
    # data-parallel rank (OPT-175B ran 992 sequences on 124 ranks for a "2M-token" batch), ±5%.
    m = np.maximum(1.0, np.round(B / (dp * mb)))
    L = float(model.layers)
    n_mid = vp * np.ceil(L / (pp * vp))
    spare = pp * n_mid - L
    cut_first = np.where(pp > 1, np.minimum(np.ceil(spare / 2), n_mid - 1), 0.0)
    cut_last = np.where(pp > 1, np.minimum(np.floor(spare / 2), n_mid - 1), 0.0)
    n_first, n_last = n_mid - cut_first, n_mid - cut_last
    # Two stages have no middle one: the fuller of the two sets the pace and the memory.
    n_mid = np.where(pp > 2, n_mid, np.maximum(n_first, n_last))
    return _Setup(
        model=model,
        training=training,
        cluster=cluster,
        eff=eff,
        precision=precision,
        gen=gpu.generation,
        peak=peak,
        peak_attn=peak_attn,
        eager=eager,
        overlap=overlap,
        tp=tp,
        pp=pp,
        dp=dp,
        cp=cp,
        ep=ep,
        vp=vp,
        mb=mb,
        rc=np.asarray(cand.recompute),
        zero=zero,
        offload=np.asarray(cand.offload),
        m=m,
        batch=m * dp * mb,
        tokens_mb=mb * float(training.seq_len) / cp,
        # Megatron-Core trains BF16 (and FP8) with FP32 gradient buffers, accumulated and reduced
        # in FP32 (megatron/training/arguments.py: "bfloat16 requires gradient accumulation and
        # all-reduce to be done in fp32"; NeMo's ``grad_reduce_in_fp32``): 18 bytes per parameter
        # with Adam, not the ZeRO paper's 16. FSDP stacks (llm-foundry's PURE mixed precision)
        # keep and reduce them in BF16; FP16 training keeps FP16 gradients.
        grad_factor=np.where(
            ~eager & ((precision == "bf16") | is_low_precision(precision)), 2.0, 1.0
        ),
        n_mid=n_mid,
        n_first=n_first,
        n_last=n_last,
    )


def _validity(S: _Setup) -> np.ndarray:
    """Divisibility and placement rules a layout must obey to run at all."""
    model, cluster = S.model, S.cluster
    tp, pp, dp, cp, ep, vp = S.tp, S.pp, S.dp, S.cp, S.ep, S.vp
    B = float(S.training.global_batch_seqs)
    valid = tp * pp * cp * dp == cluster.gpu_count
    valid &= (np.mod(model.heads, tp) == 0) & (np.mod(model.ffn_hidden, tp) == 0)
    valid &= (pp * vp <= model.layers) & (np.abs(S.batch - B) <= 0.05 * B)
    valid &= tp <= cluster.domain
    valid &= (cp == 1) | (np.mod(float(S.training.seq_len), 2 * cp) == 0)
    valid &= (vp == 1) | ((pp > 1) & (np.mod(S.m, pp) == 0))
    # Megatron-Core has no ZeRO-2/3 under a pipeline schedule; torchtitan's FSDP2 composes with
    # PP (reducing each micro-batch's gradients, as Meta's Llama 3 stack did: Dubey et al. 2024
    # §3.3.2 shards optimizer states and gradients under 16-stage pipelines).
    titan = S.training.framework == "torchtitan"
    valid &= (S.zero < 2) | (pp == 1) | titan
    # FSDP stacks shard parameters, not sequences: context parallelism comes with Megatron-Core
    # and torchtitan (experimental CP since late 2024), so other ZeRO-3 layouts run without it.
    valid &= (S.zero < 3) | (cp == 1) | titan
    if model.is_moe:
        valid &= (np.mod(dp * cp, ep) == 0) & (np.mod(model.moe_experts, ep) == 0)
    else:
        valid &= ep == 1
    if model.n_kv_heads < model.heads:
        valid &= (np.mod(model.n_kv_heads, tp) == 0) | (np.mod(tp, model.n_kv_heads) == 0)
    return np.asarray(valid)


@dataclass
class _Params:
    """Parameters per GPU and per token (matrix-multiply parameters, for FLOPs)."""

    layer_total_gpu: Any  # one layer's parameters on one GPU (all experts it holds)
    expert_gpu_per_layer: Any  # of which routed experts (sharded over fewer replicas)
    dense_mm_per_layer: float  # active matrix-multiply parameters per layer, routed experts aside
    routed_mm_per_layer: float
    active_mm_per_layer: float
    mlp_width_units: float  # MLP width a token passes through (top-k + shared experts for MoE)
    emb_gpu: Any


def _parameters(S: _Setup) -> _Params:
    model, tp, ep = S.model, S.tp, S.ep
    L = float(model.layers)
    attn_p = float(model.attention_params())
    if model.is_moe:
        dense_layers, moe_layers = float(model.dense_layers), float(model.moe_layers)
        expert_p = float(model.expert_params())
        layer_total_gpu = (
            dense_layers * float(model.layer_params_dense()) / tp
            + moe_layers
            * (attn_p / tp + (model.moe_experts / ep + model.moe_shared_experts) * expert_p / tp)
        ) / L
        active = (
            dense_layers * float(model.layer_params_dense())
            + moe_layers * float(model.layer_params_moe_active())
        ) / L
        topk_units = float(model.moe_top_k + model.moe_shared_experts) * model.expert_ffn
        mlp_width = (dense_layers * model.ffn_hidden + moe_layers * topk_units) / L
        routed = moe_layers * model.moe_top_k * expert_p / L
        # Routed experts live on ep ranks only: ZeRO shards their states over dp·cp/ep replicas.
        expert_gpu = moe_layers * (model.moe_experts / ep) * expert_p / tp / L
    else:
        layer_total_gpu = float(model.layer_params_dense()) / tp
        active = float(model.layer_params_dense())
        mlp_width = float(model.ffn_hidden)
        routed = 0.0
        expert_gpu = np.zeros_like(tp)
    return _Params(
        layer_total_gpu=layer_total_gpu,
        expert_gpu_per_layer=expert_gpu,
        dense_mm_per_layer=active - routed,
        routed_mm_per_layer=routed,
        active_mm_per_layer=active,
        mlp_width_units=mlp_width,
        emb_gpu=float(model.vocab * model.hidden) / tp,
    )


@dataclass
class _Compute:
    """Kernel time per layer and micro-batch on one GPU (communication excluded)."""

    t_layer: Any
    t_attention: Any
    t_head: Any
    gemm_rate: Any
    model_flops_tok: float
    hw_flops_tok: Any


def _compute(S: _Setup, P: _Params) -> _Compute:
    """FLOPs and kernel time of one layer for one micro-batch.

    GEMMs run at ``peak × gemm_fraction × size efficiency``; a full recomputation repeats the
    forward once (3 → 4 passes). Flash attention executes half the counted attention FLOPs under a
    causal mask. Unfused attention (software before 2022) computes the full score matrix and moves
    it through HBM: per score element and head, forward 13 bytes (QKᵀ writes S 2; softmax reads S 2
    and writes P 2; dropout reads P 2, writes its mask 1 and P' 2; PV reads P' 2) and backward 21
    (dP' 2; dropout backward 2 + 1 + 2; softmax backward 2 + 2 + 2; dV, dQ, dK read P', dS, dS
    2 + 2 + 2) = 34 bytes (``softmax_bytes_per_score``), the forward's 13 again when recomputed.
    A layer cannot run faster than the host launches its kernels (``KERNELS_PER_LAYER``).
    """
    model, eff, gpu = S.model, S.eff, S.cluster.gpu
    L, h, s, V = (
        float(model.layers),
        float(model.hidden),
        float(S.training.seq_len),
        float(model.vocab),
    )
    q_width = float(model.q_width)
    tp, tokens_mb, full, rc = S.tp, S.tokens_mb, S.full, S.rc
    base_gemm = eff.gemm_fraction(S.gen) * low_precision_gemm_relative(
        S.precision, S.gen, eff, S.peak, S.peak_attn
    )
    # Tokens at which a GEMM's weight reads take as long as its FLOPs: FP8 weights are 1 byte (FP4
    # half a byte), so the FP8 peak over the bytes gives the same row count as BF16's.
    weight_bytes = (
        1.0 if is_fp8_family(S.precision) else (0.5 if S.precision in FP4_FORMATS else 2.0)
    )
    ridge = S.peak * weight_bytes / 2.0 / gpu.hbm_bytes_per_s
    size_eff = 1.0 / (1.0 + eff.gemm_half_width / (h / tp) + ridge / tokens_mb)
    gemm_rate = S.peak * base_gemm * size_eff
    passes = np.where(full, 4.0, 3.0)  # forward + backward (2×) [+ recomputed forward]
    t_gemm = 2.0 * P.dense_mm_per_layer / tp * tokens_mb * passes / gemm_rate
    if model.is_moe:
        # Each expert multiplies only the tokens routed to it — ep·tokens·k/E of them — so small
        # expert batches run at lower efficiency (the reason expert parallelism pays).
        expert_tokens = S.ep * tokens_mb * model.moe_top_k / model.moe_experts
        expert_eff = 1.0 / (
            1.0 + eff.gemm_half_width / (model.expert_ffn / tp) + ridge / expert_tokens
        )
        t_expert = (
            2.0
            * P.routed_mm_per_layer
            / tp
            * tokens_mb
            * passes
            / (S.peak * base_gemm * expert_eff)
        )
    else:
        t_expert = np.zeros_like(tp)
    attn_passes = np.where(rc >= 1, 4.0, 3.0)
    attn_fwd_flops = 4.0 * s * q_width / tp * tokens_mb
    attn_fused = eff.attention_fraction(S.gen, fused=True)
    attn_eager = eff.attention_fraction(S.gen, fused=False)
    if S.training.flash_attention:
        block = s / S.cp
        block_eff = 1.0 / (1.0 + ATTENTION_HALF_TOKENS / block)
        t_attn = (
            0.5
            * attn_fwd_flops
            * attn_passes
            / (S.peak_attn * np.where(S.eager, attn_eager, attn_fused) * block_eff)
        )
    else:
        scores = float(model.heads) / tp * s * tokens_mb
        score_bytes = scores * (eff.softmax_bytes_per_score + np.where(rc >= 1, 13.0, 0.0))
        t_attn = (
            attn_fwd_flops * attn_passes / (S.peak_attn * eff.gemm_fraction(S.gen))
            + score_bytes / gpu.hbm_bytes_per_s
        )
    elem_units = eff.elementwise_bytes_per_token_layer_h * np.where(
        S.eager, EAGER_ELEMENTWISE_FACTOR, 1.0
    )
    if is_low_precision(S.precision):
        elem_units = elem_units + eff.fp8_cast_factor * fp8_cast_units(
            model, P.mlp_width_units, FORMAT_CAST_BYTES[S.precision]
        )
    elem_bytes = elem_units * tokens_mb * h / tp * np.where(full, 4.0 / 3.0, 1.0)
    t_kernels = t_gemm + t_expert + t_attn + elem_bytes / gpu.hbm_bytes_per_s
    kernels = np.where(S.eager, KERNELS_PER_LAYER["eager"], KERNELS_PER_LAYER["fused"])
    t_launch = kernels * np.where(full, 4.0 / 3.0, 1.0) * eff.kernel_launch_s
    t_layer = np.maximum(t_kernels, t_launch)

    attn_flops_tok = 12.0 * L * s * q_width  # per token, fwd+bwd, causal mask not discounted
    mm_params_tok = L * P.active_mm_per_layer + V * h
    model_flops_tok = 6.0 * mm_params_tok + attn_flops_tok
    recompute_flops_tok = np.where(
        full,
        2.0 * L * P.active_mm_per_layer + attn_flops_tok / 3.0,
        np.where(rc == 1, attn_flops_tok / 3.0, 0.0),
    )
    return _Compute(
        t_layer=t_layer,
        t_attention=t_attn,
        t_head=6.0 * V * h / tp * tokens_mb / gemm_rate,
        gemm_rate=gemm_rate,
        model_flops_tok=model_flops_tok,
        hw_flops_tok=model_flops_tok + recompute_flops_tok,
    )


@dataclass
class _Comm:
    """Exposed communication per layer and micro-batch (TP, CP, EP), per micro-batch (PP p2p,
    FSDP) and the raw per-step data-parallel collective time."""

    tp_layer: Any
    cp_layer: Any
    ep_layer: Any
    p2p: Any
    z3_comm: Any
    dp_reduce: Any  # gradient reduce-scatter (or all-reduce half) per step
    dp_gather: Any  # parameter all-gather (or all-reduce half) per step
    dp_params_gpu: Any  # parameters whose gradients one GPU reduces


def _communication(S: _Setup, P: _Params, C: _Compute, p_first: Any, p_expert: Any) -> _Comm:
    """Collective times from ring formulas on the link each group uses (see module docstring)."""
    model, eff, cluster = S.model, S.eff, S.cluster
    # Groups are placed inside the scale-up domain (a server, or an NVL72 rack / TPU slice).
    per_server = cluster.domain
    su, so = cluster.scaleup_bytes_per_s, cluster.scaleout_bytes_per_s
    su_bw, so_bw = su * eff.net_efficiency, so * eff.net_efficiency
    lat = eff.hop_latency_s
    h, L = float(model.hidden), float(model.layers)
    tp, cp, dp, ep, full, tokens_mb = S.tp, S.cp, S.dp, S.ep, S.full, S.tokens_mb
    fused_tp_overlap = S.overlap.tp_comm & ~S.eager
    tp_exposed = np.where(fused_tp_overlap, eff.tp_overlap_exposed, 1.0)
    # Sequence parallel: all-gather + reduce-scatter around attention and MLP, forward and
    # backward (8 collectives), 4 more in a recomputed forward.
    tp_bw = _group_bandwidth(tp, 1, per_server, su, so) * eff.net_efficiency
    n_tp = np.where(full, 12.0, 8.0)
    tp_layer = n_tp * _ring_time(tokens_mb * h * 2.0, tp, tp_bw, lat) * tp_exposed
    # Context parallel: ring exchange of K and V (forward) and of dK, dV (backward), overlapped
    # with the attention computation it feeds.
    kv_width = float(model.n_kv_heads * model.d_head)
    cp_bw = _group_bandwidth(cp, tp, per_server, su, so) * eff.net_efficiency
    kv_bytes = tokens_mb * 2.0 * kv_width / tp * 2.0
    cp_raw = np.where(cp > 1, (cp - 1) * kv_bytes * 3.0 / cp_bw + 3.0 * (cp - 1) * lat, 0.0)
    cp_layer = np.maximum(0.0, cp_raw - C.t_attention)
    if model.is_moe:
        # All-to-all dispatch and combine, forward and backward (+ recompute). Each GPU sends
        # (ep−1)/ep of its routed tokens away; the share bound for other servers leaves through its
        # own NIC (an all-to-all gets no help from the server's other NICs).
        # Dispatch in FP8 when training in FP8 (1 byte), combine in BF16 (2) (DeepSeek-V3 §3.3.2;
        # DeepEP); 2 + 2 bytes otherwise. Node-limited routing sends a token across servers at
        # most ``moe_node_limit`` times; the copy fans out to its experts over NVLink there.
        bytes_per_elem = (1.0 + 2.0) / 2.0 if is_low_precision(S.precision) else 2.0
        a2a_bytes = tokens_mb * model.moe_top_k * h * bytes_per_elem / tp
        n_a2a = np.where(full, 6.0, 4.0)
        local = np.maximum(1.0, np.minimum(ep, per_server // np.maximum(tp * cp, 1)))
        cross = 1.0
        if model.moe_node_limit:
            cross = min(1.0, model.moe_node_limit / model.moe_top_k)
        off_server = (ep - local) / ep * cross
        in_server = (local - 1) / ep
        ep_raw = np.where(
            ep > 1,
            n_a2a * a2a_bytes * (in_server / su_bw + off_server / so_bw) + n_a2a * (ep - 1) * lat,
            0.0,
        ) * (model.moe_layers / L)
        # Overlapped (DualPipe): hidden behind the other micro-batch's layer compute.
        ep_layer = ep_raw if not S.overlap.ep_a2a else np.maximum(0.0, ep_raw - C.t_layer)
    else:
        ep_layer = np.zeros_like(tp)
    shard = dp * cp
    expert_shard = np.maximum(shard / ep, 1.0)
    dp_bw = _group_bandwidth(shard, tp, per_server, su, so) * eff.net_efficiency
    # ZeRO-3 / FSDP: every micro-batch all-gathers the parameters twice (forward, backward) and
    # reduce-scatters the gradients, one layer at a time: each of those 3 × layers collectives is a
    # ring that pays (n − 1) hop latencies (NCCL's ring all-gather/reduce-scatter; the latency
    # grows linearly with the ranks — Thakur et al. 2005), on top of the bandwidth time.
    w_bytes = state_bytes(S.precision, S.training.optimizer)[0]
    z3_comm = (
        3.0 * _ring_time((p_first - p_expert) * w_bytes, shard, dp_bw, 0.0)
        + 3.0 * _ring_time(p_expert * w_bytes, expert_shard, dp_bw, 0.0)
        + 3.0 * S.n_mid * np.maximum(shard - 1.0, 0.0) * lat
    )
    # Pipeline: point-to-point of activations per micro-batch and stage boundary (× v when
    # interleaved); leaves the server when a stage's TP·CP·DP ranks fill it.
    pp_bw = np.where(tp * cp * dp >= per_server, so_bw, su_bw)
    p2p = np.where(S.pp > 1, 2.0 * S.vp * (tokens_mb * h * 2.0 / tp) / pp_bw, 0.0)
    w_b, g_b, _ = state_bytes(S.precision, S.training.optimizer)
    grad_bytes = g_b * S.grad_factor  # gradients reduced in FP32 on Megatron-Core with BF16

    def both(bytes_per_param: Any) -> Any:
        return _ring_time((p_first - p_expert) * bytes_per_param, shard, dp_bw, lat) + _ring_time(
            p_expert * bytes_per_param, expert_shard, dp_bw, lat
        )

    return _Comm(
        tp_layer=tp_layer,
        cp_layer=cp_layer,
        ep_layer=ep_layer,
        p2p=p2p,
        z3_comm=z3_comm,
        dp_reduce=both(grad_bytes),
        dp_gather=both(w_b),
        dp_params_gpu=p_first,
    )


@dataclass
class _Memory:
    weights: Any
    grads: Any
    optim: Any
    acts: Any
    other: Any

    @property
    def total(self) -> Any:
        return self.weights + self.grads + self.optim + self.acts + self.other


def _memory(S: _Setup, P: _Params) -> tuple[_Memory, Any, Any]:
    """Memory per GPU of the fullest pipeline stage, and (first-stage params, expert params).

    The first stage holds the embedding and ``min(m, p)`` micro-batches in flight (× the
    interleaving factor), a middle stage one micro-batch fewer but all its layers, the last stage
    the head and the logits. The caching allocator holds ``allocator_fragmentation`` more than the
    activations it serves, plus 2.5 GiB of CUDA context, NCCL buffers and reserves and 5% of the
    states.
    """
    model, eff = S.model, S.eff
    tp, pp, zero, offload, rc, full = S.tp, S.pp, S.zero, S.offload, S.rc, S.full
    h, s, V = float(model.hidden), float(S.training.seq_len), float(model.vocab)
    precision, optimizer = S.precision, S.training.optimizer
    w_b, g_b, _ = state_bytes(precision, optimizer)
    shard = S.dp * S.cp
    expert_shard = np.maximum(shard / S.ep, 1.0)

    def states(layers: Any, extra: Any) -> tuple[Any, Any, Any]:
        p = layers * P.layer_total_gpu + extra
        p_exp = layers * P.expert_gpu_per_layer
        dense = model_state_bytes(p - p_exp, zero, shard, precision, optimizer, offload)
        expert = model_state_bytes(p_exp, zero, expert_shard, precision, optimizer, offload)
        grads = (dense[1] + expert[1]) * S.grad_factor
        return dense[0] + expert[0], grads, dense[2] + expert[2]

    units = activation_units(model, P.mlp_width_units)
    scores_units = 0.0 if S.training.flash_attention else 5.0 * model.heads * s / h
    per_layer_full = S.tokens_mb * h * (units + np.where(rc >= 1, 0.0, scores_units)) / tp
    per_layer_kept = np.where(full, 2.0 * S.tokens_mb * h / tp, per_layer_full)
    recompute_buffer = np.where(full, per_layer_full, 0.0)
    inflight = np.minimum(S.m, pp)
    interleave = np.where(S.vp > 1, 1.0 + (pp - 1) / (pp * S.vp), 1.0)
    # 16-bit logits and their gradient (fused cross-entropy) on the stage with the head.
    logits = 2.0 * 2.0 * S.tokens_mb * V / tp
    untied_head = np.where((pp == 1) & (not model.tied_embeddings), P.emb_gpu, 0.0)
    first_extra = P.emb_gpu + untied_head
    stages = []
    for layers, extra, held, head in (
        (S.n_first, first_extra, inflight * interleave, np.where(pp == 1, logits, 0.0)),
        (S.n_mid, 0.0, np.maximum(inflight - 1.0, 1.0) * interleave, 0.0),
        (S.n_last, P.emb_gpu, 1.0, logits),
    ):
        w, g, o = states(layers, extra)
        acts = per_layer_kept * layers * held + recompute_buffer + head
        stages.append((w, g, o, acts))
    totals = [w + g + o + a * (1.0 + eff.allocator_fragmentation) for w, g, o, a in stages]
    pick = np.argmax(np.stack(totals), axis=0)
    choose = [np.choose(pick, [st[i] for st in stages]) for i in range(4)]
    weights, grads, optim, acts = choose
    zero3_buffers = np.where(zero >= 3, 2.0 * P.layer_total_gpu * (w_b + g_b), 0.0)
    other = (
        2.5 * GIB
        + zero3_buffers
        + 0.05 * (weights + grads + optim)
        + eff.allocator_fragmentation * acts
    )
    p_first = S.n_first * P.layer_total_gpu + first_extra
    p_expert = S.n_first * P.expert_gpu_per_layer
    return _Memory(weights, grads, optim, acts, other), p_first, p_expert


def _bucketed(comm: Any, window: Any, last_bucket: Any, eff: Efficiency, enabled: bool) -> Any:
    """Time a bucketed collective overlapped with ``window`` seconds of compute adds to the step:
    at most ``dp_overlap`` of the window hides it, never the last bucket; all of it without the
    framework's overlap feature. The hidden part still slows the compute beside it by
    ``overlap_contention`` of its duration."""
    if not enabled:
        return comm
    exposed = np.maximum(comm * last_bucket, comm - eff.dp_overlap * window)
    return exposed + eff.overlap_contention * (comm - exposed)


def evaluate(
    model: ModelSpec,
    training: TrainingSpec,
    cluster: ClusterSpec,
    cand: Candidates,
    eff: Efficiency = DEFAULT_EFFICIENCY,
) -> Evaluation:
    """Memory per GPU and step time for every candidate (see module docstring for the formulas)."""
    S = _setup(model, training, cluster, cand, eff)
    valid = _validity(S)
    P = _parameters(S)
    mem, p_first, p_expert = _memory(S, P)
    C = _compute(S, P)
    K = _communication(S, P, C, p_first, p_expert)
    gpu = cluster.gpu
    pp, vp, m, zero = S.pp, S.vp, S.m, S.zero

    # ---- pipeline: the slowest stage sets the pace -------------------------------------------
    t_block = C.t_layer + K.tp_layer + K.cp_layer + K.ep_layer
    t_stage = np.maximum(
        np.maximum(S.n_mid * t_block, S.n_first * t_block),
        S.n_last * t_block + C.t_head,
    )
    t_stage = np.where(pp == 1, float(model.layers) * t_block + C.t_head, t_stage)
    t_compute_mb = np.where(
        pp == 1, float(model.layers) * C.t_layer + C.t_head, S.n_mid * C.t_layer
    )
    # FSDP: the per-micro-batch gathers hide behind that micro-batch's compute when prefetched.
    z3_hidden = eff.dp_overlap * t_stage if S.overlap.param_gather else 0.0
    z3_open = np.maximum(0.0, K.z3_comm - z3_hidden)
    z3_exposed = np.where(zero >= 3, z3_open + eff.overlap_contention * (K.z3_comm - z3_open), 0.0)
    # ZeRO-2 keeps only its shard of the gradients, so with more than one micro-batch each one's
    # gradients are reduce-scattered as its backward pass ends (DeepSpeed's ZeRO-2, FSDP's
    # SHARD_GRAD_OP without no_sync: Rajbhandari et al. 2020 §5.2), not once per step.
    last_bucket = np.minimum(1.0, eff.bucket_params / np.maximum(K.dp_params_gpu, 1.0))
    per_mb_reduce = (zero == 2) & (m > 1)
    z2_exposed = np.where(
        per_mb_reduce,
        _bucketed(K.dp_reduce, (2.0 / 3.0) * t_compute_mb, last_bucket, eff, S.overlap.grad_reduce),
        0.0,
    )
    t_mb = t_stage + z3_exposed + z2_exposed + K.p2p
    bubble = (pp - 1) / vp * t_mb
    pipeline_s = m * t_mb + bubble

    # ---- data parallel (ZeRO-0/1/2): reduce gradients, gather parameters, once per step ------
    # Bucketed overlap hides the reduction behind the last micro-batch's backward pass (2/3 of
    # its compute) except the last bucket; the distributed optimizer's parameter gather behind the
    # next forward (1/3) except the first bucket. Without the feature, all of it is exposed.
    backward = (2.0 / 3.0) * t_compute_mb
    forward = (1.0 / 3.0) * t_compute_mb

    def hidden(comm: Any, window: Any, enabled: bool) -> Any:
        return _bucketed(comm, window, last_bucket, eff, enabled)

    # Plain DDP (ZeRO-0) all-reduces the gradient buffer (a reduce-scatter and an all-gather of
    # the gradients, both in the gradients' precision) during the backward pass.
    all_reduce = hidden(2.0 * K.dp_reduce, backward, S.overlap.grad_reduce)
    step_reduce = np.where(per_mb_reduce, 0.0, hidden(K.dp_reduce, backward, S.overlap.grad_reduce))
    sharded = step_reduce + hidden(K.dp_gather, forward, S.overlap.param_gather)
    reduce_exposed = np.where(zero == 0, all_reduce, sharded)
    dp_exposed = np.where(zero >= 3, 0.0, reduce_exposed)

    # ---- optimizer: Adam reads/writes ~28 bytes per parameter it owns (memory bound); offload
    # moves gradients and weights over PCIe (≈25 GB/s per GPU) and runs Adam on the CPU (≈0.25 G
    # params/s per GPU's share of a two-socket host, ZeRO-Offload, Ren et al. 2021); NVMe adds the
    # states' read and write at ≈3 GB/s per GPU (ZeRO-Infinity, Rajbhandari et al. 2021).
    _, _, o_b = state_bytes(S.precision, training.optimizer)
    shard = S.dp * S.cp
    expert_shard = np.maximum(shard / S.ep, 1.0)
    owned = (p_first - p_expert) / np.where(zero >= 1, shard, 1.0) + p_expert / np.where(
        zero >= 1, expert_shard, 1.0
    )
    offload = S.offload
    optimizer_s = owned * 28.0 / gpu.hbm_bytes_per_s
    optimizer_s = optimizer_s + np.where(offload >= 1, owned * 4.0 / 25e9 + owned / 0.25e9, 0.0)
    optimizer_s = optimizer_s + np.where(offload >= 2, owned * 2.0 * o_b / 3e9, 0.0)

    step = pipeline_s + dp_exposed + optimizer_s + eff.step_overhead_s
    tokens_per_s = S.batch * float(training.seq_len) / step
    per_gpu = tokens_per_s / cluster.gpu_count
    memory = mem.total
    return Evaluation(
        feasible=valid & (memory <= gpu.memory_gib * GIB),
        valid=valid,
        memory_bytes=memory,
        weights_bytes=mem.weights,
        grads_bytes=mem.grads,
        optimizer_bytes=mem.optim,
        activations_bytes=mem.acts,
        other_bytes=mem.other,
        step_time_s=step,
        compute_s=m * t_compute_mb,
        bubble_s=bubble,
        tp_comm_s=m * S.n_mid * K.tp_layer,
        cp_comm_s=m * S.n_mid * K.cp_layer,
        pp_comm_s=m * K.p2p,
        dp_comm_s=dp_exposed + m * (z3_exposed + z2_exposed),
        ep_comm_s=m * S.n_mid * K.ep_layer,
        optimizer_s=optimizer_s,
        overhead_s=np.full_like(step, eff.step_overhead_s),
        tokens_per_s=tokens_per_s,
        model_flops_per_token=C.model_flops_tok,
        hardware_flops_per_token=np.broadcast_to(C.hw_flops_tok, np.shape(step)),
        mfu=per_gpu * C.model_flops_tok / S.peak,
        hfu=per_gpu * C.hw_flops_tok / S.peak,
        micro_batches=m,
        micro_batch_s=t_mb,
    )

"""Input dataclasses of the core: training run, cluster, parallel layout."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ValidationError, require_positive
from .hardware import GPUSpec

RECOMPUTE = ("none", "selective", "full")
OFFLOAD = ("none", "cpu", "nvme")
OPTIMIZERS = ("adam", "sgd", "adafactor")
# "jax" (MaxText, Pax, Levanter) and "pytorch-xla" compile through XLA; "gaudi" is Intel's SynapseAI
# graph mode (Optimum Habana, Megatron-DeepSpeed for Gaudi). All three fuse their kernels.
FRAMEWORKS = ("auto", "megatron", "fsdp", "torchtitan", "jax", "pytorch-xla", "gaudi")
PRECISION_ALIASES = {
    "fp32": "fp32",
    "float32": "fp32",
    "tf32": "tf32",
    "fp16": "fp16",
    "float16": "fp16",
    "fp16 mixed": "fp16",
    "amp_fp16": "fp16",
    "bf16": "bf16",
    "bfloat16": "bf16",
    "amp_bf16": "bf16",
    "fp16/bf16 mixed": "bf16",
    "bf16 mixed": "bf16",
    "fp8": "fp8",
    "amp_fp8": "fp8",
    "fp8 mixed": "fp8",
    "fp8 tensorwise": "fp8",
    "fp8 delayed": "fp8",
    "fp8 blockwise": "fp8-blockwise",
    "fp8 block-wise": "fp8-blockwise",
    "fp8 block": "fp8-blockwise",
    "blockwise fp8": "fp8-blockwise",
    "deepseek fp8": "fp8-blockwise",
    "mxfp8": "mxfp8",
    "fp8 mx": "mxfp8",
    "mx fp8": "mxfp8",
    "nvfp4": "nvfp4",
    "nv fp4": "nvfp4",
    "fp4": "nvfp4",
    "mxfp4": "mxfp4",
    "mx fp4": "mxfp4",
    "fp4 mx": "mxfp4",
}


def _compact(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


# Spacing, hyphens and underscores do not matter: "FP8-MX", "fp8_blockwise", "FP8 blockwise".
_PRECISION_COMPACT = {_compact(k): v for k, v in PRECISION_ALIASES.items()}


def normalise_precision(value: str, field: str = "training.precision") -> str:
    key = str(value).strip().lower()
    found = PRECISION_ALIASES.get(key) or _PRECISION_COMPACT.get(_compact(key))
    if found is None:
        raise ValidationError(
            field,
            f"unknown precision {value!r}; use fp32, tf32, fp16, bf16, fp8, fp8-blockwise, "
            "mxfp8, nvfp4 or mxfp4",
        )
    return found


def resolve_framework(framework: str, generation: str) -> str:
    """The software stack "auto" means on this hardware: XLA (JAX) on TPUs, SynapseAI on Gaudi;
    on GPUs "auto" stays "auto" (chosen per layout, see ``TrainingSpec``)."""
    if framework != "auto":
        return framework
    return {"tpu": "jax", "gaudi": "gaudi"}.get(generation, "auto")


def check_framework(framework: str, gpu: GPUSpec, field: str = "training.framework") -> None:
    """Refuse a stack that does not run on the part: TPUs run XLA (JAX, PyTorch/XLA) only, and
    SynapseAI runs on Gaudi only."""
    if gpu.generation == "tpu" and framework not in ("auto", "jax", "pytorch-xla"):
        raise ValidationError(
            field, f"{gpu.name} runs XLA programs: use jax or pytorch-xla, not {framework!r}"
        )
    if framework == "gaudi" and gpu.generation != "gaudi":
        raise ValidationError(field, f"the gaudi framework (SynapseAI) does not run on {gpu.name}")


@dataclass(frozen=True)
class Overlap:
    """Which communication the training software hides behind compute (the features differ by
    framework and version, and the search must not assume a feature the user's stack lacks).

    - ``grad_reduce``: data-parallel gradient reduce-scatter/all-reduce issued bucket by bucket
      during the backward pass (PyTorch DDP/FSDP buckets, Li et al. 2020; Megatron-Core
      ``--overlap-grad-reduce``, 2023). Without it the whole reduction follows the backward pass
      (Megatron-LM 2021/2022).
    - ``param_gather``: the distributed optimizer's / FSDP's parameter all-gather prefetched during
      the forward pass (Megatron-Core ``--overlap-param-gather``, FSDP forward prefetch).
    - ``tp_comm``: tensor-parallel all-gather/reduce-scatter pipelined with the GEMMs that consume
      them (Transformer Engine userbuffers, Megatron-Core ``--tp-comm-overlap``, Hopper and later).
    - ``ep_a2a``: expert-parallel all-to-all overlapped with another micro-batch's compute
      (DeepSeek-V3's DualPipe, DeepSeek-AI 2024 §3.2.1; Megatron-Core's a2a overlap).
    ``None`` in :class:`TrainingSpec` means the framework's defaults (``default_overlap``).
    """

    grad_reduce: bool = True
    param_gather: bool = True
    tp_comm: bool = False
    ep_a2a: bool = False


def default_overlap(framework: str, generation: str) -> Overlap:
    """What a current release of the framework overlaps by default on this GPU generation.

    Megatron-Core/NeMo (2024) overlap gradient reduction and parameter gathering, and TP
    communication on Hopper/Blackwell (NeMo's Llama 3 recipes enable ``tp_comm_overlap``); FSDP
    overlaps its reduce-scatter and prefetches the next all-gather, and has no TP; torchtitan's
    asynchronous TP is opt-in (off by default). Nobody overlaps the MoE all-to-all unless told to
    (DeepSeek's DualPipe is its own pipeline schedule). ``auto`` is Megatron-Core's.
    """
    modern = generation in ("hopper", "blackwell")
    # XLA (jax, pytorch-xla) overlaps TP collectives with the matrix multiplies it decomposes
    # (collective matmul, on in MaxText's TPU configs); SynapseAI on Gaudi is not assumed to.
    xla = framework in ("jax", "pytorch-xla")
    return Overlap(
        grad_reduce=True,
        param_gather=True,
        tp_comm=(modern and framework not in ("fsdp", "torchtitan", "gaudi")) or xla,
        ep_a2a=False,
    )


@dataclass(frozen=True)
class TrainingSpec:
    """What is trained: the token budget, batch and numerics.

    ``global_batch_seqs`` sequences of ``seq_len`` tokens per optimizer step. ``precision`` is the
    compute precision of the matrix multiplies (fp8 and the other 8- and 4-bit formats of
    ``hardware.PRECISIONS`` ⇒ GEMMs in the format with BF16 attention and norms, as Transformer
    Engine does); weights/gradients are kept in 16 bits and the optimizer in fp32 except for fp32.
    """

    tokens: float
    global_batch_seqs: int
    seq_len: int
    precision: str = "bf16"
    optimizer: str = "adam"
    flash_attention: bool = True
    # "megatron": fused kernels (Megatron-Core, NeMo); "fsdp": PyTorch eager (FSDP, DeepSpeed);
    # "torchtitan": FSDP2 with TP, PP and CP on compiled kernels (PyTorch's torchtitan, the
    # public counterpart of Meta's Llama 3 stack): sharded gradients/parameters with pipelines;
    # "auto": ZeRO-3 layouts on an eager stack, tensor/pipeline layouts on fused kernels.
    framework: str = "auto"
    overlap: Overlap | None = None  # None ⇒ default_overlap(framework, GPU generation)

    @property
    def global_batch_tokens(self) -> int:
        return self.global_batch_seqs * self.seq_len

    @property
    def steps(self) -> float:
        return self.tokens / self.global_batch_tokens

    def validate(self) -> TrainingSpec:
        require_positive("training.tokens", self.tokens, maximum=1e16)
        require_positive(
            "training.global_batch_seqs", self.global_batch_seqs, integer=True, maximum=1e8
        )
        require_positive("training.seq_len", self.seq_len, integer=True, maximum=10_485_760)
        if self.seq_len < 64:  # below a sentence: no language-model run trains on such sequences
            raise ValidationError(
                "training.seq_len",
                f"sequences of {self.seq_len} token{'' if self.seq_len == 1 else 's'} are too "
                "short to plan a training run; give at least 64 (pretraining uses 2,048–8,192)",
            )
        normalise_precision(self.precision)
        if self.framework not in FRAMEWORKS:
            raise ValidationError(
                "training.framework",
                f"unknown framework {self.framework!r}; use one of {FRAMEWORKS}",
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValidationError(
                "training.optimizer",
                f"unknown optimizer {self.optimizer!r}; use one of {OPTIMIZERS}",
            )
        return self


@dataclass(frozen=True)
class ClusterSpec:
    """The GPUs a run gets; bandwidth overrides (GB/s both ways, Gbit/s per GPU) win."""

    gpu: GPUSpec
    gpu_count: int
    gpus_per_server: int = 0  # 0 ⇒ the catalog's
    scaleup_gbps_bidir: float = 0.0
    scaleout_gbit_per_gpu: float = 0.0
    scaleup_domain: int = 0  # GPUs on one scale-up link (NVL72: 72); 0 ⇒ the catalog's

    @property
    def per_server(self) -> int:
        return self.gpus_per_server or self.gpu.gpus_per_server

    @property
    def domain(self) -> int:
        """GPUs joined by the scale-up link: the override, else the part's domain when it is larger
        than a server (NVL72, a TPU slice), else one server (as given)."""
        if self.scaleup_domain:
            return self.scaleup_domain
        if self.gpu.scaleup_domain and self.gpu.scaleup_domain != self.gpu.gpus_per_server:
            return self.gpu.scaleup_domain
        return self.per_server

    @property
    def scaleup_bytes_per_s(self) -> float:
        return (
            (self.scaleup_gbps_bidir * 1e9 / 2)
            if self.scaleup_gbps_bidir
            else self.gpu.scaleup_bytes_per_s
        )

    @property
    def scaleout_bytes_per_s(self) -> float:
        return (
            (self.scaleout_gbit_per_gpu * 1e9 / 8)
            if self.scaleout_gbit_per_gpu
            else self.gpu.scaleout_bytes_per_s
        )

    def validate(self) -> ClusterSpec:
        require_positive("cluster.gpu_count", self.gpu_count, integer=True)
        if self.gpu_count > 1_000_000:
            raise ValidationError(
                "cluster.gpu_count",
                f"{int(self.gpu_count):,} GPUs is more than 1,000,000, beyond any cluster built "
                "(the largest hold a few hundred thousand); give at most 1,000,000",
            )
        if self.gpus_per_server:
            require_positive(
                "cluster.gpus_per_server", self.gpus_per_server, integer=True, maximum=256
            )
        if self.scaleup_domain:
            require_positive(
                "cluster.scaleup_domain", self.scaleup_domain, integer=True, maximum=1_000_000
            )
        if self.domain < self.per_server or self.domain % self.per_server:
            raise ValidationError(
                "cluster.scaleup_domain" if self.scaleup_domain else "cluster.gpus_per_server",
                f"a scale-up domain of {self.domain} GPUs must hold whole servers of "
                f"{self.per_server}",
            )
        if self.scaleup_gbps_bidir:
            require_positive("cluster.scaleup_gbps_bidir", self.scaleup_gbps_bidir, maximum=1e6)
        if self.scaleout_gbit_per_gpu:
            require_positive(
                "cluster.scaleout_gbit_per_gpu", self.scaleout_gbit_per_gpu, maximum=1e6
            )
        if self.gpu_count > self.per_server and self.gpu_count % self.per_server:
            raise ValidationError(
                "cluster.gpu_count",
                f"{self.gpu_count} GPUs do not fill whole servers of {self.per_server}",
            )
        return self


@dataclass(frozen=True)
class Layout:
    """A parallel layout. GPUs = tp·pp·cp·dp; ep splits the experts within the data-parallel ranks.

    ``vp`` is the number of interleaved virtual stages per pipeline rank (1 = plain 1F1B), ``zero``
    the ZeRO stage (3 = FSDP full shard), ``offload`` where optimizer states live.
    """

    tp: int = 1
    pp: int = 1
    dp: int = 1
    cp: int = 1
    ep: int = 1
    vp: int = 1
    micro_batch: int = 1
    recompute: str = "none"
    zero: int = 0
    offload: str = "none"

    @property
    def gpus(self) -> int:
        return self.tp * self.pp * self.cp * self.dp

    def describe(self) -> str:
        parts = [f"TP{self.tp}", f"PP{self.pp}"]
        if self.vp > 1:
            parts.append(f"VP{self.vp}")
        if self.cp > 1:
            parts.append(f"CP{self.cp}")
        if self.ep > 1:
            parts.append(f"EP{self.ep}")
        parts += [
            f"DP{self.dp}",
            f"MB{self.micro_batch}",
            f"recompute={self.recompute}",
            f"ZeRO-{self.zero}",
        ]
        if self.offload != "none":
            parts.append(f"offload={self.offload}")
        return " ".join(parts)

    def validate(self) -> Layout:
        for name in ("tp", "pp", "dp", "cp", "ep", "vp", "micro_batch"):
            require_positive(f"layout.{name}", getattr(self, name), integer=True, maximum=1_000_000)
        if self.recompute not in RECOMPUTE:
            raise ValidationError("layout.recompute", f"must be one of {RECOMPUTE}")
        if self.offload not in OFFLOAD:
            raise ValidationError("layout.offload", f"must be one of {OFFLOAD}")
        if self.zero not in (0, 1, 2, 3):
            raise ValidationError("layout.zero", "must be 0, 1, 2 or 3")
        return self

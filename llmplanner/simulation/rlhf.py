"""PPO for RLHF: the memory its four resident models take per GPU, and the time of one iteration.

PPO as InstructGPT ran it (Ouyang et al. 2022, §3.5 and Appendix C.4) and as the open frameworks
run it (DeepSpeed-Chat, Yao et al. 2023, arXiv 2308.01320, ``dschat/rlhf/ppo_trainer.py``;
OpenRLHF, Hu et al. 2024, arXiv 2405.11143) holds four models at once:

- the actor (the policy, initialised from the SFT model) and the critic (the value model,
  initialised from the reward model) are trained: each keeps its weights, gradients and optimizer
  states;
- the reference (the frozen SFT model, for the KL penalty) and the reward model are inference only:
  weights.

One iteration takes a batch of prompts through three phases (``ppo_trainer.generate_experience``
and ``train_rlhf`` in DeepSpeed-Chat):

1. generation: the actor writes a response to each prompt, one token per step. A decode step reads
   all the actor's weights from HBM once for the sequences decoded together, and their KV cache, so
   it is memory-bandwidth bound (Pope et al. 2022, §2) — the reason DeepSpeed-Chat built its Hybrid
   Engine and OpenRLHF hands generation to vLLM;
2. experience: a forward pass of the actor (old log-probabilities), the reference, the reward model
   and the critic over prompt + response, 2·N FLOPs per token each (Kaplan et al. 2020, §2.1);
3. training: a forward and backward pass of the actor and of the critic over prompt + response,
   6·N FLOPs per token each, ``ppo_epochs`` times (one inner epoch in InstructGPT, Appendix C.4).

Memory assumption: every model is sharded ZeRO-3 style over all the job's GPUs (Rajbhandari et al.
2020, §5: weights, gradients and optimizer states each split N ways), as DeepSpeed-Chat plans for
models of 13B and up (``dschat/rlhf/rlhf_engine.py``: "13b+: zero-3 for all models"; the
reference follows the actor's ZeRO stage, the reward model the critic's). Trained models take 16
bytes per parameter in mixed precision (2 weights, 2 gradients, 12 for Adam's fp32 master copy,
momentum and variance; Rajbhandari et al. §3.1), frozen ones 2. On top of the shards, a GPU holds
either the generation working set or the training one, never both at once: for generation its
share of the actor's gathered 16-bit weights (the Hybrid Engine gathers the ZeRO-3 shards into a
tensor-parallel layout to generate, Yao et al. 2023) and of the KV cache; for training one
sequence's checkpointed activations. Plus the core's reserve (``perf._memory``): 2.5 GiB of CUDA
context and NCCL buffers and 5% of the states.

The compute-bound passes (prefill, experience, training, the reward model's own training) run at
the model FLOPs utilisation the core's layout search gives for the SFT job on the same GPUs; the
decode steps at ``DECODE_MBU`` of the HBM bandwidth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .architecture import ModelSpec
from .errors import ValidationError, require_positive
from .hardware import GPUSpec
from .perf import activation_units, state_bytes

GIB = 2**30
# Prompts per PPO iteration: 512 in InstructGPT (Ouyang et al. 2022, Appendix C.4: batch 512,
# minibatch 64, one inner epoch) and in Llama 2 (Touvron et al. 2023, §3.2.3: batch 512, mini-batch
# 64).
PPO_BATCH = 512
PPO_EPOCHS = 1
# Fraction of the peak HBM bandwidth a decode step reaches ("model bandwidth utilisation", MBU):
# Databricks/MosaicML ("LLM Inference Performance Engineering: Best Practices", 2023) measured
# 55–60% at batch 1 with TensorRT-LLM on 2–4-way tensor parallelism (Llama-2 70B on 4 × A100-40GB,
# 2 × H100), less on wider groups of a small model (MPT-7B on 8 GPUs: about 25%). 0.5 is a planning
# value for a tuned generation engine (vLLM in OpenRLHF, DeepSpeed's Hybrid Engine) on the narrow
# replicas chosen below.
DECODE_MBU = 0.5
# A generation replica is the fewest GPUs (a power of two) whose free memory the actor's gathered
# weights take at most this share of, the rest holding the KV cache. A planning rule, not a
# published figure: the smallest tensor-parallel width that serves the model with room for a cache,
# as one sizes vLLM engines (OpenRLHF's vllm_tensor_parallel_size).
GENERATION_WEIGHT_SHARE = 0.5
# The core's per-GPU reserve (``perf._memory``): CUDA context, NCCL buffers, allocator slack.
RESERVE_GIB = 2.5
RESERVE_STATE_SHARE = 0.05


@dataclass(frozen=True)
class PPOConfig:
    """One PPO job: the actor's shape, the other models' sizes (the actor's by default), the
    sequences of one iteration and the GPUs it runs on. ``mfu``: the model FLOPs utilisation of the
    compute-bound passes (the SFT job's, from the core's estimate)."""

    actor: ModelSpec
    gpu: GPUSpec
    gpu_count: int
    prompt_len: int
    response_len: int
    batch: int = PPO_BATCH
    critic_params: float | None = None
    reward_params: float | None = None
    precision: str = "bf16"
    ppo_epochs: int = PPO_EPOCHS
    mfu: float = 0.4

    def validate(self) -> PPOConfig:
        require_positive("rlhf.gpu_count", self.gpu_count, integer=True, maximum=1e6)
        require_positive("rlhf.prompt_len", self.prompt_len, integer=True, maximum=1e7)
        require_positive("rlhf.response_len", self.response_len, integer=True, maximum=1e7)
        require_positive("rlhf.batch", self.batch, integer=True, maximum=1e8)
        require_positive("rlhf.ppo_epochs", self.ppo_epochs, integer=True, maximum=100)
        require_positive("rlhf.mfu", self.mfu, maximum=1.0)
        for name, value in (
            ("critic_params", self.critic_params),
            ("reward_params", self.reward_params),
        ):
            if value is not None:
                require_positive(f"rlhf.{name}", value, maximum=1e15)
        self.gpu.peak_flops(self.precision)  # ValidationError when the GPU lacks the precision
        return self

    @property
    def actor_params(self) -> float:
        return float(self.actor.total_params())

    @property
    def critic(self) -> float:
        return self.actor_params if self.critic_params is None else float(self.critic_params)

    @property
    def reward(self) -> float:
        return self.actor_params if self.reward_params is None else float(self.reward_params)

    @property
    def seq_len(self) -> int:
        return self.prompt_len + self.response_len

    @property
    def weight_bytes(self) -> float:
        """Bytes per parameter of a 16-bit (or fp32) weight, as the core stores them."""
        return state_bytes(self.precision, "adam")[0]


def kv_bytes_per_token(model: ModelSpec, value_bytes: float = 2.0) -> float:
    """KV cache per token: a key and a value of every KV head in every layer (Pope et al. 2022,
    §2: 2 · layers · KV heads · head size values). Llama-2 7B in 16 bits: 2·32·32·128·2 bytes =
    512 KiB."""
    return 2.0 * model.layers * model.n_kv_heads * model.d_head * value_bytes


def training_state_bytes_per_gpu(cfg: PPOConfig) -> tuple[float, float]:
    """(trained, frozen) model-state bytes per GPU, ZeRO-3 over ``cfg.gpu_count`` GPUs: actor and
    critic with weights, gradients and Adam states (16 bytes per parameter in mixed precision),
    reference and reward model with weights only (2)."""
    w_b, g_b, o_b = state_bytes(cfg.precision, "adam")
    trained = (cfg.actor_params + cfg.critic) * (w_b + g_b + o_b)
    frozen = (cfg.actor_params + cfg.reward) * w_b
    return trained / cfg.gpu_count, frozen / cfg.gpu_count


@dataclass(frozen=True)
class GenerationLayout:
    """How the actor generates: ``replicas`` tensor-parallel copies of ``width`` GPUs each, each
    decoding ``per_replica`` sequences, at most ``concurrent`` at a time (what its KV cache
    holds) — ``waves`` rounds of ``response_len`` steps."""

    width: int
    replicas: int
    per_replica: int
    concurrent: int
    waves: int
    weights_gib: float  # the gathered actor weights per GPU
    kv_gib: float  # the KV cache per GPU at its fullest


def generation_layout(cfg: PPOConfig, resident_bytes: float) -> GenerationLayout:
    """The narrowest replica (1, 2, 4, … GPUs, at most the job's) whose gathered weights take at
    most ``GENERATION_WEIGHT_SHARE`` of what ``resident_bytes`` per GPU leaves free; the KV cache
    fills the rest. ``concurrent`` is 0 when not even one sequence fits (the job does not fit)."""
    n = cfg.gpu_count
    free = cfg.gpu.memory_gib * GIB - resident_bytes
    weights = cfg.actor_params * cfg.weight_bytes
    width = 1
    while width < n and weights / width > GENERATION_WEIGHT_SHARE * free:
        width *= 2
    width = min(width, n)
    replicas = max(1, n // width)
    per_replica = math.ceil(cfg.batch / replicas)
    per_seq = cfg.seq_len * kv_bytes_per_token(cfg.actor, cfg.weight_bytes)
    kv_room = max(0.0, width * free - weights)
    concurrent = min(per_replica, int(kv_room // per_seq))
    waves = math.ceil(per_replica / concurrent) if concurrent else 1
    held = max(concurrent, 1)
    return GenerationLayout(
        width=width,
        replicas=replicas,
        per_replica=per_replica,
        concurrent=concurrent,
        waves=waves,
        weights_gib=weights / width / GIB,
        kv_gib=held * per_seq / width / GIB,
    )


def training_activation_bytes(cfg: PPOConfig, model_params: float | None = None) -> float:
    """One sequence's training working set per GPU, with full activation recomputation: each
    layer's 16-bit input kept (2·s·h bytes, Korthikanti et al. 2022), one layer's activations
    while it is recomputed (s·h·``perf.activation_units``), the 16-bit logits and their gradient,
    and two layers' gathered ZeRO-3 weights and gradients (as ``perf._memory``). The actor's shape
    stands for the critic's."""
    m = cfg.actor
    s, h = float(cfg.seq_len), float(m.hidden)
    w_b, g_b, _ = state_bytes(cfg.precision, "adam")
    params = cfg.actor_params if model_params is None else model_params
    per_layer_params = max(0.0, params - m.embedding_params()) / m.layers
    checkpoints = 2.0 * s * h * m.layers
    recompute = s * h * activation_units(m)
    logits = 2.0 * 2.0 * s * m.vocab
    gathered = 2.0 * per_layer_params * (w_b + g_b)
    return checkpoints + recompute + logits + gathered


@dataclass(frozen=True)
class PPOMemory:
    """GiB per GPU: the shards of the trained and the frozen models, the larger of the generation
    and training working sets, the reserve; whether it fits and by how much it does not."""

    trained_gib: float
    frozen_gib: float
    generation_gib: float
    training_gib: float
    reserve_gib: float
    total_gib: float
    usable_gib: float
    fits: bool
    shortfall_gib: float
    layout: GenerationLayout


def ppo_memory(cfg: PPOConfig) -> PPOMemory:
    """Memory per GPU of the PPO job (module docstring: ZeRO-3 over all its GPUs)."""
    trained, frozen = training_state_bytes_per_gpu(cfg)
    reserve = RESERVE_GIB * GIB + RESERVE_STATE_SHARE * (trained + frozen)
    layout = generation_layout(cfg, trained + frozen + reserve)
    generation = (layout.weights_gib + layout.kv_gib) * GIB
    training = max(
        training_activation_bytes(cfg, cfg.actor_params),
        training_activation_bytes(cfg, cfg.critic),
    )
    total = trained + frozen + reserve + max(generation, training)
    usable = cfg.gpu.memory_gib
    total_gib = total / GIB
    return PPOMemory(
        trained_gib=trained / GIB,
        frozen_gib=frozen / GIB,
        generation_gib=generation / GIB,
        training_gib=training / GIB,
        reserve_gib=reserve / GIB,
        total_gib=total_gib,
        usable_gib=usable,
        fits=total_gib <= usable and layout.concurrent > 0,
        shortfall_gib=max(0.0, total_gib - usable),
        layout=layout,
    )


def decode_seconds(
    read_bytes: float, gpus: int, gpu: GPUSpec, steps: int, mbu: float = DECODE_MBU
) -> float:
    """``steps`` memory-bound decode steps, each reading ``read_bytes`` (the weights and the KV
    cache of the sequences decoded together) spread over ``gpus`` GPUs' HBM at ``mbu`` of its
    bandwidth: steps · bytes / (GPUs · bandwidth · MBU)."""
    return steps * read_bytes / (gpus * gpu.hbm_bytes_per_s * mbu)


def _compute_seconds(flops: float, cfg: PPOConfig, gpus: int | None = None) -> float:
    peak = cfg.gpu.peak_flops(cfg.precision)
    return flops / ((gpus or cfg.gpu_count) * peak * cfg.mfu)


@dataclass(frozen=True)
class PPOIteration:
    """Seconds of one PPO iteration by phase (module docstring)."""

    prefill_s: float
    decode_s: float
    experience_s: float
    training_s: float

    @property
    def generation_s(self) -> float:
        return self.prefill_s + self.decode_s

    @property
    def total_s(self) -> float:
        return self.generation_s + self.experience_s + self.training_s


def ppo_iteration(cfg: PPOConfig, layout: GenerationLayout | None = None) -> PPOIteration:
    """Time of one PPO iteration on ``cfg.gpu_count`` GPUs.

    Generation: the prompts' prefill is compute-bound (2·N FLOPs per prompt token); each decode
    step of a replica takes the longer of reading the actor's weights and the KV cache of its
    ``concurrent`` sequences at their mean length (prompt + half the response) from its GPUs' HBM
    at ``DECODE_MBU``, and computing 2·N FLOPs per sequence at the SFT job's MFU. Experience: four
    forward passes (actor, reference, reward, critic), 2·N FLOPs per token each. Training: actor
    and critic forward and backward, 6·N FLOPs per token each, ``ppo_epochs`` times.
    """
    if layout is None:
        layout = ppo_memory(cfg).layout
    n_a, n_c, n_r = cfg.actor_params, cfg.critic, cfg.reward
    tokens = float(cfg.batch * cfg.seq_len)
    prefill = _compute_seconds(2.0 * n_a * cfg.batch * cfg.prompt_len, cfg)
    together = max(layout.concurrent, 1)
    mean_context = cfg.prompt_len + cfg.response_len / 2.0
    read = n_a * cfg.weight_bytes + together * mean_context * kv_bytes_per_token(
        cfg.actor, cfg.weight_bytes
    )
    step_memory = decode_seconds(read, layout.width, cfg.gpu, 1)
    step_compute = _compute_seconds(2.0 * n_a * together, cfg, layout.width)
    decode = layout.waves * cfg.response_len * max(step_memory, step_compute)
    experience = _compute_seconds(2.0 * (2.0 * n_a + n_r + n_c) * tokens, cfg)
    training = _compute_seconds(6.0 * (n_a + n_c) * tokens * cfg.ppo_epochs, cfg)
    return PPOIteration(prefill, decode, experience, training)


def reward_model_seconds(cfg: PPOConfig, pairs: float, tokens_per_sample: float) -> float:
    """Training the reward model before PPO: one epoch (Touvron et al. 2023, §3.2.2: longer
    overfits) over ``pairs`` comparisons, the chosen and the rejected answer each a forward and
    backward pass, 6·N FLOPs per token."""
    return _compute_seconds(6.0 * cfg.reward * 2.0 * pairs * tokens_per_sample, cfg)


@dataclass(frozen=True)
class PPOPlan:
    """A whole PPO stage: the reward model's training, then ``iterations`` PPO iterations."""

    config: PPOConfig
    memory: PPOMemory
    iteration: PPOIteration
    iterations: int
    reward_model_s: float

    @property
    def wall_clock_s(self) -> float:
        return self.reward_model_s + self.iterations * self.iteration.total_s

    @property
    def wall_clock_days(self) -> float:
        return self.wall_clock_s / 86_400.0

    @property
    def generation_share(self) -> float:
        """The share of a PPO iteration spent generating."""
        return self.iteration.generation_s / self.iteration.total_s


def plan_ppo(cfg: PPOConfig, episodes: float, pairs: float, tokens_per_sample: float) -> PPOPlan:
    """PPO over ``episodes`` prompts in batches of ``cfg.batch``, after a reward model trained on
    ``pairs`` comparisons of ``tokens_per_sample`` tokens each."""
    cfg.validate()
    if episodes < 0 or pairs < 0:
        raise ValidationError("rlhf.preference_pairs", "must not be negative")
    memory = ppo_memory(cfg)
    iterations = math.ceil(episodes / cfg.batch)
    return PPOPlan(
        config=cfg,
        memory=memory,
        iteration=ppo_iteration(cfg, memory.layout),
        iterations=iterations,
        reward_model_s=reward_model_seconds(cfg, pairs, tokens_per_sample),
    )

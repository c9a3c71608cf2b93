"""Transformer architectures: parameter counts, a preset library, and shapes inferred from a size.

Counts follow the usual decoder-only layout (GPT-3, Llama): per layer an attention block with
query heads ``heads`` and ``kv_heads`` key/value heads (GQA when fewer), an MLP of width
``ffn_hidden`` (gated, as SwiGLU, with three matrices instead of two), two norms; a token embedding
and an output projection (shared when ``tied_embeddings``). MoE layers replace the MLP by
``moe_experts`` experts of width ``moe_ffn_hidden`` of which ``moe_top_k`` (plus
``moe_shared_experts``)
run per token. Biases and norm weights are counted (they are tiny) so totals match published sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .errors import ValidationError, require_positive


@dataclass(frozen=True)
class ModelSpec:
    """A decoder-only transformer. Sizes are counts (not bytes)."""

    name: str
    layers: int
    hidden: int
    heads: int
    ffn_hidden: int
    kv_heads: int = 0  # 0 ⇒ same as heads (multi-head attention)
    vocab: int = 50_257
    seq_len: int = 2048
    gated_mlp: bool = False
    tied_embeddings: bool = False
    head_dim: int = 0  # 0 ⇒ hidden // heads
    moe_experts: int = 0  # 0 ⇒ dense
    moe_top_k: int = 0
    moe_shared_experts: int = 0
    moe_ffn_hidden: int = 0  # 0 ⇒ ffn_hidden
    moe_dense_layers: int = 0  # leading layers that keep a dense MLP (DeepSeek-V3: 3)
    # Node-limited routing: a token's experts lie on at most this many servers (DeepSeek-V3: 4,
    # DeepSeek-AI 2024 §2.1.2); 0 ⇒ unlimited. Bounds the copies a token sends across servers.
    moe_node_limit: int = 0
    attention_params_per_layer: int = (
        0  # override for non-standard attention (e.g. MLA); 0 ⇒ computed
    )

    # -- derived sizes -------------------------------------------------------------------------
    @property
    def n_kv_heads(self) -> int:
        return self.kv_heads or self.heads

    @property
    def d_head(self) -> int:
        return self.head_dim or self.hidden // self.heads

    @property
    def q_width(self) -> int:
        """Width of the concatenated query heads (= hidden for standard attention)."""
        return self.heads * self.d_head

    @property
    def is_moe(self) -> bool:
        return self.moe_experts > 0

    @property
    def expert_ffn(self) -> int:
        return self.moe_ffn_hidden or self.ffn_hidden

    @property
    def moe_layers(self) -> int:
        return self.layers - self.moe_dense_layers if self.is_moe else 0

    @property
    def dense_layers(self) -> int:
        return self.layers - self.moe_layers

    def attention_params(self) -> int:
        """Parameters of one attention block (Q, K, V, O projections and the pre-norm)."""
        if self.attention_params_per_layer:
            return self.attention_params_per_layer
        kv_width = self.n_kv_heads * self.d_head
        return (
            self.hidden * (self.q_width + 2 * kv_width)
            + self.q_width * self.hidden
            + 2 * self.hidden
        )

    def mlp_params(self, width: int) -> int:
        """Parameters of one MLP (or one expert) of inner width ``width``, incl. its pre-norm."""
        matrices = 3 if self.gated_mlp else 2
        return matrices * self.hidden * width + 2 * self.hidden

    def expert_params(self) -> int:
        return self.mlp_params(self.expert_ffn)

    def layer_params_dense(self) -> int:
        return self.attention_params() + self.mlp_params(self.ffn_hidden)

    def layer_params_moe_total(self) -> int:
        experts = self.moe_experts + self.moe_shared_experts
        return (
            self.attention_params()
            + experts * self.expert_params()
            + self.hidden * self.moe_experts
        )

    def layer_params_moe_active(self) -> int:
        experts = self.moe_top_k + self.moe_shared_experts
        return (
            self.attention_params()
            + experts * self.expert_params()
            + self.hidden * self.moe_experts
        )

    def embedding_params(self) -> int:
        """Input embedding plus output projection (counted once when tied)."""
        return self.vocab * self.hidden * (1 if self.tied_embeddings else 2)

    def total_params(self) -> int:
        body = (
            self.dense_layers * self.layer_params_dense()
            + self.moe_layers * self.layer_params_moe_total()
        )
        return body + self.embedding_params() + self.hidden

    def active_params(self) -> int:
        """Parameters a token passes through (= total for a dense model)."""
        body = (
            self.dense_layers * self.layer_params_dense()
            + self.moe_layers * self.layer_params_moe_active()
        )
        return body + self.embedding_params() + self.hidden

    def matmul_params_per_token(self) -> int:
        """Parameters that take part in a matrix multiply for one token.

        The input embedding is a table look-up (no FLOPs); the output projection is a matmul even
        when tied — the convention of Megatron's FLOP formula (Narayanan et al. 2021, eq. 3).
        """
        body = (
            self.dense_layers * self.layer_params_dense()
            + self.moe_layers * self.layer_params_moe_active()
        )
        return body + self.vocab * self.hidden

    def validate(self, prefix: str = "model") -> ModelSpec:
        for name in ("layers", "hidden", "heads", "ffn_hidden", "vocab", "seq_len"):
            require_positive(
                f"{prefix}.{name}", getattr(self, name), integer=True, maximum=10_000_000
            )
        require_positive(f"{prefix}.layers", self.layers, integer=True, maximum=1_000)
        require_positive(f"{prefix}.hidden", self.hidden, integer=True, maximum=262_144)
        require_positive(f"{prefix}.seq_len", self.seq_len, integer=True, maximum=10_485_760)
        if self.kv_heads < 0 or self.kv_heads > self.heads:
            raise ValidationError(
                f"{prefix}.kv_heads", f"must be between 1 and heads ({self.heads})"
            )
        if self.heads % self.n_kv_heads:
            raise ValidationError(
                f"{prefix}.kv_heads",
                f"heads ({self.heads}) must be divisible by kv_heads ({self.n_kv_heads})",
            )
        if not self.head_dim and self.hidden % self.heads:
            raise ValidationError(
                f"{prefix}.heads",
                f"hidden ({self.hidden}) must be divisible by heads ({self.heads})",
            )
        if self.head_dim and not 8 <= self.head_dim <= 1024:
            raise ValidationError(f"{prefix}.head_dim", "must be between 8 and 1024")
        if not 0 <= self.attention_params_per_layer <= 1e12:
            raise ValidationError(f"{prefix}.attention_params_per_layer", "is implausibly large")
        if self.moe_ffn_hidden > 10_000_000:
            raise ValidationError(f"{prefix}.moe_ffn_hidden", "is implausibly large")
        if self.total_params() > 2e13:
            raise ValidationError(
                prefix,
                f"{self.total_params() / 1e12:.0f}T parameters is beyond any plan (max 20T)",
            )
        if self.moe_experts < 0:
            raise ValidationError(f"{prefix}.moe_experts", "must not be negative")
        if self.is_moe:
            if not 1 <= self.moe_top_k <= self.moe_experts:
                raise ValidationError(
                    f"{prefix}.moe_top_k", f"must be between 1 and moe_experts ({self.moe_experts})"
                )
            if not 0 <= self.moe_dense_layers < self.layers:
                raise ValidationError(f"{prefix}.moe_dense_layers", "must be less than layers")
        return self


# ---------------------------------------------------------------------------------------------
# Presets. Shapes from the models' papers / released configs.
# ---------------------------------------------------------------------------------------------
PRESETS: dict[str, ModelSpec] = {
    # Brown et al. 2020, Table 2.1.
    "gpt3-175b": ModelSpec(
        "GPT-3 175B", layers=96, hidden=12288, heads=96, ffn_hidden=49152, vocab=50257, seq_len=2048
    ),
    # Touvron et al. 2023 (Llama 2), Table 1 and released configs (32k vocab, SwiGLU, GQA for 70B).
    "llama2-7b": ModelSpec(
        "Llama-2 7B", 32, 4096, 32, 11008, vocab=32000, seq_len=4096, gated_mlp=True
    ),
    "llama2-13b": ModelSpec(
        "Llama-2 13B", 40, 5120, 40, 13824, vocab=32000, seq_len=4096, gated_mlp=True
    ),
    "llama2-70b": ModelSpec(
        "Llama-2 70B", 80, 8192, 64, 28672, kv_heads=8, vocab=32000, seq_len=4096, gated_mlp=True
    ),
    # Llama 3 herd paper (Dubey et al. 2024), Table 3: 128k vocab, GQA with 8 KV heads.
    "llama3-8b": ModelSpec(
        "Llama-3 8B", 32, 4096, 32, 14336, kv_heads=8, vocab=128256, seq_len=8192, gated_mlp=True
    ),
    "llama3-70b": ModelSpec(
        "Llama-3 70B", 80, 8192, 64, 28672, kv_heads=8, vocab=128256, seq_len=8192, gated_mlp=True
    ),
    "llama3-405b": ModelSpec(
        "Llama-3 405B",
        126,
        16384,
        128,
        53248,
        kv_heads=8,
        vocab=128256,
        seq_len=8192,
        gated_mlp=True,
    ),
    # Qwen2 technical report (Yang et al. 2024): 7B and 72B dense, GQA, 152k vocab.
    "qwen-7b": ModelSpec(
        "Qwen-style 7B", 28, 3584, 28, 18944, kv_heads=4, vocab=152064, seq_len=4096, gated_mlp=True
    ),
    "qwen-72b": ModelSpec(
        "Qwen-style 72B",
        80,
        8192,
        64,
        29568,
        kv_heads=8,
        vocab=152064,
        seq_len=4096,
        gated_mlp=True,
    ),
    # Jiang et al. 2024 (Mixtral of Experts): 8 experts, top-2, 46.7B total / 12.9B active.
    "mixtral-8x7b": ModelSpec(
        "Mixtral 8x7B",
        32,
        4096,
        32,
        14336,
        kv_heads=8,
        vocab=32000,
        seq_len=4096,
        gated_mlp=True,
        moe_experts=8,
        moe_top_k=2,
    ),
    # DeepSeek-V3 technical report (2024): 61 layers (first 3 dense), 256 routed experts of width
    # 2048,
    # top-8, 1 shared expert, MLA attention (≈187M parameters per layer), 671B total / 37B active.
    "deepseek-v3": ModelSpec(
        "DeepSeek-V3-style MoE",
        61,
        7168,
        128,
        18432,
        vocab=129280,
        seq_len=4096,
        gated_mlp=True,
        head_dim=128,
        moe_experts=256,
        moe_top_k=8,
        moe_shared_experts=1,
        moe_ffn_hidden=2048,
        moe_dense_layers=3,
        moe_node_limit=4,
        attention_params_per_layer=187_107_328,
    ),
}

_PRESET_ALIASES = {key.replace("-", ""): key for key in PRESETS}


def preset(name: str, field: str = "model.preset") -> ModelSpec:
    """A preset by key, case- and dash-insensitively (``GPT3-175B``, ``llama3_70b``)."""
    key = _PRESET_ALIASES.get(str(name).lower().replace("-", "").replace("_", "").replace(" ", ""))
    if key is None:
        raise ValidationError(
            field, f"unknown model preset {name!r}; known: {', '.join(sorted(PRESETS))}"
        )
    return PRESETS[key]


# GPT-3 paper Table 2.1 and Megatron/MPT configs: (parameters, layers) pairs of well-proportioned
# dense models, used to pick a depth for a model given only its size.
_DEPTH_LADDER = (
    (0.125e9, 12),
    (0.35e9, 24),
    (0.76e9, 24),
    (1.3e9, 24),
    (2.7e9, 32),
    (6.7e9, 32),
    (13e9, 40),
    (30e9, 48),
    (65e9, 80),
    (175e9, 96),
    (310e9, 96),
    (530e9, 105),
    (1000e9, 128),
)


def infer_from_params(
    params: float, *, seq_len: int = 2048, vocab: int = 50_368, name: str = ""
) -> ModelSpec:
    """A plausible dense GPT-style shape for a model known only by its parameter count.

    Depth is interpolated (log-log) along the ladder of published shapes; the width then follows
    from N ≈ 12·L·h² + V·h (Kaplan et al. 2020), rounded to a multiple of 128; heads of size 128
    (64 below 2,048 wide). Used when a plan or a published run gives only ``params_b``.
    """
    require_positive("model.params_b", params / 1e9, maximum=100_000)
    xs = [math.log(p) for p, _ in _DEPTH_LADDER]
    ys = [math.log(layers) for _, layers in _DEPTH_LADDER]
    lp = min(max(math.log(params), xs[0]), xs[-1])
    layers = 0.0
    for i in range(len(xs) - 1):
        if xs[i] <= lp <= xs[i + 1]:
            t = (lp - xs[i]) / (xs[i + 1] - xs[i])
            layers = math.exp(ys[i] + t * (ys[i + 1] - ys[i]))
            break
    n_layers = max(2, int(round(layers / 4) * 4)) if layers >= 8 else max(2, int(round(layers)))
    # Solve 12·L·h² + V·h − N = 0 for h.
    a, b, c = 12.0 * n_layers, float(vocab), -float(params)
    h = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    # Widths that split into 8 head groups from 4k up (TP 8 within a server), 128 below.
    step = 1024 if h >= 3584 else 128
    hidden = max(128, int(round(h / step)) * step)
    head = 64 if hidden < 2048 else 128
    heads = max(1, hidden // head)
    hidden = heads * head
    # Depth again, now for the rounded width, so that the total stays close to the size asked.
    n_layers = max(2, int(round((params - vocab * hidden) / (12.0 * hidden * hidden))))
    return ModelSpec(
        name or f"{params / 1e9:.3g}B (shape inferred)",
        layers=n_layers,
        hidden=hidden,
        heads=heads,
        ffn_hidden=4 * hidden,
        vocab=vocab,
        seq_len=seq_len,
        tied_embeddings=True,
    )


def with_seq_len(model: ModelSpec, seq_len: int) -> ModelSpec:
    return replace(model, seq_len=seq_len)

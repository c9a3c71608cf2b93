"""What a reviewer of the plan would flag: data checks, milestone gates and the risk register.

Each finding names its rule and source. Likelihoods come from the Monte Carlo where it can say
(deadline, budget, interruptions, loss spikes, delivery delay) and from rules otherwise. Every
sentence is a template with its parameters (``text``): the English text under the field's name,
the template and parameters beside it for a translation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .architecture import ModelSpec
from .planspec import PlanSpec, TeamLine
from .program import DAYS_PER_MONTH, STREAM_ROLES, ProgramResult, Stage, stage_text
from .text import T, Text, is_one, items, number, percent, purpose, quantity, role

# A checkpoint risk is listed only when it matters: a save longer than two minutes (the rule's
# bands below) or saves taking at least 1% of the main run's wall time. Below both, a register
# line like "Checkpoint saves take 0.0 min" is noise a manager would have to ask about.
CHECKPOINT_RISK_SAVE_S = 120.0
CHECKPOINT_RISK_MIN_SHARE = 0.01


def _texts(**texts: Text) -> dict[str, Any]:
    """Each text's English, template and parameters as a dataclass's keyword arguments."""
    out: dict[str, Any] = {}
    for name, text in texts.items():
        out |= text.fields(name)
    return out


@dataclass(frozen=True)
class Finding:
    """A data check: ``level`` is ok, info, warning or error."""

    code: str
    level: str
    message: str
    rule: str
    source: str
    message_template: str = ""
    message_params: dict[str, Any] = field(default_factory=dict)
    rule_template: str = ""
    rule_params: dict[str, Any] = field(default_factory=dict)
    source_template: str = ""
    source_params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, code: str, level: str, message: Text, rule: Text, source: Text) -> Finding:
        return cls(code, level, **_texts(message=message, rule=rule, source=source))

    def text(self, name: str) -> Text:
        return Text(getattr(self, f"{name}_template"), getattr(self, f"{name}_params"))


@dataclass(frozen=True)
class Milestone:
    stream: str
    name: str
    stage: str
    p50_day: float
    p90_day: float
    criterion: str
    name_template: str = ""
    name_params: dict[str, Any] = field(default_factory=dict)
    criterion_template: str = ""
    criterion_params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls, stream: str, name: Text, stage: str, p50_day: float, p90_day: float, criterion: Text
    ) -> Milestone:
        return cls(
            stream=stream,
            stage=stage,
            p50_day=p50_day,
            p90_day=p90_day,
            **_texts(name=name, criterion=criterion),
        )


@dataclass(frozen=True)
class Risk:
    code: str
    title: str
    likelihood: float  # 0..1
    likelihood_from: str  # "monte carlo" or "rule"
    impact_days: float
    impact_cost: float  # in the plan's currency
    mitigation: str
    owner: str  # a team role
    source: str
    title_template: str = ""
    title_params: dict[str, Any] = field(default_factory=dict)
    mitigation_template: str = ""
    mitigation_params: dict[str, Any] = field(default_factory=dict)
    source_template: str = ""
    source_params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        code: str,
        title: Text,
        likelihood: float,
        likelihood_from: str,
        impact_days: float,
        impact_cost: float,
        mitigation: Text,
        owner: str,
        source: Text,
    ) -> Risk:
        return cls(
            code=code,
            likelihood=likelihood,
            likelihood_from=likelihood_from,
            impact_days=impact_days,
            impact_cost=impact_cost,
            owner=owner,
            **_texts(title=title, mitigation=mitigation, source=source),
        )

    @property
    def score(self) -> float:
        return self.likelihood * (1.0 + self.impact_days / 30.0)


def chinchilla_loss(params: float, tokens: float) -> float:
    """Hoffmann et al. 2022, approach 3: L(N, D) = 1.69 + 406.4/N^0.34 + 410.7/D^0.28."""
    return float(1.69 + 406.4 / params**0.34 + 410.7 / tokens**0.28)


def _main_data_stage(spec: PlanSpec) -> str:
    return "cpt" if spec.strategy == "cpt" else "pretrain"


def _muennighoff() -> Text:
    return T(
        "Muennighoff et al. 2023: up to ~4 epochs of repeated data are nearly as good as fresh data"
    )


def data_checks(spec: PlanSpec) -> list[Finding]:
    """Tokens available vs needed, mixture ratios, epochs, licences — each with rule and source."""
    out: list[Finding] = []
    stage = _main_data_stage(spec)
    if spec.strategy in ("from_scratch", "cpt"):
        available = spec.data_tokens(stage)
        if available <= 0:
            out.append(
                Finding.of(
                    "no_inventory",
                    "warning",
                    T(
                        "No pretraining data in the inventory for %(tokens)s tokens of training.",
                        tokens=quantity(spec.tokens),
                    )
                    if stage == "pretrain"
                    else T(
                        "No continued-pretraining data in the inventory for %(tokens)s tokens of "
                        "training.",
                        tokens=quantity(spec.tokens),
                    ),
                    T("every training token needs a source"),
                    T("OneMoreAI 2023: data is the first of the three work streams"),
                )
            )
        else:
            epochs = spec.tokens / available
            level = "ok" if epochs <= 4 else ("warning" if epochs <= 16 else "error")
            passes = f"{epochs:.2g}"
            out.append(
                Finding.of(
                    "epochs",
                    level,
                    T(
                        "%(tokens)s training tokens from %(available)s available: 1 epoch.",
                        tokens=quantity(spec.tokens),
                        available=quantity(available),
                    )
                    if is_one(passes)
                    else T(
                        "%(tokens)s training tokens from %(available)s available: "
                        "%(epochs)s epochs.",
                        tokens=quantity(spec.tokens),
                        available=quantity(available),
                        epochs=passes,
                    ),
                    T("at most ~4 epochs"),
                    _muennighoff(),
                )
            )
    if spec.strategy == "from_scratch" and spec.model is not None:
        n = float(spec.model.total_params())
        ratio = spec.tokens / n
        level = "ok" if ratio >= 20 else "warning"
        out.append(
            Finding.of(
                "tokens_per_parameter",
                level,
                T(
                    "%(ratio)s tokens per parameter (%(tokens)s tokens for %(params)s parameters).",
                    ratio=f"{ratio:.0f}",
                    tokens=quantity(spec.tokens),
                    params=quantity(n),
                ),
                T("≥ 20 tokens per parameter"),
                T("Hoffmann et al. 2022 (Chinchilla): compute-optimal D ≈ 20·N"),
            )
        )
        if spec.tokens < 1e12:
            out.append(
                Finding.of(
                    "base_tokens",
                    "info",
                    T(
                        "%(tokens)s tokens is below what current base models are trained on.",
                        tokens=quantity(spec.tokens),
                    ),
                    T("from-scratch base models start at ~2T tokens"),
                    T("Huang Wenhao 2023: base models start at ~2T tokens, some 3–4T"),
                )
            )
    if spec.strategy == "cpt":
        total = spec.data_tokens("cpt")
        domain = spec.data_tokens("cpt", "domain")
        if total > 0:
            level = "ok" if domain / total <= 0.15 else "warning"
            out.append(
                Finding.of(
                    "cpt_domain_share",
                    level,
                    T("Domain share of the CPT mix is %(share)s.", share=percent(domain / total)),
                    T(
                        "domain ≤ 15%% in continued pretraining (every 100B domain tokens need "
                        "700–1000B general)"
                    ),
                    T("vertical-LLM survey 2023"),
                )
            )
    if spec.strategy == "from_scratch":
        total = spec.data_tokens("pretrain")
        domain = spec.data_tokens("pretrain", "domain")
        if total > 0 and domain / total >= 0.4:
            out.append(
                Finding.of(
                    "pretrain_1to1",
                    "warning",
                    T("Domain share of pretraining is %(share)s.", share=percent(domain / total)),
                    T("a 1:1 general:domain pretraining mix (BloombergGPT) is a known mistake"),
                    T("vertical-LLM survey 2023"),
                )
            )
    sft_total = spec.data_tokens("sft")
    if sft_total > 0 and spec.data_tokens("sft", "domain") / sft_total > 0.7:
        out.append(
            Finding.of(
                "sft_domain_share",
                "warning",
                T(
                    "SFT data is %(share)s domain.",
                    share=percent(spec.data_tokens("sft", "domain") / sft_total),
                ),
                T("SFT tolerates about 1:1 domain:general"),
                T("vertical-LLM survey 2023"),
            )
        )
    tokens = sum(d.tokens for d in spec.data)
    if tokens > 0:
        unknown = [d.name for d in spec.data if d.licence == "unknown"]
        restricted = [d.name for d in spec.data if d.licence == "restricted"]
        cleared = sum(d.tokens for d in spec.data if d.licence == "cleared") / tokens
        level = "error" if restricted else ("warning" if unknown else "ok")
        names = restricted + unknown
        out.append(
            Finding.of(
                "licences",
                level,
                T(
                    "%(share)s of tokens have cleared licences; not cleared: %(names)s.",
                    share=percent(cleared),
                    names=items(names),
                )
                if names
                else T("%(share)s of tokens have cleared licences.", share=percent(cleared)),
                T("review every dataset's licence"),
                T("OneMoreAI 2023; vertical-LLM survey 2023: data work needs licence review"),
            )
        )
        zh = [d for d in spec.data if d.language == "zh"]
        zh_tokens = sum(d.tokens for d in zh)
        if (
            zh_tokens / tokens >= 0.3
            and sum(d.tokens for d in zh if d.source == "web") >= 0.8 * zh_tokens
        ):
            out.append(
                Finding.of(
                    "chinese_knowledge",
                    "warning",
                    T(
                        "%(share)s of tokens are Chinese, mostly from the web.",
                        share=percent(zh_tokens / tokens),
                    ),
                    T(
                        "Chinese web quality is poor; knowledge-dense Chinese sources (papers, "
                        "Q&A, code) are scarce — ~10%% of English"
                    ),
                    T("OneMoreAI 2023"),
                )
            )
        raw = [d.name for d in spec.data if d.cleaning == "raw"]
        if raw:
            out.append(
                Finding.of(
                    "raw_data",
                    "info",
                    T(
                        "Still raw: %(names)s (cleaning is part of the data stage).",
                        names=items(raw),
                    ),
                    T("clean and deduplicate before training"),
                    T("OneMoreAI 2023: 45 TB raw → < 1 TB clean"),
                )
            )
    return out


def milestones(result: ProgramResult) -> list[Milestone]:
    spec = result.spec
    st = {s.key: s for s in result.stages}
    out: list[Milestone] = []

    def add(stream: str, name: Text, key: str, days: np.ndarray, criterion: Text) -> None:
        out.append(
            Milestone.of(
                stream, name, key, float(np.median(days)), float(np.percentile(days, 90)), criterion
            )
        )

    unknown = sum(1 for d in spec.data if d.licence != "cleared")
    for key in ("data", "ingest"):
        if key in st:
            if unknown == 0:
                review = T(
                    "all training data cleaned and deduplicated; licence review of every "
                    "dataset done (all cleared)"
                )
            elif unknown == 1:
                review = T(
                    "all training data cleaned and deduplicated; licence review of every "
                    "dataset done (1 dataset not yet cleared)"
                )
            else:
                review = T(
                    "all training data cleaned and deduplicated; licence review of every "
                    "dataset done (%(count)s datasets not yet cleared)",
                    count=str(unknown),
                )
            add("data", T("Data ready"), key, st[key].finish_days, review)
    if "sft_data" in st:
        add(
            "data",
            T("Instruction data ready"),
            "sft_data",
            st["sft_data"].finish_days,
            T(
                "%(samples)s instructions reviewed; domain:general ≈ 1:1",
                samples=f"{spec.sft['samples']:,.0f}",
            ),
        )
    if "burn_in" in st and result.main_run is not None:
        add(
            "engineering",
            T("Burn-in passed"),
            "burn_in",
            st["burn_in"].finish_days,
            T(
                "restore-from-checkpoint drill passed; all-reduce bus bandwidth ≥ 80%% of line "
                "rate; a one-hour run reaches ≥ 90%% of the planned %(mfu)s MFU",
                mfu=percent(result.main_run.layout.mfu),
            ),
        )
    model: ModelSpec | None = spec.model
    for key, stage in st.items():
        if key.startswith("ladder_"):
            size = float(stage.name_params["size"].rstrip("B")) * 1e9
            add(
                "algorithm",
                stage_text(stage),
                key,
                stage.finish_days,
                T(
                    "final loss within 2%% of the scaling law's %(loss)s (Chinchilla fit; refit "
                    "on the ladder)",
                    loss=f"{chinchilla_loss(size, 20 * size):.3f}",
                ),
            )
    if "main" in st and model is not None:
        main = st["main"]
        n = float(model.total_params())
        for frac in (0.25, 0.5, 0.75, 1.0):
            days = main.start_days + frac * (main.finish_days - main.start_days)
            loss = chinchilla_loss(n, frac * spec.tokens) * 1.03
            add(
                "engineering" if frac < 1 else "algorithm",
                T("Main run %(share)s of tokens", share=percent(frac)),
                "main",
                days,
                T(
                    "loss at most %(loss)s per the fitted scaling law (+3%%); no unrecovered "
                    "divergence",
                    loss=f"{loss:.3f}",
                ),
            )
    if "sft" in st:
        add(
            "algorithm",
            T("SFT done"),
            "sft",
            st["sft"].finish_days,
            T("instruction-following win-rate ≥ 60%% against the base model on a held-out set"),
        )
    if "rlhf" in st:
        add(
            "algorithm",
            T("Preference tuning done"),
            "rlhf",
            st["rlhf"].finish_days,
            T(
                "held-out win-rate up; no reward hacking (length or format exploits) found in "
                "review"
            ),
        )
    if "retrieval_eval" in st:
        add(
            "algorithm",
            T("Retrieval evaluated"),
            "retrieval_eval",
            st["retrieval_eval"].finish_days,
            T("recall@10 ≥ 0.8 on the domain question set; answers cite their sources"),
        )
    add(
        "algorithm",
        T("Evaluation passed"),
        "eval",
        st["eval"].finish_days,
        T(
            "no general benchmark more than 2 points below the base; domain evaluation at "
            "target (a weak evaluation wastes GPU time)"
        ),
    )
    if "release" in st:
        add(
            "engineering",
            T("Release"),
            "release",
            st["release"].finish_days,
            T("safety review and sign-off"),
        )
    if "serving" in st:
        add(
            "operations",
            T("Serving live"),
            "serving",
            st["serving"].start_days + 7.0,
            T("P95 latency and cost per 1,000 requests within plan after the first week"),
        )
    return sorted(out, key=lambda m: m.p50_day)


# Loss-spike and numerics risks of the 8- and 4-bit formats: (likelihood, days lost, title,
# mitigation, source). Likelihoods are rules of thumb from how often the cited runs needed a fix,
# not measured rates; days lost are a rollback plus a diagnosis.
LOW_PRECISION_RISKS: dict[str, tuple[float, float, Text, Text, Text]] = {
    "fp8": (
        0.3,
        10.0,
        T("FP8 (tensor-wise scaling) diverges late in a long run"),
        T(
            "compare with a BF16 reference run for the first tokens and at every gate; keep "
            "attention and norms in BF16; Smooth-SwiGLU or BF16 for the MLP outliers; fall back "
            "to BF16 on a spike"
        ),
        T(
            "Fishman et al. 2024, 'Scaling FP8 training to trillion-token LLMs': instabilities "
            "appear only after ~200B tokens (SwiGLU outlier amplification)"
        ),
    ),
    "fp8-blockwise": (
        0.15,
        7.0,
        T("Block-wise FP8: accumulation and scaling errors"),
        T(
            "promote partial sums to FP32 (every 128 elements), keep the BF16 reference run, "
            "keep embeddings, head, attention and norms in BF16"
        ),
        T(
            "DeepSeek-V3 report §3.3 (2024): 1×128/128×128 scaling kept the loss within 0.25%% "
            "of BF16 over ~1T tokens of validation runs"
        ),
    ),
    "mxfp8": (
        0.15,
        7.0,
        T("MXFP8: power-of-two block scales lose range"),
        T(
            "round scales up (not down) when converting to E8M0, keep the BF16 reference run, "
            "keep attention and norms in BF16"
        ),
        T(
            "NVIDIA, 'Recipes for pre-training LLMs with MXFP8' (Mishra et al., 2025) — matched "
            "BF16 with its scale-rounding recipe; citation details not verified here"
        ),
    ),
    "nvfp4": (
        0.45,
        14.0,
        T("NVFP4: 4-bit training is young; loss gap and divergence"),
        T(
            "follow the published recipe (random Hadamard transforms on weight-gradient inputs, "
            "2D weight scaling, stochastic rounding of gradients, the last blocks in BF16) and "
            "switch to BF16 for the final tokens if the gap grows"
        ),
        T(
            "NVIDIA, 'Pretraining Large Language Models with NVFP4' (2025): a 12B model on 10T "
            "tokens tracked FP8's loss with that recipe; larger models unpublished"
        ),
    ),
    "mxfp4": (
        0.55,
        14.0,
        T("MXFP4: no published large pre-training run"),
        T("trial on a small model first; keep a BF16 fallback; prefer NVFP4-style finer scales"),
        T(
            "OCP MX specification v1.0 (2023); the NVFP4 paper (2025) reports MXFP4 needing more "
            "tokens to match NVFP4's loss — treat as unproven for pre-training"
        ),
    ),
}


def _people_per_day(result: ProgramResult) -> float:
    return sum(t.headcount * t.monthly_cost * t.allocation for t in result.team) / DAYS_PER_MONTH


def risk_register(result: ProgramResult, findings: list[Finding] | None = None) -> list[Risk]:
    """The practitioners' pitfalls that apply to this plan, most serious first."""
    spec = result.spec
    findings = data_checks(spec) if findings is None else findings
    by_code = {f.code: f for f in findings}
    per_day = _people_per_day(result)
    out: list[Risk] = []
    total = result.total_cost
    finish = result.finish_days

    if spec.deadline_days is not None:
        p = float(np.mean(finish > spec.deadline_days))
        late = max(0.0, float(np.percentile(finish, 90)) - spec.deadline_days)
        out.append(
            Risk.of(
                "deadline_miss",
                T("Deadline missed"),
                p,
                "monte carlo",
                late,
                late * per_day,
                T("cut scope (fewer ladder steps or runs), add GPUs early, fix dates of gates now"),
                "product_manager",
                T("program Monte Carlo"),
            )
        )
    if spec.budget_cap is not None:
        p = float(np.mean(total > spec.budget_cap))
        over = max(0.0, float(np.percentile(total, 90)) - spec.budget_cap)
        out.append(
            Risk.of(
                "budget_overrun",
                T("Budget overrun"),
                p,
                "monte carlo",
                0.0,
                over,
                T(
                    "negotiate volume discounts (~50%% off, OneMoreAI 2023), buy instead of rent "
                    "for long programs, stop a failing run at its gate"
                ),
                "product_manager",
                T("program Monte Carlo"),
            )
        )

    for stage in result.stages:
        if stage.shortfall_gib > 0:
            out.append(
                Risk.of(
                    f"does_not_fit_{stage.key}",
                    T(
                        "%(stage)s does not fit in GPU memory (short by %(gib)s GiB)",
                        stage=stage_text(stage),
                        gib=f"{stage.shortfall_gib:.0f}",
                    ),
                    1.0,
                    "rule",
                    30.0,
                    30 * per_day,
                    T("more or larger GPUs, ZeRO-3 or offload, recomputation, or a smaller model"),
                    "distributed_training_engineer",
                    T("memory model: ZeRO (Rajbhandari 2020), activations (Korthikanti 2022)"),
                )
            )

    g = result.goodput
    main = next((s for s in result.stages if s.key == "main"), None)
    if g is not None and main is not None:
        rate = _hourly(result)
        p = float(np.mean(g.effective_training_time < 0.9))
        spread = float(
            np.percentile(main.finish_days - main.start_days, 90)
            - np.median(main.finish_days - main.start_days)
        )
        out.append(
            Risk.of(
                "failures_at_scale",
                T("Failures cost more than 10%% of the main run"),
                p,
                "monte carlo",
                spread,
                spread * 24 * rate,
                T(
                    "automated restart, hot spares, health checks every few minutes, checkpoint "
                    "at the Young/Daly interval (%(minutes)s min)",
                    minutes=f"{g.optimal_interval_h * 60:.0f}",
                ),
                "distributed_training_engineer",
                T("OneMoreAI 2023; Yi Tay 2024; Kokolis et al. 2024"),
            )
        )
        per_day_fail = g.interruptions / np.maximum(g.wall_hours / 24.0, 1e-9)
        n_day = 3.0
        recovery_days = float(np.percentile(g.recovery_hours, 90)) / 24.0
        out.append(
            Risk.of(
                "interruptions_per_day",
                T(
                    "More than %(count)s interruptions a day (on-call load)",
                    count=f"{n_day:.0f}",
                ),
                float(np.mean(per_day_fail > n_day)),
                "monte carlo",
                recovery_days,
                recovery_days * 24 * rate,
                T("automate detection and restart; rotate on-call; keep spare nodes warm"),
                "run_watcher",
                T(
                    "OneMoreAI 2023: with thousands of GPUs a card fails almost daily; Kokolis "
                    "et al. 2024"
                ),
            )
        )
        save_s = g.spec.checkpoint_save_s
        p_io = 0.8 if save_s > 600 else (0.4 if save_s > 120 else 0.1)
        ckpt_days = float(np.median(g.checkpoint_hours)) / 24.0
        ckpt_share = float(np.median(g.checkpoint_hours / np.maximum(g.wall_hours, 1e-9)))
        if save_s > CHECKPOINT_RISK_SAVE_S or ckpt_share >= CHECKPOINT_RISK_MIN_SHARE:
            out.append(
                Risk.of(
                    "checkpoint_io",
                    T("Checkpoint saves take %(minutes)s min", minutes=f"{save_s / 60:.1f}"),
                    p_io,
                    "rule",
                    ckpt_days,
                    ckpt_days * 24 * rate,
                    T(
                        "sharded asynchronous checkpoints to a parallel file system; keep a copy "
                        "off the provider (Yi Tay 2024: a provider deleted checkpoints)"
                    ),
                    "distributed_training_engineer",
                    T("OneMoreAI 2023: 2–3 TB, over ten minutes on poor storage"),
                )
            )
        p_spike = float(np.mean(g.loss_spikes > 0))
        spike_days = float(np.percentile(g.spike_recovery_hours, 90)) / 24.0
        fp16 = spec.precision == "fp16"
        out.append(
            Risk.of(
                "loss_divergence",
                T("Loss spikes and rollbacks (FP16)") if fp16 else T("Loss spikes and rollbacks"),
                p_spike,
                "monte carlo",
                max(spike_days, 0.0),
                max(spike_days, 0.0) * 24 * rate,
                T(
                    "train in BF16; a run watcher decides rollbacks; skip bad data (OneMoreAI "
                    "2023: one 10k-character sample of slashes broke a run)"
                )
                if fp16
                else T(
                    "a run watcher decides rollbacks; skip bad data (OneMoreAI 2023: one "
                    "10k-character sample of slashes broke a run)"
                ),
                "run_watcher",
                T("OneMoreAI 2023; vertical-LLM survey 2023: BF16 is more stable than FP16"),
            )
        )
        p_late = float(np.mean(g.start_delay_days > 14))
        late_days = float(np.percentile(g.start_delay_days, 90))
        out.append(
            Risk.of(
                "provider_delay",
                T("Cluster delivered late or below spec (hardware lottery)"),
                p_late,
                "monte carlo",
                late_days,
                late_days * per_day,
                T(
                    "acceptance burn-in in the contract, a second provider, start data work "
                    "meanwhile"
                ),
                "product_manager",
                T("Yi Tay 2024: providers delivering months late"),
            )
        )
        if spec.cluster.gpu.key in ("a800-80gb", "h800-80gb") and result.main_run is not None:
            tp_share = (
                result.main_run.layout.breakdown_s["TP communication"]
                / result.main_run.layout.step_time_s
            )
            out.append(
                Risk.of(
                    "china_interconnect",
                    T("%(gpu)s: NVLink cut to 400 GB/s", gpu=spec.cluster.gpu.name),
                    min(0.9, 0.3 + 5 * tp_share),
                    "rule",
                    tp_share * float(np.median(main.finish_days - main.start_days)),
                    tp_share
                    * float(np.median(main.gpu_hours))
                    * rate
                    / max(spec.cluster.gpu_count, 1),
                    T("keep tensor parallelism ≤ 4, favour pipeline/ZeRO, overlap communication"),
                    "distributed_training_engineer",
                    T("OneMoreAI 2023: A800 = A100 with NVLink 600 → 400 GB/s"),
                )
            )
        if fp16 and spec.headcount("run_watcher") == 0:
            out.append(
                Risk.of(
                    "no_run_watcher",
                    T("FP16 run with no run watcher"),
                    0.9,
                    "rule",
                    3.0,
                    3 * per_day,
                    T("staff a run watcher (algorithm and engineering skills) around the clock"),
                    "run_watcher",
                    T("OneMoreAI 2023: FP16 needed a human 'crash watcher' to restart"),
                )
            )

    rule_risks: dict[str, tuple[Text, float, str, Text]] = {
        "cpt_domain_share": (
            T("Domain share above 15%% in CPT"),
            0.7,
            "algorithm_researcher",
            T("lower the domain share to 10–15%% with general replay data"),
        ),
        "pretrain_1to1": (
            T("1:1 general:domain pretraining"),
            0.7,
            "algorithm_researcher",
            T("pretrain on general data; add the domain in CPT/SFT"),
        ),
        "tokens_per_parameter": (
            T("Too few tokens for the model size"),
            0.6,
            "algorithm_researcher",
            T("train a smaller model on the same tokens, or get more data"),
        ),
        "epochs": (
            T("Too many epochs over the data"),
            0.6,
            "data_engineer",
            T("collect more data or train fewer tokens"),
        ),
        "licences": (
            T("Unknown or restricted data licences"),
            0.5,
            "legal",
            T("licence review of every dataset"),
        ),
        "chinese_knowledge": (
            T("Scarce knowledge-dense Chinese data"),
            0.5,
            "data_engineer",
            T("buy or license papers, Q&A and books; translate; filter web harder"),
        ),
        "no_inventory": (
            T("No data inventory for the training run"),
            0.8,
            "data_engineer",
            T("list every source with tokens and licence"),
        ),
    }
    for code, (title, p, owner, mitigation) in rule_risks.items():
        f = by_code.get(code)
        if f is not None and f.level in ("warning", "error"):
            days = (
                21.0
                if code in ("licences", "no_inventory", "chinese_knowledge", "epochs")
                else 30.0
            )
            out.append(
                Risk.of(
                    code,
                    title,
                    p if f.level == "warning" else min(1.0, p + 0.2),
                    "rule",
                    days,
                    days * per_day,
                    mitigation,
                    owner,
                    T(
                        "%(rule)s (%(source)s)",
                        rule=f.text("rule"),
                        source=f.text("source"),
                    ),
                )
            )

    n_params = float(spec.model.total_params()) if spec.model is not None else 0.0
    trains = spec.strategy in ("from_scratch", "cpt")
    if spec.headcount("algorithm_researcher") > 10:
        out.append(
            Risk.of(
                "team_too_large",
                T("Algorithm team larger than ten"),
                0.6,
                "rule",
                20.0,
                20 * per_day,
                T("a few ideas directing large resources; don't split compute between sub-teams"),
                "product_manager",
                T("OneMoreAI 2023; Huang Wenhao 2023: lean beats large"),
            )
        )
    if (
        trains
        and n_params > 3e9
        and spec.headcount("distributed_training_engineer") == 0
        and not result.team_is_default
    ):
        out.append(
            Risk.of(
                "no_distributed_engineer",
                T("No distributed-training engineer past 3B parameters"),
                0.8,
                "rule",
                45.0,
                45 * per_day,
                T("hire or contract 4–5 distributed-training engineers"),
                "distributed_training_engineer",
                T("OneMoreAI 2023: model parallelism is where teams hit a wall from ~3B"),
            )
        )
    if (
        trains
        and spec.headcount("run_watcher") == 0
        and not result.team_is_default
        and spec.precision != "fp16"
    ):
        out.append(
            Risk.of(
                "no_run_watcher",
                T("Nobody watches the run and decides rollbacks"),
                0.5,
                "rule",
                7.0,
                7 * per_day,
                T("name a run watcher with algorithm and engineering skills"),
                "run_watcher",
                T("OneMoreAI 2023; vertical-LLM survey 2023"),
            )
        )
    if spec.rlhf_method != "none":
        p = 0.35 if spec.rlhf_method == "ppo" else 0.15
        out.append(
            Risk.of(
                "reward_hacking",
                T("Reward hacking"),
                p,
                "rule",
                14.0,
                14 * per_day,
                T(
                    "held-out human review; KL and length penalties; prefer DPO when PPO is "
                    "unstable"
                ),
                "algorithm_researcher",
                T("vertical-LLM survey 2023"),
            )
        )
    out.append(
        Risk.of(
            "weak_evaluation",
            T("Weak evaluation wastes GPUs"),
            0.3 if spec.headcount("algorithm_researcher") or result.team_is_default else 0.6,
            "rule",
            14.0,
            14 * per_day,
            T("build the evaluation set before training; evaluate every ladder step and gate"),
            "algorithm_researcher",
            T("vertical-LLM survey 2023: bad evaluation wastes GPUs"),
        )
    )
    if spec.strategy in ("cpt", "sft"):
        out.append(
            Risk.of(
                "domain_overfitting",
                T("Over-fitting to the domain"),
                0.4 if spec.sft["epochs"] <= 3 else 0.6,
                "rule",
                14.0,
                14 * per_day,
                T("mix general data back in; fewer epochs; test out-of-domain"),
                "algorithm_researcher",
                T("vertical-LLM survey 2023"),
            )
        )
    numerics = LOW_PRECISION_RISKS.get(spec.precision)
    if numerics is not None and trains:
        p, days, title, mitigation, source = numerics
        out.append(
            Risk.of(
                f"numerics_{spec.precision.replace('-', '_')}",
                title,
                p,
                "rule",
                days,
                days * per_day,
                mitigation,
                "distributed_training_engineer",
                source,
            )
        )
    out.extend(calendar_risks(result))
    return sorted(out, key=lambda r: r.score, reverse=True)


def _months(months: float) -> Text:
    """``1 month``, ``3 months``, ``1.5 months`` (a fraction reads as plural)."""
    count = number(months)
    return T("1 month") if is_one(count) else T("%(count)s months", count=count)


def calendar_risks(result: ProgramResult) -> list[Risk]:
    """What the dates entered say: GPU bookings the stages outrun, stages that start before anyone
    who does their work is on the team, and people paid long after the program ends."""
    out: list[Risk] = []
    stages = {s.key: s for s in result.stages}
    for use in result.pools:
        if not use.open_window and not use.stages:
            assert use.pool.months is not None
            cost = float(np.median(use.window_cost))
            out.append(
                Risk.of(
                    f"pool_unused_{use.index + 1}",
                    T(
                        "%(pool)s booked for %(months)s (%(purpose)s) but no stage runs on it",
                        pool=use.pool.describe(),
                        months=_months(use.pool.months),
                        purpose=purpose(use.pool.purpose),
                    ),
                    1.0,
                    "rule",
                    0.0,
                    cost,
                    T(
                        "cancel the booking, or give it a purpose a stage uses (a second pool of "
                        "one purpose stays idle: stages use the largest)"
                    ),
                    "product_manager",
                    T("the entered booking against the plan's stages"),
                )
            )
            continue
        if use.open_window or not use.stages:
            continue
        extended = use.extension_days > 1e-6
        if not extended.any():
            continue
        assert use.pool.months is not None
        names = [stage_text(stages[k]) for k in use.stages if k in stages]
        days = float(np.percentile(use.extension_days, 90))
        out.append(
            Risk.of(
                f"pool_overrun_{use.index + 1}",
                T(
                    "%(stages)s outrun the %(pool)s booking of %(months)s; the rental is "
                    "extended at the same price",
                    stages=items(names),
                    pool=use.pool.describe(),
                    months=_months(use.pool.months),
                ),
                float(np.mean(extended)),
                "monte carlo",
                days,
                float(np.percentile(use.extension_cost, 90)),
                T(
                    "book the pool longer or start it later, or confirm the provider can extend "
                    "(capacity is often resold at the end of a booking)"
                ),
                "distributed_training_engineer" if "main" in use.stages else "product_manager",
                T("program Monte Carlo over the entered booking window"),
            )
        )
    if not result.team_is_default:
        out.extend(_role_gaps(result))
        late = _paid_after_finish(result)
        if late is not None:
            out.append(late)
    return out


def _paid_after_finish(result: ProgramResult) -> Risk | None:
    """Team lines whose end date is more than a month after the program's P90 finish (for the
    operations roles, after serving ends when the plan serves): one risk for all of them."""
    spec = result.spec
    finish = result.finish_days
    serving = next((s for s in result.stages if s.key == "serving"), None)
    rows: list[tuple[TeamLine, float, np.ndarray]] = []
    for line in spec.team:
        last = spec.day(line.end_date)
        if last is None:
            continue
        end = finish
        if serving is not None and line.role in STREAM_ROLES["operations"]:
            end = serving.finish_days
        months = (last - float(np.percentile(end, 90))) / DAYS_PER_MONTH
        if months > 1.0:
            rows.append((line, months, last - end > DAYS_PER_MONTH))
    if not rows:
        return None
    likely = np.zeros(result.trials, dtype=bool)
    for _line, _months_after, per_trial in rows:
        likely |= per_trial
    who = items(
        (
            T(
                "%(count)s × %(role)s, %(months)s months",
                count=number(line.headcount),
                role=role(line.role),
                months=f"{months:.1f}",
            )
            for line, months, _ in rows
        ),
        join="semicolon",
    )
    cost = sum(
        months * line.headcount * line.monthly_cost * line.allocation for line, months, _ in rows
    )
    people = number(sum(line.headcount for line, _months_after, _ in rows))
    longest = f"{max(months for _line, months, _ in rows):.1f}"
    return Risk.of(
        "paid_after_finish",
        T(
            "1 person paid after the program's P90 finish (up to %(months)s months)",
            months=longest,
        )
        if is_one(people)
        else T(
            "%(people)s people paid after the program's P90 finish (up to %(months)s months)",
            people=people,
            months=longest,
        ),
        float(np.mean(likely)),
        "monte carlo",
        0.0,
        cost,
        T(
            "end those lines with the program, or plan the next program for those months (%(who)s)",
            who=who,
        ),
        "product_manager",
        T("team dates as entered against the program Monte Carlo"),
    )


def _holds(spec: PlanSpec, line: TeamLine, day: float) -> bool:
    """Whether ``line`` is on the team on ``day`` (its end date is its last paid day)."""
    first, last = spec.day(line.start_date), spec.day(line.end_date)
    return (first is None or first <= day) and (last is None or last + 1.0 > day)


def _role_gap_title(stage: Stage, roles: tuple[str, ...], gap: float, joins: bool) -> Text:
    who = items((role(r) for r in roles), join="or")
    if not joins:
        return T(
            "%(stage)s starts after every %(roles)s has left", stage=stage_text(stage), roles=who
        )
    days = f"{gap:.0f}"
    if is_one(days):
        return T(
            "%(stage)s starts before any %(roles)s joins (1 day early)",
            stage=stage_text(stage),
            roles=who,
        )
    return T(
        "%(stage)s starts before any %(roles)s joins (%(days)s days early)",
        stage=stage_text(stage),
        roles=who,
        days=days,
    )


def _role_gaps(result: ProgramResult) -> list[Risk]:
    """Stages whose work starts (P50) when nobody in the stream's roles is on the team yet (or
    any more), although the team has someone in those roles at another time."""
    spec = result.spec
    per_day = _people_per_day(result)
    out: list[Risk] = []
    for stage in result.stages:
        if stage.stream == "operations":
            continue
        roles = STREAM_ROLES[stage.stream]
        lines = [t for t in spec.team if t.role in roles and t.headcount > 0]
        if not lines:
            continue  # nobody at all in these roles: the team rules above say so
        at = float(np.median(stage.start_days))
        if any(_holds(spec, line, at) for line in lines):
            continue
        later = [d for d in (spec.day(t.start_date) for t in lines) if d is not None and d > at]
        gap = (min(later) - at) if later else float(np.median(stage.finish_days) - at)
        out.append(
            Risk.of(
                f"role_gap_{stage.key}",
                _role_gap_title(stage, roles, gap, joins=bool(later)),
                1.0,
                "rule",
                gap,
                gap * per_day,
                T("move the hire earlier, extend the contract, or start the stage later"),
                "product_manager",
                T("team dates as entered against the stage's P50 start"),
            )
        )
    return out


def _hourly(result: ProgramResult) -> float:
    from .program import _hourly_rate

    return _hourly_rate(result.spec, result.spec.cluster.gpu_count)


def as_dicts(items: list[Finding] | list[Milestone] | list[Risk]) -> list[dict[str, Any]]:
    return [asdict(i) | ({"score": i.score} if isinstance(i, Risk) else {}) for i in items]

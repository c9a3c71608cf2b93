"""What a reviewer of the plan would flag: data checks, milestone gates and the risk register.

Each finding names its rule and source. Likelihoods come from the Monte Carlo where it can say
(deadline, budget, interruptions, loss spikes, delivery delay) and from rules otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .architecture import ModelSpec
from .planspec import PlanSpec, TeamLine
from .program import DAYS_PER_MONTH, STREAM_ROLES, ProgramResult

MUENNIGHOFF = (
    "Muennighoff et al. 2023: up to ~4 epochs of repeated data are nearly as good as fresh data"
)
CHINCHILLA = "Hoffmann et al. 2022 (Chinchilla): compute-optimal D ≈ 20·N"


@dataclass(frozen=True)
class Finding:
    """A data check: ``level`` is ok, info, warning or error."""

    code: str
    level: str
    message: str
    rule: str
    source: str


@dataclass(frozen=True)
class Milestone:
    stream: str
    name: str
    stage: str
    p50_day: float
    p90_day: float
    criterion: str


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

    @property
    def score(self) -> float:
        return self.likelihood * (1.0 + self.impact_days / 30.0)


def chinchilla_loss(params: float, tokens: float) -> float:
    """Hoffmann et al. 2022, approach 3: L(N, D) = 1.69 + 406.4/N^0.34 + 410.7/D^0.28."""
    return float(1.69 + 406.4 / params**0.34 + 410.7 / tokens**0.28)


def _main_data_stage(spec: PlanSpec) -> str:
    return "cpt" if spec.strategy == "cpt" else "pretrain"


def data_checks(spec: PlanSpec) -> list[Finding]:
    """Tokens available vs needed, mixture ratios, epochs, licences — each with rule and source."""
    out: list[Finding] = []
    stage = _main_data_stage(spec)
    if spec.strategy in ("from_scratch", "cpt"):
        available = spec.data_tokens(stage)
        if available <= 0:
            out.append(
                Finding(
                    "no_inventory",
                    "warning",
                    f"No {stage} data in the inventory for {spec.tokens:.3g} tokens of training.",
                    "every training token needs a source",
                    "DOMAIN.md §6",
                )
            )
        else:
            epochs = spec.tokens / available
            level = "ok" if epochs <= 4 else ("warning" if epochs <= 16 else "error")
            out.append(
                Finding(
                    "epochs",
                    level,
                    f"{spec.tokens:.3g} tokens from {available:.3g} available = "
                    f"{epochs:.2g} epochs.",
                    "at most ~4 epochs",
                    MUENNIGHOFF,
                )
            )
    if spec.strategy == "from_scratch" and spec.model is not None:
        n = float(spec.model.total_params())
        ratio = spec.tokens / n
        level = "ok" if ratio >= 20 else "warning"
        out.append(
            Finding(
                "tokens_per_parameter",
                level,
                f"{ratio:.0f} tokens per parameter ({spec.tokens:.3g} for {n / 1e9:.3g}B).",
                "≥ 20 tokens per parameter",
                CHINCHILLA,
            )
        )
        if spec.tokens < 1e12:
            out.append(
                Finding(
                    "base_tokens",
                    "info",
                    f"{spec.tokens:.3g} tokens is below what current base models use.",
                    "from-scratch base models start at ~2T tokens",
                    "seed 002",
                )
            )
    if spec.strategy == "cpt":
        total = spec.data_tokens("cpt")
        domain = spec.data_tokens("cpt", "domain")
        if total > 0:
            share = domain / total
            level = "ok" if share <= 0.15 else "warning"
            out.append(
                Finding(
                    "cpt_domain_share",
                    level,
                    f"Domain share of the CPT mix is {share:.0%}.",
                    "domain ≤ 15% in continued pretraining (every 100B domain tokens need "
                    "700–1000B "
                    "general)",
                    "seed 004",
                )
            )
    if spec.strategy == "from_scratch":
        total = spec.data_tokens("pretrain")
        domain = spec.data_tokens("pretrain", "domain")
        if total > 0 and domain / total >= 0.4:
            out.append(
                Finding(
                    "pretrain_1to1",
                    "warning",
                    f"Domain share of pretraining is {domain / total:.0%}.",
                    "a 1:1 general:domain pretraining mix (BloombergGPT) is a known mistake",
                    "seed 004",
                )
            )
    sft_total = spec.data_tokens("sft")
    if sft_total > 0 and spec.data_tokens("sft", "domain") / sft_total > 0.7:
        out.append(
            Finding(
                "sft_domain_share",
                "warning",
                f"SFT data is {spec.data_tokens('sft', 'domain') / sft_total:.0%} domain.",
                "SFT tolerates about 1:1 domain:general",
                "seed 004",
            )
        )
    tokens = sum(d.tokens for d in spec.data)
    if tokens > 0:
        unknown = [d.name for d in spec.data if d.licence == "unknown"]
        restricted = [d.name for d in spec.data if d.licence == "restricted"]
        cleared = sum(d.tokens for d in spec.data if d.licence == "cleared") / tokens
        level = "error" if restricted else ("warning" if unknown else "ok")
        names = ", ".join(restricted + unknown)
        out.append(
            Finding(
                "licences",
                level,
                f"{cleared:.0%} of tokens have cleared licences"
                + (f"; not cleared: {names}." if names else "."),
                "review every dataset's licence",
                "seed 000/004: data work needs licence review",
            )
        )
        zh = [d for d in spec.data if d.language == "zh"]
        zh_tokens = sum(d.tokens for d in zh)
        if (
            zh_tokens / tokens >= 0.3
            and sum(d.tokens for d in zh if d.source == "web") >= 0.8 * zh_tokens
        ):
            out.append(
                Finding(
                    "chinese_knowledge",
                    "warning",
                    f"{zh_tokens / tokens:.0%} of tokens are Chinese, mostly web.",
                    "Chinese web quality is poor; knowledge-dense Chinese sources (papers, Q&A, "
                    "code) are scarce — ~10% of English",
                    "seed 000",
                )
            )
        raw = [d.name for d in spec.data if d.cleaning == "raw"]
        if raw:
            out.append(
                Finding(
                    "raw_data",
                    "info",
                    f"Still raw: {', '.join(raw)} (cleaning is in the data stage).",
                    "clean and deduplicate before training",
                    "seed 000: 45 TB raw → < 1 TB clean",
                )
            )
    return out


def milestones(result: ProgramResult) -> list[Milestone]:
    spec = result.spec
    st = {s.key: s for s in result.stages}
    out: list[Milestone] = []

    def add(stream: str, name: str, key: str, days: np.ndarray, criterion: str) -> None:
        out.append(
            Milestone(
                stream, name, key, float(np.median(days)), float(np.percentile(days, 90)), criterion
            )
        )

    unknown = sum(1 for d in spec.data if d.licence != "cleared")
    for key in ("data", "ingest"):
        if key in st:
            add(
                "data",
                "Data ready",
                key,
                st[key].finish_days,
                f"all training data cleaned and deduplicated; licence review of every dataset done "
                f"({unknown} not yet cleared)",
            )
    if "sft_data" in st:
        add(
            "data",
            "Instruction data ready",
            "sft_data",
            st["sft_data"].finish_days,
            f"{spec.sft['samples']:,.0f} instructions reviewed; domain:general ≈ 1:1 (seed 004)",
        )
    if "burn_in" in st and result.main_run is not None:
        add(
            "engineering",
            "Burn-in passed",
            "burn_in",
            st["burn_in"].finish_days,
            "restore-from-checkpoint drill passed; all-reduce bus bandwidth ≥ 80% of line rate; "
            "a one-hour run "
            f"reaches ≥ 90% of the planned {result.main_run.layout.mfu:.0%} MFU",
        )
    model: ModelSpec | None = spec.model
    for key, stage in st.items():
        if key.startswith("ladder_"):
            size = float(stage.name.split(":")[1].strip().rstrip("B")) * 1e9
            add(
                "algorithm",
                stage.name,
                key,
                stage.finish_days,
                f"final loss within 2% of the scaling law's {chinchilla_loss(size, 20 * size):.3f} "
                "(Chinchilla fit; refit on the ladder)",
            )
    if "main" in st and model is not None:
        main = st["main"]
        n = float(model.total_params())
        for frac in (0.25, 0.5, 0.75, 1.0):
            days = main.start_days + frac * (main.finish_days - main.start_days)
            loss = chinchilla_loss(n, frac * spec.tokens) * 1.03
            add(
                "engineering" if frac < 1 else "algorithm",
                f"Main run {frac:.0%} of tokens",
                "main",
                days,
                f"loss at most {loss:.3f} per the fitted scaling law (+3%); "
                "no unrecovered divergence",
            )
    if "sft" in st:
        add(
            "algorithm",
            "SFT done",
            "sft",
            st["sft"].finish_days,
            "instruction-following win-rate ≥ 60% against the base model on a held-out set",
        )
    if "rlhf" in st:
        add(
            "algorithm",
            "Preference tuning done",
            "rlhf",
            st["rlhf"].finish_days,
            "held-out win-rate up; no reward hacking (length or format exploits) found in review",
        )
    if "retrieval_eval" in st:
        add(
            "algorithm",
            "Retrieval evaluated",
            "retrieval_eval",
            st["retrieval_eval"].finish_days,
            "recall@10 ≥ 0.8 on the domain question set; answers cite their sources",
        )
    add(
        "algorithm",
        "Evaluation passed",
        "eval",
        st["eval"].finish_days,
        "no general benchmark more than 2 points below the base; domain evaluation at target "
        "(seed 004: bad "
        "evaluation wastes GPUs)",
    )
    if "release" in st:
        add(
            "engineering",
            "Release",
            "release",
            st["release"].finish_days,
            "safety review and sign-off",
        )
    if "serving" in st:
        add(
            "operations",
            "Serving live",
            "serving",
            st["serving"].start_days + 7.0,
            "P95 latency and cost per 1,000 requests within plan after the first week",
        )
    return sorted(out, key=lambda m: m.p50_day)


# Loss-spike and numerics risks of the 8- and 4-bit formats: (likelihood, days lost, title,
# mitigation, source). Likelihoods are rules of thumb from how often the cited runs needed a fix,
# not measured rates; days lost are a rollback plus a diagnosis.
LOW_PRECISION_RISKS: dict[str, tuple[float, float, str, str, str]] = {
    "fp8": (
        0.3,
        10.0,
        "FP8 (tensor-wise scaling) diverges late in a long run",
        "compare with a BF16 reference run for the first tokens and at every gate; keep attention "
        "and norms in BF16; Smooth-SwiGLU or BF16 for the MLP outliers; fall back to BF16 on a "
        "spike",
        "Fishman et al. 2024, 'Scaling FP8 training to trillion-token LLMs': instabilities "
        "appear only after ~200B tokens (SwiGLU outlier amplification)",
    ),
    "fp8-blockwise": (
        0.15,
        7.0,
        "Block-wise FP8: accumulation and scaling errors",
        "promote partial sums to FP32 (every 128 elements), keep the BF16 reference run, "
        "keep embeddings, head, attention and norms in BF16",
        "DeepSeek-V3 report §3.3 (2024): 1×128/128×128 scaling kept the loss within 0.25% of "
        "BF16 over ~1T tokens of validation runs",
    ),
    "mxfp8": (
        0.15,
        7.0,
        "MXFP8: power-of-two block scales lose range",
        "round scales up (not down) when converting to E8M0, keep the BF16 reference run, keep "
        "attention and norms in BF16",
        "NVIDIA, 'Recipes for pre-training LLMs with MXFP8' (Mishra et al., 2025) — matched BF16 "
        "with its scale-rounding recipe; citation details not verified here",
    ),
    "nvfp4": (
        0.45,
        14.0,
        "NVFP4: 4-bit training is young; loss gap and divergence",
        "follow the published recipe (random Hadamard transforms on weight-gradient inputs, "
        "2D weight scaling, stochastic rounding of gradients, the last blocks in BF16) and "
        "switch to BF16 for the final tokens if the gap grows",
        "NVIDIA, 'Pretraining Large Language Models with NVFP4' (2025): a 12B model on 10T "
        "tokens tracked FP8's loss with that recipe; larger models unpublished",
    ),
    "mxfp4": (
        0.55,
        14.0,
        "MXFP4: no published large pre-training run",
        "trial on a small model first; keep a BF16 fallback; prefer NVFP4-style finer scales",
        "OCP MX specification v1.0 (2023); the NVFP4 paper (2025) reports MXFP4 needing more "
        "tokens to match NVFP4's loss — treat as unproven for pre-training",
    ),
}


def _people_per_day(result: ProgramResult) -> float:
    return sum(t.headcount * t.monthly_cost * t.allocation for t in result.team) / DAYS_PER_MONTH


def risk_register(result: ProgramResult, findings: list[Finding] | None = None) -> list[Risk]:
    """The risks of DOMAIN.md's pitfalls that apply to this plan, most serious first."""
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
            Risk(
                "deadline_miss",
                "Deadline missed",
                p,
                "monte carlo",
                late,
                late * per_day,
                "cut scope (fewer ladder steps or runs), add GPUs early, fix dates of gates now",
                "product_manager",
                "program Monte Carlo",
            )
        )
    if spec.budget_cap is not None:
        p = float(np.mean(total > spec.budget_cap))
        over = max(0.0, float(np.percentile(total, 90)) - spec.budget_cap)
        out.append(
            Risk(
                "budget_overrun",
                "Budget overrun",
                p,
                "monte carlo",
                0.0,
                over,
                "negotiate volume discounts (seed 000: ~50% off), buy instead of rent for long "
                "programs, stop a failing run at its gate",
                "product_manager",
                "program Monte Carlo",
            )
        )

    for stage in result.stages:
        if stage.shortfall_gib > 0:
            out.append(
                Risk(
                    f"does_not_fit_{stage.key}",
                    f"{stage.name} does not fit in GPU memory "
                    f"(short by {stage.shortfall_gib:.0f} GiB)",
                    1.0,
                    "rule",
                    30.0,
                    30 * per_day,
                    "more or larger GPUs, ZeRO-3 or offload, recomputation, or a smaller model",
                    "distributed_training_engineer",
                    "memory model: ZeRO (Rajbhandari 2020), activations (Korthikanti 2022)",
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
            Risk(
                "failures_at_scale",
                "Failures cost more than 10% of the main run",
                p,
                "monte carlo",
                spread,
                spread * 24 * rate,
                "automated restart, hot spares, health checks every few minutes, "
                "checkpoint at the Young/Daly interval "
                f"({g.optimal_interval_h * 60:.0f} min)",
                "distributed_training_engineer",
                "seed 000/003; Kokolis et al. 2024",
            )
        )
        per_day_fail = g.interruptions / np.maximum(g.wall_hours / 24.0, 1e-9)
        n_day = 3.0
        recovery_days = float(np.percentile(g.recovery_hours, 90)) / 24.0
        out.append(
            Risk(
                "interruptions_per_day",
                f"More than {n_day:.0f} interruptions a day (on-call load)",
                float(np.mean(per_day_fail > n_day)),
                "monte carlo",
                recovery_days,
                recovery_days * 24 * rate,
                "automate detection and restart; rotate on-call; keep spare nodes warm",
                "run_watcher",
                "seed 000: with thousands of GPUs a card fails almost daily; Kokolis et al. 2024",
            )
        )
        save_s = g.spec.checkpoint_save_s
        p_io = 0.8 if save_s > 600 else (0.4 if save_s > 120 else 0.1)
        ckpt_days = float(np.median(g.checkpoint_hours)) / 24.0
        out.append(
            Risk(
                "checkpoint_io",
                f"Checkpoint saves take {save_s / 60:.1f} min",
                p_io,
                "rule",
                ckpt_days,
                ckpt_days * 24 * rate,
                "sharded asynchronous checkpoints to a parallel file system; keep "
                "a copy off the provider (seed 003: a provider deleted checkpoints)",
                "distributed_training_engineer",
                "seed 000: 2–3 TB, over ten minutes on poor storage",
            )
        )
        p_spike = float(np.mean(g.loss_spikes > 0))
        spike_days = float(np.percentile(g.spike_recovery_hours, 90)) / 24.0
        fp16 = spec.precision == "fp16"
        out.append(
            Risk(
                "loss_divergence",
                "Loss spikes and rollbacks" + (" (FP16)" if fp16 else ""),
                p_spike,
                "monte carlo",
                max(spike_days, 0.0),
                max(spike_days, 0.0) * 24 * rate,
                ("train in BF16; " if fp16 else "")
                + "a run watcher decides rollbacks; skip bad data "
                "(seed 000: one 10k-character sample of slashes broke a run)",
                "run_watcher",
                "seed 000/004: BF16 is more stable than FP16",
            )
        )
        p_late = float(np.mean(g.start_delay_days > 14))
        late_days = float(np.percentile(g.start_delay_days, 90))
        out.append(
            Risk(
                "provider_delay",
                "Cluster delivered late or below spec (hardware lottery)",
                p_late,
                "monte carlo",
                late_days,
                late_days * per_day,
                "acceptance burn-in in the contract, a second provider, start data work meanwhile",
                "product_manager",
                "seed 003",
            )
        )
        if spec.cluster.gpu.key in ("a800-80gb", "h800-80gb") and result.main_run is not None:
            share = (
                result.main_run.layout.breakdown_s["TP communication"]
                / result.main_run.layout.step_time_s
            )
            out.append(
                Risk(
                    "china_interconnect",
                    f"{spec.cluster.gpu.name}: NVLink cut to 400 GB/s",
                    min(0.9, 0.3 + 5 * share),
                    "rule",
                    share * float(np.median(main.finish_days - main.start_days)),
                    share
                    * float(np.median(main.gpu_hours))
                    * rate
                    / max(spec.cluster.gpu_count, 1),
                    "keep tensor parallelism ≤ 4, favour pipeline/ZeRO, overlap communication",
                    "distributed_training_engineer",
                    "seed 000: A800 = A100 with NVLink 600 → 400 GB/s",
                )
            )
        if fp16 and spec.headcount("run_watcher") == 0:
            out.append(
                Risk(
                    "no_run_watcher",
                    "FP16 run with no run watcher",
                    0.9,
                    "rule",
                    3.0,
                    3 * per_day,
                    "staff a run watcher (algorithm and engineering skills) around the clock",
                    "run_watcher",
                    "seed 000: FP16 needed a human 'crash watcher' to restart",
                )
            )

    rule_risks = {
        "cpt_domain_share": (
            "Domain share above 15% in CPT",
            0.7,
            "algorithm_researcher",
            "lower the domain share to 10–15% with general replay data",
        ),
        "pretrain_1to1": (
            "1:1 general:domain pretraining",
            0.7,
            "algorithm_researcher",
            "pretrain on general data; add the domain in CPT/SFT",
        ),
        "tokens_per_parameter": (
            "Too few tokens for the model size",
            0.6,
            "algorithm_researcher",
            "train a smaller model on the same tokens, or get more data",
        ),
        "epochs": (
            "Too many epochs over the data",
            0.6,
            "data_engineer",
            "collect more data or train fewer tokens",
        ),
        "licences": (
            "Unknown or restricted data licences",
            0.5,
            "legal",
            "licence review of every dataset",
        ),
        "chinese_knowledge": (
            "Scarce knowledge-dense Chinese data",
            0.5,
            "data_engineer",
            "buy or license papers, Q&A and books; translate; filter web harder",
        ),
        "no_inventory": (
            "No data inventory for the training run",
            0.8,
            "data_engineer",
            "list every source with tokens and licence",
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
                Risk(
                    code,
                    title,
                    p if f.level == "warning" else min(1.0, p + 0.2),
                    "rule",
                    days,
                    days * per_day,
                    mitigation,
                    owner,
                    f"{f.rule} ({f.source})",
                )
            )

    n_params = float(spec.model.total_params()) if spec.model is not None else 0.0
    trains = spec.strategy in ("from_scratch", "cpt")
    if spec.headcount("algorithm_researcher") > 10:
        out.append(
            Risk(
                "team_too_large",
                "Algorithm team larger than ten",
                0.6,
                "rule",
                20.0,
                20 * per_day,
                "a few ideas directing large resources; don't split compute between sub-teams",
                "product_manager",
                "seed 000/002: lean beats large",
            )
        )
    if (
        trains
        and n_params > 3e9
        and spec.headcount("distributed_training_engineer") == 0
        and not result.team_is_default
    ):
        out.append(
            Risk(
                "no_distributed_engineer",
                "No distributed-training engineer past 3B parameters",
                0.8,
                "rule",
                45.0,
                45 * per_day,
                "hire or contract 4–5 distributed-training engineers",
                "distributed_training_engineer",
                "seed 000: model parallelism is where teams hit a wall from ~3B",
            )
        )
    if (
        trains
        and spec.headcount("run_watcher") == 0
        and not result.team_is_default
        and spec.precision != "fp16"
    ):
        out.append(
            Risk(
                "no_run_watcher",
                "Nobody watches the run and decides rollbacks",
                0.5,
                "rule",
                7.0,
                7 * per_day,
                "name a run watcher with algorithm and engineering skills",
                "run_watcher",
                "seed 000/004",
            )
        )
    if spec.rlhf_method != "none":
        p = 0.35 if spec.rlhf_method == "ppo" else 0.15
        out.append(
            Risk(
                "reward_hacking",
                "Reward hacking",
                p,
                "rule",
                14.0,
                14 * per_day,
                "held-out human review; KL and length penalties; prefer DPO when PPO is unstable",
                "algorithm_researcher",
                "seed 004",
            )
        )
    out.append(
        Risk(
            "weak_evaluation",
            "Weak evaluation wastes GPUs",
            0.3 if spec.headcount("algorithm_researcher") or result.team_is_default else 0.6,
            "rule",
            14.0,
            14 * per_day,
            "build the evaluation set before training; evaluate every ladder step and gate",
            "algorithm_researcher",
            "seed 004: bad evaluation = wasted GPUs",
        )
    )
    if spec.strategy in ("cpt", "sft"):
        out.append(
            Risk(
                "domain_overfitting",
                "Over-fitting to the domain",
                0.4 if spec.sft["epochs"] <= 3 else 0.6,
                "rule",
                14.0,
                14 * per_day,
                "mix general data back in; fewer epochs; test out-of-domain",
                "algorithm_researcher",
                "seed 004",
            )
        )
    numerics = LOW_PRECISION_RISKS.get(spec.precision)
    if numerics is not None and trains:
        p, days, title, mitigation, source = numerics
        out.append(
            Risk(
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


def calendar_risks(result: ProgramResult) -> list[Risk]:
    """What the dates entered say: GPU bookings the stages outrun, stages that start before anyone
    who does their work is on the team, and people paid long after the program ends."""
    out: list[Risk] = []
    stages = {s.key: s for s in result.stages}
    for use in result.pools:
        if not use.open_window and not use.stages:
            cost = float(np.median(use.window_cost))
            out.append(
                Risk(
                    f"pool_unused_{use.index + 1}",
                    f"{use.pool.describe()} booked for {use.pool.months:g} "
                    f"month{'' if use.pool.months == 1 else 's'} ({use.pool.purpose}) but no "
                    "stage runs on it",
                    1.0,
                    "rule",
                    0.0,
                    cost,
                    "cancel the booking, or give it a purpose a stage uses (a second pool of "
                    "one purpose stays idle: stages use the largest)",
                    "product_manager",
                    "the entered booking against the plan's stages",
                )
            )
            continue
        if use.open_window or not use.stages:
            continue
        extended = use.extension_days > 1e-6
        if not extended.any():
            continue
        names = ", ".join(stages[k].name for k in use.stages if k in stages)
        days = float(np.percentile(use.extension_days, 90))
        out.append(
            Risk(
                f"pool_overrun_{use.index + 1}",
                f"{names} outrun the {use.pool.describe()} booking of {use.pool.months:g} "
                f"month{'' if use.pool.months == 1 else 's'}; the rental is extended at the same "
                "price",
                float(np.mean(extended)),
                "monte carlo",
                days,
                float(np.percentile(use.extension_cost, 90)),
                "book the pool longer or start it later, or confirm the provider can extend "
                "(capacity is often resold at the end of a booking)",
                "distributed_training_engineer" if "main" in use.stages else "product_manager",
                "program Monte Carlo over the entered booking window",
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
    for _line, _months, per_trial in rows:
        likely |= per_trial
    who = "; ".join(
        f"{line.headcount:g} × {line.role} {months:.1f} months" for line, months, _ in rows
    )
    cost = sum(
        months * line.headcount * line.monthly_cost * line.allocation for line, months, _ in rows
    )
    people = sum(line.headcount for line, _months, _ in rows)
    longest = max(months for _line, months, _ in rows)
    return Risk(
        "paid_after_finish",
        f"{people:g} people paid after the program's P90 finish (up to {longest:.1f} months)",
        float(np.mean(likely)),
        "monte carlo",
        0.0,
        cost,
        f"end those lines with the program, or plan the next program for those months ({who})",
        "product_manager",
        "team dates as entered against the program Monte Carlo",
    )


def _holds(spec: PlanSpec, line: TeamLine, day: float) -> bool:
    """Whether ``line`` is on the team on ``day`` (its end date is its last paid day)."""
    first, last = spec.day(line.start_date), spec.day(line.end_date)
    return (first is None or first <= day) and (last is None or last + 1.0 > day)


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
        who = " or ".join(roles)
        title = (
            f"{stage.name} starts before any {who} joins ({gap:.0f} days early)"
            if later
            else f"{stage.name} starts after every {who} has left"
        )
        out.append(
            Risk(
                f"role_gap_{stage.key}",
                title,
                1.0,
                "rule",
                gap,
                gap * per_day,
                "move the hire earlier, extend the contract, or start the stage later",
                "product_manager",
                "team dates as entered against the stage's P50 start",
            )
        )
    return out


def _hourly(result: ProgramResult) -> float:
    from .program import _hourly_rate

    return _hourly_rate(result.spec, result.spec.cluster.gpu_count)


def as_dicts(items: list[Finding] | list[Milestone] | list[Risk]) -> list[dict[str, Any]]:
    return [asdict(i) | ({"score": i.score} if isinstance(i, Risk) else {}) for i in items]

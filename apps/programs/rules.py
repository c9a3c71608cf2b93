"""Domain rules a planning expert applies to a plan, each with its threshold and its source.

Django-free on purpose (stdlib only, like ``llmplanner.simulation``; ``tests/programs/
test_rules.py`` enforces it): the rules read the core's plan JSON format (``planspec``'s module
docstring, produced by ``apps.programs.plan_adapter``), so the forms, the import and — later — the
core's own data checks can apply the same thresholds to the same input. The web layer turns a
``Finding`` into a translated sentence (``apps.programs.findings``); ``Finding.message`` is the
English one.

Severity: ``error`` blocks saving; ``warning`` is saved and shown next to its field; ``info`` is
advice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

# The dates a plan may use: the core's window (``llmplanner.simulation.planspec.FIRST_DATE`` and
# ``LAST_DATE``; tests/programs/test_date_window.py keeps the two equal).
FIRST_DATE, LAST_DATE = dt.date(2000, 1, 1), dt.date(2099, 12, 31)

# Role keys of the core's plan format (``llmplanner.simulation.planspec.ROLES``).
ROLES = (
    "data_engineer",
    "legal",
    "algorithm_researcher",
    "distributed_training_engineer",
    "run_watcher",
    "frontend",
    "backend",
    "product_manager",
)

# Thresholds, each with its source (the publication or practitioners' article it comes from).
CPT_MAX_DOMAIN_SHARE = 0.15  # vertical-LLM survey 2023: 100B domain tokens need 700–1000B general
PRETRAIN_MAX_DOMAIN_SHARE = (
    0.5  # vertical-LLM survey 2023: BloombergGPT's 1:1 mix is a known mistake
)
SFT_MAX_DOMAIN_SHARE = 0.5  # vertical-LLM survey 2023: SFT tolerates ~1:1 domain:general
MAX_EPOCHS_OF_INVENTORY = 4.0  # Muennighoff et al. 2023: ~4 epochs ≈ fresh data
FROM_SCRATCH_MIN_TOKENS = 2e12  # Huang Wenhao 2023: base models start at ~2T tokens
CPT_TYPICAL_TOKENS = (1e9, 1e12)  # vertical-LLM survey 2023: tens to hundreds of B tokens
SFT_TYPICAL_MAX_SAMPLES = (
    100_000  # vertical-LLM survey 2023; You Yang 2023: hundreds to ~100k samples
)
MAX_ALGORITHM_RESEARCHERS = (
    10  # OneMoreAI 2023; vertical-LLM survey 2023: ≤ 10 researchers; a follower team needs ≤ ~10
)
ENOUGH_TRAINING_ENGINEERS = (
    5  # OneMoreAI 2023; vertical-LLM survey 2023: 4–5 distributed-training engineers suffice
)
RUN_WATCHER_FROM_GPUS = 256  # OneMoreAI 2023: at hundreds of GPUs a card fails almost daily


def gettext_noop(text: str) -> str:
    """Marks ``text`` for translation (``makemessages`` looks for this name) without Django."""
    return text


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str  # error | warning | info
    text: str  # English, with {placeholders} filled from the finding's params
    source: str


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            "cpt_domain_share",
            "warning",
            # xgettext:no-python-format
            gettext_noop("CPT domain share {share} exceeds the ≤ 15% rule"),
            gettext_noop(
                "vertical-LLM survey 2023: every 100B domain tokens need 700–1000B general"
            ),
        ),
        Rule(
            "pretrain_domain_share",
            "warning",
            gettext_noop(
                "Pretraining domain share {share}: a 1:1 domain:general mix loses general ability"
            ),
            gettext_noop(
                "vertical-LLM survey 2023: BloombergGPT's 1:1 pretraining mix is a known mistake"
            ),
        ),
        Rule(
            "sft_domain_share",
            "warning",
            gettext_noop("SFT domain share {share} exceeds the ~1:1 domain:general rule"),
            gettext_noop("vertical-LLM survey 2023: SFT tolerates about 1:1 domain:general data"),
        ),
        Rule(
            "tokens_beyond_inventory",
            "warning",
            gettext_noop(
                "Token budget {tokens} is {epochs} passes over the {available} tokens of {stage}"
                " data in the inventory (more than 4)"
            ),
            gettext_noop(
                "Muennighoff et al. 2023: up to ~4 epochs of repeated data are nearly as"
                " good as fresh data"
            ),
        ),
        Rule(
            "no_inventory",
            "info",
            gettext_noop(
                "The data inventory has no {stage} data yet for the {tokens} token budget"
            ),
            gettext_noop("OneMoreAI 2023: data is the first of the three work streams"),
        ),
        Rule(
            "from_scratch_tokens",
            "info",
            gettext_noop("{tokens} tokens is below the ~2T that from-scratch base models start at"),
            gettext_noop("Huang Wenhao 2023: base models start at ~2T tokens, some 3–4T"),
        ),
        Rule(
            "cpt_tokens",
            "info",
            gettext_noop("{tokens} tokens is outside the usual CPT range of 1B–1T"),
            gettext_noop(
                "vertical-LLM survey 2023: CPT uses tens to hundreds of billions of tokens"
            ),
        ),
        Rule(
            "sft_samples",
            "info",
            gettext_noop("{samples} SFT samples is far more than the usual hundreds to ~100k"),
            gettext_noop("vertical-LLM survey 2023: SFT uses hundreds to ~100k samples"),
        ),
        Rule(
            "fp16_watcher",
            "warning",
            gettext_noop(
                "FP16 training without a run watcher: FP16 runs needed a person to"
                " restart them after crashes; use BF16 or add a run watcher"
            ),
            gettext_noop("OneMoreAI 2023; vertical-LLM survey 2023: BF16 is more stable than FP16"),
        ),
        Rule(
            "run_watcher",
            "warning",
            gettext_noop("{gpus} GPUs and nobody watching the run: someone must decide rollbacks"),
            gettext_noop("OneMoreAI 2023: with hundreds of GPUs a card fails almost daily"),
        ),
        Rule(
            "too_many_researchers",
            "warning",
            gettext_noop("{count} algorithm researchers: more people, lower efficiency (≤ 10)"),
            gettext_noop(
                "OneMoreAI 2023; vertical-LLM survey 2023: "
                "a follower team needs at most ~10 in algorithms"
            ),
        ),
        Rule(
            "enough_engineers",
            "info",
            gettext_noop("{count} distributed-training engineers: 4–5 usually suffice"),
            gettext_noop("OneMoreAI 2023; vertical-LLM survey 2023: BigScience's team shape"),
        ),
        Rule(
            "licence_review",
            "warning",
            gettext_noop(
                "{count} datasets have an unknown or restricted licence and the team has"
                " no legal/licensing role"
            ),
            gettext_noop(
                "OneMoreAI 2023; vertical-LLM survey 2023: every data stream needs licence review"
            ),
        ),
        Rule(
            "restricted_licence",
            "warning",
            gettext_noop("Restricted licence: this dataset may not be usable for training"),
            gettext_noop("OneMoreAI 2023: licence review of every data stream"),
        ),
        Rule(
            "gpu_count_zero",
            "error",
            gettext_noop("A budget line needs at least one GPU"),
            gettext_noop("a line with zero GPUs buys no compute"),
        ),
        Rule(
            "gpu_whole_servers",
            "error",
            gettext_noop("{count} GPUs do not fill whole servers of {per_server}"),
            gettext_noop("GPU catalog: servers hold {per_server} GPUs"),
        ),
        Rule(
            "date_window",
            "error",
            gettext_noop("This date must be from {first} to {last}"),
            gettext_noop("the simulation core plans dates from 2000 to 2099"),
        ),
        Rule(
            "ends_before_start",
            "error",
            gettext_noop("This line ends before it starts"),
            gettext_noop("the end must come after the start"),
        ),
        Rule(
            "after_deadline",
            "warning",
            gettext_noop("This line runs until {end}, after the program's deadline {deadline}"),
            gettext_noop("the program's deadline"),
        ),
        Rule(
            "gpu_precision",
            "error",
            gettext_noop("{gpu} has no {precision} tensor cores"),
            gettext_noop("GPU catalog: vendor datasheets"),
        ),
        Rule(
            "no_training_gpus",
            "warning",
            gettext_noop("No GPU budget line for this strategy's training yet"),
            gettext_noop("a training run needs GPUs"),
        ),
    )
}


@dataclass(frozen=True)
class Finding:
    """A rule that fired for the input at ``path`` (a dotted plan field, e.g. ``data.2.licence``
    or ``training.tokens``); ``params`` fill the rule's text."""

    rule: str
    path: str
    params: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def severity(self) -> str:
        return RULES[self.rule].severity

    @property
    def source(self) -> str:
        return RULES[self.rule].source.format(**self.params)

    @property
    def message(self) -> str:
        """English: the rule's text, then its source in parentheses."""
        text = RULES[self.rule].text.format(**english_params(self.params))
        return f"{text} ({self.source})"


def english_params(params: dict[str, Any]) -> dict[str, str]:
    """Params as English text: shares as %, token counts as 300B / 2T."""
    out = {}
    for key, value in params.items():
        if key == "share":
            out[key] = f"{value:.0%}"
        elif key in ("tokens", "available"):
            out[key] = compact(value)
        elif key == "epochs":
            out[key] = f"{value:.1f}"
        else:
            out[key] = str(value)
    return out


def compact(value: float) -> str:
    """300000000000 → 300B; 2e12 → 2T; 1500 → 1.5K."""
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


# --- field-level checks (forms and models call these) --------------------------------------


def check_gpu_count(count: int, per_server: int) -> Finding | None:
    if count < 1:
        return Finding("gpu_count_zero", "cluster.gpu_count", {"count": count})
    if count > per_server and count % per_server:
        return Finding(
            "gpu_whole_servers", "cluster.gpu_count", {"count": count, "per_server": per_server}
        )
    return None


def check_months(months: float) -> Finding | None:
    return Finding("ends_before_start", "months") if months <= 0 else None


def check_date_window(date: dt.date | None) -> Finding | None:
    """A date of a plan (a line's start or end, a dataset's ready date, a program's start or
    deadline) outside the window the core plans in: ``0001-01-01`` is a typo, not a plan."""
    if date is not None and not FIRST_DATE <= date <= LAST_DATE:
        params = {"first": FIRST_DATE.isoformat(), "last": LAST_DATE.isoformat()}
        return Finding("date_window", "", params)
    return None


def check_dates(start: dt.date | None, end: dt.date | None) -> Finding | None:
    if start and end and end < start:
        return Finding("ends_before_start", "end_date")
    return None


def line_end(start: dt.date, months: float) -> dt.date:
    """The day a line starting on ``start`` ends after ``months`` (30.44-day months)."""
    return start + dt.timedelta(days=round(months * 365.25 / 12))


def check_deadline(
    start: dt.date | None, months: float, deadline: dt.date | None
) -> Finding | None:
    if start is None or deadline is None or months <= 0:
        return None
    end = line_end(start, months)
    if end > deadline:
        return Finding("after_deadline", "months", {"end": end, "deadline": deadline})
    return None


def check_precision(precision: str, gpu_name: str, supported: list[str]) -> Finding | None:
    if supported and precision not in supported:
        return Finding(
            "gpu_precision", "training.precision", {"gpu": gpu_name, "precision": precision}
        )
    return None


# --- whole-plan checks ---------------------------------------------------------------------


def _share(data: list[dict[str, Any]], stage: str) -> tuple[float, float]:
    """(domain tokens, all tokens) of the inventory feeding ``stage``."""
    rows = [d for d in data if d.get("stage", "pretrain") == stage]
    total = sum(float(d.get("tokens", 0)) for d in rows)
    domain = sum(float(d.get("tokens", 0)) for d in rows if d.get("kind") == "domain")
    return domain, total


def _headcount(team: list[dict[str, Any]], role: str) -> float:
    return sum(float(t.get("headcount", 1)) for t in team if t.get("role") == role)


def check_plan(plan: dict[str, Any]) -> list[Finding]:
    """Every whole-plan rule that fires for a plan in the core's JSON format, in field order."""
    found: list[Finding] = []
    strategy = plan.get("strategy", "from_scratch")
    training = plan.get("training") or {}
    tokens = float(training.get("tokens") or 0)
    data = list(plan.get("data") or [])
    team = list(plan.get("team") or [])
    cluster = plan.get("cluster") or max(
        (p for p in plan.get("clusters") or [] if p.get("purpose", "main") == "main"),
        key=lambda p: int(p.get("gpu_count") or 0),
        default={},
    )
    main_stage = {"from_scratch": "pretrain", "cpt": "cpt"}.get(strategy)

    if strategy == "from_scratch" and 0 < tokens < FROM_SCRATCH_MIN_TOKENS:
        found.append(Finding("from_scratch_tokens", "training.tokens", {"tokens": tokens}))
    low, high = CPT_TYPICAL_TOKENS
    if strategy == "cpt" and tokens and not low <= tokens <= high:
        found.append(Finding("cpt_tokens", "training.tokens", {"tokens": tokens}))
    if main_stage and tokens:
        _, available = _share(data, main_stage)
        if available == 0:
            found.append(
                Finding("no_inventory", "training.tokens", {"stage": main_stage, "tokens": tokens})
            )
        elif tokens > MAX_EPOCHS_OF_INVENTORY * available:
            found.append(
                Finding(
                    "tokens_beyond_inventory",
                    "training.tokens",
                    {
                        "tokens": tokens,
                        "available": available,
                        "epochs": tokens / available,
                        "stage": main_stage,
                    },
                )
            )
    sft = plan.get("sft") or {}
    if sft and float(sft.get("samples", 0)) > 10 * SFT_TYPICAL_MAX_SAMPLES:
        found.append(Finding("sft_samples", "sft.samples", {"samples": int(sft["samples"])}))

    for stage, rule, limit in (
        ("cpt", "cpt_domain_share", CPT_MAX_DOMAIN_SHARE),
        ("pretrain", "pretrain_domain_share", PRETRAIN_MAX_DOMAIN_SHARE - 1e-9),
        ("sft", "sft_domain_share", SFT_MAX_DOMAIN_SHARE),
    ):
        domain, total = _share(data, stage)
        if total and domain / total > limit:
            found.append(Finding(rule, f"data.{stage}", {"share": domain / total}))
    for i, d in enumerate(data):
        if d.get("licence") == "restricted":
            found.append(Finding("restricted_licence", f"data.{i}.licence"))
    uncleared = sum(1 for d in data if d.get("licence", "unknown") != "cleared")
    if uncleared and not _headcount(team, "legal"):
        found.append(Finding("licence_review", "team", {"count": uncleared}))

    watchers = _headcount(team, "run_watcher")
    precision = str(training.get("precision", "bf16"))
    if main_stage and precision == "fp16" and not watchers:
        found.append(Finding("fp16_watcher", "training.precision"))
    gpus = int(cluster.get("gpu_count") or 0)
    if main_stage and gpus >= RUN_WATCHER_FROM_GPUS and not watchers:
        found.append(Finding("run_watcher", "team", {"gpus": gpus}))
    researchers = _headcount(team, "algorithm_researcher")
    if researchers > MAX_ALGORITHM_RESEARCHERS:
        found.append(Finding("too_many_researchers", "team", {"count": f"{researchers:g}"}))
    engineers = _headcount(team, "distributed_training_engineer")
    if engineers > ENOUGH_TRAINING_ENGINEERS:
        found.append(Finding("enough_engineers", "team", {"count": f"{engineers:g}"}))
    return found

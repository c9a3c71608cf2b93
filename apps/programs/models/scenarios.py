"""Programs and scenarios (strategy, chain, target model, stage figures)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import Organization
from apps.common.models import BaseModel
from apps.programs.models.catalogs import ModelPreset
from apps.programs.models.validators import validate_plan_date

BUDGET_CAP_MAX = Decimal("9999999999999.99")


class Currency(models.TextChoices):
    CNY = "CNY", "CNY (¥)"
    USD = "USD", "USD ($)"


# --- programs and scenarios ----------------------------------------------------------------


class Program(BaseModel):
    """An LLM training program of one organization; its scenarios are alternative plans."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="programs"
    )
    name = models.CharField(_("name"), max_length=200)
    goal = models.TextField(_("goal"), blank=True)
    deadline = models.DateField(
        _("deadline"), null=True, blank=True, validators=[validate_plan_date]
    )
    budget_cap = models.DecimalField(
        _("budget cap"),
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        # Below 10^13: SQLite stores decimals as floats, and a 16-digit value read back has
        # more digits than the field allows (an unreadable row). 10 trillion is ample.
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(BUDGET_CAP_MAX)],
    )
    currency = models.CharField(
        _("currency"), max_length=3, choices=Currency.choices, default=Currency.CNY
    )
    usd_to_cny = models.DecimalField(
        _("USD → CNY rate"),
        max_digits=8,
        decimal_places=4,
        default=Decimal("7.2"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal(1000))],
    )
    # Tracking (apps.tracking): a forecast above this chance of missing the deadline or going
    # over budget raises an alert on the portfolio and the run page, and a webhook.
    alert_threshold = models.PositiveSmallIntegerField(
        _("alert threshold (%)"),
        default=20,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_(
            "Warn when a forecast puts the chance of missing the deadline or of going over "
            "budget above this percentage."
        ),
    )
    archived_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class Strategy(models.TextChoices):
    FROM_SCRATCH = "from_scratch", _("From scratch")
    CPT = "cpt", _("Continued pretraining (CPT)")
    SFT = "sft", _("SFT / instruction tuning")
    RAG = "rag", _("RAG (retrieval)")
    ICL = "icl", _("ICL (long-context prompting)")


class Precision(models.TextChoices):
    """The core's compute formats (``llmplanner.simulation.specs``); a GPU type lists the ones its
    tensor cores run (``GPUType.precisions``)."""

    BF16 = "bf16", "BF16"
    FP16 = "fp16", "FP16"
    FP8 = "fp8", "FP8"
    FP8_BLOCKWISE = "fp8-blockwise", _("FP8 block-wise (DeepSeek-V3 style)")
    MXFP8 = "mxfp8", "MXFP8"
    NVFP4 = "nvfp4", "NVFP4"
    MXFP4 = "mxfp4", "MXFP4"
    TF32 = "tf32", "TF32"
    FP32 = "fp32", "FP32"


class RLHFMethod(models.TextChoices):
    NONE = "none", _("None")
    DPO = "dpo", "DPO"
    PPO = "ppo", _("PPO (RLHF)")


def _positive(minimum: int | str = 1) -> list[MinValueValidator]:
    return [MinValueValidator(Decimal(minimum) if isinstance(minimum, str) else minimum)]


class Scenario(BaseModel):
    """One alternative plan of a program: strategy and its chained stages, the target model,
    and (as related rows) GPU budget lines, team lines and the data inventory."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="scenarios")
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    is_baseline = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    # Strategy: the main stage, then the stages chained after it.
    strategy = models.CharField(
        _("strategy"), max_length=20, choices=Strategy.choices, default=Strategy.FROM_SCRATCH
    )
    with_sft = models.BooleanField(_("then SFT"), default=True)
    rlhf_method = models.CharField(
        _("then preference tuning"),
        max_length=10,
        choices=RLHFMethod.choices,
        default=RLHFMethod.DPO,
    )
    with_rag = models.BooleanField(_("serve with RAG"), default=False)
    with_serving = models.BooleanField(_("budget serving"), default=False)
    start_date = models.DateField(
        _("start date"), null=True, blank=True, validators=[validate_plan_date]
    )
    # None: the core's default ladder (≈ 8× apart below the target); []: no ladder (one "YOLO" run).
    ladder = models.JSONField(
        _("scaling-ladder steps"),
        null=True,
        blank=True,
        default=None,
        help_text=_("Model sizes in parameters."),
    )
    full_runs = models.PositiveSmallIntegerField(
        _("full runs budgeted"), default=1, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    contingency_pct = models.DecimalField(
        _("contingency %"),
        max_digits=5,
        decimal_places=1,
        default=Decimal(10),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )

    # Target model: a preset, or a custom architecture (a size, or an explicit shape).
    model_preset = models.ForeignKey(
        ModelPreset,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("model preset"),
    )
    custom_params_b = models.FloatField(
        _("custom size (B parameters)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0.01), MaxValueValidator(100_000)],
    )
    custom_layers = models.PositiveIntegerField(_("layers"), null=True, blank=True)
    custom_hidden = models.PositiveIntegerField(_("hidden size"), null=True, blank=True)
    custom_heads = models.PositiveIntegerField(_("attention heads"), null=True, blank=True)
    custom_ffn_hidden = models.PositiveIntegerField(_("FFN size"), null=True, blank=True)
    custom_kv_heads = models.PositiveIntegerField(_("KV heads"), null=True, blank=True)
    custom_vocab = models.PositiveIntegerField(_("vocabulary"), null=True, blank=True)
    training_tokens = models.BigIntegerField(
        _("token budget"), default=0, validators=[MinValueValidator(0)]
    )
    precision = models.CharField(
        _("precision"), max_length=16, choices=Precision.choices, default=Precision.BF16
    )
    seq_len = models.PositiveIntegerField(
        _("sequence length"), null=True, blank=True, validators=[MaxValueValidator(10_000_000)]
    )
    global_batch_tokens = models.BigIntegerField(
        _("global batch (tokens)"),
        default=4 * 2**20,
        validators=[MinValueValidator(1), MaxValueValidator(10**10)],
    )

    # Stage parameters (used when the strategy or the chain includes the stage).
    sft_samples = models.PositiveIntegerField(
        _("SFT samples"), default=20_000, validators=_positive()
    )
    sft_tokens_per_sample = models.PositiveIntegerField(
        _("tokens per sample"), default=800, validators=_positive()
    )
    sft_epochs = models.PositiveSmallIntegerField(
        _("epochs"), default=3, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    sft_runs = models.PositiveSmallIntegerField(
        _("SFT runs"), default=3, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    sft_cost_per_sample = models.DecimalField(
        _("labelling cost per sample"),
        max_digits=10,
        decimal_places=2,
        default=Decimal(0),
        validators=_positive("0"),
    )
    rlhf_preference_pairs = models.PositiveIntegerField(
        _("preference pairs"), default=50_000, validators=_positive()
    )
    serving_requests_per_day = models.PositiveIntegerField(
        _("requests per day"), default=5_000, validators=_positive()
    )
    serving_tokens_per_request = models.PositiveIntegerField(
        _("tokens per request"), default=1_500, validators=_positive()
    )
    serving_months = models.PositiveSmallIntegerField(
        _("months served"), default=12, validators=[MinValueValidator(1), MaxValueValidator(240)]
    )
    serving_price_per_million_tokens = models.DecimalField(
        _("API price per million tokens"),
        max_digits=10,
        decimal_places=2,
        default=Decimal(14),
        validators=_positive("0"),
    )
    rag_corpus_tokens = models.BigIntegerField(
        _("knowledge-base tokens"), default=2 * 10**9, validators=_positive()
    )
    rag_embedding_price_per_million_tokens = models.DecimalField(
        _("embedding price per million tokens"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("0.7"),
        validators=_positive("0"),
    )
    rag_vector_db_monthly = models.DecimalField(
        _("vector database per month"),
        max_digits=12,
        decimal_places=2,
        default=Decimal(3000),
        validators=_positive("0"),
    )

    class Meta:
        ordering = ["-is_baseline", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["program"],
                condition=Q(is_baseline=True),
                name="one_baseline_per_program",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def trains_big(self) -> bool:
        """From scratch or CPT: a main training run with a token budget."""
        return self.strategy in (Strategy.FROM_SCRATCH, Strategy.CPT)

    @property
    def needs_model(self) -> bool:
        return self.strategy in (Strategy.FROM_SCRATCH, Strategy.CPT, Strategy.SFT)

    @property
    def includes_sft(self) -> bool:
        return self.strategy == Strategy.SFT or (self.with_sft and self.needs_model)

    @property
    def includes_rlhf(self) -> bool:
        return self.needs_model and self.rlhf_method != RLHFMethod.NONE

    @property
    def includes_rag(self) -> bool:
        return self.strategy == Strategy.RAG or self.with_rag

    @property
    def includes_serving(self) -> bool:
        return self.strategy in (Strategy.RAG, Strategy.ICL) or self.with_serving

    def stage_chain(self) -> list[str]:
        """The stages in order, as keys: pretrain | cpt | sft | rlhf | rag | serve."""
        chain = {"from_scratch": ["pretrain"], "cpt": ["cpt"]}.get(self.strategy, [])
        if self.includes_sft:
            chain.append("sft")
        if self.includes_rlhf:
            chain.append("rlhf")
        if self.includes_rag:
            chain.append("rag")
        if self.includes_serving:
            chain.append("serve")
        return chain

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.needs_model and self.model_preset_id is None:
            if self.custom_params_b is None and not (
                self.custom_layers and self.custom_hidden and self.custom_heads
            ):
                errors["model_preset"] = str(
                    _(
                        "Choose a preset, or give a custom size in billions of parameters, "
                        "or layers, hidden size and attention heads."
                    )
                )
        hidden, heads = self.custom_hidden, self.custom_heads
        if isinstance(hidden, int) and isinstance(heads, int) and heads and hidden % heads:
            errors["custom_heads"] = str(_("The hidden size must be a multiple of the heads."))
        if self.trains_big and not self.training_tokens:
            errors["training_tokens"] = str(
                _("A %(strategy)s plan needs a token budget.")
                % {"strategy": self.get_strategy_display()}
            )
        if errors:
            raise ValidationError(errors)

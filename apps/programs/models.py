"""Programs and their scenarios: the plan a manager writes down, before anything is simulated.

Money is stored in the program's currency (``Program.currency``); token counts are whole tokens;
GPU prices are per GPU-hour. The catalogs (GPU types, role templates, model presets) are global,
edited in the admin and seeded from the simulation core (``apps.programs.catalogs``).

``Scenario.version`` is an optimistic lock: every change to a scenario or one of its lines bumps
it with a conditional UPDATE (``services._scenario_bump``), so two people editing one scenario
never silently overwrite each other.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import Organization
from apps.common.models import BaseModel
from apps.programs import rules
from apps.programs.findings import message


class Currency(models.TextChoices):
    CNY = "CNY", "CNY (¥)"
    USD = "USD", "USD ($)"


# --- catalogs ------------------------------------------------------------------------------


class GPUType(BaseModel):
    """A GPU the simulation core knows (``key`` is a core catalog key) with its list prices.

    Prices here override the core's defaults: the plan adapter always passes the price explicitly.
    """

    key = models.SlugField(
        max_length=40, unique=True, help_text=_("Key of the GPU in the simulation core's catalog.")
    )
    name = models.CharField(max_length=80)
    vendor = models.CharField(max_length=40, blank=True)
    memory_gib = models.FloatField(default=80.0)
    gpus_per_server = models.PositiveSmallIntegerField(default=8)
    price_cny_per_gpu_hour = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    price_usd_per_gpu_hour = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    precisions = models.JSONField(default=list, help_text=_("Precisions with tensor cores."))
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name = _("GPU type")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from llmplanner.simulation.errors import ValidationError as CoreValidationError
        from llmplanner.simulation.hardware import gpu_by_name

        try:
            gpu_by_name(self.key, "key")
        except CoreValidationError as exc:
            raise ValidationError({"key": exc.message}) from exc

    def price(self, currency: str) -> Decimal:
        """List price per GPU-hour in ``currency``."""
        return self.price_cny_per_gpu_hour if currency == "CNY" else self.price_usd_per_gpu_hour


class RoleTemplate(BaseModel):
    """A team role a manager can add, costed as one of the core's roles (``core_role``)."""

    key = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    core_role = models.CharField(
        max_length=40,
        choices=[(r, r) for r in rules.ROLES],
        help_text=_("The simulation core's role this template is costed and staffed as."),
    )
    monthly_cost_cny = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    default_headcount = models.DecimalField(max_digits=6, decimal_places=1, default=Decimal(1))
    guidance = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=120, blank=True)
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name

    def monthly_cost(self, currency: str, usd_to_cny: Decimal) -> Decimal:
        if currency == "CNY":
            return self.monthly_cost_cny
        return (self.monthly_cost_cny / usd_to_cny).quantize(Decimal("1"))


class ModelPreset(BaseModel):
    """A model shape offered in the UI. Seeded from the core's ``PRESETS``; a preset the core does
    not know is passed to it as an explicit architecture."""

    key = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    params = models.BigIntegerField(help_text=_("Total parameters."))
    active_params = models.BigIntegerField(help_text=_("Parameters active per token (MoE)."))
    layers = models.PositiveIntegerField()
    hidden = models.PositiveIntegerField()
    heads = models.PositiveIntegerField()
    ffn_hidden = models.PositiveIntegerField()
    kv_heads = models.PositiveIntegerField(default=0)
    vocab = models.PositiveIntegerField(default=50_257)
    seq_len = models.PositiveIntegerField(default=2048)
    gated_mlp = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "params"]

    def __str__(self) -> str:
        return self.name


# --- programs and scenarios ----------------------------------------------------------------


class Program(BaseModel):
    """An LLM training program of one organization; its scenarios are alternative plans."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="programs"
    )
    name = models.CharField(_("name"), max_length=200)
    goal = models.TextField(_("goal"), blank=True)
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    budget_cap = models.DecimalField(
        _("budget cap"),
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
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
    BF16 = "bf16", "BF16"
    FP16 = "fp16", "FP16"
    FP8 = "fp8", "FP8"
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
    start_date = models.DateField(_("start date"), null=True, blank=True)
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
        _("precision"), max_length=5, choices=Precision.choices, default=Precision.BF16
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


class Purpose(models.TextChoices):
    TRAINING = "training", _("Main training")
    EXPERIMENTS = "experiments", _("Experiments / ladder")
    SFT = "sft", _("SFT and alignment")
    SERVING = "serving", _("Serving")
    OTHER = "other", _("Other")


class RentOrBuy(models.TextChoices):
    RENT = "rent", _("Rent")
    BUY = "buy", _("Buy")


class DeliveryRisk(models.TextChoices):
    # The core's provider classes (probability of delivering late, median delay).
    RELIABLE = "reliable", _("Low (10% late, ~2 weeks)")
    STANDARD = "standard", _("Medium (30% late, ~1 month)")
    RISKY = "risky", _("High (50% late, ~2 months)")


class ReliabilityClass(models.TextChoices):
    HYPERSCALER = "hyperscaler", _("Hyperscaler (automated recovery)")
    STANDARD = "standard", _("Standard research cluster")
    UNSTABLE = "unstable", _("Unstable (frequent failures)")


class GPUBudgetLine(BaseModel):
    """GPUs of one type from one provider, rented or bought, for a span of months."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="budget_lines")
    purpose = models.CharField(
        _("purpose"), max_length=20, choices=Purpose.choices, default=Purpose.TRAINING
    )
    provider = models.CharField(_("provider"), max_length=120, blank=True)
    gpu_type = models.ForeignKey(
        GPUType, on_delete=models.PROTECT, related_name="+", verbose_name=_("GPU type")
    )
    gpu_count = models.PositiveIntegerField(_("GPUs"), validators=[MaxValueValidator(1_000_000)])
    mode = models.CharField(
        _("rent or buy"), max_length=4, choices=RentOrBuy.choices, default=RentOrBuy.RENT
    )
    price_per_gpu_hour = models.DecimalField(
        _("price per GPU-hour"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("Empty: the catalog price."),
    )
    start_date = models.DateField(_("start date"), null=True, blank=True)
    months = models.DecimalField(_("months"), max_digits=5, decimal_places=1, default=Decimal(3))
    delivery_risk = models.CharField(
        _("delivery-delay risk"),
        max_length=10,
        choices=DeliveryRisk.choices,
        default=DeliveryRisk.STANDARD,
    )
    reliability_class = models.CharField(
        _("cluster reliability"),
        max_length=12,
        choices=ReliabilityClass.choices,
        default=ReliabilityClass.STANDARD,
    )
    checkpoint_storage_gbps = models.FloatField(
        _("checkpoint storage GB/s"),
        default=20.0,
        validators=[MinValueValidator(0.1), MaxValueValidator(100_000)],
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.gpu_count} × {self.gpu_type} ({self.get_purpose_display()})"

    def clean(self) -> None:
        # clean() runs even when a field failed to convert: check only well-typed values.
        errors = {}
        if isinstance(self.gpu_count, int) and self.gpu_type_id is not None:
            finding = rules.check_gpu_count(self.gpu_count, self.gpu_type.gpus_per_server)
            if finding:
                errors["gpu_count"] = message(finding)
        if isinstance(self.months, Decimal):
            finding = rules.check_months(float(self.months))
            if finding:
                errors["months"] = message(finding)
        if errors:
            raise ValidationError(errors)

    def effective_price(self) -> Decimal:
        """Price per GPU-hour in the program's currency: the override, else the catalog's."""
        if self.price_per_gpu_hour is not None:
            return self.price_per_gpu_hour
        return self.gpu_type.price(self.scenario.program.currency)


class TeamLine(BaseModel):
    """People in one role: headcount, monthly cost per person, allocation, dates."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="team_lines")
    role = models.ForeignKey(
        RoleTemplate, on_delete=models.PROTECT, related_name="+", verbose_name=_("role")
    )
    headcount = models.DecimalField(
        _("headcount"),
        max_digits=6,
        decimal_places=1,
        default=Decimal(1),
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(Decimal(10_000))],
    )
    monthly_cost = models.DecimalField(
        _("monthly cost per person"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("Empty: the role template's salary."),
    )
    allocation_pct = models.PositiveSmallIntegerField(
        _("allocation %"), default=100, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    start_date = models.DateField(_("start"), null=True, blank=True)
    end_date = models.DateField(_("end"), null=True, blank=True)

    class Meta:
        ordering = ["role__sort_order", "id"]

    def __str__(self) -> str:
        return f"{self.headcount} × {self.role}"

    def clean(self) -> None:
        if not (isinstance(self.start_date, dt.date) and isinstance(self.end_date, dt.date)):
            return
        finding = rules.check_dates(self.start_date, self.end_date)
        if finding:
            raise ValidationError({"end_date": message(finding)})

    def effective_monthly_cost(self) -> Decimal:
        if self.monthly_cost is not None:
            return self.monthly_cost
        program = self.scenario.program
        return self.role.monthly_cost(program.currency, program.usd_to_cny)


class Dataset(BaseModel):
    """One line of the data inventory (the fields of the core's ``Dataset``)."""

    class Language(models.TextChoices):
        EN = "en", _("English")
        ZH = "zh", _("Chinese")
        MULTI = "multi", _("Multilingual")
        CODE = "code", _("Code")

    class Kind(models.TextChoices):
        GENERAL = "general", _("General")
        DOMAIN = "domain", _("Domain")

    class Source(models.TextChoices):
        WEB = "web", _("Web")
        BOOKS = "books", _("Books")
        PAPERS = "papers", _("Papers")
        CODE = "code", _("Code")
        QA = "qa", _("Q&A")
        INSTRUCTIONS = "instructions", _("Instructions")
        PREFERENCE = "preference", _("Preference pairs")
        OTHER = "other", _("Other")

    class Licence(models.TextChoices):
        CLEARED = "cleared", _("Cleared")
        UNKNOWN = "unknown", _("Unknown")
        RESTRICTED = "restricted", _("Restricted")

    class Quality(models.TextChoices):
        HIGH = "high", _("High")
        MEDIUM = "medium", _("Medium")
        LOW = "low", _("Low")

    class Cleaning(models.TextChoices):
        RAW = "raw", _("Raw")
        CLEANED = "cleaned", _("Cleaned")
        DEDUPLICATED = "deduplicated", _("Deduplicated")

    class Stage(models.TextChoices):
        PRETRAIN = "pretrain", _("Pretraining")
        CPT = "cpt", _("Continued pretraining")
        SFT = "sft", _("SFT")
        RLHF = "rlhf", _("RLHF / DPO")
        RAG = "rag", _("RAG knowledge base")

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(_("dataset"), max_length=200)
    tokens = models.BigIntegerField(
        _("tokens"), validators=[MinValueValidator(1), MaxValueValidator(10**16)]
    )
    language = models.CharField(
        _("language"), max_length=5, choices=Language.choices, default=Language.EN
    )
    kind = models.CharField(
        _("general or domain"), max_length=10, choices=Kind.choices, default=Kind.GENERAL
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default="web")
    licence = models.CharField(
        _("licence"), max_length=10, choices=Licence.choices, default=Licence.UNKNOWN
    )
    quality = models.CharField(
        _("quality"), max_length=10, choices=Quality.choices, default=Quality.MEDIUM
    )
    cleaning = models.CharField(
        _("cleaning / dedup"), max_length=15, choices=Cleaning.choices, default=Cleaning.RAW
    )
    cost = models.DecimalField(
        _("acquisition or labelling cost"),
        max_digits=14,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0))],
    )
    stage = models.CharField(
        _("feeds stage"), max_length=10, choices=Stage.choices, default=Stage.PRETRAIN
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class ScenarioActivity(BaseModel):
    """One change to a scenario: who, when, what (``changes``: ``[{field, old, new}]``)."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="activities")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    action = models.CharField(max_length=40)
    summary = models.CharField(max_length=300)
    changes = models.JSONField(default=list, blank=True)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "scenario activities"

    def __str__(self) -> str:
        return f"{self.action}: {self.summary}"

"""The catalogs: GPU types and prices, role templates with salaries, model presets."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.models import BaseModel
from apps.programs import rules

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

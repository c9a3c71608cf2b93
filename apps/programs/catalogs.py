"""Seed the catalogs (GPU types, role templates, model presets) from the simulation core.

``catalogs_seed`` runs after every ``migrate`` (``apps.ProgramsConfig.ready``) and adds what is
missing; it never changes a row that exists, so prices edited in the admin stay. To add a role
template, append to ``ROLE_TEMPLATES`` (or add it in the admin): give it the core role it is
costed as.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext_noop

from apps.programs.models import GPUType, ModelPreset, RoleTemplate
from llmplanner.simulation.architecture import PRESETS
from llmplanner.simulation.hardware import CATALOG
from llmplanner.simulation.planspec import DEFAULT_MONTHLY_CNY

SALARY_SOURCE = "vertical-LLM survey 2023 (China, monthly)"
ESTIMATE_SOURCE = "estimate against vertical-LLM survey 2023"

# (key, English name, core role, monthly CNY, default headcount, guidance, source)
ROLE_TEMPLATES: tuple[tuple[str, str, str, int, str, str, str], ...] = (
    (
        "data_engineer",
        gettext_noop("Data engineer"),
        "data_engineer",
        DEFAULT_MONTHLY_CNY["data_engineer"],
        "2",
        gettext_noop("Collection, cleaning, dedup of pretraining, instruction and preference data"),
        SALARY_SOURCE + ": AI engineer ≈ 37,336",
    ),
    (
        "legal",
        gettext_noop("Legal / licensing"),
        "legal",
        DEFAULT_MONTHLY_CNY["legal"],
        "0.5",
        gettext_noop("A little legal: licence review of every data source"),
        ESTIMATE_SOURCE,
    ),
    (
        "algorithm_researcher",
        gettext_noop("Algorithm researcher"),
        "algorithm_researcher",
        DEFAULT_MONTHLY_CNY["algorithm_researcher"],
        "3",
        gettext_noop("Architecture and hyper-parameters; ≤ 10 people"),
        SALARY_SOURCE + ": LLM algorithm ≈ 39,607",
    ),
    (
        "distributed_training_engineer",
        gettext_noop("Distributed-training engineer"),
        "distributed_training_engineer",
        DEFAULT_MONTHLY_CNY["distributed_training_engineer"],
        "2",
        gettext_noop("Training framework and cluster; 4–5 suffice"),
        SALARY_SOURCE + ": LLM algorithm ≈ 39,607",
    ),
    (
        "ai_operations",
        gettext_noop("AI operations"),
        "distributed_training_engineer",
        18_457,
        "1",
        gettext_noop("Cluster operations: burn-in, failed cards, storage"),
        SALARY_SOURCE + ": AI operations ≈ 18,457",
    ),
    (
        "run_watcher",
        gettext_noop("Run watcher"),
        "run_watcher",
        DEFAULT_MONTHLY_CNY["run_watcher"],
        "1",
        gettext_noop("Watches loss curves, decides rollbacks; needs algorithm and engineering"),
        SALARY_SOURCE + ": AI engineer ≈ 37,336",
    ),
    (
        "frontend",
        gettext_noop("Front-end engineer"),
        "frontend",
        DEFAULT_MONTHLY_CNY["frontend"],
        "1",
        gettext_noop("Data tools and annotation UIs; 1–2 people"),
        ESTIMATE_SOURCE,
    ),
    (
        "backend",
        gettext_noop("Back-end engineer"),
        "backend",
        DEFAULT_MONTHLY_CNY["backend"],
        "1",
        gettext_noop("Data pipelines, serving; 1–2 people"),
        ESTIMATE_SOURCE,
    ),
    (
        "product_manager",
        gettext_noop("Product / program manager"),
        "product_manager",
        DEFAULT_MONTHLY_CNY["product_manager"],
        "1",
        gettext_noop("Scope, gates, evaluation plan"),
        ESTIMATE_SOURCE,
    ),
)


@transaction.atomic
def catalogs_seed() -> dict[str, int]:
    """Create the catalog rows that are missing; return how many of each were created.

    A GPU type that exists keeps its name, prices and order (an admin may have edited them) but
    takes the formats its tensor cores run from the core, which learns new ones (MXFP8, NVFP4…).
    """
    created = {"gpu_types": 0, "role_templates": 0, "model_presets": 0}
    for order, gpu in enumerate(CATALOG):
        precisions = sorted(p for p, tflops in gpu.peak_tflops.items() if tflops)
        row, new = GPUType.objects.get_or_create(
            key=gpu.key,
            defaults={
                "name": gpu.name,
                "vendor": gpu.vendor,
                "memory_gib": round(gpu.memory_gib, 1),
                "gpus_per_server": gpu.gpus_per_server,
                "price_cny_per_gpu_hour": Decimal(str(gpu.price_cny_per_gpu_hour)),
                "price_usd_per_gpu_hour": Decimal(str(gpu.price_usd_per_gpu_hour)),
                "precisions": precisions,
                "sort_order": order,
            },
        )
        if not new and row.precisions != precisions:
            GPUType.objects.filter(pk=row.pk).update(precisions=precisions)
        created["gpu_types"] += new
    for order, (key, name, core_role, monthly, headcount, guidance, source) in enumerate(
        ROLE_TEMPLATES
    ):
        _, new = RoleTemplate.objects.get_or_create(
            key=key,
            defaults={
                "name": name,
                "core_role": core_role,
                "monthly_cost_cny": Decimal(monthly),
                "default_headcount": Decimal(headcount),
                "guidance": guidance,
                "source": source,
                "sort_order": order,
            },
        )
        created["role_templates"] += new
    for order, (key, spec) in enumerate(PRESETS.items()):
        _, new = ModelPreset.objects.get_or_create(
            key=key,
            defaults={
                "name": spec.name,
                "params": spec.total_params(),
                "active_params": spec.active_params(),
                "layers": spec.layers,
                "hidden": spec.hidden,
                "heads": spec.heads,
                "ffn_hidden": spec.ffn_hidden,
                "kv_heads": spec.kv_heads,
                "vocab": spec.vocab,
                "seq_len": spec.seq_len,
                "gated_mlp": spec.gated_mlp,
                "sort_order": order,
            },
        )
        created["model_presets"] += new
    return created

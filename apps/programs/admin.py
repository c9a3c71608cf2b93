"""Admin for the catalogs (GPU types and prices, role templates with salaries, model presets);
programs and scenarios are listed read-mostly, for support."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from apps.programs.models import (
    Dataset,
    GPUBudgetLine,
    GPUType,
    ModelPreset,
    Program,
    RoleTemplate,
    Scenario,
    ScenarioActivity,
    TeamLine,
)


@admin.register(GPUType)
class GPUTypeAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "key",
        "vendor",
        "memory_gib",
        "price_cny_per_gpu_hour",
        "price_usd_per_gpu_hour",
        "is_active",
        "sort_order",
    ]
    list_editable = ["price_cny_per_gpu_hour", "price_usd_per_gpu_hour", "is_active", "sort_order"]
    search_fields = ["name", "key"]
    readonly_fields = ["core_figures"]

    @admin.display(description=_("Figures of the simulation core"))
    def core_figures(self, obj: GPUType) -> str:
        """What the core plans this part with (``llmplanner/simulation/hardware.py``, where each
        figure cites its datasheet): dense peaks, memory, the scale-up domain and link."""
        from llmplanner.simulation.errors import ValidationError as CoreValidationError
        from llmplanner.simulation.hardware import gpu_by_name

        try:
            gpu = gpu_by_name(obj.key, "key")
        except CoreValidationError:
            return "—"
        peaks = ", ".join(f"{p} {t:,.0f}" for p, t in gpu.peak_tflops.items() if t)
        return (
            f"{peaks} TFLOP/s dense; {gpu.memory_gib:.0f} GiB at {gpu.hbm_tbps:g} TB/s; "
            f"scale-up {gpu.domain} GPUs over {gpu.scaleup_link} at "
            f"{gpu.scaleup_gbps_bidir:,.0f} GB/s (both ways); "
            f"scale-out {gpu.scaleout_gbit_per_gpu:g} Gb/s per GPU; {gpu.tdp_w:,.0f} W"
        )


@admin.register(RoleTemplate)
class RoleTemplateAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "key",
        "core_role",
        "monthly_cost_cny",
        "default_headcount",
        "is_active",
    ]
    list_editable = ["monthly_cost_cny", "default_headcount", "is_active"]
    search_fields = ["name", "key"]


@admin.register(ModelPreset)
class ModelPresetAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "params", "active_params", "layers", "hidden", "is_active"]
    list_editable = ["is_active"]
    search_fields = ["name", "key"]


class BudgetLineInline(admin.TabularInline):
    model = GPUBudgetLine
    extra = 0


class TeamLineInline(admin.TabularInline):
    model = TeamLine
    extra = 0


class DatasetInline(admin.TabularInline):
    model = Dataset
    extra = 0


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "currency", "deadline", "archived_at", "updated_at"]
    list_filter = ["currency", "organization"]
    search_fields = ["name"]
    # Here a new currency would relabel every amount; the program's edit page converts them.
    readonly_fields = ["currency"]


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ["name", "program", "strategy", "is_baseline", "version", "updated_at"]
    list_filter = ["strategy"]
    search_fields = ["name", "program__name"]
    readonly_fields = ["version"]
    inlines = [BudgetLineInline, TeamLineInline, DatasetInline]


@admin.register(ScenarioActivity)
class ScenarioActivityAdmin(admin.ModelAdmin):
    list_display = ["created_at", "scenario", "actor", "action", "summary"]
    readonly_fields = ["scenario", "actor", "action", "summary", "changes", "version"]

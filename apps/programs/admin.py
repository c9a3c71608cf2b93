"""Admin for the catalogs (GPU types and prices, role templates with salaries, model presets);
programs and scenarios are listed read-mostly, for support."""

from django.contrib import admin

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

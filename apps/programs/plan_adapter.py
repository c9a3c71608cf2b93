"""The one boundary between a scenario's rows and the simulation core's plan format.

``scenario_to_plan_dict(scenario)`` returns the whole-program plan JSON documented in
``llmplanner.simulation.planspec`` (``parse_plan`` accepts it); ``scenario_plan(scenario)`` parses
it. Views, tasks and serializers never build core types themselves — they call these.

Mapping (money stays in the program's currency; fractions are 0–1):

- program → ``currency``, ``usd_to_cny``, ``budget_cap``; its deadline minus the scenario's start
  date → ``deadline_days``; the scenario's contingency % → ``contingency``;
- strategy and chain → ``strategy``, ``sft`` (when SFT is the strategy or chained), ``rlhf``
  (method ``none`` unless chained), ``serving`` (RAG/ICL or when chained), ``rag``;
- model preset → ``model.preset`` (a preset the core does not know → its explicit shape); custom
  size → ``model.params_b``; custom shape → ``model.layers``, ``hidden``, …;
- **GPU budget lines → ``clusters``, one pool per line, every field**: purpose (training → main,
  experiments, sft → finetune, serving, other), provider → ``name``, GPU key, count, rent/buy,
  price (the line's override, else the catalog price in the admin — always passed, so admin prices
  win over the core's), start date, months, delivery risk (→ ``provider_class``), reliability
  class and checkpoint bandwidth. The core pays each pool for its window and runs each stage on
  the pool of its purpose. ``main_budget_line`` is the line the core treats as the plan's own
  pool (``planspec.main_pool_index``). An ``sft`` line's GPU count → ``sft.gpu_count``; a
  ``serving`` line's → ``serving.gpus``. No line at all → no pool (the core's default, 8 × H100).
- team lines → ``team`` (role template → its core role; empty cost → the template's salary;
  allocation % → fraction; start and end dates); datasets → ``data`` field by field, ready date
  included.
- the organization's own calibration (``apps.tracking.calibration``), when an owner switched it
  on and it is fitted on at least one completed run → ``calibration`` (``plan_calibration`` of
  the fit); otherwise no section: the published calibration. Part of the inputs, hence of the
  input hash: a run on the organization's factors never reuses one on the published ones.

``LINE_FIELDS`` names, per line model, the fields passed on and the ones deliberately not
(bookkeeping); a test fails when a model gains a field that is in neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from apps.accounts.models import Organization
from apps.programs.documents import LINE_FIELDS as DOCUMENT_LINE_FIELDS
from apps.programs.models import GPUBudgetLine, Purpose, Scenario, Strategy, TeamLine
from llmplanner.simulation.architecture import PRESETS
from llmplanner.simulation.own_calibration import plan_calibration
from llmplanner.simulation.planspec import PlanSpec, main_pool_index, parse_plan

POOL_PURPOSE = {
    Purpose.TRAINING: "main",
    Purpose.EXPERIMENTS: "experiments",
    Purpose.SFT: "finetune",
    Purpose.SERVING: "serving",
    Purpose.OTHER: "other",
}
# Per line model: (the fields passed to the core — every field a scenario document carries,
# ``documents.LINE_FIELDS`` — and the bookkeeping ones that are not).
_BOOKKEEPING = ("id", "created_at", "updated_at", "scenario")
LINE_FIELDS: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {
    model: (names, _BOOKKEEPING) for model, names in DOCUMENT_LINE_FIELDS.values()
}


def main_budget_line(
    scenario: Scenario, lines: Iterable[GPUBudgetLine] | None = None
) -> GPUBudgetLine | None:
    """The budget line the core treats as the plan's own pool (see the module docstring)."""
    lines = sorted(
        scenario.budget_lines.all() if lines is None else lines, key=lambda line: line.pk or 0
    )
    if not lines:
        return None
    index = main_pool_index(
        scenario.strategy,
        [POOL_PURPOSE[Purpose(line.purpose)] for line in lines],
        [line.gpu_count for line in lines],
    )
    return lines[index]


def _pool(line: GPUBudgetLine, currency: str) -> dict[str, Any]:
    pool: dict[str, Any] = {
        "purpose": POOL_PURPOSE[Purpose(line.purpose)],
        "name": line.provider,
        "gpu_type": line.gpu_type.key,
        "gpu_count": line.gpu_count,
        "mode": line.mode,
        "price_per_gpu_hour": float(
            line.price_per_gpu_hour
            if line.price_per_gpu_hour is not None
            else line.gpu_type.price(currency)
        ),
        "months": float(line.months),
        "reliability_class": line.reliability_class,
        "provider_class": line.delivery_risk,
        "checkpoint_storage_gbps": line.checkpoint_storage_gbps,
    }
    if line.start_date:
        pool["start_date"] = line.start_date.isoformat()
    return pool


def _largest(lines: list[GPUBudgetLine], purpose: str) -> GPUBudgetLine | None:
    of_purpose = [line for line in lines if line.purpose == purpose]
    return max(of_purpose, key=lambda line: line.gpu_count) if of_purpose else None


def _model(scenario: Scenario) -> dict[str, Any] | None:
    preset = scenario.model_preset
    if preset is not None:
        if preset.key in PRESETS:
            model: dict[str, Any] = {"preset": preset.key}
        else:
            model = {
                "name": preset.name,
                "layers": preset.layers,
                "hidden": preset.hidden,
                "heads": preset.heads,
                "ffn_hidden": preset.ffn_hidden,
                "kv_heads": preset.kv_heads,
                "vocab": preset.vocab,
                "seq_len": preset.seq_len,
                "gated_mlp": preset.gated_mlp,
            }
        return model
    if scenario.custom_layers and scenario.custom_hidden and scenario.custom_heads:
        model = {
            "name": scenario.name,
            "layers": scenario.custom_layers,
            "hidden": scenario.custom_hidden,
            "heads": scenario.custom_heads,
        }
        for key in ("ffn_hidden", "kv_heads", "vocab"):
            value = getattr(scenario, f"custom_{key}")
            if value:
                model[key] = value
        return model
    if scenario.custom_params_b:
        return {"params_b": scenario.custom_params_b}
    return None


def scenario_to_plan_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as the core's whole-program plan JSON (a fresh, JSON-serialisable dict)."""
    program = scenario.program
    currency = program.currency
    lines = list(scenario.budget_lines.select_related("gpu_type"))
    plan: dict[str, Any] = {
        "name": f"{program.name} — {scenario.name}",
        "strategy": scenario.strategy,
        "currency": currency,
        "usd_to_cny": float(program.usd_to_cny),
        "contingency": float(scenario.contingency_pct) / 100,
        "full_runs": scenario.full_runs,
    }
    if scenario.start_date:
        plan["start_date"] = scenario.start_date.isoformat()
        if program.deadline and program.deadline > scenario.start_date:
            plan["deadline_days"] = (program.deadline - scenario.start_date).days
    elif program.deadline:
        # No start date: the core starts the plan on its earliest dated pool or team start;
        # the deadline is passed as a date so it is measured from there.
        starts = [line.start_date for line in lines if line.start_date] + [
            line.start_date for line in scenario.team_lines.all() if line.start_date
        ]
        if starts and program.deadline > min(starts):
            plan["deadline"] = program.deadline.isoformat()
    if program.budget_cap:
        plan["budget_cap"] = float(program.budget_cap)

    model = _model(scenario)
    if model is not None:
        plan["model"] = model
    training: dict[str, Any] = {
        "tokens": float(scenario.training_tokens),
        "precision": scenario.precision,
        "global_batch_tokens": float(scenario.global_batch_tokens),
    }
    if scenario.seq_len and model is not None:
        training["seq_len"] = scenario.seq_len
    plan["training"] = training

    if lines:
        plan["clusters"] = [_pool(line, currency) for line in sorted(lines, key=lambda x: x.pk)]
    if scenario.strategy == Strategy.FROM_SCRATCH and scenario.ladder is not None:
        plan["ladder"] = [float(size) for size in scenario.ladder]

    if scenario.includes_sft:
        sft: dict[str, Any] = {
            "samples": scenario.sft_samples,
            "tokens_per_sample": scenario.sft_tokens_per_sample,
            "epochs": scenario.sft_epochs,
            "runs": scenario.sft_runs,
            "cost_per_sample": float(scenario.sft_cost_per_sample),
        }
        sft_line = _largest(lines, Purpose.SFT)
        if sft_line is not None:
            sft["gpu_count"] = sft_line.gpu_count
        plan["sft"] = sft
    plan["rlhf"] = {
        "method": scenario.rlhf_method if scenario.includes_rlhf else "none",
        "preference_pairs": scenario.rlhf_preference_pairs,
    }
    if scenario.includes_serving:
        serving: dict[str, Any] = {
            "requests_per_day": scenario.serving_requests_per_day,
            "tokens_per_request": scenario.serving_tokens_per_request,
            "months": scenario.serving_months,
            "price_per_million_tokens": float(scenario.serving_price_per_million_tokens),
        }
        serving_line = _largest(lines, Purpose.SERVING)
        if serving_line is not None:
            serving["gpus"] = serving_line.gpu_count
        plan["serving"] = serving
    if scenario.includes_rag:
        plan["rag"] = {
            "corpus_tokens": float(scenario.rag_corpus_tokens),
            "embedding_price_per_million_tokens": float(
                scenario.rag_embedding_price_per_million_tokens
            ),
            "vector_db_monthly": float(scenario.rag_vector_db_monthly),
        }

    calibration = _own_calibration(program.organization_id)
    if calibration is not None:
        plan["calibration"] = calibration

    plan["team"] = [_team_line(line) for line in scenario.team_lines.select_related("role")]
    plan["data"] = [
        {
            "name": d.name,
            "tokens": float(d.tokens),
            "language": d.language,
            "kind": d.kind,
            "source": d.source,
            "licence": d.licence,
            "quality": d.quality,
            "cleaning": d.cleaning,
            "cost": float(d.cost),
            "stage": d.stage,
            **({"ready_date": d.ready_date.isoformat()} if d.ready_date else {}),
        }
        for d in scenario.datasets.all()
    ]
    return plan


def _own_calibration(organization_id: int) -> dict[str, Any] | None:
    """The plan's ``calibration`` section when the organization uses its own fit, else None.
    Read through the reverse relation (programs sits below tracking and does not import it),
    fresh on every call: a switch takes effect on the next run."""
    row = (
        Organization.objects.filter(pk=organization_id, own_calibration__enabled=True)
        .values_list("own_calibration__fitted", flat=True)
        .first()
    )
    if not row or int(row.get("runs", 0)) < 1:
        return None
    return plan_calibration(row)


def _team_line(line: TeamLine) -> dict[str, Any]:
    row: dict[str, Any] = {
        "role": line.role.core_role,
        "headcount": float(line.headcount),
        "monthly_cost": float(line.effective_monthly_cost()),
        "allocation": line.allocation_pct / 100,
    }
    if line.start_date:
        row["start_date"] = line.start_date.isoformat()
    if line.end_date:
        row["end_date"] = line.end_date.isoformat()
    return row


def scenario_plan(scenario: Scenario) -> PlanSpec:
    """The scenario parsed by the core; raises the core's ``ValidationError`` naming a field."""
    return parse_plan(scenario_to_plan_dict(scenario))


def model_params(scenario: Scenario) -> tuple[int, int] | None:
    """(total, active) parameters of the scenario's target model, or None without one."""
    from llmplanner.simulation.config import parse_model
    from llmplanner.simulation.errors import ValidationError

    model = _model(scenario)
    if model is None:
        return None
    try:
        spec = parse_model(model)
    except ValidationError:
        return None
    return spec.total_params(), spec.active_params()


def chinchilla_tokens(scenario: Scenario) -> float | None:
    """Compute-optimal tokens for the target model: 20 per (active) parameter (Hoffmann 2022)."""
    params = model_params(scenario)
    return 20.0 * params[1] if params else None

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
- **GPU budget lines → ``cluster``: the core plans one training cluster, so the adapter picks the
  main line** — the line whose purpose matches the strategy's training (``training`` for from
  scratch/CPT, ``sft`` for SFT, ``serving`` for RAG/ICL), then ``training``, ``experiments``,
  ``sft``, ``other``, ``serving`` in that order; among lines of one purpose the one with the most
  GPUs, then the oldest. Its GPU key, count, rent/buy, price (the line's override, else the
  catalog price in the admin — always passed, so admin prices win over the core's), reliability
  class, delivery risk (→ ``provider_class``) and checkpoint bandwidth go into ``cluster``.
  An ``sft`` line's GPU count → ``sft.gpu_count``; a ``serving`` line's → ``serving.gpus``.
  No line at all → no ``cluster`` (the core's default, 8 × H100).
- team lines → ``team`` (role template → its core role; empty cost → the template's salary;
  allocation % → fraction); datasets → ``data`` field by field.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from apps.programs.models import GPUBudgetLine, Purpose, Scenario, Strategy
from llmplanner.simulation.architecture import PRESETS
from llmplanner.simulation.planspec import PlanSpec, parse_plan

_MAIN_PURPOSE = {
    Strategy.FROM_SCRATCH: Purpose.TRAINING,
    Strategy.CPT: Purpose.TRAINING,
    Strategy.SFT: Purpose.SFT,
    Strategy.RAG: Purpose.SERVING,
    Strategy.ICL: Purpose.SERVING,
}
_FALLBACK_ORDER = [
    Purpose.TRAINING,
    Purpose.EXPERIMENTS,
    Purpose.SFT,
    Purpose.OTHER,
    Purpose.SERVING,
]


def main_budget_line(
    scenario: Scenario, lines: Iterable[GPUBudgetLine] | None = None
) -> GPUBudgetLine | None:
    """The budget line that becomes the plan's ``cluster`` (see the module docstring)."""
    lines = list(scenario.budget_lines.all() if lines is None else lines)
    if not lines:
        return None
    order = [_MAIN_PURPOSE[Strategy(scenario.strategy)], *_FALLBACK_ORDER]
    return min(lines, key=lambda line: (order.index(line.purpose), -line.gpu_count, line.pk or 0))


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

    main = main_budget_line(scenario, lines)
    if main is not None:
        plan["cluster"] = {
            "gpu_type": main.gpu_type.key,
            "gpu_count": main.gpu_count,
            "mode": main.mode,
            "price_per_gpu_hour": float(
                main.price_per_gpu_hour
                if main.price_per_gpu_hour is not None
                else main.gpu_type.price(currency)
            ),
            "reliability_class": main.reliability_class,
            "provider_class": main.delivery_risk,
            "checkpoint_storage_gbps": main.checkpoint_storage_gbps,
        }
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

    plan["team"] = [
        {
            "role": line.role.core_role,
            "headcount": float(line.headcount),
            "monthly_cost": float(line.effective_monthly_cost()),
            "allocation": line.allocation_pct / 100,
        }
        for line in scenario.team_lines.select_related("role")
    ]
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
        }
        for d in scenario.datasets.all()
    ]
    return plan


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

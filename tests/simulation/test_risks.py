"""Data checks, milestones and the risk register: sourced rules, Monte Carlo likelihoods."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from llmplanner.simulation.planspec import parse_plan
from llmplanner.simulation.program import simulate_program
from llmplanner.simulation.report import report, run_plan
from llmplanner.simulation.risks import chinchilla_loss, data_checks, milestones, risk_register

from .conftest import EXAMPLES


def load(name: str) -> dict:
    return json.loads((EXAMPLES / f"plan-{name}.json").read_text())


def codes(items) -> dict:
    return {i.code: i for i in items}


def test_chinchilla_loss_matches_the_fitted_formula():
    # Hoffmann et al. 2022: L(N, D) = 1.69 + 406.4/N^0.34 + 410.7/D^0.28; Chinchilla ≈ 1.94.
    assert chinchilla_loss(70e9, 1.4e12) == pytest.approx(1.94, abs=0.02)


def test_cpt_domain_share_above_15_percent_is_flagged_with_its_source():
    data = load("cpt-7b-domain")
    data["data"][2]["tokens"] = 2.25e10  # general replay down: domain becomes 40% of the mix
    found = codes(data_checks(parse_plan(data)))["cpt_domain_share"]
    assert found.level == "warning" and "40%" in found.message
    assert "15%" in found.rule and found.source == "vertical-LLM survey 2023"
    risks = codes(risk_register(simulate_program(parse_plan(data), 200, 1)))
    assert "cpt_domain_share" in risks
    assert risks["cpt_domain_share"].source == f"{found.rule} (vertical-LLM survey 2023)"


def test_the_domain_share_of_the_example_cpt_plan_passes():
    assert codes(data_checks(parse_plan(load("cpt-7b-domain"))))["cpt_domain_share"].level == "ok"


def test_too_few_tokens_and_too_many_epochs_are_flagged():
    data = load("from-scratch-7b")
    data["training"]["tokens"] = 1e11  # 15 tokens per parameter
    checks = codes(data_checks(parse_plan(data)))
    assert (
        checks["tokens_per_parameter"].level == "warning"
        and "Chinchilla" in checks["tokens_per_parameter"].source
    )
    data["training"]["tokens"] = 1.5e13  # 7 epochs over 2.1T
    checks = codes(data_checks(parse_plan(data)))
    assert checks["epochs"].level == "warning" and "Muennighoff" in checks["epochs"].source


def test_one_to_one_domain_pretraining_is_flagged():
    data = load("from-scratch-7b")
    data["data"].append(
        {"name": "Finance", "tokens": 2.1e12, "kind": "domain", "licence": "cleared"}
    )
    assert codes(data_checks(parse_plan(data)))["pretrain_1to1"].source == (
        "vertical-LLM survey 2023"
    )


def test_unknown_licences_and_chinese_web_are_flagged():
    data = load("cpt-7b-domain")
    data["data"] = [
        {"name": "zh web", "tokens": 1e11, "language": "zh", "source": "web", "stage": "cpt"}
    ]
    checks = codes(data_checks(parse_plan(data)))
    assert checks["licences"].level == "warning" and "zh web" in checks["licences"].message
    assert checks["chinese_knowledge"].source == "OneMoreAI 2023"


def test_deadline_and_budget_likelihoods_come_from_the_monte_carlo():
    data = load("gpt3-175b")
    result = simulate_program(parse_plan(data), 500, 2)
    p50 = float(np.median(result.finish_days))
    data["deadline_days"] = p50
    data["budget_cap"] = float(np.median(result.total_cost))
    result = simulate_program(parse_plan(data), 500, 2)
    risks = codes(risk_register(result))
    assert risks["deadline_miss"].likelihood == pytest.approx(np.mean(result.finish_days > p50))
    assert 0.4 <= risks["deadline_miss"].likelihood <= 0.6
    assert risks["deadline_miss"].likelihood_from == "monte carlo"
    assert 0.4 <= risks["budget_overrun"].likelihood <= 0.6


def test_team_rules_flag_missing_roles_and_fp16_without_a_watcher():
    data = load("from-scratch-7b")
    data["team"] = [{"role": "algorithm_researcher", "headcount": 12}]
    data["training"]["precision"] = "fp16"
    risks = codes(risk_register(simulate_program(parse_plan(data), 200, 1)))
    assert {"team_too_large", "no_distributed_engineer", "no_run_watcher"} <= set(risks)
    assert "FP16" in risks["loss_divergence"].title


def test_a800_plans_carry_the_interconnect_risk():
    risks = codes(risk_register(simulate_program(parse_plan(load("gpt3-175b")), 200, 1)))
    assert "china_interconnect" in risks and "400" in risks["china_interconnect"].title


def test_risks_are_sorted_and_each_has_an_owner_mitigation_and_source():
    risks = risk_register(simulate_program(parse_plan(load("from-scratch-7b")), 300, 1))
    assert risks
    assert [r.score for r in risks] == sorted((r.score for r in risks), reverse=True)
    for r in risks:
        assert (
            0 <= r.likelihood <= 1 and r.owner and r.mitigation and r.source and r.impact_days >= 0
        )


def test_main_run_gates_at_quarter_tokens_with_scaling_law_losses():
    result = simulate_program(parse_plan(load("from-scratch-7b")), 300, 1)
    gates = [m for m in milestones(result) if m.name.startswith("Main run")]
    assert [g.name for g in gates] == [f"Main run {p}% of tokens" for p in (25, 50, 75, 100)]
    assert all(g.p50_day <= g.p90_day for g in gates)
    assert [g.p50_day for g in gates] == sorted(g.p50_day for g in gates)
    assert all("scaling law" in g.criterion for g in gates)
    names = {m.name: m for m in milestones(result)}
    assert "restore-from-checkpoint drill" in names["Burn-in passed"].criterion
    assert "licence review" in names["Data ready"].criterion


def test_the_report_is_json_with_dates_and_monthly_p50_p90():
    out = run_plan(load("from-scratch-7b"), trials=300, seed=1)
    text = json.dumps(out)  # no numpy types, no NaN
    assert "NaN" not in text
    assert out["totals"]["finish_date_p50"].startswith("2027-")
    months = out["monthly"]
    assert len(months["labels"]) == len(months["p50"]) == len(months["total_p90"])
    assert all(len(row) == len(months["categories"]) for row in months["p50"])
    assert all(a <= b + 1e-6 for a, b in zip(months["total_p50"], months["total_p90"], strict=True))
    assert out["main_run"]["goodput"]["effective_training_time"]["p50"] <= 1
    assert sum(out["histograms"]["finish_days"]["counts"]) == 300


def test_the_report_of_every_example_plan_serialises():
    paths = sorted(EXAMPLES.glob("plan-*.json"))
    assert len(paths) >= 6, paths
    for path in paths:
        data = json.loads(path.read_text())
        out = report(simulate_program(parse_plan(copy.deepcopy(data)), 100, 0))
        text = json.dumps(out, allow_nan=False)  # no numpy types, no NaN or infinity
        assert sum(json.loads(text)["histograms"]["finish_days"]["counts"]) == 100, path.name


def _with_storage(gbps: float, checkpoint: str = "sync") -> dict:
    data = load("from-scratch-7b")
    for cluster in data.get("clusters") or [data["cluster"]]:
        cluster["checkpoint_storage_gbps"] = gbps
        cluster["checkpoint"] = checkpoint
    return data


def test_slow_checkpoints_are_a_risk_and_quick_ones_are_not_listed():
    # A 7B model's checkpoint with Adam state is ~16 bytes × 7e9 ≈ 110 GB (OneMoreAI 2023 counts
    # 2–3 TB for the largest runs): at 0.1 GB/s a save takes ~19 min — a register entry at 0.8;
    # at 200 GB/s it takes half a second and costs well under 1% of the run: not a risk a manager
    # should have to read ("Checkpoint saves take 0.0 min" at 10% was one).
    slow = codes(risk_register(simulate_program(parse_plan(_with_storage(0.1)), 200, 1)))
    assert slow["checkpoint_io"].likelihood == 0.8
    assert float(slow["checkpoint_io"].title_params["minutes"]) > 10
    quick = codes(risk_register(simulate_program(parse_plan(_with_storage(200.0)), 200, 1)))
    assert "checkpoint_io" not in quick
    assert {"failures_at_scale", "loss_divergence"} <= set(quick)

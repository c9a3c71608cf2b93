"""The Django-free domain rules: thresholds, sources, and the plan dict they read."""

import ast
import datetime as dt
import sys
from pathlib import Path

import pytest

from apps.programs import rules

RULES_FILE = Path(rules.__file__)


def plan(**overrides):
    base = {
        "strategy": "cpt",
        "training": {"tokens": 100e9, "precision": "bf16"},
        "cluster": {"gpu_count": 64},
        "team": [{"role": "legal", "headcount": 1}, {"role": "run_watcher", "headcount": 1}],
        "data": [],
    }
    base.update(overrides)
    return base


def data(stage, domain, general):
    return [
        {"name": "d", "tokens": domain, "kind": "domain", "stage": stage, "licence": "cleared"},
        {"name": "g", "tokens": general, "kind": "general", "stage": stage, "licence": "cleared"},
    ]


def fired(found):
    return {f.rule for f in found}


def test_it_imports_only_the_standard_library():
    tree = ast.parse(RULES_FILE.read_text())
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    assert modules <= set(sys.stdlib_module_names)


def test_it_warns_when_cpt_domain_share_exceeds_15_percent_and_names_the_source():
    found = rules.check_plan(plan(data=data("cpt", 40e9, 60e9)))
    [finding] = [f for f in found if f.rule == "cpt_domain_share"]
    assert finding.severity == "warning"
    assert finding.path == "data.cpt"
    assert finding.message == (
        "CPT domain share 40% exceeds the ≤ 15% rule "
        "(vertical-LLM survey 2023: every 100B domain tokens need 700–1000B general)"
    )


def test_it_accepts_a_cpt_mix_at_12_percent_domain():
    assert "cpt_domain_share" not in fired(rules.check_plan(plan(data=data("cpt", 12e9, 88e9))))


def test_it_warns_about_a_1_to_1_pretraining_mix():
    found = rules.check_plan(plan(strategy="from_scratch", data=data("pretrain", 1e12, 1e12)))
    assert "pretrain_domain_share" in fired(found)


def test_it_tolerates_sft_at_1_to_1_but_not_beyond():
    assert "sft_domain_share" not in fired(rules.check_plan(plan(data=data("sft", 5e6, 5e6))))
    assert "sft_domain_share" in fired(rules.check_plan(plan(data=data("sft", 7e6, 3e6))))


def test_it_warns_when_tokens_are_far_beyond_the_inventory():
    found = rules.check_plan(plan(data=data("cpt", 1e9, 9e9)))
    [finding] = [f for f in found if f.rule == "tokens_beyond_inventory"]
    assert finding.path == "training.tokens"
    assert "10.0 passes over the 10B tokens" in finding.message
    assert "Muennighoff" in finding.message


def test_it_notes_a_training_budget_without_inventory():
    assert "no_inventory" in fired(rules.check_plan(plan()))


def test_it_notes_a_from_scratch_budget_below_2t_tokens():
    found = rules.check_plan(plan(strategy="from_scratch", training={"tokens": 300e9}))
    assert "from_scratch_tokens" in fired(found)


def test_it_asks_for_legal_review_of_uncleared_data():
    rows = [{"name": "x", "tokens": 1e9, "licence": "unknown", "stage": "cpt"}]
    found = rules.check_plan(plan(team=[], data=rows))
    assert "licence_review" in fired(found)
    restricted = [{"name": "x", "tokens": 1e9, "licence": "restricted", "stage": "cpt"}]
    assert any(
        f.rule == "restricted_licence" and f.path == "data.0.licence"
        for f in rules.check_plan(plan(data=restricted))
    )


def test_it_warns_about_big_runs_nobody_watches_and_fp16_without_a_watcher():
    found = rules.check_plan(
        plan(team=[], cluster={"gpu_count": 512}, training={"tokens": 1e11, "precision": "fp16"})
    )
    assert {"run_watcher", "fp16_watcher"} <= fired(found)


def test_it_warns_about_more_than_ten_researchers():
    team = [{"role": "algorithm_researcher", "headcount": 12}]
    assert "too_many_researchers" in fired(rules.check_plan(plan(team=team)))


@pytest.mark.parametrize(
    ("count", "rule"), [(0, "gpu_count_zero"), (12, "gpu_whole_servers"), (4, None), (16, None)]
)
def test_it_checks_gpu_counts(count, rule):
    finding = rules.check_gpu_count(count, 8)
    assert (finding.rule if finding else None) == rule


def test_it_rejects_a_line_that_ends_before_it_starts():
    assert rules.check_months(0).rule == "ends_before_start"
    assert rules.check_months(-1).rule == "ends_before_start"
    assert rules.check_months(0.5) is None
    assert rules.check_dates(dt.date(2027, 5, 1), dt.date(2027, 4, 1)).rule == "ends_before_start"


def test_it_warns_about_a_line_running_past_the_deadline():
    finding = rules.check_deadline(dt.date(2027, 11, 1), 3, dt.date(2027, 12, 31))
    assert finding.rule == "after_deadline"
    assert rules.check_deadline(dt.date(2027, 1, 1), 3, dt.date(2027, 12, 31)) is None


def test_it_rejects_a_precision_the_gpu_lacks():
    assert rules.check_precision("bf16", "V100", ["fp16", "fp32"]).rule == "gpu_precision"
    assert rules.check_precision("bf16", "H100", ["bf16"]) is None


def test_every_rule_names_a_source():
    assert rules.RULES
    for rule in rules.RULES.values():
        assert rule.source and rule.severity in ("error", "warning", "info"), rule.id

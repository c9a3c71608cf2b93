"""The report's sentences as templates with parameters (issue 18): every sentence renders from its
template, parameters are formatted strings, and the English reads right (one person, one day, one
epoch, 700B tokens)."""

from __future__ import annotations

import json

import pytest

from llmplanner.simulation.report import report, run_plan
from llmplanner.simulation.text import T, items, param_text, purpose, quantity, render, role

from .conftest import EXAMPLES
from .test_calendar import cpt_plan, run

# The sentences of each list of rows in a report, and of the main run.
TEXT_FIELDS = {
    "stages": ("name", "note"),
    "milestones": ("name", "criterion"),
    "risks": ("title", "mitigation", "source"),
    "data_checks": ("message", "rule", "source"),
}


def sentences(rep: dict):
    """(where, English, template, params) of every sentence of a report."""
    for section, names in TEXT_FIELDS.items():
        for row in rep[section]:
            for name in names:
                yield (
                    f"{section}.{row.get('key') or row.get('code') or row['name']}.{name}",
                    row[name],
                    row[f"{name}_template"],
                    row[f"{name}_params"],
                )
    main = rep.get("main_run")
    if main:
        yield (
            "main_run.explanation",
            main["explanation"],
            *(main[f"explanation_{k}"] for k in ("template", "params")),
        )


def plain_params(params: dict) -> bool:
    """Every parameter is a string or one of the documented structures, down to the leaves."""
    for value in params.values():
        if isinstance(value, str):
            continue
        if "template" in value:
            if not isinstance(value["template"], str) or not plain_params(value["params"]):
                return False
        elif "items" in value:
            if not plain_params(dict(enumerate(value["items"]))):
                return False
        elif set(value) not in ({"role"}, {"purpose"}):
            return False
    return True


@pytest.fixture(scope="module")
def example_reports() -> dict[str, dict]:
    plans = sorted(EXAMPLES.glob("plan-*.json"))
    assert len(plans) >= 7
    return {p.stem: run_plan(json.loads(p.read_text()), trials=60, seed=2) for p in plans}


def test_every_sentence_of_every_example_renders_from_its_template(example_reports):
    seen = 0
    for name, rep in example_reports.items():
        json.dumps(rep)  # the parameters are plain JSON
        for where, english, template, params in sentences(rep):
            if not english:  # a stage without a note
                assert template == "" and params == {}, (name, where)
                continue
            assert template and plain_params(params), (name, where, params)
            assert render(template, params) == english, (name, where)
            seen += 1
    assert seen > 300


def test_no_sentence_shows_a_raw_number_format_or_an_internal_document(example_reports):
    for rep in example_reports.values():
        for where, english, _template, _params in sentences(rep):
            for bad in ("e+", "seed 00", "DOMAIN.md", " 1 epochs", " 1 days", "1 people", "_"):
                if bad == "_" and not where.endswith(("title", "mitigation", "criterion")):
                    continue  # dataset names and layouts (recompute=none) may hold underscores
                assert bad not in english, (where, english)


def test_the_cpt_example_reads_in_plain_english(example_reports):
    rep = example_reports["plan-cpt-7b-domain"]
    checks = {c["code"]: c for c in rep["data_checks"]}
    assert checks["epochs"]["message"] == "100B training tokens from 100B available: 1 epoch."
    assert checks["epochs"]["message_params"] == {"tokens": "100B", "available": "100B"}
    assert (
        checks["cpt_domain_share"]["message_template"]
        == "Domain share of the CPT mix is %(share)s."
    )
    assert checks["cpt_domain_share"]["rule"].startswith("domain ≤ 15% in continued pretraining")
    assert checks["cpt_domain_share"]["rule_template"].startswith("domain ≤ 15%% in")
    stages = {s["key"]: s for s in rep["stages"]}
    assert stages["main"]["name"] == "Continued pretraining"
    assert stages["main"]["note_template"] == "%(layout)s, MFU %(mfu)s"
    assert stages["main"]["note_params"]["mfu"].endswith("%")


def test_a_risk_built_on_a_data_check_nests_its_rule_and_source():
    plan = json.loads((EXAMPLES / "plan-cpt-7b-domain.json").read_text())
    plan["data"][2]["tokens"] = 2.25e10  # domain becomes 40% of the CPT mix
    rep = run_plan(plan, trials=60, seed=2)
    check = next(c for c in rep["data_checks"] if c["code"] == "cpt_domain_share")
    risk = next(r for r in rep["risks"] if r["code"] == "cpt_domain_share")
    assert risk["source_template"] == "%(rule)s (%(source)s)"
    assert risk["source_params"]["rule"] == {
        "template": check["rule_template"],
        "params": check["rule_params"],
    }
    assert risk["source"] == f"{check['rule']} (vertical-LLM survey 2023)"
    assert risk["title"] == "Domain share above 15% in CPT"


def test_one_person_paid_after_the_finish_is_a_person():
    def paid_after(headcount: float) -> dict:
        line = {"role": "algorithm_researcher", "monthly_cost": 10_000, "end_date": "2028-06-30"}
        rep = report(run(cpt_plan(team=[line | {"headcount": headcount}]), trials=100))
        return next(r for r in rep["risks"] if r["code"] == "paid_after_finish")

    one, three = paid_after(1), paid_after(3)
    assert one["title"].startswith("1 person paid after the program's P90 finish (up to ")
    assert three["title"].startswith("3 people paid after the program's P90 finish (up to ")
    assert "1 × algorithm researcher, " in one["mitigation"]
    assert "algorithm_researcher" not in one["mitigation"]
    assert three["title_params"]["people"] == "3" and "people" not in one["title_params"]


def test_a_role_gap_names_the_roles_and_counts_days():
    plan = cpt_plan(
        team=[
            {"role": "algorithm_researcher", "headcount": 1, "monthly_cost": 10_000},
            {
                "role": "distributed_training_engineer",
                "headcount": 1,
                "monthly_cost": 12_000,
                "start_date": "2027-06-01",
            },
        ]
    )
    risks = {r["code"]: r for r in report(run(plan, trials=100))["risks"]}
    gap = risks["role_gap_main"]
    assert gap["title"].startswith(
        "Continued pretraining starts before any distributed-training engineer or run watcher "
        "joins ("
    )
    assert gap["title"].endswith(" days early)") and "_" not in gap["title"]
    assert gap["title_params"]["roles"] == {
        "items": [{"role": "distributed_training_engineer"}, {"role": "run_watcher"}],
        "join": "or",
    }
    assert gap["title_params"]["stage"] == {"template": "Continued pretraining", "params": {}}


def test_a_one_month_booking_is_one_month_and_its_purpose_has_a_name():
    plan = cpt_plan()
    plan["clusters"].append(
        {
            "purpose": "experiments",
            "gpu_type": "H100",
            "gpu_count": 8,
            "months": 1,
            "start_date": "2027-02-01",
            "price_per_gpu_hour": 3.0,
        }
    )
    rep = report(run(plan, trials=60))
    unused = next(r for r in rep["risks"] if r["code"] == "pool_unused_2")
    assert unused["title"] == (
        "8 × H100 SXM 80GB booked for 1 month (experiments) but no stage runs on it"
    )
    assert unused["title_params"]["purpose"] == {"purpose": "experiments"}
    booked = {s["key"]: s for s in rep["stages"]}
    assert booked["cluster"]["note"] == "2 months booked (main training), paid used or idle"
    assert booked["pool_2"]["note"] == "1 month booked (experiments), paid used or idle"


def test_one_sft_run_is_one_run():
    plan = json.loads((EXAMPLES / "plan-sft-7b.json").read_text())
    plan.setdefault("sft", {})["runs"] = 1
    stages = {s["key"]: s for s in run_plan(plan, trials=60, seed=2)["stages"]}
    assert stages["sft"]["name"] == "SFT (1 run)" and stages["sft"]["name_params"] == {}
    assert stages["sft"]["note"].endswith(" tokens") and "per run" not in stages["sft"]["note"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (7e11, "700B"),
        (1e11, "100B"),
        (2.1e12, "2.1T"),
        (999.7e9, "1T"),
        (999.4e9, "999B"),
        (9.6e7, "96M"),
        (12_345, "12.3K"),
        (950, "950"),
        (2.5e15, "2,500T"),
    ],
)
def test_large_counts_read_with_a_unit_never_an_exponent(value, text):
    assert quantity(value) == text


def test_parameters_render_as_the_structures_say():
    nested = T("Scaling ladder: %(size)s", size="8B")
    text = T(
        "%(stage)s needs %(roles)s for %(purpose)s: %(names)s",
        stage=nested,
        roles=items([role("data_engineer"), role("legal")], join="or"),
        purpose=purpose("finetune"),
        names=items(["a", "b", "c"]),
    )
    assert str(text) == (
        "Scaling ladder: 8B needs data engineer or legal reviewer for fine-tuning: a, b, c"
    )
    assert param_text(items([role("run_watcher")], join="or")) == "run watcher"
    assert param_text(items(["x", "y"], join="semicolon")) == "x; y"
    assert str(T("within 2%% of %(loss)s", loss="1.950")) == "within 2% of 1.950"


def test_a_parameter_must_be_formatted_before_it_goes_in():
    with pytest.raises(TypeError):
        T("%(count)s GPUs", count=8)
    with pytest.raises(ValueError):
        items(["a"], join="and also")

"""A "what if" variant saved as a new scenario in one click: the copy's plan, its History, the
button, and the refusals (viewer, outsider, failed or unknown variant, unfinished sweep).

Sweeps are computed for real: ``sweep_create`` records the chunks (its publish runs on commit,
which a test's transaction never reaches) and ``sweep_chunk_execute`` fills them, as a worker
would.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from apps.programs.models import GPUBudgetLine, GPUType, Scenario, ScenarioActivity
from apps.programs.plan_adapter import main_budget_line, scenario_to_plan_dict
from apps.programs.services import (
    line_create,
    line_update,
    program_create_from_blueprint,
    scenario_rename,
    scenario_update,
)
from apps.runs.models import RunStatus, Sweep
from apps.runs.services import sweep_chunk_execute, sweep_create
from llmplanner.simulation.sweep import apply_variant
from tests.conftest import login

pytestmark = pytest.mark.django_db

AXES = {
    "gpu_count": [32, 128],
    "gpu_type": ["a800-80gb", "h800-80gb"],
    # FP8 on an A800 fails: a failed variant for free. (Not BF16: the scenario's own precision,
    # so a saved FP16 variant changes all three.)
    "precision": ["fp16", "fp8"],
}


def blueprint_scenario(owner, organization, key: str) -> Scenario:
    program = program_create_from_blueprint(user=owner, organization=organization, key=key)
    return program.scenarios.get()


@pytest.fixture
def scenario(owner, organization):
    """CPT of a 7B on one training line of 64 × A800, BF16."""
    return blueprint_scenario(owner, organization, "cpt-7b-domain")


def finished_sweep(user, scenario: Scenario, axes: dict[str, list[Any]]) -> Sweep:
    sweep = sweep_create(user=user, scenario=scenario, axes=axes, trials=20, chunk_size=4)
    chunks = list(sweep.chunks.all())
    assert chunks
    for chunk in chunks:
        sweep_chunk_execute(chunk_id=chunk.pk, worker="w1")
    sweep.refresh_from_db()
    assert sweep.status == RunStatus.SUCCEEDED
    return sweep


@pytest.fixture
def sweep(owner, scenario):
    return finished_sweep(owner, scenario, AXES)


def index_of(sweep: Sweep, variant: dict[str, Any]) -> int:
    return next(i for i, p in enumerate(sweep.points) if p["variant"] == variant)


def save_url(sweep: Sweep, index: int) -> str:
    return reverse("runs:sweep_variant_save", args=[sweep.pk, index])


def without_name(plan: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in plan.items() if k != "name"}


def main_pool(plan: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    """The plan's own GPU pool: its ``cluster``, or the entry of ``clusters`` (one per budget
    line, in line order) of the scenario's main budget line."""
    if "cluster" in plan:
        return plan["cluster"]
    lines = sorted(scenario.budget_lines.all(), key=lambda line: line.pk)
    return plan["clusters"][lines.index(main_budget_line(scenario))]


def state(organization) -> dict[str, Any]:
    """What a save could have written."""
    scenarios = Scenario.objects.filter(program__organization=organization)
    return {
        "scenarios": list(scenarios.order_by("id").values_list("id", "name", "version")),
        "activities": ScenarioActivity.objects.filter(scenario__in=scenarios).count(),
        "lines": list(
            GPUBudgetLine.objects.filter(scenario__in=scenarios)
            .order_by("id")
            .values_list("id", "gpu_type__key", "gpu_count")
        ),
    }


@pytest.mark.parametrize(
    "variant, name",
    [
        (
            {"gpu_count": 128, "gpu_type": "h800-80gb", "precision": "fp16"},
            "128 × H800 SXM 80GB FP16",
        ),
        (
            {"gpu_count": 32, "gpu_type": "a800-80gb", "precision": "fp16"},
            "32 × A800 SXM 80GB FP16",
        ),
    ],
)
def test_a_saved_variant_is_the_scenario_with_the_variants_gpus_and_precision(
    owner_client, scenario, sweep, variant, name
):
    source_plan = scenario_to_plan_dict(scenario)
    # the variant changes something
    assert main_pool(source_plan, scenario)["gpu_count"] == 64
    assert source_plan["training"]["precision"] == "bf16"
    index = index_of(sweep, variant)

    response = owner_client.post(save_url(sweep, index))

    new = Scenario.objects.exclude(pk=scenario.pk).get()
    assert response.status_code == 302
    assert response.url == reverse("programs:scenario_detail", args=[new.pk])
    assert new.program_id == scenario.program_id and not new.is_baseline
    assert new.name == f"{scenario.name} — {name}"
    plan = scenario_to_plan_dict(new)
    assert main_pool(plan, new)["gpu_count"] == variant["gpu_count"]
    assert main_pool(plan, new)["gpu_type"] == variant["gpu_type"]
    assert plan["training"]["precision"] == variant["precision"]
    # Everything else is the source's: the plan the core simulated for the variant (the SFT line
    # on the same part moves with the training line), each line pricing its (new) GPU at the
    # catalog price.
    price = float(GPUType.objects.get(key=variant["gpu_type"]).price(scenario.program.currency))
    expected = apply_variant(copy.deepcopy(source_plan), variant, {variant["gpu_type"]: price})
    assert [p["purpose"] for p in expected["clusters"] if p["gpu_type"] == variant["gpu_type"]] == [
        "main",
        "finetune",
    ]
    assert without_name(plan) == without_name(expected)
    assert plan["name"].endswith(new.name)
    assert (new.team_lines.count(), new.datasets.count(), new.budget_lines.count()) == (
        scenario.team_lines.count(),
        scenario.datasets.count(),
        scenario.budget_lines.count(),
    )
    # The source is untouched.
    assert scenario_to_plan_dict(Scenario.objects.get(pk=scenario.pk)) == source_plan
    page = owner_client.get(response.url, follow=True).content.decode()
    assert f"Variant {index + 1} of what-if #{sweep.pk} saved as the scenario" in page
    assert "changed after what-if" not in page


def test_the_copy_records_which_what_if_and_variant_it_came_from(
    owner, owner_client, scenario, sweep
):
    variant = {"gpu_count": 128, "gpu_type": "h800-80gb", "precision": "fp16"}
    index = index_of(sweep, variant)
    owner_client.post(save_url(sweep, index))

    new = Scenario.objects.exclude(pk=scenario.pk).get()
    cloned, saved = new.activities.order_by("id")
    assert (cloned.action, cloned.summary) == ("cloned", f"from {scenario.name}")
    assert saved.action == "updated" and saved.actor == owner
    assert saved.summary == (
        f"from what-if #{sweep.pk}, variant {index + 1} of {len(sweep.points)} "
        "(128 × H800 SXM 80GB · FP16)"  # as the what-if page names it, not gpu_count=128 …
    )
    assert saved.changes == [
        {"field": "gpu_type", "old": "A800 SXM 80GB", "new": "H800 SXM 80GB"},  # training line
        {"field": "gpu_type", "old": "A800 SXM 80GB", "new": "H800 SXM 80GB"},  # its SFT line
        {"field": "gpu_count", "old": 64, "new": 128},
        {"field": "precision", "old": "bf16", "new": "fp16"},
    ]
    assert saved.version == new.version == 2
    history = owner_client.get(reverse("programs:scenario_tab", args=[new.pk, "history"]))
    assert f"from what-if #{sweep.pk}, variant {index + 1}" in history.content.decode()


def test_editors_get_a_save_button_on_each_successful_variant(editor, scenario, sweep):
    html = login(editor).get(reverse("runs:sweep_detail", args=[sweep.pk])).content.decode()
    ok = [i for i, p in enumerate(sweep.points) if p["ok"]]
    failed = [i for i, p in enumerate(sweep.points) if not p["ok"]]
    assert ok and failed
    assert html.count('data-testid="save-variant"') == len(ok)
    for i in ok:
        assert f'action="{save_url(sweep, i)}"' in html
    for i in failed:
        assert f'action="{save_url(sweep, i)}"' not in html


def test_a_viewer_sees_no_button_and_is_refused(viewer_client, organization, sweep):
    html = viewer_client.get(reverse("runs:sweep_detail", args=[sweep.pk])).content.decode()
    assert "128 × " in html and 'data-testid="save-variant"' not in html
    before = state(organization)
    index = next(i for i, p in enumerate(sweep.points) if p["ok"])
    response = viewer_client.post(save_url(sweep, index))
    assert response.status_code == 403 and state(organization) == before


def test_an_outsider_gets_404_and_saves_nothing(outsider_client, organization, sweep):
    before, scenarios = state(organization), Scenario.objects.count()
    index = next(i for i, p in enumerate(sweep.points) if p["ok"])
    response = outsider_client.post(save_url(sweep, index))
    assert response.status_code == 404 and state(organization) == before
    assert Scenario.objects.count() == scenarios


@pytest.mark.parametrize(
    "pick, message",
    [
        (
            lambda sweep: index_of(
                sweep, {"gpu_count": 32, "gpu_type": "a800-80gb", "precision": "fp8"}
            ),
            "failed (",
        ),
        (lambda sweep: len(sweep.points), "has no variant 9 (it has 8)"),
        (lambda sweep: 10**15, "has no variant 1000000000000001 (it has 8)"),
    ],
    ids=["failed", "one past the end", "huge"],
)
def test_a_failed_or_unknown_variant_is_refused_and_saves_nothing(
    owner_client, organization, sweep, pick, message
):
    before = state(organization)
    response = owner_client.post(save_url(sweep, pick(sweep)))
    html = response.content.decode()
    assert response.status_code == 400 and message in html
    assert f"what-if #{sweep.pk}" in html.lower()
    assert state(organization) == before


def test_a_sweep_still_running_has_nothing_to_save(owner, owner_client, organization, scenario):
    sweep = sweep_create(user=owner, scenario=scenario, axes={"gpu_count": [32]}, trials=20)
    before = state(organization)
    response = owner_client.post(save_url(sweep, 0))
    assert response.status_code == 400 and "has not finished" in response.content.decode()
    assert state(organization) == before


def test_a_source_changed_since_the_sweep_is_saved_as_it_is_now_with_a_warning(
    owner, owner_client, scenario, sweep
):
    scenario_update(
        user=owner,
        scenario=scenario,
        expected_version=scenario.version,
        values={"training_tokens": 150 * 10**9},
    )
    variant = {"gpu_count": 128, "gpu_type": "a800-80gb", "precision": "fp16"}
    response = owner_client.post(save_url(sweep, index_of(sweep, variant)), follow=True)
    html = response.content.decode()
    new = Scenario.objects.exclude(pk=scenario.pk).get()
    assert f"changed after what-if #{sweep.pk} ran" in html and "saved as the scenario" in html
    plan = scenario_to_plan_dict(new)
    assert plan["training"]["tokens"] == 150 * 10**9 and main_pool(plan, new)["gpu_count"] == 128


def test_a_renamed_source_is_not_a_changed_one(owner, owner_client, scenario, sweep):
    scenario_rename(user=owner, scenario=scenario, name="Renamed plan")
    variant = {"gpu_count": 128, "gpu_type": "a800-80gb", "precision": "fp16"}
    response = owner_client.post(save_url(sweep, index_of(sweep, variant)), follow=True)
    html = response.content.decode()
    assert "saved as the scenario" in html and "changed after what-if" not in html
    assert Scenario.objects.filter(name="Renamed plan — 128 × A800 SXM 80GB FP16").exists()


def test_a_scenario_without_gpu_lines_gets_one_for_its_strategy(owner, owner_client, organization):
    scenario = blueprint_scenario(owner, organization, "rag-domain-knowledge-base")
    assert not scenario.budget_lines.exists()
    sweep = finished_sweep(owner, scenario, {"gpu_count": [16]})
    assert sweep.points[0]["ok"], sweep.points[0]["error"]

    response = owner_client.post(save_url(sweep, 0))

    new = Scenario.objects.exclude(pk=scenario.pk).get()
    assert response.status_code == 302
    line = new.budget_lines.get()
    # RAG's main line serves; the GPU the core assumed without a line is an H100.
    assert (line.purpose, line.gpu_type.key, line.gpu_count) == ("serving", "h100-80gb", 16)
    plan = scenario_to_plan_dict(new)
    pool = main_pool(plan, new)
    assert (pool["gpu_count"], pool["gpu_type"]) == (16, "h100-80gb")
    assert new.activities.order_by("id").last().changes == [
        {"field": "gpu_type", "old": None, "new": "H100 SXM 80GB"},
        {"field": "gpu_count", "old": None, "new": 16},
    ]


def test_a_variant_another_line_would_outrank_is_refused_whole(
    owner, owner_client, organization, scenario
):
    line_create(
        user=owner,
        scenario=scenario,
        kind="gpus",
        expected_version=scenario.version,
        values={
            "purpose": "training",
            "gpu_type": GPUType.objects.get(key="a800-80gb"),
            "gpu_count": 48,
        },
    )
    sweep = finished_sweep(owner, scenario, {"gpu_count": [32]})
    before = state(organization)
    response = owner_client.post(save_url(sweep, 0))
    # The 64-GPU line would drop to 32, below the 48-GPU one, which would become the cluster.
    assert response.status_code == 400
    assert "Another GPU budget line" in response.content.decode()
    assert state(organization) == before


def test_a_long_scenario_name_is_shortened_to_keep_the_variant(owner, owner_client, scenario):
    scenario_rename(user=owner, scenario=scenario, name="N" * 200)
    sweep = finished_sweep(owner, scenario, {"gpu_count": [32]})
    owner_client.post(save_url(sweep, 0))
    new = Scenario.objects.exclude(pk=scenario.pk).get()
    assert len(new.name) == 200
    assert new.name.endswith("N… — 32 × A800 SXM 80GB BF16") and new.name.startswith("NNN")


def test_a_price_agreed_for_the_old_gpu_is_dropped_with_the_gpu(owner, owner_client, scenario):
    line = main_budget_line(scenario)
    line_update(
        user=owner,
        line=line,
        expected_version=scenario.version,
        values={"price_per_gpu_hour": Decimal("4.50")},
    )
    scenario.refresh_from_db()
    sweep = finished_sweep(
        owner, scenario, {"gpu_type": ["a800-80gb", "h800-80gb"], "gpu_count": [32]}
    )
    owner_client.post(save_url(sweep, index_of(sweep, {"gpu_type": "a800-80gb", "gpu_count": 32})))
    owner_client.post(save_url(sweep, index_of(sweep, {"gpu_type": "h800-80gb", "gpu_count": 32})))
    same, other = Scenario.objects.exclude(pk=scenario.pk).order_by("id")
    assert main_budget_line(same).price_per_gpu_hour == Decimal("4.50")
    assert main_budget_line(other).price_per_gpu_hour is None
    assert {"field": "price_per_gpu_hour", "old": "4.50", "new": None} in (
        other.activities.order_by("id").last().changes
    )


def test_the_button_and_the_messages_are_translated(owner_client, scenario, sweep):
    url = reverse("runs:sweep_detail", args=[sweep.pk])
    owner_client.post(reverse("set_language"), {"language": "zh-hans", "next": url})
    assert "另存为方案" in owner_client.get(url).content.decode()
    variant = {"gpu_count": 32, "gpu_type": "a800-80gb", "precision": "fp16"}
    html = owner_client.post(save_url(sweep, index_of(sweep, variant)), follow=True)
    assert f"假如分析 #{sweep.pk} 的变体 {index_of(sweep, variant) + 1} 已另存为方案" in (
        html.content.decode()
    )
    refused = owner_client.post(save_url(sweep, len(sweep.points))).content.decode()
    assert f"假如分析 #{sweep.pk} 没有变体 {len(sweep.points) + 1}" in refused

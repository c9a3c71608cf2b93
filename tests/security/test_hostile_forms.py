"""Hostile values typed into every form of the planning workspace: program create and edit,
scenario create and rename, the strategy and model tabs, and each line form (add and edit).

A form post ends in one of: a redirect after a legitimate save, or the form shown again (200,
the Django and htmx convention — htmx swaps only 2xx answers) with the error beside the field at
fault and the tables unchanged. Never a 5xx."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django import forms
from django.db import transaction
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from apps.programs.forms import (
    LINE_FORMS,
    ProgramCreateForm,
    ProgramForm,
    StrategyForm,
    TargetModelForm,
)
from apps.programs.models import Program, Scenario
from apps.programs.plan_adapter import scenario_plan
from tests.security import test_hostile_common as common
from tests.security.test_hostile_common import (
    HOSTILE,
    HOSTILE_TEXT,
    assert_finite,
    hostile_text,
    post_form,
    snapshot,
)

pytestmark = pytest.mark.django_db
hostile_scenario = common.hostile_scenario


def as_post(form: forms.BaseForm) -> dict[str, Any]:
    """What a browser posts for an unbound form as rendered: its initial values as text."""
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = field.prepare_value(form[name].value())
        if isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
            continue
        if value is None:
            value = ""
        if isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        data[name] = str(value)
    return data


class Surface:
    """A form page: how to get its valid post data and where to post it."""

    def __init__(
        self,
        name: str,
        url: Callable[[Scenario], str],
        form: Callable[[Scenario], forms.BaseForm],
    ) -> None:
        self.name, self.url, self.form = name, url, form

    def __repr__(self) -> str:
        return self.name


def _line(scenario: Scenario, kind: str) -> Any:
    related = {"gpus": "budget_lines", "team": "team_lines", "data": "datasets"}[kind]
    return getattr(scenario, related).first()


SURFACES = [
    Surface(
        "program-create",
        lambda s: reverse("programs:program_create"),
        lambda s: ProgramCreateForm(
            organizations=s.program.organization.__class__.objects.filter(
                pk=s.program.organization_id
            ),
            initial={"name": "P", "strategy": "sft", "currency": "CNY", "usd_to_cny": "7.2"},
        ),
    ),
    Surface(
        "program-edit",
        lambda s: reverse("programs:program_edit", args=[s.program_id]),
        lambda s: ProgramForm(instance=Program.objects.get(pk=s.program_id)),
    ),
    Surface(
        "strategy-tab",
        lambda s: reverse("programs:scenario_tab", args=[s.pk, "strategy"]),
        lambda s: StrategyForm(instance=Scenario.objects.get(pk=s.pk)),
    ),
    Surface(
        "model-tab",
        lambda s: reverse("programs:scenario_tab", args=[s.pk, "model"]),
        lambda s: TargetModelForm(instance=Scenario.objects.get(pk=s.pk)),
    ),
    *[
        Surface(
            f"{kind}-add",
            lambda s, kind=kind: reverse("programs:line_add", args=[s.pk, kind]),
            lambda s, kind=kind: LINE_FORMS[kind](
                scenario=Scenario.objects.get(pk=s.pk),
                initial=as_post(LINE_FORMS[kind](instance=_line(s, kind), scenario=s)),
            ),
        )
        for kind in LINE_FORMS
    ],
    *[
        Surface(
            f"{kind}-edit",
            lambda s, kind=kind: reverse(
                "programs:line_edit", args=[s.pk, kind, _line(s, kind).pk]
            ),
            lambda s, kind=kind: LINE_FORMS[kind](
                instance=_line(s, kind), scenario=Scenario.objects.get(pk=s.pk)
            ),
        )
        for kind in LINE_FORMS
    ],
]


def as_received(text: str) -> str:
    """Text as Django decodes it from the browser's bytes: invalid UTF-8 becomes U+FFFD."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def check_form_answer(response, mutated: set[str], before) -> None:
    assert response.status_code < 500
    if response.status_code == 302:  # saved: only sane values
        for scenario in Scenario.objects.all():
            assert_finite(Scenario.objects.filter(pk=scenario.pk).values().get())
            for kind in ("budget_lines", "team_lines", "datasets"):
                for row in getattr(scenario, kind).values():
                    assert_finite(row)
            scenario_plan(scenario)
        return
    assert response.status_code == 200, response.status_code
    errors = response.context["form"].errors
    assert errors, "the form was shown again without an error"
    assert set(errors) & (mutated | {"__all__"}), (dict(errors), mutated)
    assert snapshot() == before


@pytest.mark.parametrize("surface", SURFACES, ids=repr)
@HOSTILE
@given(data=st.data())
def test_hostile_form_posts_are_refused_next_to_their_field(
    owner_client, hostile_scenario, surface, data
):
    # Each example starts from the same scenario and leaves nothing behind (a savepoint rolled
    # back): the form's fields — which depend on what an earlier example saved, a strategy for
    # one — are the same whenever hypothesis replays an example, so its draws are too.
    with transaction.atomic():
        scenario = Scenario.objects.get(pk=hostile_scenario.pk)
        post = as_post(surface.form(scenario))
        names = sorted(post)
        mutated = set(data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3)))
        for name in mutated:
            post[name] = data.draw(hostile_text, label=name)
        before = snapshot()
        response = post_form(owner_client, surface.url(hostile_scenario), post)
        check_form_answer(response, mutated, before)
        transaction.set_rollback(True)


def test_the_unchanged_forms_save(owner_client, hostile_scenario):
    """The base posts of the property test are valid: a refusal there is the hostile value's."""
    for surface in SURFACES:
        scenario = Scenario.objects.get(pk=hostile_scenario.pk)
        post = as_post(surface.form(scenario))
        response = post_form(owner_client, surface.url(scenario), post)
        assert response.status_code == 302, (
            surface,
            response.context and dict(response.context["form"].errors),
        )


@HOSTILE
@given(name=hostile_text, version=st.one_of(hostile_text, st.just("1")))
def test_hostile_renames_change_nothing_or_only_the_name(
    owner_client, hostile_scenario, name, version
):
    before = snapshot()
    old = Scenario.objects.get(pk=hostile_scenario.pk)
    response = post_form(
        owner_client,
        reverse("programs:scenario_rename", args=[hostile_scenario.pk]),
        {"name": name, "version": str(old.version) if version == "1" else version},
    )
    assert response.status_code in (302, 200)
    new = Scenario.objects.get(pk=hostile_scenario.pk)
    if new.version == old.version:
        assert snapshot() == before
    else:
        assert new.name == as_received(name).strip()[:200] and "\x00" not in new.name


@HOSTILE
@given(name=hostile_text, strategy=st.one_of(hostile_text, st.sampled_from(["sft", "rag"])))
def test_hostile_scenario_creates_save_a_whole_scenario_or_nothing(
    owner_client, hostile_scenario, name, strategy
):
    before = snapshot()
    response = post_form(
        owner_client,
        reverse("programs:scenario_create", args=[hostile_scenario.program_id]),
        {"name": name, "strategy": strategy},
    )
    assert response.status_code == 302
    if response["Location"].endswith(f"/{hostile_scenario.program_id}/"):  # refused
        assert snapshot() == before
    else:
        created = Scenario.objects.order_by("-pk").first()
        assert created.name == as_received(name).strip() and created.strategy == strategy
        scenario_plan(created)


# --- regressions ---------------------------------------------------------------------------


def _post(owner_client, scenario, surface_name: str, **changes: str):
    surface = next(s for s in SURFACES if s.name == surface_name)
    scenario = Scenario.objects.get(pk=scenario.pk)
    post = {**as_post(surface.form(scenario)), **changes}
    return post_form(owner_client, surface.url(scenario), post)


@pytest.mark.parametrize(
    "surface, field, value",
    [
        ("gpus-edit", "version", "9" * 400),  # an int past the database's integers
        ("gpus-edit", "version", "1" * 5000),  # past Python's int-from-text digit limit
        ("gpus-add", "gpu_count", "9" * 30),
        ("model-tab", "training_tokens", "1e999999999"),  # Decimal context overflow
        ("model-tab", "training_tokens", "1e999999"),  # a million-digit int
        ("model-tab", "global_batch_tokens", "1e400"),
        ("model-tab", "custom_params_b", "1e400"),
        ("model-tab", "custom_params_b", "NaN"),
        ("strategy-tab", "ladder", "1e999999, 2e999999"),
        ("strategy-tab", "ladder", "1e30"),
        ("strategy-tab", "rag_corpus_tokens", "9" * 5000),
        ("gpus-edit", "checkpoint_storage_gbps", "nan"),
        ("gpus-edit", "price_per_gpu_hour", "sNaN"),
        ("team-edit", "headcount", "Infinity"),
        ("data-add", "tokens", "1e999999"),
        ("data-add", "name", "a\x00b"),
        ("gpus-edit", "provider", "cloud\x00"),
        ("program-edit", "loaded_at", "99999-01-01T00:00:00"),
        ("program-edit", "usd_to_cny", "1e999999"),
        ("program-create", "budget_cap", "-inf"),
    ],
)
def test_a_hostile_value_is_named_next_to_its_field(
    owner_client, hostile_scenario, surface, field, value
):
    before = snapshot()
    response = _post(owner_client, hostile_scenario, surface, **{field: value})
    assert response.status_code == 200
    assert field in response.context["form"].errors, dict(response.context["form"].errors)
    assert snapshot() == before


def test_a_lone_surrogate_in_a_form_is_stored_as_a_replacement_character(
    owner_client, hostile_scenario
):
    # The browser's bytes (ED A0 80) are not UTF-8; Django decodes them with errors="replace".
    response = _post(owner_client, hostile_scenario, "gpus-edit", provider="cloud \ud800")
    assert response.status_code == 302
    assert hostile_scenario.budget_lines.first().provider == "cloud \ufffd\ufffd\ufffd"


def test_every_hostile_text_is_tried():
    assert len(set(HOSTILE_TEXT)) == len(HOSTILE_TEXT)


@pytest.mark.parametrize(
    "surface, changes",
    [
        ("model-tab", {"training_tokens": str(2**63 - 1)}),
        ("model-tab", {"model_preset": "", "custom_params_b": "100000"}),
        ("model-tab", {"model_preset": "", "custom_params_b": "0.01"}),
        ("model-tab", {"seq_len": "10000000", "global_batch_tokens": "10000000000"}),
        ("model-tab", {"seq_len": "1", "global_batch_tokens": "1"}),
        ("model-tab", {"precision": "fp32", "training_tokens": "1"}),
        ("gpus-edit", {"gpu_count": "1000000", "months": "9999.9"}),
        ("gpus-edit", {"gpu_count": "8", "months": "0.1", "checkpoint_storage_gbps": "0.1"}),
        ("gpus-edit", {"price_per_gpu_hour": "99999999.99"}),
        ("team-edit", {"headcount": "10000", "monthly_cost": "9999999999.99"}),
        ("data-add", {"tokens": str(10**16), "cost": "999999999999.99"}),
        ("strategy-tab", {"ladder": "1, 100000B", "full_runs": "20", "contingency_pct": "100"}),
        ("strategy-tab", {"sft_samples": "2147483647", "sft_epochs": "100", "sft_runs": "100"}),
        ("strategy-tab", {"with_serving": "on", "serving_requests_per_day": "2147483647"}),
        ("strategy-tab", {"with_rag": "on", "rag_corpus_tokens": str(2**63 - 1)}),
        ("program-edit", {"usd_to_cny": "0.01", "budget_cap": "99999999999999.99"}),
        ("program-edit", {"deadline": "0001-01-01"}),
        ("program-edit", {"deadline": "9999-12-31"}),
    ],
)
def test_extreme_but_valid_values_are_saved_or_refused_never_a_500(
    owner_client, hostile_scenario, surface, changes
):
    before = snapshot()
    response = _post(owner_client, hostile_scenario, surface, **changes)
    check_form_answer(response, set(changes), before)


@pytest.mark.parametrize("version", ["9" * 400, "1" * 5000, "-1", "NaN", "٣", ""])
def test_a_hostile_version_on_delete_never_deletes_or_fails(
    owner_client, hostile_scenario, version
):
    line = hostile_scenario.budget_lines.first()
    before = snapshot()
    response = post_form(
        owner_client,
        reverse("programs:line_delete", args=[hostile_scenario.pk, "gpus", line.pk]),
        {"version": version},
    )
    assert response.status_code == 302
    if version != "":  # none of them is the current version written in ASCII digits
        assert snapshot() == before
    else:  # no version at all: deleted from the current one, as before
        assert not hostile_scenario.budget_lines.filter(pk=line.pk).exists()

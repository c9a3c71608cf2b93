"""The PDF of an approved run says who approved it and when; an export made before the approval
is not reused after it (the approval is part of the document's content hash)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.reports.document import content_hash, render_pdf
from apps.tracking.services import baseline_approve
from tests.reports.pdf_tools import page_texts
from tests.tracking.conftest import succeeded_run

pytestmark = pytest.mark.django_db


def _cover(run) -> str:
    return page_texts(render_pdf(run, paper="a4", language="en").content)[0]


def test_the_pdf_of_an_approved_run_says_approved_by_whom_and_when(owner, scenario, run):
    assert "Approved by" not in _cover(run)
    before = content_hash(run=run, paper="a4", language="en")
    baseline_approve(user=owner, scenario=scenario, run=run, note="go")
    cover = _cover(run)
    assert f"Approved by {owner.username} on {timezone.localdate().isoformat()}" in cover
    assert content_hash(run=run, paper="a4", language="en") != before


def test_a_superseded_approval_says_so(owner, scenario, run):
    baseline_approve(user=owner, scenario=scenario, run=run)
    baseline_approve(
        user=owner, scenario=scenario, run=succeeded_run(owner, scenario, contingency_pct=25)
    )
    cover = " ".join(_cover(run).split())
    assert "Approved by" in cover and "superseded on" in cover


def test_the_chinese_pdf_says_it_in_chinese(owner, scenario, run):
    baseline_approve(user=owner, scenario=scenario, run=run)
    content = render_pdf(run, paper="a4", language="zh-hans").content
    cover = "".join(page_texts(content)[0].split())
    assert f"由{owner.username}于{timezone.localdate().isoformat()}批准" in cover

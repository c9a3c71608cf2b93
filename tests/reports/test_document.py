"""The PDF document of a run: sections, key numbers, contents, headers and footers, languages,
paper sizes, determinism, and page 1 as an image. No database: the run is an unsaved object."""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from django.utils.translation import gettext

from apps.programs.templatetags.planning import money, money_compact
from apps.reports.document import content_hash, render_html, render_pdf
from tests.reports.conftest import unsaved_run
from tests.reports.pdf_tools import first_page_png, font_names, page_size_pt, page_texts

SECTIONS_EN = [
    "Executive summary",
    "Strategy and stages",
    "Team and people cost",
    "Data inventory and checks",
    "Compute plan",
    "Budget by month and category",
    "Milestone timeline and gates",
    "Risk register",
    "Assumptions and sources",
    "Appendix: all inputs",
]
A4_PT = (595.3, 841.9)
LETTER_PT = (612.0, 792.0)


@pytest.fixture(scope="module")
def run(gpt3_report, gpt3_plan):
    return unsaved_run(gpt3_report, gpt3_plan)


@pytest.fixture(scope="module")
def english(run):
    return render_pdf(run, paper="a4", language="en")


@pytest.fixture(scope="module")
def english_pages(english):
    return page_texts(english.content)


@pytest.fixture(scope="module")
def chinese(run):
    return render_pdf(run, paper="a4", language="zh-hans")


def squash(text: str) -> str:
    """Extracted text breaks lines anywhere; compare without whitespace."""
    return re.sub(r"\s+", "", text)


def test_it_has_a_sane_number_of_pages(english, english_pages):
    assert 12 <= english.page_count <= 40
    assert len(english_pages) == english.page_count


def test_it_has_every_section_title(english_pages):
    text = squash(" ".join(english_pages))
    for title in SECTIONS_EN:
        assert squash(title) in text, title


def test_it_shows_the_runs_key_numbers(english_pages, gpt3_report):
    text = squash(" ".join(english_pages))
    totals, main = gpt3_report["totals"], gpt3_report["main_run"]
    with translation.override("en"):
        expected = [
            money(totals["cost"]["p50"], "CNY"),
            money(totals["cost"]["p90"], "CNY"),
            money_compact(totals["cost"]["p50"], "CNY"),
            money(gpt3_report["plan"]["budget_cap"], "CNY"),
        ]
    expected += [main["layout"], f"{main['mfu'] * 100:.1f}%", gpt3_report["plan"]["gpu_type"]]
    for number in expected:
        assert squash(number) in text, number
    assert len(gpt3_report["risks"]) >= 3
    for risk in gpt3_report["risks"][:3]:
        assert squash(risk["title"]) in text


def test_the_cover_names_the_program_scenario_date_and_version(english_pages):
    cover = squash(english_pages[0])
    for part in (
        "GPT-3-class 175B",
        "A: 175B on 1,024 A100",
        "Jan. 4, 2027",
        "scenario v3, run #41",
    ):
        assert squash(part) in cover, part


def test_the_contents_give_the_page_each_section_starts_on(english_pages):
    contents = english_pages[1]
    for number, title in enumerate(SECTIONS_EN, start=1):
        match = re.search(rf"{number}\.\s*{re.escape(title)}[ .]*?(\d+)\s", contents + " ")
        assert match, title
        page = int(match.group(1))
        assert squash(title) in squash(english_pages[page - 1]), (title, page)


def test_every_page_but_the_cover_has_a_header_and_a_numbered_footer(english_pages):
    total = len(english_pages)
    assert "Page 1 /" not in english_pages[0]
    for n, text in enumerate(english_pages[1:], start=2):
        assert f"Page {n} / {total}" in text, n
        assert "Run #41" in text and "GPT-3-class 175B" in text, n


def test_the_chinese_document_is_in_chinese_with_a_cjk_font(chinese, gpt3_report):
    pages = page_texts(chinese.content)
    text = squash(" ".join(pages))
    with translation.override("zh-hans"):
        titles = [gettext(title) for title in SECTIONS_EN]
    for title in titles:
        assert squash(title) in text and not title.isascii(), title
    assert "执行摘要" in text and "页码 2 /" in pages[1]
    with translation.override("zh-hans"):
        assert squash(money_compact(gpt3_report["totals"]["cost"]["p50"], "CNY")) in text
    assert any("Noto-Sans-CJK" in name for name in font_names(chinese.content))


def test_it_renders_on_a4_and_on_letter(english, run):
    letter = render_pdf(run, paper="letter", language="en")
    assert page_size_pt(english.content) == pytest.approx(A4_PT, abs=1)
    assert page_size_pt(letter.content) == pytest.approx(LETTER_PT, abs=1)


def test_the_same_run_gives_the_same_document(run, english_pages):
    again = render_pdf(run, paper="a4", language="en")
    assert page_texts(again.content) == english_pages
    assert content_hash(run=run, paper="a4", language="en") == content_hash(
        run=run, paper="a4", language="en"
    )


def test_the_hash_changes_with_paper_language_and_cover(run, gpt3_report, gpt3_plan):
    base = content_hash(run=run, paper="a4", language="en")
    renamed = unsaved_run(gpt3_report, gpt3_plan, scenario_name="B: renamed")
    assert base != content_hash(run=run, paper="letter", language="en")
    assert base != content_hash(run=run, paper="a4", language="zh-hans")
    assert base != content_hash(run=renamed, paper="a4", language="en")


def test_its_charts_are_the_dashboard_figures_as_inline_svg(run):
    html = render_html(run, paper="a4", language="en")
    for name in (
        "cost_breakdown",
        "monthly_spend",
        "gantt",
        "finish_distribution",
        "memory_breakdown",
        "layouts_compared",
        "scaling",
        "risk_heatmap",
    ):
        assert f'id="{name}-plot"' in html, name


def test_page_one_renders_to_a_png_that_is_not_blank(english, tmp_path):
    image = first_page_png(english.content, tmp_path, dpi=50)
    # A4 at 50 dpi: 8.27 × 11.69 in.
    assert image.size == pytest.approx((413, 585), abs=2)
    pixels = list(image.get_flattened_data())
    ink = sum(1 for r, g, b in pixels if min(r, g, b) < 200)
    assert ink / len(pixels) > 0.02  # the cover's band, title and facts
    assert len(set(pixels)) > 20  # text anti-aliasing and colours, not one flat fill

"""The PDF document of a run: sections, key numbers, contents, headers and footers, languages,
paper sizes, determinism, and page 1 as an image. No database: the run is an unsaved object."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext

from apps.programs.templatetags.planning import money, money_compact
from apps.reports.document import content_hash, render_html, render_pdf
from llmplanner.simulation.report import run_plan
from tests.reports.conftest import unsaved_run
from tests.reports.pdf_tools import first_page_png, font_names, page_size_pt, page_texts
from tests.runs.dated_plan import dated_plan, stored_before_cumulative

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
        "2027-01-04",
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


@pytest.fixture(scope="module")
def dated_report():
    return run_plan(dated_plan(), trials=300, seed=1)


@pytest.fixture(scope="module")
def dated_html(dated_report):
    return render_html(unsaved_run(dated_report, dated_plan()), paper="a4", language="en")


def cells(html: str, key: str) -> list[str]:
    return re.findall(rf'data-key="{key}">([^<]*)<', html)


def short_date(value: str) -> str:
    with translation.override("en"):
        return date_format(dt.date.fromisoformat(value), "SHORT_DATE_FORMAT")


def test_the_budget_table_shows_the_reports_cumulative_p50_and_p90(dated_report, dated_html):
    monthly = dated_report["monthly"]
    with translation.override("en"):
        p50 = [money_compact(v, "USD") for v in monthly["cumulative_p50"]]
        p90 = [money_compact(v, "USD") for v in monthly["cumulative_p90"]]
        summed = money_compact(sum(monthly["total_p90"]), "USD")
        total_p90 = money_compact(dated_report["totals"]["cost"]["p90"], "USD")
    assert cells(dated_html, "cumulative-p50") == p50
    assert cells(dated_html, "cumulative-p90") == p90
    assert p90[-1] == total_p90 != summed
    assert dated_html.count('data-key="month-row"') == len(monthly["labels"])
    for label in monthly["labels"]:
        assert f"<td>{label}</td>" in dated_html


def test_an_old_report_has_the_p50_running_sum_and_no_cumulative_p90(dated_report):
    old = stored_before_cumulative(dated_report)
    html = render_html(unsaved_run(old, dated_plan()), paper="a4", language="en")
    running, expected = 0.0, []
    with translation.override("en"):
        for value in old["monthly"]["total_p50"]:
            running += value
            expected.append(money_compact(running, "USD"))
    assert cells(html, "cumulative-p50") == expected
    p90 = cells(html, "cumulative-p90")
    assert p90 and set(p90) == {"—"}
    assert "stored before the simulation gave cumulative percentiles" in html


def test_it_has_a_gpu_pools_table_and_the_storage_policy(dated_report, dated_html):
    table = dated_html[dated_html.index('data-key="pools"') :]
    table = table[: table.index("</table>")]
    pools = dated_report["pools"]
    assert [p["purpose"] for p in pools] == ["main", "finetune"]
    rows = table.split("<tr>")[2:]
    assert len(rows) == len(pools)
    with translation.override("en"):
        for row, pool, purpose in zip(
            rows, pools, ("Main training", "SFT and alignment"), strict=True
        ):
            assert purpose in row
            assert f"{pool['gpu_count']} × {pool['gpu_type']}" in row
            assert short_date(pool["start_date"]) in row
            assert short_date(pool["delivered_date_p50"]) in row
            assert short_date(pool["delivered_date_p90"]) in row
            assert money(pool["window_cost"]["p50"], "USD") in row
            assert money(pool["extension_cost"]["p50"], "USD") in row
            assert f"{round(pool['p_extended'] * 100)}%" in row
        price = money(dated_report["storage"]["policy"]["price_per_tb_month"], "USD")
    assert "→ 1 month<" in rows[0] and "→ 2 months<" in rows[1]
    policy = cells(dated_html, "storage-policy")
    assert policy and f"the last 3 checkpoints on fast storage at {price}" in policy[0]
    assert "One checkpoint" in dated_html and "Tokenised datasets" in dated_html


def test_the_team_table_gives_each_lines_dates(dated_html):
    rows = dated_html.split('data-key="team-row"')[1:]
    assert len(rows) == len(dated_plan()["team"])
    for row in rows:
        assert short_date("2027-03-01") in row and short_date("2027-07-31") in row


def test_the_dated_charts_have_calendar_axes_in_the_document(dated_html):
    for name in ("gantt", "finish_distribution"):
        chart = dated_html[dated_html.index(f'id="{name}-plot"') :]
        chart = chart[: chart.index("</svg>")]
        ticks = re.findall(r">(\d{4}-\d{2}(?:-\d{2})?)<", chart)
        assert len(ticks) >= 2 and ticks == sorted(ticks), name

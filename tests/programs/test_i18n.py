"""English and Simplified Chinese: the header switch, translated pages, rules and number formats."""

import pytest
from django.urls import reverse
from django.utils import translation

from apps.programs.selectors import scenario_findings
from apps.programs.templatetags.planning import count, money, money_compact
from tests.programs.factories import DatasetFactory, ScenarioFactory

pytestmark = pytest.mark.django_db


def test_the_header_switch_sets_the_language(owner_client, scenario):
    url = reverse("programs:scenario_tab", args=[scenario.pk, "overview"])
    english = owner_client.get(url).content.decode()
    assert 'lang="en"' in english and "Target model" in english and "简体中文" in english
    response = owner_client.post(reverse("set_language"), {"language": "zh-hans", "next": url})
    assert response.status_code == 302 and response.url == url
    chinese = owner_client.get(url).content.decode()
    assert '<html lang="zh-hans">' in chinese
    assert "目标模型" in chinese and "从头预训练" in chinese


def test_the_switch_works_on_the_login_page(client):
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    page = client.get(reverse("accounts:login")).content.decode()
    assert "用户名" in page and "登录" in page


def test_rule_messages_are_translated_with_their_source(program):
    scenario = ScenarioFactory(program=program, strategy="cpt", training_tokens=100 * 10**9)
    DatasetFactory(scenario=scenario, tokens=40 * 10**9, kind="domain", stage="cpt")
    DatasetFactory(scenario=scenario, tokens=60 * 10**9, kind="general", stage="cpt")
    with translation.override("zh-hans"):
        [share] = scenario_findings(scenario=scenario)["data.cpt"]
    assert share.text == "CPT 领域数据占比 40%，超过 ≤ 15% 的规则"
    assert share.source == "垂直大模型综述 2023：每 100B 领域 token 需要 700–1000B 通用 token"


def test_counts_and_amounts_follow_the_language():
    with translation.override("en"):
        assert count(2 * 10**12) == "2T"
        assert money(1234567, "CNY") == "¥1,234,567"
        assert money_compact(12_300_000, "USD") == "$12.3M"
    with translation.override("zh-hans"):
        assert count(2 * 10**12) == "2万亿"
        assert count(3 * 10**11) == "3000亿"
        assert money_compact(12_300_000, "CNY") == "¥1230万"


def test_dates_are_iso_in_both_languages(owner_client, scenario):
    # Issue 18: three date formats (Jan. 4, 2027 / 01/04/2027 / 2027-01) on one page; now the
    # pages, the charts, the API and the PDF write 2027-01-04 in English and in Chinese.
    url = reverse("programs:scenario_tab", args=[scenario.pk, "overview"])
    page = owner_client.get(url).content.decode()
    assert "2027-01-04" in page and "Jan. 4, 2027" not in page
    owner_client.post(reverse("set_language"), {"language": "zh-hans", "next": url})
    page = owner_client.get(url).content.decode()
    assert "2027-01-04" in page and "2027年1月4日" not in page


def test_every_message_has_a_chinese_translation():
    from pathlib import Path

    po = (Path(__file__).resolve().parents[2] / "locale/zh_Hans/LC_MESSAGES/django.po").read_text()
    entries = po.split("\n\n")[1:]
    untranslated = [
        e for e in entries if e.rstrip().endswith('msgstr ""') and "msgid_plural" not in e
    ]
    assert untranslated == []
    assert "#, fuzzy" not in po

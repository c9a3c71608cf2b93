"""JSON bodies in other charsets than UTF-8: the nesting guard measures the text the parser will
read (``apps.common.middleware.RequestGuardMiddleware``), never the raw bytes.

The attack: in UTF-16 or UTF-32, ``"∀"`` holds bytes that a byte scan reads as quotes (U+2200 is
``00 22`` in UTF-16LE), so the scan took the 100 000 ``[`` after it for the inside of a string,
passed the body, and the JSON parser recursed into a ``RecursionError`` (a 500).
"""

from __future__ import annotations

import codecs

import pytest
from django.urls import reverse

from apps.common.limits import sniff_json_encoding
from tests.security import test_hostile_common as common
from tests.security.test_hostile_common import snapshot

pytestmark = pytest.mark.django_db
# The shared fixtures (a module attribute is how pytest finds a fixture outside a conftest).
hostile_scenario = common.hostile_scenario
write_token = common.write_token
api_headers = common.api_headers

DEPTH = 100_000
# Brackets hidden between two byte-level "quotes": deep for a parser, flat for a byte scan.
HIDDEN_DEEP = '["∀", ' + "[" * DEPTH + "]" * DEPTH + ', "∀"]'


def _patch_line(client, scenario, body, content_type, headers):
    line = scenario.budget_lines.first()
    # generic(): bytes go through unchanged (post() and patch() re-encode them to the charset).
    return client.generic(
        "PATCH",
        reverse("api:budget-line-detail", args=[line.pk]),
        body,
        content_type=content_type,
        headers={**headers, "If-Match": "*"},
    )


@pytest.mark.parametrize("charset", ["utf-16-le", "utf-16-be", "utf-32", "UTF-16"])
def test_it_refuses_deep_json_in_a_declared_unicode_charset_on_the_api(
    client, api_headers, hostile_scenario, charset
):
    before = snapshot()
    body = HIDDEN_DEEP.encode(charset)
    response = client.generic(
        "POST",
        reverse("api:scenario-start-run", args=[hostile_scenario.pk]),
        body,
        content_type=f"application/json; charset={charset}",
        headers=api_headers,
    )
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "too_deep"
    assert f"{DEPTH + 1:,} levels" in error["message"]
    assert snapshot() == before


@pytest.mark.parametrize("bom", [codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE])
def test_it_refuses_deep_json_marked_by_a_byte_order_mark_without_a_charset(
    client, api_headers, hostile_scenario, bom
):
    encoding = {
        codecs.BOM_UTF16_LE: "utf-16-le",
        codecs.BOM_UTF16_BE: "utf-16-be",
        codecs.BOM_UTF32_LE: "utf-32-le",
    }[bom]
    before = snapshot()
    response = client.generic(
        "POST",
        reverse("api:scenario-start-run", args=[hostile_scenario.pk]),
        bom + HIDDEN_DEEP.encode(encoding),
        content_type="application/json",
        headers=api_headers,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_deep"
    assert snapshot() == before


@pytest.mark.parametrize("charset", ["utf-16-le", "utf-16-be", "utf-32"])
def test_a_shallow_body_in_a_unicode_charset_is_read_as_sent(
    client, api_headers, hostile_scenario, charset
):
    response = _patch_line(
        client,
        hostile_scenario,
        '{"provider": "字节跳动 ∀"}'.encode(charset),
        f"application/json; charset={charset}",
        api_headers,
    )
    assert response.status_code == 200, response.content[:300]
    assert hostile_scenario.budget_lines.first().provider == "字节跳动 ∀"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32-be", "utf-8-sig"])
def test_a_body_without_a_charset_is_read_in_the_encoding_its_first_bytes_show(
    client, api_headers, hostile_scenario, encoding
):
    # RFC 4627 §3: a byte-order mark, or the pattern of zero bytes, names the encoding; the parser
    # reads the text in it (before, DRF read every body without a charset as UTF-8: a 400).
    response = _patch_line(
        client,
        hostile_scenario,
        '{"provider": "Volcano ∀"}'.encode(encoding),
        "application/json",
        api_headers,
    )
    assert response.status_code == 200, response.content[:300]
    assert hostile_scenario.budget_lines.first().provider == "Volcano ∀"


@pytest.mark.parametrize("charset", ["x-no-such-charset", "utf-7", "latin-1", "cp037", "bz2_codec"])
def test_it_refuses_json_in_an_unknown_or_non_unicode_charset_with_415_naming_it(
    client, api_headers, hostile_scenario, charset
):
    before = snapshot()
    response = _patch_line(
        client,
        hostile_scenario,
        b'{"provider": "x"}',
        f"application/json; charset={charset}",
        api_headers,
    )
    assert response.status_code == 415
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert f'"{charset}"' in error["message"]
    assert error["fields"] == {"Content-Type": ["unsupported charset"]}
    assert snapshot() == before


def test_utf_7_cannot_smuggle_brackets_past_the_guard(client, api_headers, hostile_scenario):
    # In UTF-7 "[" is "+AFs-": no bracket byte at all. Refused for its charset, whatever the depth.
    before = snapshot()
    response = client.generic(
        "POST",
        reverse("api:scenario-start-run", args=[hostile_scenario.pk]),
        ("[" * DEPTH + "]" * DEPTH).encode("utf-7"),
        content_type="application/json; charset=utf-7",
        headers=api_headers,
    )
    assert response.status_code == 415
    assert snapshot() == before


def test_the_page_paths_refuse_deep_utf_16_json_in_plain_text(owner_client, hostile_scenario):
    before = snapshot()
    response = owner_client.generic(
        "POST",
        reverse("programs:scenario_rename", args=[hostile_scenario.pk]),
        HIDDEN_DEEP.encode("utf-16-le"),
        content_type="application/json; charset=utf-16-le",
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert f"nested {DEPTH + 1:,} levels deep" in response.content.decode()
    assert snapshot() == before


def test_the_page_paths_refuse_an_unknown_charset_in_plain_text(owner_client, hostile_scenario):
    before = snapshot()
    response = owner_client.generic(
        "POST",
        reverse("programs:scenario_rename", args=[hostile_scenario.pk]),
        b'{"name": "x"}',
        content_type="application/json; charset=x-martian",
    )
    assert response.status_code == 415
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert '"x-martian"' in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'{"a"', "utf-8"),
        (b"[1]", "utf-8"),
        (b"", "utf-8"),
        ("[1]".encode("utf-16-le"), "utf-16-le"),
        ("[1]".encode("utf-16-be"), "utf-16-be"),
        ("[1]".encode("utf-32-le"), "utf-32-le"),
        ("[1]".encode("utf-32-be"), "utf-32-be"),
        ("1".encode("utf-16-le"), "utf-16-le"),
        ("1".encode("utf-16-be"), "utf-16-be"),
        (codecs.BOM_UTF8 + b"[1]", "utf-8-sig"),
        ("[1]".encode("utf-16"), "utf-16"),
        ("[1]".encode("utf-32"), "utf-32"),
    ],
)
def test_it_sniffs_the_encoding_of_json_as_rfc_4627_says(head, expected):
    assert sniff_json_encoding(head) == expected


@pytest.mark.parametrize("content_type", ["*/*", "application/*", "*/json", "*/*; charset=utf-8"])
def test_a_wildcard_content_type_is_guarded_like_json(
    client, api_headers, hostile_scenario, content_type
):
    # DRF's negotiation lets a wildcard select its JSON parser: the guard must measure the body.
    before = snapshot()
    response = client.generic(
        "POST",
        reverse("api:scenario-start-run", args=[hostile_scenario.pk]),
        ("[" * DEPTH + "]" * DEPTH).encode(),
        content_type=content_type,
        headers=api_headers,
    )
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["code"] == "too_deep"
    assert snapshot() == before

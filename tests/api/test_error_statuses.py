"""Every refusal the API can answer is in the schema, for each operation that can answer it: 413
(a body over the limit), 415 (a body of a media type the operation does not read), 406 (an Accept
header nothing satisfies) and 429 (the throttle, with Retry-After) — in the error envelope.

The operations come from the served schema itself, so a new one is covered without a change here.
Each status is really provoked through the whole app (middleware included) and the answer is
checked with schemathesis' response checks: the status is documented for the operation, and the
media type, headers and body match what the schema says.
"""

from __future__ import annotations

from types import SimpleNamespace
from unittest import mock

import pytest
import requests
import schemathesis
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.api.schema import document_refusals
from apps.api.throttling import TokenRateThrottle
from llmplanner.wsgi import application

pytestmark = pytest.mark.django_db

SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
PATHS = SCHEMA.raw_schema["paths"]
OPERATIONS = [
    (method.upper(), path)
    for path, item in PATHS.items()
    for method in item
    if method in ("get", "put", "post", "patch", "delete")
]
WITH_BODY = [(m, p) for m, p in OPERATIONS if "requestBody" in PATHS[p][m.lower()]]
WITHOUT_BODY = [op for op in OPERATIONS if op not in WITH_BODY]
CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _id(operation: tuple[str, str]) -> str:
    return f"{operation[0]} {operation[1]}"


def test_the_schema_has_operations_with_and_without_a_body():
    # Guards the parametrizations below: an empty list would test nothing and pass.
    assert WITH_BODY and WITHOUT_BODY


@pytest.fixture
def urls(writer, run):
    """Each path of the schema with a real id in place of ``{id}``: the first row its collection
    lists (an export is asked for first, so that there is one)."""
    exports = writer.post(f"/api/v1/runs/{run.pk}/exports/", {}, content_type="application/json")
    assert exports.status_code == 202
    ids: dict[str, int] = {}
    for path in PATHS:
        collection = path.split("{id}")[0]
        if "{id}" in path and collection not in ids:
            listed = writer.get(collection)
            assert listed.status_code == 200 and listed.json()["results"], collection
            ids[collection] = listed.json()["results"][0]["id"]
    return {path: path.replace("{id}", str(ids.get(path.split("{id}")[0]))) for path in PATHS}


def call(
    client: Client,
    operation: tuple[str, str],
    url: str,
    body: bytes = b"",
    content_type: str = "application/json",
    **headers: str,
):
    """Sends ``operation`` through the whole app (If-Match: * so that a write gets past its 428)
    and returns the response after checking it against the schema."""
    method, path = operation
    headers = {"If-Match": "*", **headers}
    response = client.generic(method, url, body, content_type=content_type, headers=headers)
    answer = schemathesis.Response(
        status_code=response.status_code,
        headers={name.lower(): [value] for name, value in response.headers.items()},
        content=response.content,
        request=requests.Request(method, f"http://testserver{url}", headers=headers).prepare(),
        elapsed=0.0,
        verify=True,
    )
    # The documented status, media type, headers (Retry-After) and body (the Error component).
    SCHEMA[path][method].Case().validate_response(answer, checks=CHECKS)
    return response


def assert_refused(response, operation: tuple[str, str], status: int, code: str) -> None:
    method, path = operation
    assert response.status_code == status, response.content
    assert str(status) in PATHS[path][method.lower()]["responses"]
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and error["fields"] == {}


@pytest.mark.parametrize("operation", OPERATIONS, ids=_id)
def test_a_body_over_the_limit_is_a_documented_413(writer, urls, operation):
    # The guard reads Content-Length on every request, a GET's too: every operation documents it.
    body = b" " * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = call(writer, operation, urls[operation[1]], body)
    assert_refused(response, operation, 413, "too_large")


@pytest.mark.parametrize(
    "content_type",
    # An unknown type, and the fuzzer's find: a media type too long to consider (DRF: over 256
    # characters), here a multipart one with a long boundary.
    ["text/plain", "multipart/form-data; boundary=" + "b" * 300],
    ids=["text", "long-multipart"],
)
@pytest.mark.parametrize("operation", WITH_BODY, ids=_id)
def test_a_body_of_a_type_the_operation_does_not_read_is_a_documented_415(
    writer, urls, operation, content_type
):
    response = call(writer, operation, urls[operation[1]], b"x", content_type)
    assert_refused(response, operation, 415, "unsupported_media_type")


@pytest.mark.parametrize("operation", WITHOUT_BODY, ids=_id)
def test_an_operation_that_reads_no_body_neither_refuses_nor_documents_415(writer, urls, operation):
    method, path = operation
    assert "415" not in PATHS[path][method.lower()]["responses"]
    response = call(writer, operation, urls[path], b"x", "text/plain")
    assert response.status_code != 415


@pytest.mark.parametrize("operation", OPERATIONS, ids=_id)
def test_an_accept_header_nothing_satisfies_is_a_documented_406_in_json(writer, urls, operation):
    response = call(writer, operation, urls[operation[1]], Accept="image/png")
    assert_refused(response, operation, 406, "not_acceptable")
    assert response["Content-Type"] == "application/json"


@pytest.fixture
def one_request_a_minute(urls):
    # The throttle's rates are read once, when DRF is imported: a settings override does not
    # reach them, so the class attribute is replaced (as in test_access.py). The requests that
    # found the ids are forgotten.
    cache.clear()
    with mock.patch.object(TokenRateThrottle, "THROTTLE_RATES", {"api": "1/min"}):
        yield


@pytest.mark.parametrize("operation", OPERATIONS, ids=_id)
def test_too_many_requests_are_a_documented_429_with_retry_after(
    writer, urls, operation, one_request_a_minute
):
    assert writer.get("/api/v1/programs/").status_code == 200  # the token's one request
    response = call(writer, operation, urls[operation[1]])
    assert_refused(response, operation, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Retry-After" in PATHS[operation[1]][operation[0].lower()]["responses"]["429"]["headers"]


def test_a_429_says_retry_after_even_when_the_rate_was_lowered(writer):
    # More requests on record than the new rate allows: DRF alone would send no Retry-After.
    for _ in range(3):
        assert writer.get("/api/v1/programs/").status_code == 200
    with mock.patch.object(TokenRateThrottle, "THROTTLE_RATES", {"api": "1/min"}):
        response = call(writer, ("GET", "/api/v1/programs/"), "/api/v1/programs/")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60


def test_the_hook_keeps_a_status_an_operation_already_documents():
    declared = {"description": "Declared by the view.", "content": {}}
    schema = {
        "paths": {"/x/": {"get": {"responses": {"200": {}, "429": declared}}}},
        "components": {"schemas": {"Error": {"type": "object"}}},
    }
    with mock.patch("apps.api.schema.warn"):  # no view behind /x/
        result = document_refusals(result=schema, generator=SimpleNamespace(endpoints=[]))
    responses = result["paths"]["/x/"]["get"]["responses"]
    assert responses["429"] is declared
    # no 415: no request body
    assert list(responses) == ["200", "406", "411", "413", "429", "503"]


@pytest.mark.parametrize("operation", OPERATIONS, ids=_id)
def test_every_operation_documents_411_and_503_with_retry_after(operation):
    responses = PATHS[operation[1]][operation[0].lower()]["responses"]
    assert "411" in responses
    assert "Retry-After" in responses["503"]["headers"]

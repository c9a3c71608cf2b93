"""The OpenAPI 3 schema: valid, documented, and honoured by the API (schemathesis)."""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import reverse
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from llmplanner.wsgi import application
from tests.fuzzing import FUZZ, FUZZ_SEED, GATE_SEED, examples

pytestmark = pytest.mark.django_db


def test_the_schema_validates_with_no_warnings(tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )


def test_every_operation_has_a_description_and_an_example(client):
    schema = client.get(reverse("api:schema"), {"format": "json"}).json()
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            assert op.get("description"), f"{method.upper()} {path} has no description"
            body = json.dumps(op.get("responses", {})) + json.dumps(op.get("requestBody", {}))
            component_refs = [ref.split("/")[-1] for ref in body.split('"$ref": "')[1:]]
            documented = '"example' in body or any(
                "example" in json.dumps(schema["components"]["schemas"].get(ref.split('"')[0], {}))
                for ref in component_refs
            )
            assert documented or method == "delete", f"{method.upper()} {path} has no example"


def test_swagger_ui_is_served_without_a_cdn_or_an_inline_script(client):
    page = client.get(reverse("api:docs")).content.decode()
    assert "drf_spectacular_sidecar" in page
    assert "cdn.jsdelivr" not in page and "unpkg.com" not in page and "googleapis" not in page
    assert "<script>" not in page  # the start-up script is a file (Content-Security-Policy)
    script = client.get(reverse("api:docs"), {"script": ""})
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
    # ReDoc's bundle fetches from CDNs; its old address leads to Swagger UI.
    assert client.get(reverse("api:redoc"))["Location"] == reverse("api:docs")


@pytest.fixture
def fuzz_data(run, write_token):
    """A scenario with a successful run, and the token schemathesis sends."""
    return write_token


# A missing If-Match is answered 428 Precondition Required (RFC 6585), which is a rejection too.
# In the gate a fixed seed (and the derandomized hypothesis profile, tests/fuzzing.py): the same
# commit sends the same requests every time. ./scripts/fuzz_api.sh draws fresh ones.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {"missing_required_header": {"expected-statuses": [400, 428]}},
        "seed": FUZZ_SEED if FUZZ else GATE_SEED,
    }
)
SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)


@pytest.fixture
def no_connection_closing():
    # In-process WSGI calls start and end with close_old_connections, which closes the test's
    # database connection inside its transaction (PITFALLS); Django's own test client disconnects
    # it the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@SCHEMA.parametrize()
@settings(max_examples=examples(15), deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_never_fails_and_answers_as_documented(case, fuzz_data, no_connection_closing):
    headers = {"Authorization": f"Bearer {fuzz_data}"}
    response = case.call(headers=headers)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} → {response.status_code}"
    )
    # A write generated from the schema alone can be refused for reasons the schema cannot say
    # (a scenario of another organization, a stale version): not a documentation bug. Reads must
    # accept every schema-valid request.
    excluded = [positive_data_acceptance] if case.method != "GET" else []
    case.validate_response(response, headers=headers, excluded_checks=excluded)

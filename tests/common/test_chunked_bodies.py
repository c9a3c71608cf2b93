"""Request bodies without a Content-Length (``Transfer-Encoding: chunked``).

Django reads no more of a WSGI body than ``CONTENT_LENGTH`` says — none when it is absent — so a
chunked ``POST /api/v1/scenarios/<id>/runs/ {"seed": 31337, "trials": 50}`` started a run with
the defaults (seed 0, 2000 trials). ``RequestGuardMiddleware`` now reads such a body when the
server says it decoded the chunks (``wsgi.input_terminated``, as gunicorn does) and refuses it
with 411 otherwise: a view never acts on a body nobody read.
"""

from __future__ import annotations

import http.client
import io
import json

import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from apps.accounts.services import api_token_create
from apps.common.middleware import RequestGuardMiddleware
from apps.programs.services import program_create_from_blueprint
from apps.runs.models import PlanRun
from tests.accounts.factories import MembershipFactory
from tests.faults.processes import Web, running, service_env
from tests.runs.worker_process import database_url_of_test_db

RUN_REQUEST = b'{"seed": 31337, "trials": 50}'


def chunked_request(path: str, body: bytes, *, terminated: bool) -> WSGIRequest:
    """A WSGI request as a server hands over a chunked body: the decoded bytes on wsgi.input,
    Transfer-Encoding kept, no CONTENT_LENGTH."""
    environ = RequestFactory().generic("POST", path, b"", content_type="application/json").environ
    environ = {key: value for key, value in environ.items() if key != "CONTENT_LENGTH"}
    environ["CONTENT_TYPE"] = "application/json"
    environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    environ["wsgi.input"] = io.BytesIO(body)
    if terminated:
        environ["wsgi.input_terminated"] = True
    return WSGIRequest(environ)


def through_guard(request: WSGIRequest) -> tuple[HttpResponse, bytes | None]:
    """The guard's answer, and the body the view behind it read (None when it was not called)."""
    seen: list[bytes] = []

    def view(req):  # type: ignore[no-untyped-def]
        seen.append(req.body)
        return HttpResponse("ok")

    response = RequestGuardMiddleware(view)(request)
    return response, (seen[0] if seen else None)


def test_the_guard_reads_a_chunked_body_the_server_terminated():
    request = chunked_request("/api/v1/scenarios/2/runs/", RUN_REQUEST, terminated=True)
    response, body = through_guard(request)
    assert response.content == b"ok"
    assert body == RUN_REQUEST
    assert request.META["CONTENT_LENGTH"] == str(len(RUN_REQUEST))


class Trickle(io.BytesIO):
    """A server's input that hands over at most 3 bytes per read, as PEP 3333 allows."""

    def read(self, size=-1):  # type: ignore[no-untyped-def]
        return super().read(3 if size is None or size < 0 else min(size, 3))


def test_the_guard_reads_a_chunked_body_to_its_end_however_the_server_hands_it_over():
    request = chunked_request("/api/v1/scenarios/2/runs/", b"", terminated=True)
    request.META["wsgi.input"] = Trickle(RUN_REQUEST)
    response, body = through_guard(request)
    assert response.content == b"ok"
    assert body == RUN_REQUEST


def test_the_guard_refuses_a_chunked_body_it_cannot_read_with_411_in_the_api_envelope():
    request = chunked_request("/api/v1/scenarios/2/runs/", RUN_REQUEST, terminated=False)
    response, body = through_guard(request)
    assert body is None  # the view never ran
    assert response.status_code == 411
    assert json.loads(response.content) == {
        "error": {
            "code": "length_required",
            "message": "A request body needs a Content-Length header here.",
            "fields": {"Content-Length": ["missing"]},
        }
    }


def test_the_guard_refuses_an_unreadable_chunked_body_to_a_page_in_plain_text():
    request = chunked_request("/programs/", b'{"name": "x"}', terminated=False)
    response, body = through_guard(request)
    assert body is None
    assert response.status_code == 411
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert b"Content-Length" in response.content


def test_the_guard_refuses_a_chunked_body_over_the_size_limit_with_413(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    request = chunked_request(
        "/api/v1/scenarios/2/runs/", b"[" + b" " * 2000 + b"]", terminated=True
    )
    response, body = through_guard(request)
    assert body is None
    assert response.status_code == 413
    assert json.loads(response.content)["error"]["code"] == "too_large"


def test_the_guard_measures_the_depth_of_a_chunked_json_body():
    request = chunked_request(
        "/api/v1/scenarios/2/runs/", b"[" * 5000 + b"]" * 5000, terminated=True
    )
    response, body = through_guard(request)
    assert body is None
    assert response.status_code == 400
    assert json.loads(response.content)["error"]["code"] == "too_deep"


# --- through a real gunicorn -----------------------------------------------------------------


def send_chunked(url: str, path: str, token: str, chunks: list[bytes]) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request(
            "POST",
            path,
            body=iter(chunks),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_gunicorn_passes_a_chunked_run_request_to_the_api_whole(tmp_path):
    owner = MembershipFactory(role="owner").user
    organization = owner.memberships.get().organization
    program = program_create_from_blueprint(
        user=owner, organization=organization, key="sft-7b-10k-instructions"
    )
    scenario = program.scenarios.get()
    token = api_token_create(user=owner, organization=organization, name="chunks", scope="write")[1]
    # The test database; a broker and cache of its own (the run it starts stays queued there).
    env = service_env(
        DATABASE_URL=database_url_of_test_db(),
        VAR_DIR=str(tmp_path / "var"),
        CELERY_BROKER_URL=None,
        REDIS_URL=None,
        CACHE_URL=None,
    )
    path = reverse("api:scenario-start-run", args=[scenario.pk])
    with running(lambda: Web(env, tmp_path, workers=1)) as (web,):
        status, body = send_chunked(web.url, path, token, [RUN_REQUEST[:9], RUN_REQUEST[9:]])
        assert status == 202, web.log()[-3000:]
        answer = json.loads(body)
        assert (answer["seed"], answer["trials"]) == (31337, 50)
        run = PlanRun.objects.get(pk=answer["id"])
        assert (run.seed, run.trials) == (31337, 50)

        status, body = send_chunked(web.url, path, token, [b"[" * 40_000, b"]" * 40_000])
        assert status == 400, web.log()[-3000:]
        assert json.loads(body)["error"]["code"] == "too_deep"
    assert PlanRun.objects.filter(scenario=scenario).count() == 1

"""Refuse requests no view should ever parse, and answer the failures no view should turn into a
500.

``RequestGuardMiddleware`` refuses bodies too large (413), JSON nested too deep (400), JSON in a
charset that is not Unicode (415), header values with control characters (400), and a body sent
without a length that the server did not read for us (411). Why here and not in the views: Django
enforces ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only when ``request.body`` or ``request.POST`` is read,
and Django REST framework's JSON parser reads the request as a stream when nothing read it
before, so a 10 MB JSON body reached the serializers whole. And ``json.loads`` recurses once per
level of nesting: 100 000 ``[`` raise ``RecursionError`` — not a ``ValueError``, so DRF's parser
let it through as a 500. Checking the size from ``Content-Length`` and the depth with a flat scan
(no recursion) of the text the parser will read — decoded from the charset it will use — before
any parser runs turns both into clean client errors, for the API and the pages alike.

``DatabaseUnavailableMiddleware`` answers 503 with ``Retry-After`` when a view fails because the
database is locked, timed out or unreachable (``apps.common.database``). ``PrivateCacheMiddleware``
marks every answer to a signed-in request ``Cache-Control: private, no-store``.

API paths answer in the API's error envelope (``{"error": {"code", "message", "fields"}}``),
other paths with a short plain-text message.
"""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import got_request_exception
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _

from apps.common.database import RETRY_AFTER_S, database_unavailable
from apps.common.limits import MAX_JSON_DEPTH, UnsupportedCharset, json_depth, json_encoding

logger = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _is_json(content_type: str) -> bool:
    """Whether a parser may read the body as JSON: DRF's content negotiation lets a wildcard
    (``*/*``, ``application/*``, ``*/json``) select its JSON parser, so those count too."""
    media = content_type.split(";", 1)[0].strip().lower()
    return "*" in media or media == "application/json" or media.endswith("+json")


class RequestGuardMiddleware:
    """Refuses oversized bodies (413), bodies of unknown length (411), non-Unicode JSON (415) and
    too-deep JSON bodies (400) before any view runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = self._check(request)
        return refusal if refusal is not None else self.get_response(request)

    def _check(self, request: HttpRequest) -> HttpResponse | None:
        for key, value in request.META.items():
            # RFC 9110 §5.5: a field value holds no NUL, CR, LF or other control character
            # except tab. Test clients (and some servers) pass them through; Postgres then
            # refuses a NUL in text (an Idempotency-Key was stored as given: a 500).
            if key.startswith("HTTP_") and isinstance(value, str) and _CONTROL.search(value):
                header = key[5:].replace("_", "-").title()
                return _refuse(
                    request,
                    400,
                    "bad_header",
                    f"The {header} header holds a control character.",
                    fields={header: ["holds a control character"]},
                )
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if _unread_body(request):
            refusal = _read_unsized_body(request, limit)
            if refusal is not None:
                return refusal
        raw_length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw_length)
        except ValueError:
            return _refuse(request, 400, "bad_request", "Content-Length is not a number.")
        if limit is not None and length > limit:
            return _refuse(
                request,
                413,
                "too_large",
                f"The request body is {length:,} bytes; the limit is {limit:,} bytes.",
            )
        # An ASGI server reads a chunked body itself and passes no length: scan that one too.
        has_body = length > 0 or bool(request.META.get("HTTP_TRANSFER_ENCODING"))
        if has_body and _is_json(request.META.get("CONTENT_TYPE", "")):
            return _check_json(request)
        return None


def _unread_body(request: HttpRequest) -> bool:
    """A WSGI request announcing a body by ``Transfer-Encoding`` (chunked) without a
    ``Content-Length``: Django reads no body without a length (``WSGIRequest`` limits its stream
    to ``CONTENT_LENGTH``, 0 when absent), so a view would act on an empty one."""
    return (
        isinstance(request, WSGIRequest)
        and bool(request.META.get("HTTP_TRANSFER_ENCODING"))
        and not request.META.get("CONTENT_LENGTH")
    )


def _read_unsized_body(request: HttpRequest, limit: int | None) -> HttpResponse | None:
    """Reads a chunked body into memory (at most ``limit`` bytes) and gives the request its
    length, so Django and the parsers see it as if it had come with ``Content-Length``.

    Only when the server says it decoded the chunks and ends the stream at the body's end
    (``wsgi.input_terminated``, as gunicorn does); otherwise 411 Length Required — never acting
    on a body that was not read.
    """
    if not request.META.get("wsgi.input_terminated"):
        return _refuse(
            request,
            411,
            "length_required",
            _("A request body needs a Content-Length header here."),
            fields={"Content-Length": [_("missing")]},
        )
    body = _read_to_end(request.META["wsgi.input"], None if limit is None else limit + 1)
    if limit is not None and len(body) > limit:
        return _refuse(
            request,
            413,
            "too_large",
            f"The request body is more than {limit:,} bytes; the limit is {limit:,} bytes.",
        )
    request.META["CONTENT_LENGTH"] = str(len(body))
    # WSGIRequest made its stream from the length it saw (none): replace it with the body read.
    request._stream = io.BytesIO(body)  # type: ignore[attr-defined]
    return None


def _read_to_end(stream: Any, at_most: int | None) -> bytes:
    """The stream's bytes to its end, or its first ``at_most``. A WSGI ``read(n)`` may return
    fewer than ``n`` bytes before the end (PEP 3333 only bounds it), so read until it is empty."""
    parts: list[bytes] = []
    size = 0
    while at_most is None or size < at_most:
        part = stream.read(64 * 1024 if at_most is None else min(64 * 1024, at_most - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _check_json(request: HttpRequest) -> HttpResponse | None:
    """Refuses JSON in a charset that is not Unicode (415) and JSON nested too deep (400).

    The depth is measured on the text the parser will read: bytes alone can hide brackets (in
    UTF-16LE, U+2200 is the bytes ``00 22`` — a quote to a byte scan, which then took 100 000
    ``[`` for the inside of a string). Without a declared charset the encoding is sniffed as
    RFC 4627 §3 says, and set on the request so that the parser reads the same text.
    """
    body = request.body
    declared = (request.content_params or {}).get("charset")
    try:
        encoding = json_encoding(body, declared)
    except UnsupportedCharset as exc:
        return _refuse(
            request,
            415,
            "unsupported_media_type",
            _('JSON must be sent as UTF-8 (or UTF-16 or UTF-32), not charset "%(charset)s".')
            % {"charset": exc.charset},
            fields={"Content-Type": [_("unsupported charset")]},
        )
    if declared is None and encoding != "utf-8":
        request.encoding = encoding  # DRF decodes with request.encoding, UTF-8 when unset
    # Undecodable bytes become U+FFFD (neither a bracket nor a quote); the parser itself refuses
    # them before it parses anything.
    depth = json_depth(body.decode(encoding, errors="replace"))
    if depth > MAX_JSON_DEPTH:
        return _refuse(
            request,
            400,
            "too_deep",
            f"The JSON body is nested {depth:,} levels deep; at most {MAX_JSON_DEPTH} are allowed.",
        )
    return None


class DatabaseUnavailableMiddleware:
    """A request that fails because the database is locked, timed out or unreachable answers 503
    with ``Retry-After`` (in the API's error envelope on API paths) instead of a 500. Any other
    database error stays a 500: it is the code's fault, and hiding it would hide the bug.

    A view's failure arrives in ``process_exception``. One in a middleware further in (the
    session's save, the user's lookup for the login check) Django has already turned into a 500
    response before it gets here; ``got_request_exception`` marks such a request, and the 500 is
    replaced on its way out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 500 and getattr(request, _UNAVAILABLE_MARK, False):
            return _unavailable(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not database_unavailable(exception):
            return None
        logger.warning("database unavailable on %s %s: %s", request.method, request.path, exception)
        return _unavailable(request)


_UNAVAILABLE_MARK = "_llmplanner_database_unavailable"


@receiver(got_request_exception, dispatch_uid="apps.common.middleware.mark_unavailable")
def _mark_unavailable(sender: object, request: HttpRequest | None = None, **kwargs: object) -> None:
    # Sent from inside Django's ``except`` block: sys.exc_info() is the failure.
    if request is not None and database_unavailable(sys.exc_info()[1] or Exception()):
        setattr(request, _UNAVAILABLE_MARK, True)


def _unavailable(request: HttpRequest) -> HttpResponse:
    response = _refuse(
        request,
        503,
        "database_unavailable",
        _("The database is busy or unavailable. Please try again in a few seconds."),
    )
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


class PrivateCacheMiddleware:
    """Every answer to a signed-in request (session or API token) is ``Cache-Control: private,
    no-store``, so no shared cache or browser history keeps a page of someone's plans — unless the
    view chose its own ``Cache-Control``. Validators (``ETag``) still work: a client can revalidate
    with ``If-None-Match``/``If-Match`` without storing anything.

    Placed after the authentication middleware; static files never reach it (WhiteNoise answers
    them further out, with their own caching)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # DRF's authentication sets request.user on this request too (token or session).
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_store=True)
        return response


def _refuse(
    request: HttpRequest,
    status: int,
    code: str,
    message: str,
    fields: dict[str, list[str]] | None = None,
) -> HttpResponse:
    if request.path.startswith("/api/"):
        body = {"error": {"code": code, "message": message, "fields": fields or {}}}
        return HttpResponse(json.dumps(body), status=status, content_type="application/json")
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")

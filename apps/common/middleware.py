"""Refuse requests no view should ever parse: bodies too large (413), JSON nested too deep (400),
header values with control characters (400).

Why here and not in the views: Django enforces ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only when
``request.body`` or ``request.POST`` is read, and Django REST framework's JSON parser reads the
request as a stream when nothing read it before, so a 10 MB JSON body reached the serializers
whole. And ``json.loads`` recurses once per level of nesting: 100 000 ``[`` raise
``RecursionError`` — not a ``ValueError``, so DRF's parser let it through as a 500. Checking the
size from ``Content-Length`` and the depth with a flat scan (no recursion) before any parser
runs turns both into clean client errors, for the API and the pages alike.

API paths answer in the API's error envelope (``{"error": {"code", "message", "fields"}}``),
other paths with a short plain-text message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apps.common.limits import MAX_JSON_DEPTH, json_depth

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class RequestGuardMiddleware:
    """Refuses oversized bodies (413) and too-deep JSON bodies (400) before any view runs."""

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
        raw_length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw_length)
        except ValueError:
            return _refuse(request, 400, "bad_request", "Content-Length is not a number.")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            return _refuse(
                request,
                413,
                "too_large",
                f"The request body is {length:,} bytes; the limit is {limit:,} bytes.",
            )
        if length and _is_json(request.META.get("CONTENT_TYPE", "")):
            depth = json_depth(request.body)
            if depth > MAX_JSON_DEPTH:
                return _refuse(
                    request,
                    400,
                    "too_deep",
                    f"The JSON body is nested {depth:,} levels deep; at most {MAX_JSON_DEPTH} "
                    f"are allowed.",
                )
        return None


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

"""The refusals no view declares, added to the OpenAPI schema in one place.

Six statuses come from machinery around the views, not from their code, so no ``extend_schema``
names them: 413 from ``RequestGuardMiddleware`` (a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``), 411
from the same guard (a chunked body the server did not read to its end), 415 from Django REST
framework's parsers (a body of a media type the operation does not read) or the guard (JSON in a
charset other than UTF-8/16/32), 406 from its content negotiation (an ``Accept`` header no
renderer satisfies), 429 from the throttle (``TokenRateThrottle``, with ``Retry-After``) and 503
from ``apps.common.database`` (the database locked or unreachable, with ``Retry-After``).
``document_refusals`` (a drf-spectacular postprocessing hook,
``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``) adds each to exactly the operations that can
answer it, with the shared ``Error`` component, and leaves a status an operation already
documents as it is.

Which operations:

- 413: all. The middleware reads ``Content-Length`` on every request, whatever the method or the
  address, before routing and authentication, so even a GET that carries a body is refused.
- 415: those with a request body (``requestBody``). Only they read ``request.data``; DRF parses
  lazily, so a GET or DELETE with a body of any type is never parsed and never refused.
- 406: all. Every DRF view negotiates the response's media type before authenticating.
- 429: those whose view has a throttle (today: all, through ``DEFAULT_THROTTLE_CLASSES``).
- 411 and 503: all, like 413 (the guard and the database reach every request).
"""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings
from drf_spectacular.drainage import warn
from rest_framework.views import APIView

# ErrorSerializer's component: the one the declared 400/401/403/404 responses use (``ERRORS``).
ERROR_COMPONENT = "Error"
GUARD = "apps.common.middleware.RequestGuardMiddleware"
METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")


def _error(description: str, name: str, code: str, message: str) -> dict[str, Any]:
    example = {"error": {"code": code, "message": message, "fields": {}}}
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"},
                "examples": {name.title().replace(" ", ""): {"value": example, "summary": name}},
            }
        },
    }


def _too_large() -> dict[str, Any] | None:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if GUARD not in settings.MIDDLEWARE or limit is None:
        return None
    return _error(
        f"The request's `Content-Length` is over {limit:,} bytes: refused before the request is "
        "routed or authenticated, whatever the method.",
        "Too large",
        "too_large",
        f"The request body is {limit + 1:,} bytes; the limit is {limit:,} bytes.",
    )


def _unsupported(media_types: list[str]) -> dict[str, Any]:
    return _error(
        "The body's `Content-Type` is not one this operation reads "
        f"({', '.join(f'`{m}`' for m in media_types)}).",
        "Unsupported media type",
        "unsupported_media_type",
        'Unsupported media type "text/plain" in request.',
    )


NOT_ACCEPTABLE = _error(
    "The `Accept` header names no media type this operation answers with (see its success "
    "response); errors, this one too, are JSON. Checked before authentication.",
    "Not acceptable",
    "not_acceptable",
    "Could not satisfy the request Accept header.",
)
THROTTLED = {
    **_error(
        "Too many requests from this token (a browser session: this user) in the period of "
        "`API_RATE_LIMIT`, counted over all operations; `Retry-After` says when to try again.",
        "Throttled",
        "throttled",
        "Request was throttled. Expected available in 42 seconds.",
    ),
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before the next request.",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}


LENGTH_REQUIRED = _error(
    "A body sent in chunks (`Transfer-Encoding: chunked`) that the server could not read to its "
    "end: send it with `Content-Length`. Nothing was done.",
    "Length required",
    "length_required",
    "A request body needs a Content-Length header here.",
)
UNAVAILABLE = {
    **_error(
        "The database is busy (locked by another writer) or unreachable; nothing was changed. "
        "`Retry-After` says when to try again.",
        "Database unavailable",
        "database_unavailable",
        "The database is busy or unavailable. Please try again in a few seconds.",
    ),
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}


def _views(generator: Any) -> dict[tuple[str, str], APIView]:
    """The view behind each operation, as the generator built it (with an action's options)."""
    views = {}
    for path, _regex, method, callback in generator.endpoints or ():
        view = generator.create_view(callback, method)
        views[generator.coerce_path(path, method, view), method.lower()] = view
    return views


def document_refusals(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """Adds 406, 411, 413, 415, 429 and 503 to the operations that can answer them (see the
    module)."""
    if ERROR_COMPONENT not in result.get("components", {}).get("schemas", {}):
        warn(f"no {ERROR_COMPONENT} component: the refusals are not documented")
        return result
    views = _views(generator)
    too_large = _too_large()
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            view = views.get((path, method))
            if view is None:
                warn(f"no view found for {method.upper()} {path}: its refusals are a guess")
            refusals: dict[str, dict[str, Any]] = {"406": NOT_ACCEPTABLE}
            if too_large is not None:
                refusals["413"] = too_large
                refusals["411"] = LENGTH_REQUIRED
            refusals["503"] = UNAVAILABLE
            body = operation.get("requestBody")
            if body and (view is None or view.get_parsers()):
                refusals["415"] = _unsupported(list(body.get("content", {})))
            if view is None or view.get_throttles():
                refusals["429"] = THROTTLED
            responses = operation.setdefault("responses", {})
            for status, response in refusals.items():
                responses.setdefault(status, copy.deepcopy(response))
            operation["responses"] = dict(sorted(responses.items()))
    return result

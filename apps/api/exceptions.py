"""One error envelope for every failure: ``{"error": {"code", "message", "fields"}}``.

``fields`` maps an input field to its messages (empty when the error is not about a field). A
service's ``ApplicationError`` is a 400 (403 when it denies an edit, 412 when the scenario changed
under an ``If-Match``), a core ``ValidationError`` a 400 naming the field; never a 500.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from apps.common.errors import ApplicationError
from llmplanner.simulation.errors import ValidationError as CoreValidationError


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource changed since you read it."
    default_code = "precondition_failed"


class PreconditionRequired(exceptions.APIException):
    status_code = 428
    default_detail = "Send If-Match with the ETag you read, so that no change is overwritten."
    default_code = "precondition_required"


class NotReady(exceptions.APIException):
    """A download asked for before the document exists (or after its file was lost)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "Not ready yet."
    default_code = "not_ready"


class NoApprovedBaseline(exceptions.APIException):
    """A scenario's approved baseline asked for (its budget, actuals) when none is approved."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "This scenario has no approved baseline yet."
    default_code = "no_approved_baseline"


class IdempotencyKeyReused(exceptions.APIException):
    """An ``Idempotency-Key`` sent again with another request (method, path or body)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = (
        "This Idempotency-Key was already used for a different request (another body or "
        "scenario); send a new key for a new run."
    )
    default_code = "idempotency_key_reused"


class IdempotencyKeyInFlight(exceptions.APIException):
    """A first use of a key that raced another one which did not finish: try again."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "Another request with this Idempotency-Key is in progress; try again."
    default_code = "idempotency_key_in_flight"


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            fields.update(_flatten(value, name))
    elif isinstance(detail, list):
        messages = [str(item) for item in detail if not isinstance(item, (dict, list))]
        if messages:
            fields[prefix or "non_field_errors"] = messages
        for i, item in enumerate(detail):
            if isinstance(item, (dict, list)):
                fields.update(_flatten(item, f"{prefix}.{i}" if prefix else str(i)))
    else:
        fields[prefix or "non_field_errors"] = [str(detail)]
    return fields


def _printable(text: str) -> str:
    """``text`` encodable as UTF-8: a lone surrogate echoed from the input (``"\\ud800"`` in a JSON
    body is valid JSON) is written as its escape instead of making the error itself a 500."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _formats(view: Any) -> list[str]:
    return [str(r.format) for r in getattr(view, "renderer_classes", []) if r.format != "api"]


def _unknown_format(context: dict[str, Any]) -> str | None:
    """The ``?format=`` a request asked for when the view has no renderer for it — DRF's content
    negotiation answers that with a bare 404."""
    request, view = context.get("request"), context.get("view")
    if request is None or view is None:
        return None
    asked = request.query_params.get("format")
    if asked is None or asked in _formats(view):
        return None
    return str(asked)


def _unknown_format_response(asked: str, context: dict[str, Any]) -> Response:
    """A 404 that names the format and the ones this endpoint answers (not "Not found.")."""
    offered = ", ".join(_formats(context["view"]))
    message = _printable(f"Unknown format {asked!r}: this endpoint answers {offered}.")
    return _json_error(
        Response(status=status.HTTP_404_NOT_FOUND),
        {"code": "unknown_format", "message": message, "fields": {"format": [message]}},
        context,
    )


def _json_error(response: Response, error: dict[str, Any], context: dict[str, Any]) -> Response:
    response.data = {"error": error}
    # Errors are JSON even where the success is CSV or XLSX: one envelope, one media type.
    request = context.get("request")
    if request is not None:  # also when negotiation itself failed (an unknown ?format=)
        from rest_framework.renderers import JSONRenderer

        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = "application/json"
    return response


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    from apps.programs.services import ConflictError, EditDenied

    if isinstance(exc, ConflictError):
        exc = PreconditionFailed(exc.message)
    elif isinstance(exc, EditDenied):
        exc = exceptions.PermissionDenied(exc.message)
    elif isinstance(exc, ApplicationError):
        field = exc.extra.get("field")
        errors = exc.extra.get("errors")
        if isinstance(errors, dict):
            exc = exceptions.ValidationError({k: v for k, v in errors.items()})
        elif field:
            exc = exceptions.ValidationError({str(field): [exc.message]})
        else:
            exc = exceptions.ValidationError({"non_field_errors": [exc.message]})
    elif isinstance(exc, CoreValidationError):
        exc = exceptions.ValidationError({exc.field: [exc.message]})
    elif isinstance(exc, Http404):
        unknown = _unknown_format(context)
        if unknown is not None:
            return _unknown_format_response(unknown, context)
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    assert isinstance(exc, exceptions.APIException)
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        message = "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items())
        code = "invalid"
    else:
        fields = {}
        message = str(exc.detail)
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
    fields = {_printable(k): [_printable(m) for m in v] for k, v in fields.items()}
    message = _printable(message)
    return _json_error(response, {"code": code, "message": message, "fields": fields}, context)

"""``Idempotency-Key`` for starting runs: one key, one request, one run.

A key belongs to whoever sends it — an API token, or the signed-in user for a browser session —
so two tokens may use the same key independently. The first request with a key stores, beside
the run (``IdempotencyRequest``), a SHA-256 of its method, path and body; a replay of the same
request returns the same run, and a different request with the key is refused with 422
``idempotency_key_reused``.

Concurrent first uses of one key race on that row's unique constraint: each creates its run and
the row in one transaction, the losers roll back (their run and its message vanish with it)
and answer with the winner's run, as a replay would.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from apps.accounts.models import Organization
from apps.api.access import api_access
from apps.api.exceptions import IdempotencyKeyInFlight, IdempotencyKeyReused
from apps.runs.models import IdempotencyRequest, PlanRun

KEY_MAX_LENGTH = 100


def idempotency_key(request: Request) -> str | None:
    """The request's ``Idempotency-Key`` (1 to 100 characters), or None when it sends none."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= KEY_MAX_LENGTH:
        raise ValidationError({"Idempotency-Key": [f"1 to {KEY_MAX_LENGTH} characters"]})
    return key


def idempotency_scope(request: Request) -> str:
    access = api_access(request)
    if access.token is not None:
        return f"token:{access.token.pk}"
    return f"user:{access.user.pk}"


def request_fingerprint(request: Request) -> str:
    """SHA-256 of the method, the path with its query and the parsed body (key order and
    whitespace do not count: the same JSON is the same request)."""
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    text = "\n".join([request.method or "", request.get_full_path(), body])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _replay(stored: IdempotencyRequest, fingerprint: str) -> PlanRun:
    if stored.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    return stored.run


def run_create_once(
    *, request: Request, organization: Organization, key: str, create: Callable[[], PlanRun]
) -> PlanRun:
    """The run for ``key``: the one a previous identical request started, or a new one from
    ``create()`` (a service call that starts it after commit)."""
    scope = idempotency_scope(request)
    fingerprint = request_fingerprint(request)
    mine = IdempotencyRequest.objects.select_related("run").filter(
        organization=organization, scope=scope, key=key
    )
    stored = mine.first()
    if stored is not None:
        return _replay(stored, fingerprint)
    try:
        with transaction.atomic():
            run = create()
            IdempotencyRequest.objects.create(
                organization=organization, scope=scope, key=key, request_hash=fingerprint, run=run
            )
    except IntegrityError:
        # Another request with this key committed first (the unique constraint waited for it).
        stored = mine.first()
        if stored is None:  # it was rolled back after all: let the client try again
            raise IdempotencyKeyInFlight() from None
        return _replay(stored, fingerprint)
    return run

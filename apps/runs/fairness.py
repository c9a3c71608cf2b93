"""Fair shares of the workers: no organization can fill them all.

At most ``settings.ORG_MAX_IN_FLIGHT`` plan runs and re-forecasts of one organization, and as
many background jobs (what-if chunks and PDF exports together), are with the broker or a worker
at once: two budgets, so a plan run never waits behind its own organization's what-ifs and PDFs
(issue 16: interactive runs never wait behind sweeps). The others stay ``queued`` in the
database without being sent, and wait in their budget's queue (oldest first). ``org_dispatch``
sends the next ones when a slot frees: the service that finishes a job calls it, and so does the
periodic sweeper, so a lost call only delays a job by one tick.

Which rows wait:

- a plan run: ``status=queued`` and ``phase=PHASE_ORG_QUEUE``;
- a forecast, a sweep chunk or an export: ``status=queued`` and ``dispatched_at`` empty.

Every other queued or running row is *in flight* (sent, or waiting for the broker to come back).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from apps.accounts.models import Organization

logger = logging.getLogger(__name__)

# The phase of a plan run waiting in its organization's queue (never sent yet).
PHASE_ORG_QUEUE = "in the organization's queue"


@dataclass(frozen=True)
class _Kind:
    model: type[Model]
    budget: str  # "runs" or "background": each has ORG_MAX_IN_FLIGHT slots per organization
    organization: str  # the lookup of the organization id
    waiting: Q
    in_flight: Q
    mark: Callable[[Any], dict[str, Any]]  # fields that take a row out of the queue
    send: Callable[[Any], Any]


def _kinds() -> list[_Kind]:
    from apps.reports.models import Export
    from apps.reports.services import export_send
    from apps.runs.models import PlanRun, RunStatus, SweepChunk
    from apps.runs.services import plan_run_send, sweep_chunk_send
    from apps.tracking.forecasting import forecast_send
    from apps.tracking.models import Forecast

    queued, running = RunStatus.QUEUED, RunStatus.RUNNING
    return [
        _Kind(
            PlanRun,
            "runs",
            "organization_id",
            Q(status=queued, phase=PHASE_ORG_QUEUE),
            Q(status=running) | (Q(status=queued) & ~Q(phase=PHASE_ORG_QUEUE)),
            lambda now: {"phase": ""},
            lambda pk: plan_run_send(run=PlanRun.objects.get(pk=pk)),
        ),
        # A re-forecast after a report is waited for on the Tracking page, like a plan run: it
        # shares the interactive budget, so a job posting reports by the minute only delays its
        # own organization's work.
        _Kind(
            Forecast,
            "runs",
            "organization_id",
            Q(status=queued, dispatched_at__isnull=True),
            Q(status=running) | Q(status=queued, dispatched_at__isnull=False),
            lambda now: {"dispatched_at": now},
            lambda pk: forecast_send(forecast_id=pk),
        ),
        _Kind(
            SweepChunk,
            "background",
            "sweep__organization_id",
            Q(status=queued, dispatched_at__isnull=True),
            Q(status=running) | Q(status=queued, dispatched_at__isnull=False),
            lambda now: {"dispatched_at": now},
            lambda pk: sweep_chunk_send(chunk_id=pk),
        ),
        _Kind(
            Export,
            "background",
            "organization_id",
            Q(status=Export.Status.QUEUED, dispatched_at__isnull=True),
            Q(status=Export.Status.RENDERING)
            | Q(status=Export.Status.QUEUED, dispatched_at__isnull=False),
            lambda now: {"dispatched_at": now},
            lambda pk: export_send(pk),
        ),
    ]


def _rows(kind: _Kind, organization_id: int, condition: Q) -> QuerySet[Any]:
    return kind.model.objects.filter(condition, **{kind.organization: organization_id})  # type: ignore[attr-defined]


def in_flight_count(*, organization_id: int) -> int:
    return sum(_rows(k, organization_id, k.in_flight).count() for k in _kinds())


def org_dispatch(*, organization_id: int) -> int:
    """Send the organization's oldest waiting jobs of each budget while it has free slots;
    returns how many.

    The choice happens in a transaction that holds the organization's row (Postgres) or the
    write lock (SQLite, ``BEGIN IMMEDIATE``), so two processes dispatching at once never exceed
    the cap; the messages are published after it commits.
    """
    kinds = _kinds()
    chosen: list[tuple[_Kind, int]] = []
    with transaction.atomic():
        list(Organization.objects.select_for_update().filter(pk=organization_id).values("pk"))
        now = timezone.now()
        for budget in ("runs", "background"):
            members = [(i, k) for i, k in enumerate(kinds) if k.budget == budget]
            free = settings.ORG_MAX_IN_FLIGHT - sum(
                _rows(k, organization_id, k.in_flight).count() for _, k in members
            )
            if free <= 0:
                continue
            candidates = [
                (created_at, index, pk)
                for index, kind in members
                for pk, created_at in _rows(kind, organization_id, kind.waiting)
                .order_by("created_at", "pk")
                .values_list("pk", "created_at")[:free]
            ]
            for _, index, pk in sorted(candidates)[:free]:
                kind = kinds[index]
                taken = kind.model.objects.filter(kind.waiting, pk=pk).update(  # type: ignore[attr-defined]
                    **kind.mark(now), updated_at=now
                )
                if taken:
                    chosen.append((kind, pk))
    for kind, pk in chosen:
        kind.send(pk)
    return len(chosen)


def org_dispatch_on_commit(organization_id: int) -> None:
    transaction.on_commit(lambda: org_dispatch(organization_id=organization_id))


def org_dispatch_all() -> int:
    """The sweeper's pass: dispatch for every organization that has a job waiting."""
    organizations: set[int] = set()
    for kind in _kinds():
        organizations |= set(
            kind.model.objects.filter(kind.waiting)  # type: ignore[attr-defined]
            .values_list(kind.organization, flat=True)
            .distinct()
        )
    return sum(org_dispatch(organization_id=pk) for pk in sorted(organizations))


def queue_position(row: Any) -> int | None:
    """1 + the number of jobs of the row's organization and budget waiting ahead of it; None
    when the row does not wait (sent, running or finished)."""
    kinds = _kinds()
    kind = next(k for k in kinds if isinstance(row, k.model))
    if not kind.model.objects.filter(kind.waiting, pk=row.pk).exists():  # type: ignore[attr-defined]
        return None
    organization_id = row.sweep.organization_id if hasattr(row, "sweep") else row.organization_id
    ahead = Q(created_at__lt=row.created_at)
    same_time = Q(created_at=row.created_at)
    position = 1
    for k in kinds:
        if k.budget != kind.budget:
            continue
        before = ahead | (same_time & Q(pk__lt=row.pk)) if k is kind else ahead
        position += _rows(k, organization_id, k.waiting).filter(before).count()
    return position

"""Writes of PDF exports: create (or reuse) an export, claim it on a worker, render it.

``export_create`` is the one entry point for the pages and the API. Rendering happens on a
worker (``apps.reports.tasks.export_render_task``); the file goes to the default storage
(``MEDIA_ROOT``) and its name, size and page count onto the row.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import KombuError

from apps.accounts.models import User
from apps.accounts.selectors import membership_get
from apps.common.errors import ApplicationError
from apps.common.health import broker_status_forget
from apps.reports.document import RenderedPdf, content_hash, render_pdf
from apps.reports.models import Export
from apps.runs.fairness import org_dispatch
from apps.runs.models import PlanRun, RunStatus

if TYPE_CHECKING:
    from apps.tracking.models import Forecast

logger = logging.getLogger(__name__)
IN_FLIGHT = (Export.Status.QUEUED, Export.Status.RENDERING)


def export_create(*, user: User, run: PlanRun, paper: str = "a4", language: str = "en") -> Export:
    """An export of ``run`` as a PDF on ``paper`` (``a4``/``letter``) in ``language``
    (``en``/``zh-hans``), rendered by a worker after the transaction commits.

    Any member of the run's organization may export (viewers included: a document is a read).
    The same document (same content hash) already rendered in the organization is reused — a new
    row, ``reused_from`` set, ready at once, nothing rendered; one being rendered is returned as
    it is. Raises ``ApplicationError`` for a non-member, an unfinished run or a bad choice.
    """
    organization = run.organization
    if membership_get(user=user, organization=organization) is None:
        raise ApplicationError("You are not a member of this run's organization.")
    _check_choices(paper=paper, language=language)
    if run.status != RunStatus.SUCCEEDED or not run.result:
        raise ApplicationError("Only a successful run can be exported; this one has no result.")
    digest = content_hash(run=run, paper=paper, language=language)
    return _export_create_or_reuse(
        organization=organization,
        run=run,
        created_by=user,
        paper=paper,
        language=language,
        content_hash=digest,
    )


def _check_choices(*, paper: str, language: str) -> None:
    if paper not in Export.Paper.values:
        raise ApplicationError(f"Paper must be one of {', '.join(Export.Paper.values)}.")
    if language not in Export.Language.values:
        raise ApplicationError(f"Language must be one of {', '.join(Export.Language.values)}.")


def status_export_create(
    *, user: User, forecast: Forecast | None, paper: str = "a4", language: str = "en"
) -> Export:
    """A status report of a scenario in execution: ``forecast`` (succeeded) against its
    approved baseline, as a PDF rendered by a worker (``apps.reports.status_document``).

    The same rules as ``export_create``: any member may export, the same document already
    rendered is reused. Raises ``ApplicationError`` for a non-member, a forecast that has not
    succeeded (or none: nothing approved) or a bad choice.
    """
    from apps.reports.status_document import status_content_hash  # reads apps.tracking

    if forecast is None or forecast.status != RunStatus.SUCCEEDED or not forecast.answer:
        raise ApplicationError(
            _("A status report needs an approved baseline and a finished forecast.")
        )
    organization = forecast.organization
    if membership_get(user=user, organization=organization) is None:
        raise ApplicationError("You are not a member of this forecast's organization.")
    _check_choices(paper=paper, language=language)
    return _export_create_or_reuse(
        organization=organization,
        run=forecast.baseline.run,
        kind=Export.Kind.STATUS,
        forecast=forecast,
        created_by=user,
        paper=paper,
        language=language,
        content_hash=status_content_hash(forecast=forecast, paper=paper, language=language),
    )


def _export_create_or_reuse(**fields: Any) -> Export:
    """A new export with ``fields``; the one being rendered with the same content hash in the
    organization instead, or a new row reusing the file of a ready one (nothing rendered)."""
    organization, digest = fields["organization"], fields["content_hash"]
    with transaction.atomic():
        same = Export.objects.filter(organization=organization, content_hash=digest)
        in_flight = same.filter(status__in=IN_FLIGHT).order_by("created_at").first()
        if in_flight is not None:
            return in_flight
        for ready in same.filter(status=Export.Status.READY).exclude(file="").order_by("-id"):
            if default_storage.exists(ready.file.name):
                now = timezone.now()
                return Export.objects.create(
                    **fields,
                    status=Export.Status.READY,
                    file=ready.file.name,
                    size_bytes=ready.size_bytes,
                    page_count=ready.page_count,
                    render_seconds=0.0,
                    reused_from=ready.reused_from or ready,
                    started_at=now,
                    finished_at=now,
                )
        export = Export.objects.create(**fields)
        # The worker must find the row: send only after the transaction commits.
        export_send_on_commit(export.pk)
    return export


def export_send_on_commit(export_id: int) -> None:
    """Once the current transaction commits, the export joins its organization's queue: the
    dispatcher (``apps.runs.fairness.org_dispatch``) sends it through ``export_send`` when the
    organization has a free slot — at once, usually."""
    organization_id = Export.objects.values_list("organization_id", flat=True).get(pk=export_id)
    transaction.on_commit(lambda: org_dispatch(organization_id=organization_id))


def export_send(export_id: int) -> bool:
    """Publish an export's render task; False, and the export left queued, when the broker is
    down. Never raises for that: the row is committed, and ``exports_sweep_stale`` sends a queued
    export nobody claimed (after ``EXPORT_QUEUED_RESEND_AFTER``)."""
    from apps.reports.tasks import export_render_task  # tasks import services; avoid the cycle

    try:
        export_render_task.delay(export_id)
    except (KombuError, OSError) as exc:
        logger.warning("export %s not sent, the broker is unreachable: %s", export_id, exc)
        broker_status_forget()  # the next page checks again and shows the banner
        return False
    return True


def export_claim(*, export_id: int, worker: str) -> bool:
    """queued → rendering by a conditional UPDATE; False when another delivery has it or it is
    done. A render left behind by a dead worker is reclaimable after the hard time limit (late
    acknowledgement delivers its message again), up to ``Export.MAX_ATTEMPTS`` attempts."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    claimable = Q(status=Export.Status.QUEUED) | Q(
        status=Export.Status.RENDERING, started_at__lt=stale
    )
    updated = Export.objects.filter(
        claimable, pk=export_id, attempts__lt=Export.MAX_ATTEMPTS
    ).update(
        status=Export.Status.RENDERING,
        started_at=now,
        worker=worker,
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    return updated == 1


def export_render(*, export_id: int, worker: str) -> Export | None:
    """Claim the export, render its PDF, store the file and the outcome; None if not claimed."""
    if not export_claim(export_id=export_id, worker=worker):
        return None
    export = Export.objects.select_related(
        "run__scenario__program__organization", "forecast__baseline__run"
    ).get(pk=export_id)
    fields: dict[str, object]
    try:
        rendered = _render(export)
    except MemoryError:
        fields = {
            "status": Export.Status.FAILED,
            "error": _(
                "This document needs more memory than a worker allows (limit %(limit).1f GiB)."
            )
            % {"limit": settings.WORKER_MAX_MEMORY_MB / 1024},
        }
    except SoftTimeLimitExceeded:
        fields = {
            "status": Export.Status.FAILED,
            "error": _("This document took longer than a worker allows (%(seconds)s s).")
            % {"seconds": settings.CELERY_TASK_SOFT_TIME_LIMIT},
        }
    except Exception as exc:  # recorded on the row, not lost in a worker log
        fields = {
            "status": Export.Status.FAILED,
            "error": f"The PDF could not be rendered: {type(exc).__name__}: {exc}",
        }
    else:
        name = f"{export.organization_id}-{export.content_hash[:16]}-{export.pk}.pdf"
        export.file.save(name, ContentFile(rendered.content), save=False)
        fields = {
            "status": Export.Status.READY,
            "file": export.file.name,
            "size_bytes": len(rendered.content),
            "page_count": rendered.page_count,
            "render_seconds": round(rendered.seconds, 3),
            "error": "",
        }
    now = timezone.now()
    # Only the owner of the claim may finish it; a file written after losing it is removed.
    finished = Export.objects.filter(
        pk=export_id, status=Export.Status.RENDERING, worker=worker
    ).update(**fields, finished_at=now, updated_at=now)
    if not finished and fields.get("file"):
        default_storage.delete(str(fields["file"]))
    org_dispatch(organization_id=export.organization_id)  # a slot is free: the next job goes
    return Export.objects.get(pk=export_id)


def _render(export: Export) -> RenderedPdf:
    """The export's document: the plan of its run, or the status report of its forecast."""
    if export.kind == Export.Kind.STATUS:
        from apps.reports.status_document import render_status_pdf  # reads apps.tracking

        if export.forecast is None:
            raise ValueError("a status report without its forecast")
        return render_status_pdf(export.forecast, paper=export.paper, language=export.language)
    return render_pdf(export.run, paper=export.paper, language=export.language)


# A queued export nobody claimed for this long lost its message (the embedded broker loses it
# when the whole worker is killed, a Redis restart without persistence too): send it again.
EXPORT_QUEUED_RESEND_AFTER = timedelta(minutes=5)


def exports_sweep_stale(*, now: datetime | None = None) -> dict[str, int]:
    """Nothing stays rendering forever (the runs' sweeper, for PDF exports): an export whose
    worker went silent past the hard time limit is queued and sent again while it has attempts
    left (``Export.MAX_ATTEMPTS``, counted by ``export_claim``) and failed as "worker lost" after;
    a queued export unclaimed for ``EXPORT_QUEUED_RESEND_AFTER`` is sent again. Returns counts."""
    from apps.reports.tasks import export_render_task  # tasks import services; avoid the cycle

    now = now or timezone.now()
    # A render has no heartbeat: past the hard time limit (+ a minute of slack) its task is dead,
    # Celery having killed it by then if its worker still lives.
    stale = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    silent = Export.objects.filter(status=Export.Status.RENDERING, started_at__lt=stale)
    failed = silent.filter(attempts__gte=Export.MAX_ATTEMPTS).update(
        status=Export.Status.FAILED,
        error=f"failed: worker lost ({Export.MAX_ATTEMPTS} attempts without finishing)",
        finished_at=now,
        updated_at=now,
    )
    requeue_ids = list(silent.filter(attempts__lt=Export.MAX_ATTEMPTS).values_list("pk", flat=True))
    requeued = Export.objects.filter(
        pk__in=requeue_ids, status=Export.Status.RENDERING, started_at__lt=stale
    ).update(status=Export.Status.QUEUED, worker="", updated_at=now)
    lost = Export.objects.filter(
        status=Export.Status.QUEUED,
        dispatched_at__isnull=False,  # never sent: the dispatcher's (apps.runs.fairness)
        updated_at__lt=now - EXPORT_QUEUED_RESEND_AFTER,
    ).values_list("pk", flat=True)
    resent = 0
    pending = sorted(set(requeue_ids) | set(lost))
    for index, export_id in enumerate(pending):
        Export.objects.filter(pk=export_id).update(updated_at=now)
        try:
            export_render_task.delay(export_id)
        except (KombuError, OSError):
            # The broker is down: these stay queued, dated so that the next tick sends them.
            Export.objects.filter(pk__in=pending[index:], status=Export.Status.QUEUED).update(
                updated_at=now - EXPORT_QUEUED_RESEND_AFTER
            )
            break
        resent += export_id not in requeue_ids
    return {"failed": failed, "requeued": requeued, "resent": resent}

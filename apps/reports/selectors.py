"""Reads of PDF exports, scoped to the requester's organizations (others' are a 404)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.files import File
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from apps.accounts.models import User
from apps.common.errors import ApplicationError
from apps.reports.models import Export
from apps.runs.models import PlanRun


def export_list(*, user: User) -> QuerySet[Export]:
    """Exports of the organizations the user belongs to, newest first."""
    return Export.objects.filter(organization__memberships__user=user).select_related(
        "run__scenario__program", "created_by"
    )


def export_get(*, user: User, export_id: int) -> Export:
    """One export, or 404 when it does not exist or belongs to another organization."""
    return get_object_or_404(export_list(user=user), pk=export_id)


def export_list_for_run(*, user: User, run: PlanRun, limit: int = 10) -> list[Export]:
    return list(export_list(user=user).filter(run=run)[:limit])


@dataclass(frozen=True)
class ExportFile:
    """A ready export's PDF: what a download needs."""

    export: Export
    filename: str
    size_bytes: int
    content_type: str = "application/pdf"

    def open(self) -> File:
        """The stored file, opened for reading (the caller or its response closes it)."""
        return default_storage.open(self.export.file.name, "rb")


def export_file_get(*, user: User, export_id: int) -> ExportFile:
    """The PDF of a ready export. 404 when the export is not the user's to see;
    ``ApplicationError`` (with ``extra["status"]``) when it is not ready or its file is gone."""
    export = export_get(user=user, export_id=export_id)
    if export.status != Export.Status.READY or not export.file:
        raise ApplicationError(
            f"The export is {export.status}, not ready.", extra={"status": export.status}
        )
    if not default_storage.exists(export.file.name):
        raise ApplicationError(
            "The exported file is missing; export again.", extra={"status": "missing"}
        )
    return ExportFile(
        export=export,
        filename=export.filename,
        size_bytes=export.size_bytes or default_storage.size(export.file.name),
    )

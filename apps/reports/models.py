from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import Organization
from apps.common.models import BaseModel


class Export(BaseModel):
    """A PDF of a plan run, rendered on a worker: the plan for approval (``kind`` plan), or the
    status report of a scenario in execution (``kind`` status: ``forecast`` against the
    approved baseline, whose run is ``run``; ``apps.reports.status_document``).

    Status machine: queued → rendering → ready | failed. A worker claims the row with a
    conditional UPDATE, so a duplicate delivery renders nothing twice; the file lives in the
    default storage (``MEDIA_ROOT``) and is served only through a view scoped to the
    organization. ``content_hash`` identifies everything the document shows (the run's report and
    inputs, the names on the cover, paper, language, the templates and renderer): an export with
    the hash of a ready one reuses its file (``reused_from``) instead of rendering again.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RENDERING = "rendering", _("Rendering")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    class Kind(models.TextChoices):
        PLAN = "plan", _("Plan")
        STATUS = "status", _("Status report")

    class Paper(models.TextChoices):
        A4 = "a4", "A4"
        LETTER = "letter", "Letter"

    class Language(models.TextChoices):
        EN = "en", "English"
        ZH_HANS = "zh-hans", "简体中文"

    MAX_ATTEMPTS = 3

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="exports")
    run = models.ForeignKey("runs.PlanRun", on_delete=models.CASCADE, related_name="exports")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PLAN)
    forecast = models.ForeignKey(
        "tracking.Forecast",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="exports",
        help_text="The forecast a status report shows (empty for a plan).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    paper = models.CharField(max_length=10, choices=Paper.choices, default=Paper.A4)
    language = models.CharField(max_length=10, choices=Language.choices, default=Language.EN)
    content_hash = models.CharField(max_length=64, db_index=True)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    size_bytes = models.PositiveIntegerField(null=True, blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    render_seconds = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    # When it was handed to the broker; queued without it: waiting for a free slot of its
    # organization (apps.runs.fairness).
    dispatched_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    reused_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "content_hash", "status"])]

    def __str__(self) -> str:
        return f"Export {self.pk} of run {self.run_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.READY, self.Status.FAILED)

    @property
    def queue_position(self) -> int | None:
        """Its place in its organization's queue (1 = next), None once sent to the workers."""
        from apps.runs.fairness import queue_position

        return queue_position(self)

    @property
    def filename(self) -> str:
        """The name a download gets: program, scenario, run (a status report: its as-of date),
        language and paper."""
        from django.utils.text import slugify

        scenario = self.run.scenario
        stem = slugify(f"{scenario.program.name} {scenario.name}")[:80] or "plan"
        if self.kind == self.Kind.STATUS and self.forecast is not None:
            as_of = (self.forecast.answer or {}).get("as_of", "")
            return f"{stem}-status-{as_of}-{self.language}-{self.paper}.pdf"
        return f"{stem}-run{self.run_id}-{self.language}-{self.paper}.pdf"

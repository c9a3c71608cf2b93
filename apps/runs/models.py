from django.conf import settings
from django.db import models

from apps.accounts.models import Organization
from apps.common.models import BaseModel


class DemoJob(BaseModel):
    """A trivial background job that proves the web → broker → worker → database loop.

    Status machine: queued → running → succeeded | failed. The worker claims a job with a
    conditional UPDATE (see ``services.demo_job_claim``) so a duplicate delivery does nothing.
    The result lives on this row, not in Celery's result backend.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="demo_jobs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    n = models.PositiveIntegerField(help_text="Sum the squares of 1..n.")
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Demo job {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def round_trip_ms(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.created_at).total_seconds() * 1000


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class PlanRun(BaseModel):
    """One simulation of a scenario: the inputs snapshot, then the core's report.

    Status machine: queued → running → succeeded | failed. A worker claims the row with a
    conditional UPDATE, so a duplicate delivery or a retry never yields two results; the periodic
    sweeper re-queues a run whose worker stopped sending heartbeats, and fails it ("worker lost")
    after ``MAX_ATTEMPTS``. Identical inputs with the same core version reuse a stored result.
    """

    MAX_ATTEMPTS = 3
    Status = RunStatus

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="plan_runs"
    )
    scenario = models.ForeignKey("programs.Scenario", on_delete=models.CASCADE, related_name="runs")
    scenario_version = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0)
    phase = models.CharField(max_length=40, blank=True)
    inputs = models.JSONField(help_text="The plan as sent to the core (a snapshot).")
    input_hash = models.CharField(max_length=64, db_index=True)
    core_version = models.CharField(max_length=20)
    trials = models.PositiveIntegerField(default=2000)
    seed = models.PositiveIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    reused_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # NULL, not "": runs without a key must not collide in the unique constraint below.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "idempotency_key"], name="plan_run_idempotency_key_unique"
            )
        ]
        indexes = [models.Index(fields=["scenario", "status", "-created_at"])]

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.scenario_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (RunStatus.SUCCEEDED, RunStatus.FAILED)

    @property
    def queue_position(self) -> int | None:
        """1 for the next job its organization sends to the workers, 2 after it…; None unless
        the run waits for a free slot of its organization (``apps.runs.fairness``)."""
        from apps.runs.fairness import queue_position

        return queue_position(self)


class Sweep(BaseModel):
    """A "what if" over one scenario: variants fanned out to workers in chunks.

    Each chunk is a ``SweepChunk`` row that one task fills; the task that completes the last
    chunk (a conditional counter UPDATE) aggregates the points onto this row. No Celery result
    backend is involved — results live on the rows.
    """

    Status = RunStatus

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="sweeps")
    scenario = models.ForeignKey(
        "programs.Scenario", on_delete=models.CASCADE, related_name="sweeps"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True
    )
    inputs = models.JSONField(help_text="The base plan (a snapshot).")
    axes = models.JSONField()
    trials = models.PositiveIntegerField(default=300)
    seed = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    points = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Sweep {self.pk} of {self.scenario_id} ({self.status})"


class SweepChunk(BaseModel):
    """One task's share of a sweep, claimed like a plan run: a conditional UPDATE (counted in
    ``attempts``) with a heartbeat; the sweeper re-queues a chunk whose worker went silent and
    fails it, and its sweep, as "worker lost" after ``MAX_ATTEMPTS``. ``dispatched_at`` is when
    it was handed to the broker: a queued chunk without it waits for a free slot of its
    organization (``apps.runs.fairness``)."""

    MAX_ATTEMPTS = 3

    sweep = models.ForeignKey(Sweep, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    variants = models.JSONField()
    status = models.CharField(
        max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True
    )
    points = models.JSONField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["sweep", "index"]
        constraints = [
            models.UniqueConstraint(fields=["sweep", "index"], name="sweep_chunk_index_unique")
        ]

    @property
    def queue_position(self) -> int | None:
        """Its place in its organization's queue (1 = next), None once sent to the workers."""
        from apps.runs.fairness import queue_position

        return queue_position(self)


class IdempotencyRequest(BaseModel):
    """An API client's ``Idempotency-Key`` and the run its first request started.

    The key belongs to whoever sent it (``scope``: ``token:<id>`` or ``user:<id>``), so two
    tokens use one key independently; ``request_hash`` (SHA-256 of method, path and body) tells a
    replay from a different request under the same key. Created in the run's transaction, so a
    concurrent first use of the key fails on the unique constraint and starts no second run.
    Not part of a backup: API tokens are not either, and a restored run needs no key.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    run = models.ForeignKey(PlanRun, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "scope", "key"], name="idempotency_request_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.scope}) → run {self.run_id}"


class ShareLink(BaseModel):
    """A read-only link to one run's dashboard for someone without an account.

    Only the SHA-256 of the token is stored: the link is shown once, when it is made. It opens
    the run's dashboard without signing in until ``expires_at`` or until it is revoked; it shows
    figures, never edit actions or other runs. Made and revoked by owners and editors.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="share_links"
    )
    run = models.ForeignKey(PlanRun, on_delete=models.CASCADE, related_name="share_links")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    views = models.PositiveIntegerField(default=0)
    last_viewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Share link {self.pk} of run {self.run_id}"

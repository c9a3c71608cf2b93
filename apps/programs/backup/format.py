"""The backup format: its name and version, the fields it writes, its errors."""

from __future__ import annotations

import tomllib

from django.conf import settings

from apps.programs import documents
from apps.runs.models import RunStatus
from apps.tracking.models import ActualReport

FORMAT = "llmplanner-backup"
# 2: execution tracking added (approved baselines, actual reports, alerts, the calibration).
FORMAT_VERSION = 2
READS = (1, 2)  # the versions a restore reads; a version 1 file has no tracking data
FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED)
STAMPS = ("created_at", "updated_at")

PROGRAM_FIELDS = (*documents.PROGRAM_FIELDS, "archived_at")
SCENARIO_EXTRA = ("version", "is_baseline", "archived_at")
ACTIVITY_FIELDS = ("action", "summary", "changes", "version")
RUN_FIELDS = (
    "scenario_version",
    "status",
    "progress",
    "phase",
    "inputs",
    "input_hash",
    "core_version",
    "trials",
    "seed",
    "result",
    "error",
    "worker",
    "attempts",
    "started_at",
    "heartbeat_at",
    "finished_at",
    "idempotency_key",
)
SWEEP_FIELDS = (
    "status",
    "inputs",
    "axes",
    "trials",
    "seed",
    "chunks_total",
    "chunks_done",
    "points",
    "error",
    "started_at",
    "finished_at",
)
CHUNK_FIELDS_V1 = ("index", "variants", "status", "points", "worker", "started_at", "finished_at")
# Written since issue 16 (a chunk's claim, like a run's); optional when read, so files written
# before them restore with these defaults.
CHUNK_FIELDS_ADDED = {"attempts": 0, "heartbeat_at": None, "dispatched_at": None}
CHUNK_FIELDS = (*CHUNK_FIELDS_V1, *CHUNK_FIELDS_ADDED)
# Execution tracking (format 2). Baselines, actual reports and runs are referred to by ``ref``
# (numbered within the document); people by username.
BASELINE_FIELDS = (
    "inputs",
    "report",
    "core_version",
    "approved_by_name",
    "approved_at",
    "note",
    "pdf_sha256",
    "hash_of",
)
# An actual report's fields are read off the model: every concrete field but its place in the
# document (organization, scenario), its links (baseline: a ref; created_by: a username) and the
# stamps. So a field added to ``ActualReport`` later is written without a change here, and read
# as optional — its default, or null — so that files written before it still restore (a new
# field must therefore have a default or be nullable; a test checks it).
ACTUAL_LINKS = ("id", "organization", "scenario", "baseline", "created_by", *STAMPS)
ACTUAL_FIELDS = tuple(
    f.name for f in ActualReport._meta.concrete_fields if f.name not in ACTUAL_LINKS
)
ACTUAL_FIELDS_V2 = (
    "date",
    "stage",
    "tokens_trained",
    "elapsed_days",
    "gpu_hours",
    "interruptions",
    "loss_spikes",
    "observed_mfu",
    "spend",
    "spend_currency",
    "currency",
    "spend_sent",
    "usd_to_cny",
    "note",
    "source",
    "idempotency_scope",
    "idempotency_key",
    "request_hash",
)
ACTUAL_FIELDS_ADDED = tuple(n for n in ACTUAL_FIELDS if n not in ACTUAL_FIELDS_V2)
# An alert hangs on the forecast that raised it, named by that forecast's baseline and last
# report (refs); the forecast itself is not written (see ``apps.programs.backup``).
ALERT_FIELDS = ("kind", "value", "previous", "threshold")
CALIBRATION_FIELDS = ("enabled", "fitted", "fitted_at")
TRACKING_KEYS = ("baselines", "actuals", "alerts")  # of each scenario, from format 2

SCENARIO_KEYS = (
    *documents.SCENARIO_TOP,
    *documents.SCENARIO_SECTIONS,
    *documents.LINE_FIELDS,
)


class BackupError(Exception):
    """A backup that cannot be restored; ``errors`` are ``"path: message"`` lines."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(self.message)

    @property
    def message(self) -> str:
        shown = self.errors[:20]
        more = len(self.errors) - len(shown)
        return "\n".join(shown + ([f"… and {more} more"] if more > 0 else []))


class RestoreRefused(Exception):
    """A valid backup that would overwrite existing programs (and ``replace`` was not given)."""


def app_version() -> str:
    """The project's version from ``pyproject.toml`` (the project is not installed as a package)."""
    try:
        with open(settings.BASE_DIR / "pyproject.toml", "rb") as handle:
            return str(tomllib.load(handle)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"

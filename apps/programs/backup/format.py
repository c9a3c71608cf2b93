"""The backup format: its name and version, the fields it writes, its errors."""

from __future__ import annotations

import tomllib

from django.conf import settings

from apps.programs import documents
from apps.runs.models import RunStatus

FORMAT = "llmplanner-backup"
FORMAT_VERSION = 1
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

"""Backups of an organization's plans: one versioned JSON document, and its all-or-nothing restore.

Format version 2 (``organization_backup`` writes it, ``backup_restore`` reads it and version 1)::

    format: llmplanner-backup          format_version: 2
    app_version, core_version, created_at (when the backup was taken, ISO 8601)
    organization: {slug, name}
    members: [{username, role}]        # optional (dump --no-members leaves it out)
    programs: [{name, goal, deadline, budget_cap, currency, usd_to_cny,
                archived_at, created_by, created_at, updated_at,
                scenarios: [{<the `scenario:` body of an llmplanner-scenario document>,
                             version, is_baseline, archived_at, created_by, created_at, updated_at,
                             activity: [{actor, action, summary, changes, version, created_at,
                                         updated_at}],
                             runs: [{ref, <every PlanRun field>, reused_from (a ref or null)}],
                             sweeps: [{<every Sweep field>, chunks: [{<every SweepChunk field>}]}],
                             baselines: [{ref, run (a run's ref), supersedes (a baseline's ref or
                                          null), approved_by, <every ApprovedBaseline field>}],
                             actuals: [{ref, baseline (a ref), created_by,
                                        <every ActualReport field>}],
                             alerts: [{baseline, last_actual (refs: the forecast that raised
                                       it), kind, value, previous, threshold}]
                            }]}]
    calibration: {enabled, fitted (its "baselines" as refs), fitted_at, changed_by} or null
    skipped: {runs_in_flight, sweeps_in_flight, exports}   # counts, for the reader; not restored

Version 1 is version 2 without ``baselines``, ``actuals``, ``alerts`` and ``calibration``: it
restores as before, with no tracking data (and leaves the organization's calibration alone).

Choices, so that a restore is faithful and a restored dashboard looks as it did:

- Every field of every row is written, archived programs and scenarios included; a test checks
  that no model field is left out. Amounts are decimal *strings* ("0.70"), never floats, so
  no digit is lost; catalog rows (GPU types, roles, presets) are referenced by their ``key`` and
  people by ``username``.
- Timestamps (``created_at``/``updated_at`` of every row) are restored as written: Django only
  stamps ``auto_now`` fields in ``save()``, never in ``QuerySet.update()``/``bulk_update()``
  (Django docs, DateField.auto_now), so they are put back with a ``bulk_update`` after saving.
- Rows are written in (created_at, id) order and restored in that order, so a dump of a
  restored organization equals the original except ``created_at`` (of the document),
  ``organization`` (when restored under another slug) and ``skipped`` (nothing skipped was
  restored). ``ref`` numbers runs within the document (1, 2, …) rather than carrying database
  ids, which differ between databases.
- A dump reads one consistent snapshot: one transaction, REPEATABLE READ on PostgreSQL (every
  query sees the data as of the first one — PostgreSQL docs, "Transaction Isolation", 13.2.2);
  SQLite's transactions are serializable anyway.
- Only finished runs and sweeps (succeeded or failed) are written: a queued or running one has no
  result yet, and a restored queued row would be picked up by the stale-run sweeper and computed
  again. PDF exports are not written (neither rows nor files): they are renderings of the runs,
  which are restored, and can be made again from the run's dashboard.
- Execution tracking: approved baselines are written with all their fields and their chain
  (``supersedes``), in the order they were approved, and restored as new rows in that order —
  a baseline is never updated, so its times are written with it on insert. Actual reports are
  written with every field of the model (one added later is optional when read). Forecasts are
  not written: they are computed from the baseline and the reports, and the Tracking page asks
  for the current one again after a restore, as when none exists. An alert names the forecast
  that raised it by (baseline, last report); the restore gives it a forecast row without a
  result (``restore._anchor``). The calibration's fit names its baselines by ref.
- Webhooks are not written: each holds a signing secret, which a backup file must not carry.
  Set them up again in the restored organization (API tokens are not written either).
- A username unknown on the target installation restores as "nobody" (``NULL``, as when a user is
  deleted); the restore reports those names. Members are restored only into an organization
  the restore creates: restoring into an existing one never changes who can see it (the
  backup's members would otherwise see that organization's other programs too).
- Nothing is checked against the simulation core: a backup restores what was saved even if a
  newer core would reject the plan. The fields themselves are validated exactly as on import
  (``documents.document_parse`` for scenarios and their lines, ``full_clean`` for the rest).
"""

from apps.programs.backup.dump import backup_dumps, organization_backup
from apps.programs.backup.format import (
    ACTIVITY_FIELDS,
    ACTUAL_FIELDS,
    ALERT_FIELDS,
    BASELINE_FIELDS,
    CALIBRATION_FIELDS,
    CHUNK_FIELDS,
    FORMAT,
    FORMAT_VERSION,
    PROGRAM_FIELDS,
    READS,
    RUN_FIELDS,
    SCENARIO_EXTRA,
    SWEEP_FIELDS,
    BackupError,
    RestoreRefused,
)
from apps.programs.backup.restore import RestoreReport, backup_restore
from apps.programs.backup.validate import BackupPlan, backup_loads, backup_validate

__all__ = [
    "ACTIVITY_FIELDS",
    "ACTUAL_FIELDS",
    "ALERT_FIELDS",
    "BASELINE_FIELDS",
    "CALIBRATION_FIELDS",
    "CHUNK_FIELDS",
    "FORMAT",
    "FORMAT_VERSION",
    "PROGRAM_FIELDS",
    "READS",
    "RUN_FIELDS",
    "SCENARIO_EXTRA",
    "SWEEP_FIELDS",
    "BackupError",
    "BackupPlan",
    "RestoreRefused",
    "RestoreReport",
    "backup_dumps",
    "backup_loads",
    "backup_restore",
    "backup_validate",
    "organization_backup",
]

"""Restoring a validated backup in one transaction, into an existing or a new organization."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, models, transaction

from apps.accounts.models import Membership, Organization, User
from apps.programs.backup.format import (
    STAMPS,
    BackupError,
    RestoreRefused,
)
from apps.programs.backup.validate import BackupPlan, StampedRow, backup_validate
from apps.programs.models import Program
from apps.runs.models import PlanRun


@dataclass
class RestoreReport:
    organization: Organization
    created_organization: bool
    programs: int = 0
    scenarios: int = 0
    activities: int = 0
    runs: int = 0
    sweeps: int = 0
    replaced: list[str] = field(default_factory=list)
    members_added: list[str] = field(default_factory=list)
    unknown_users: list[str] = field(default_factory=list)


def _save(
    row: StampedRow, users: dict[str, User], unknown: set[str], stamped: list[StampedRow]
) -> Any:
    if row.user_field:
        user = users.get(row.username) if row.username else None
        if row.username and user is None:
            unknown.add(row.username)
        setattr(row.instance, row.user_field, user)
    row.instance.save()
    stamped.append(row)
    return row.instance


def backup_restore(data: Any, *, into: str | None = None, replace: bool = False) -> RestoreReport:
    """Restore a backup document into the organization ``into`` (default: the backup's slug),
    creating it if it does not exist. All or nothing: one transaction.

    Programs of the backup whose names already exist there are refused (``RestoreRefused``)
    unless ``replace``, which deletes those programs (with their scenarios, runs and exports)
    first. An invalid document raises ``BackupError`` before anything is read or written.
    """
    plan = backup_validate(data)
    try:
        return _restore(plan, into=into, replace=replace)
    except DatabaseError as exc:  # a safety net: validation should leave nothing for it
        raise BackupError([f"(database): {exc}; nothing was written"]) from exc


def _restore(plan: BackupPlan, *, into: str | None, replace: bool) -> RestoreReport:
    slug = into or plan.slug
    with transaction.atomic():
        organization = Organization.objects.select_for_update().filter(slug=slug).first()
        report = RestoreReport(organization, created_organization=organization is None)
        if organization is None:
            organization = Organization(slug=slug, name=plan.name)
            try:
                organization.full_clean()
            except ValidationError as exc:
                where = "--into" if into else "organization"
                raise BackupError(
                    [f"{where}.{k}: {' '.join(v)}" for k, v in exc.message_dict.items()]
                ) from exc
            organization.save()
            report.organization = organization
        names = {p.row.instance.name for p in plan.programs}
        clashes = Program.objects.filter(organization=organization, name__in=names)
        report.replaced = sorted(set(clashes.values_list("name", flat=True)))
        if report.replaced and not replace:
            raise RestoreRefused(
                f"{organization.slug} already has programs named "
                + ", ".join(repr(n) for n in report.replaced)
                + "; nothing was written (--replace deletes them and restores the backup's)"
            )
        clashes.delete()
        runs = [r for p in plan.programs for s in p.scenarios for r in s.runs]
        taken = set(
            PlanRun.objects.filter(
                organization=organization,
                idempotency_key__in=[r.instance.idempotency_key for _, _, r in runs],
            ).values_list("idempotency_key", flat=True)
        )
        if taken:
            raise BackupError(
                [f"runs: idempotency key {k!r} is used by a run of {slug}" for k in sorted(taken)]
            )
        wanted = {row.username for row in _all_rows(plan) if row.username}
        wanted |= {username for username, _role in plan.members}
        users = {u.get_username(): u for u in User.objects.filter(username__in=wanted)}
        unknown: set[str] = set()
        for username, role in plan.members:
            user = users.get(username)
            if user is None:
                unknown.add(username)
            elif report.created_organization:
                Membership.objects.create(user=user, organization=organization, role=role)
                report.members_added.append(username)
        stamped: list[StampedRow] = []
        by_ref: dict[int, PlanRun] = {}
        for program_plan in plan.programs:
            program = program_plan.row.instance
            program.organization = organization
            _save(program_plan.row, users, unknown, stamped)
            report.programs += 1
            for s in program_plan.scenarios:
                scenario = s.row.instance
                scenario.program = program
                _save(s.row, users, unknown, stamped)
                report.scenarios += 1
                for row in [*s.lines, *s.activities]:
                    row.instance.scenario = scenario
                    _save(row, users, unknown, stamped)
                report.activities += len(s.activities)
                for ref, _reused, row in s.runs:
                    row.instance.organization, row.instance.scenario = organization, scenario
                    by_ref[ref] = _save(row, users, unknown, stamped)
                    report.runs += 1
                for sweep_row, chunks in s.sweeps:
                    sweep_row.instance.organization = organization
                    sweep_row.instance.scenario = scenario
                    sweep = _save(sweep_row, users, unknown, stamped)
                    for chunk in chunks:
                        chunk.instance.sweep = sweep
                        _save(chunk, users, unknown, stamped)
                    report.sweeps += 1
        reused = []
        for _ref, reused_ref, row in runs:
            if reused_ref is not None:
                row.instance.reused_from = by_ref[reused_ref]
                reused.append(row.instance)
        PlanRun.objects.bulk_update(reused, ["reused_from"])
        _put_back_stamps(stamped)
    report.unknown_users = sorted(unknown)
    return report


def _all_rows(plan: BackupPlan) -> list[StampedRow]:
    rows = []
    for p in plan.programs:
        rows.append(p.row)
        for s in p.scenarios:
            rows += [s.row, *s.activities, *(r for _, _, r in s.runs)]
            rows += [sweep for sweep, _chunks in s.sweeps]
    return rows


def _put_back_stamps(rows: list[StampedRow]) -> None:
    """``save()`` stamped every row with now; put the backup's times back. ``bulk_update`` runs
    an UPDATE without ``pre_save``, so ``auto_now`` does not overwrite them again."""
    by_model: dict[type[models.Model], list[models.Model]] = {}
    for row in rows:
        row.instance.created_at = row.created_at
        row.instance.updated_at = row.updated_at
        by_model.setdefault(type(row.instance), []).append(row.instance)
    for model, instances in by_model.items():
        model.objects.bulk_update(instances, list(STAMPS), batch_size=500)

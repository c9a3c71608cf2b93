"""``manage.py backup_organization dump|restore``: an organization's plans to and from JSON.

Exit status: 0 done; 1 refused (unknown organization, programs that exist and no ``--replace``,
an unreadable or unwritable file); 2 an invalid backup (the message lists each problem by path).
Whatever the failure, a restore writes nothing: it runs in one transaction.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import Organization
from apps.programs.backup import (
    BackupError,
    RestoreRefused,
    backup_dumps,
    backup_loads,
    backup_restore,
    organization_backup,
)

CALIBRATION = {
    "restored": "Calibration: the backup's (its opt-in and fit).",
    "kept": "Calibration: {slug}'s own, kept (--replace restores the backup's).",
    "removed": "Calibration: removed (the backup has none).",
    "": "Calibration: none.",
}


class Command(BaseCommand):
    help = (
        "Dump an organization's programs, scenarios, history, runs and tracking data to JSON, "
        "or restore one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        dump = actions.add_parser("dump", help="Write a backup of one organization.")
        dump.add_argument("slug", help="The organization's slug.")
        dump.add_argument("-o", "--output", help="File to write (default: standard output).")
        dump.add_argument(
            "--no-members", action="store_true", help="Leave the member list out of the backup."
        )
        restore = actions.add_parser("restore", help="Restore a backup, all or nothing.")
        restore.add_argument("file", help="A backup written by `dump`.")
        restore.add_argument(
            "--into", help="Slug of the organization to restore into (created if missing)."
        )
        restore.add_argument(
            "--replace",
            action="store_true",
            help="Delete existing programs with the backup's program names first (with their "
            "approvals, actuals and alerts), and put the backup's calibration in place of the "
            "organization's.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "dump":
            self.dump(options["slug"], options["output"], members=not options["no_members"])
        else:
            self.restore(options["file"], options["into"], options["replace"])

    def dump(self, slug: str, output: str | None, *, members: bool) -> None:
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise CommandError(f"No organization with the slug {slug!r}.")
        document = organization_backup(organization, members=members)
        text = backup_dumps(document)
        if output is None:
            self.stdout.write(text, ending="")
            return
        target = Path(output)
        # Write beside the target, then rename: a reader never sees half a backup.
        try:
            fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".backup-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temporary, target)
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc.strerror or exc}") from exc
        scenarios = sum(len(p["scenarios"]) for p in document["programs"])
        runs = sum(len(s["runs"]) for p in document["programs"] for s in p["scenarios"])
        self.stdout.write(
            f"Wrote {output}: {len(document['programs'])} programs, {scenarios} scenarios, "
            f"{runs} runs of {slug}."
        )

    def restore(self, path: str, into: str | None, replace: bool) -> None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        try:
            report = backup_restore(backup_loads(text), into=into, replace=replace)
        except BackupError as exc:
            raise CommandError(
                f"{path} is not a valid backup; nothing was written:\n{exc.message}", returncode=2
            ) from exc
        except RestoreRefused as exc:
            raise CommandError(str(exc)) from exc
        where = report.organization.slug
        self.stdout.write(
            f"Restored into {where}{' (new organization)' if report.created_organization else ''}: "
            f"{report.programs} programs, {report.scenarios} scenarios, "
            f"{report.activities} history entries, {report.runs} runs, {report.sweeps} sweeps, "
            f"{report.baselines} approved baselines, {report.actuals} actual reports, "
            f"{report.alerts} alerts."
        )
        if report.tracking:
            self.stdout.write(CALIBRATION[report.calibration].format(slug=where))
        else:
            self.stdout.write(
                "This backup is of format version 1, which holds no tracking data: no approvals, "
                "actual reports, alerts or calibration were restored."
            )
        if report.replaced:
            self.stdout.write("Replaced: " + ", ".join(report.replaced))
        if report.members_added:
            self.stdout.write("Members added: " + ", ".join(report.members_added))
        if report.created_organization and not report.organization.memberships.exists():
            self.stdout.write(
                f"Warning: {where} has no members yet, so nobody can see it: add one in the admin."
            )
        if report.unknown_users:
            self.stdout.write(
                "Users unknown here (restored as nobody, not added as members): "
                + ", ".join(report.unknown_users)
            )

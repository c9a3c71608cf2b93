from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import Organization
from apps.accounts.services import (
    DEMO_ORGANIZATION_SLUG,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    demo_data_load,
)
from apps.common.errors import ApplicationError
from apps.programs.services import demo_programs_load
from apps.runs.models import RunStatus
from apps.runs.services import demo_runs_load


class Command(BaseCommand):
    help = (
        "Create the demo organization, the demo/demo user and one program per template, each "
        "with a finished run of its baseline scenario computed here (only when DEBUG is on)."
    )

    def handle(self, *args: object, **options: object) -> None:
        try:
            user = demo_data_load()
            organization = Organization.objects.get(slug=DEMO_ORGANIZATION_SLUG)
            programs = demo_programs_load(user=user, organization=organization)
            runs = demo_runs_load(user=user, programs=programs)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Demo programs: {len(programs)} (one per template)")
        failed = [r for r in runs if r.status != RunStatus.SUCCEEDED]
        for run in failed:
            self.stderr.write(f"Demo run #{run.pk} of {run.scenario}: {run.status} {run.error}")
        self.stdout.write(f"Demo runs finished: {len(runs) - len(failed)} of {len(runs)}")
        self.stdout.write(f"Demo data ready: log in as {DEMO_USERNAME} / {DEMO_PASSWORD}")

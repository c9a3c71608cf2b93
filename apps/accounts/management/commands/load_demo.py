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


class Command(BaseCommand):
    help = (
        "Create the demo organization, the demo/demo user and one program per template "
        "(only when DEBUG is on)."
    )

    def handle(self, *args: object, **options: object) -> None:
        try:
            user = demo_data_load()
            organization = Organization.objects.get(slug=DEMO_ORGANIZATION_SLUG)
            programs = demo_programs_load(user=user, organization=organization)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Demo programs: {len(programs)} (one per template)")
        self.stdout.write(f"Demo data ready: log in as {DEMO_USERNAME} / {DEMO_PASSWORD}")

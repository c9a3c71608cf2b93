from django.core.management.base import BaseCommand, CommandError

from apps.accounts.services import DEMO_PASSWORD, DEMO_USERNAME, demo_data_load
from apps.common.errors import ApplicationError


class Command(BaseCommand):
    help = "Create the demo organization and the demo/demo user (only when DEBUG is on)."

    def handle(self, *args: object, **options: object) -> None:
        try:
            demo_data_load()
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Demo data ready: log in as {DEMO_USERNAME} / {DEMO_PASSWORD}")

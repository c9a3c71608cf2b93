from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _seed_catalogs(sender: AppConfig, **kwargs: object) -> None:
    from apps.programs.catalogs import catalogs_seed

    catalogs_seed()


class ProgramsConfig(AppConfig):
    name = "apps.programs"
    label = "programs"
    verbose_name = "Programs and catalogs"

    def ready(self) -> None:
        # After every migrate (and after the test runner flushes a transactional test's tables)
        # the catalogs exist; rows edited in the admin are left as they are.
        post_migrate.connect(_seed_catalogs, sender=self, dispatch_uid="programs_seed_catalogs")

from django.db import migrations, models
from django.db.models import F


def mark_existing_exports_dispatched(apps, schema_editor):  # type: ignore[no-untyped-def]
    # Exports created before the per-organization queue were all sent at once.
    apps.get_model("reports", "Export").objects.update(dispatched_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="export",
            name="dispatched_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(mark_existing_exports_dispatched, migrations.RunPython.noop),
    ]

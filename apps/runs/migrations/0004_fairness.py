from django.db import migrations, models
from django.db.models import F


def mark_existing_chunks_dispatched(apps, schema_editor):  # type: ignore[no-untyped-def]
    # Chunks created before the per-organization queue were all sent at once.
    apps.get_model("runs", "SweepChunk").objects.update(dispatched_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0003_idempotency_request"),
    ]

    operations = [
        migrations.AddField(
            model_name="sweepchunk",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="sweepchunk",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="sweepchunk",
            name="dispatched_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(mark_existing_chunks_dispatched, migrations.RunPython.noop),
    ]

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_apitoken"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="revoked_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("by_owner", "revoked by an owner"),
                    ("creator_inactive", "its creator's account was deactivated"),
                    ("creator_not_member", "its creator is no longer a member of the organization"),
                    (
                        "creator_cannot_edit",
                        "its creator is no longer an owner or editor of the organization",
                    ),
                    (
                        "creator_not_owner",
                        "its creator stepped down as an owner (Members page)",
                    ),
                ],
                max_length=20,
            ),
        ),
    ]

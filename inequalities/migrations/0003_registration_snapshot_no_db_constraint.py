import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """No database FK from registrations to their snapshot: PostgreSQL checks a deferred FK row by
    row at COMMIT, ~4 s for a national file. The ORM still cascades deletes."""

    dependencies = [
        ("inequalities", "0002_imports_layout_and_registration_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="registration",
            name="snapshot",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="registrations",
                to="inequalities.registrationsnapshot",
            ),
        ),
    ]

import django.db.models.deletion
from django.db import migrations, models


def partition(apps, schema_editor):
    from inequalities.importers.partitions import partition

    partition(schema_editor)


def unpartition(apps, schema_editor):
    from inequalities.importers.partitions import unpartition

    unpartition(schema_editor)


class Migration(migrations.Migration):
    """Registrations keyed on (snapshot, practice, LSOA) with no surrogate id, and, on PostgreSQL
    only, partitioned by snapshot so that an import swaps a whole snapshot in (see
    inequalities/importers/partitions.py). Django cannot alter a primary key into a composite
    one, so the table is recreated: re-import the registrations files after migrating."""

    dependencies = [
        ("inequalities", "0003_registration_snapshot_no_db_constraint"),
    ]

    operations = [
        migrations.DeleteModel(name="Registration"),
        migrations.CreateModel(
            name="Registration",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "snapshot_id",
                        "practice_code",
                        "lsoa_code",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("practice_code", models.CharField(max_length=12)),
                ("lsoa_code", models.CharField(blank=True, default="", max_length=12)),
                ("patients", models.PositiveIntegerField()),
                (
                    "snapshot",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="registrations",
                        to="inequalities.registrationsnapshot",
                    ),
                ),
            ],
        ),
        migrations.RunPython(partition, unpartition, elidable=False),
    ]

from django.db import migrations


def forwards(apps, schema_editor):
    from inequalities.catalogue import seed

    seed(apps.get_model("inequalities", "ClinicalArea"), apps.get_model("inequalities", "PlusGroup"))


class Migration(migrations.Migration):
    dependencies = [("inequalities", "0003_leads_targets")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

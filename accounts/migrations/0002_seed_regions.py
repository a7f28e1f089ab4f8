from __future__ import annotations

from django.db import migrations

from accounts.regions import seed_regions


def seed(apps, schema_editor):
    seed_regions(apps.get_model("accounts", "Region"))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

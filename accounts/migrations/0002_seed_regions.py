from __future__ import annotations

from django.db import migrations

from accounts.regions import SES_REGIONS


def seed_regions(apps, schema_editor):
    Region = apps.get_model("accounts", "Region")
    for code, name, zone in SES_REGIONS:
        Region.objects.update_or_create(code=code, defaults={"name": name, "dkim_signing_zone": zone})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(seed_regions, migrations.RunPython.noop)]

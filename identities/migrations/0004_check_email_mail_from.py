"""Email-address identities with a custom MAIL FROM domain are now DNS-checked (its MX and SPF).

Those set up before had no next check time, so the sweep would never claim them: schedule a
first check now, as setting the MAIL FROM domain does today.
"""

from django.db import migrations
from django.utils import timezone


def schedule_first_check(apps, schema_editor):
    Identity = apps.get_model("identities", "Identity")
    Identity.objects.filter(identity_type="EMAIL_ADDRESS", next_check_at__isnull=True).exclude(
        mail_from_domain=""
    ).update(next_check_at=timezone.now(), check_count=0)


class Migration(migrations.Migration):
    dependencies = [
        ("identities", "0003_soa_checked_at"),
    ]

    operations = [
        migrations.RunPython(schedule_first_check, migrations.RunPython.noop),
    ]

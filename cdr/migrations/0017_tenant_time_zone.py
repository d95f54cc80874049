# The tenant's time zone is checked against the IANA names (no schema change: a validator).

from django.db import migrations, models

import cdr.models.zones


class Migration(migrations.Migration):
    dependencies = [
        ("cdr", "0016_event_scope"),
    ]

    operations = [
        migrations.AlterField(
            model_name="tenant",
            name="time_zone",
            field=models.CharField(default="UTC", max_length=64, validators=[cdr.models.zones.validate_time_zone]),
        ),
    ]

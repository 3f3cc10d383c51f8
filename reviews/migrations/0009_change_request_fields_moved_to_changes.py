from django.db import migrations


class Migration(migrations.Migration):
    """The fields a change request held for its one config, now on its change (0008)."""

    dependencies = [
        ("reviews", "0008_change_request_is_a_set_of_changes"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="changerequest",
            name="cr_config_status_idx",
        ),
        migrations.RemoveField(
            model_name="changerequest",
            name="base_version",
        ),
        migrations.RemoveField(
            model_name="changerequest",
            name="config",
        ),
        migrations.RemoveField(
            model_name="changerequest",
            name="published_version",
        ),
        migrations.RemoveField(
            model_name="changerequest",
            name="value",
        ),
        migrations.RemoveField(
            model_name="changerequest",
            name="value_hash",
        ),
        migrations.RemoveField(
            model_name="historicalchangerequest",
            name="base_version",
        ),
        migrations.RemoveField(
            model_name="historicalchangerequest",
            name="config",
        ),
        migrations.RemoveField(
            model_name="historicalchangerequest",
            name="published_version",
        ),
        migrations.RemoveField(
            model_name="historicalchangerequest",
            name="value",
        ),
        migrations.RemoveField(
            model_name="historicalchangerequest",
            name="value_hash",
        ),
        migrations.RemoveField(
            model_name="review",
            name="value_hash",
        ),
    ]

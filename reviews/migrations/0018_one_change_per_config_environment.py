# After 0017 filled every change's environment (and committed), one change per config and
# environment.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0017_changes_in_the_default_environment"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="change",
            constraint=models.UniqueConstraint(
                fields=("change_request", "config", "environment"),
                name="one_change_per_config_environment",
            ),
        ),
    ]

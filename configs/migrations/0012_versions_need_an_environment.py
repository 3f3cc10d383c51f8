# After 0011 filled every version's environment (and committed: see there), the environment
# becomes required and indexed.

import configs.models
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("configs", "0011_environments_filled"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="version",
            name="environment",
            field=models.ForeignKey(
                default=configs.models.default_environment_id,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="configs.environment",
            ),
        ),
        migrations.AddIndex(
            model_name="version",
            index=models.Index(
                fields=["config", "environment", "effective_at"], name="version_effective_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="version",
            index=models.Index(
                condition=models.Q(("cancelled_at__isnull", True)),
                fields=["config", "environment", "number"],
                include=("effective_at", "id"),
                name="version_active_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="version",
            constraint=models.UniqueConstraint(
                fields=("config", "environment", "number"), name="version_number_unique"
            ),
        ),
        migrations.AddField(
            model_name="historicalenvironment",
            name="history_user",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="historicalreviewpolicy",
            name="config",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="configs.config",
            ),
        ),
        migrations.AddField(
            model_name="historicalreviewpolicy",
            name="environment",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="configs.environment",
            ),
        ),
        migrations.AddField(
            model_name="historicalreviewpolicy",
            name="history_user",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="historicalreviewpolicy",
            name="namespace",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="configs.namespace",
            ),
        ),
        migrations.AddField(
            model_name="reviewpolicy",
            name="config",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="policies",
                to="configs.config",
            ),
        ),
        migrations.AddField(
            model_name="reviewpolicy",
            name="environment",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="policies",
                to="configs.environment",
            ),
        ),
        migrations.AddField(
            model_name="reviewpolicy",
            name="namespace",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="policies",
                to="configs.namespace",
            ),
        ),
        migrations.AddConstraint(
            model_name="reviewpolicy",
            constraint=models.UniqueConstraint(
                condition=models.Q(("config__isnull", True)),
                fields=("namespace", "environment"),
                name="one_policy_per_namespace_environment",
            ),
        ),
        migrations.AddConstraint(
            model_name="reviewpolicy",
            constraint=models.UniqueConstraint(
                condition=models.Q(("config__isnull", False)),
                fields=("config", "environment"),
                name="one_policy_per_config_environment",
            ),
        ),
    ]

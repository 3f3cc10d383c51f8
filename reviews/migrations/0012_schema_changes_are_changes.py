"""A change can be a schema's change: its fields (the schema change requests move in next)."""

import configs.models
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("configs", "0007_schema_bodies_keep_key_order"),
        ("reviews", "0011_overrides"),
    ]

    operations = [
        migrations.AddField(
            model_name="change",
            name="body",
            field=configs.models.OrderedJSONField(
                blank=True, help_text="The proposed schema.", null=True
            ),
        ),
        migrations.AddField(
            model_name="change",
            name="migrated",
            field=models.BooleanField(
                default=False,
                help_text="A schema change's value filled in from the schema's defaults, not by a person.",
            ),
        ),
        migrations.AddField(
            model_name="change",
            name="problems",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="What the proposed schema rejects in this value, [{path, message}]: only a draft holds values with problems, and it cannot be submitted until none is left.",
            ),
        ),
        migrations.AddField(
            model_name="change",
            name="published_schema_version",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="change",
                to="configs.schemaversion",
            ),
        ),
        migrations.AddField(
            model_name="change",
            name="schema",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="changes",
                to="configs.schema",
            ),
        ),
        migrations.AddField(
            model_name="change",
            name="schema_base_version",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="configs.schemaversion",
            ),
        ),
        migrations.AddField(
            model_name="historicalchange",
            name="body",
            field=configs.models.OrderedJSONField(
                blank=True, help_text="The proposed schema.", null=True
            ),
        ),
        migrations.AddField(
            model_name="historicalchange",
            name="migrated",
            field=models.BooleanField(
                default=False,
                help_text="A schema change's value filled in from the schema's defaults, not by a person.",
            ),
        ),
        migrations.AddField(
            model_name="historicalchange",
            name="problems",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="What the proposed schema rejects in this value, [{path, message}]: only a draft holds values with problems, and it cannot be submitted until none is left.",
            ),
        ),
        migrations.AddField(
            model_name="historicalchange",
            name="published_schema_version",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="configs.schemaversion",
            ),
        ),
        migrations.AddField(
            model_name="historicalchange",
            name="schema",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="configs.schema",
            ),
        ),
        migrations.AddField(
            model_name="historicalchange",
            name="schema_base_version",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="configs.schemaversion",
            ),
        ),
        migrations.AlterField(
            model_name="change",
            name="config",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="changes",
                to="configs.config",
            ),
        ),
        migrations.AlterField(
            model_name="change",
            name="kind",
            field=models.CharField(
                choices=[
                    ("config", "Config change"),
                    ("new_config", "New config"),
                    ("schema", "Schema change"),
                ],
                default="config",
                max_length=12,
            ),
        ),
        migrations.AlterField(
            model_name="change",
            name="value",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="historicalchange",
            name="kind",
            field=models.CharField(
                choices=[
                    ("config", "Config change"),
                    ("new_config", "New config"),
                    ("schema", "Schema change"),
                ],
                default="config",
                max_length=12,
            ),
        ),
        migrations.AlterField(
            model_name="historicalchange",
            name="value",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name="change",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "schema")),
                fields=("change_request",),
                name="one_schema_change_per_request",
            ),
        ),
        migrations.AddConstraint(
            model_name="change",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("kind", "schema"), ("config__isnull", True), ("schema__isnull", False)
                    ),
                    models.Q(
                        models.Q(("kind", "schema"), _negated=True),
                        ("config__isnull", False),
                        ("schema__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="change_is_of_a_config_or_a_schema",
            ),
        ),
    ]

"""Schema bodies are kept as JSON text, so their keys stay in the order the author wrote them.

On PostgreSQL the columns turn from jsonb into text. Rows written before this keep the order
jsonb had already given them (shortest key first): jsonb never kept the original, so there is
nothing to restore it from. Schemas written from now on keep their author's order. SQLite always
stored the text, so there nothing changes.
"""

import configs.models
from django.db import migrations

TABLES = ["configs_schema", "configs_historicalschema", "configs_schemaversion"]


def retype(to: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in TABLES:
            schema_editor.execute(
                f'ALTER TABLE "{table}" ALTER COLUMN "body" TYPE {to} USING "body"::{to}'
            )

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('configs', '0006_versions_ordered_by_config_id'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(retype("text"), retype("jsonb"))],
            state_operations=[
                migrations.AlterField(
                    model_name='historicalschema',
                    name='body',
                    field=configs.models.OrderedJSONField(help_text='A JSON Schema (Draft 2020-12).'),
                ),
                migrations.AlterField(
                    model_name='schema',
                    name='body',
                    field=configs.models.OrderedJSONField(help_text='A JSON Schema (Draft 2020-12).'),
                ),
                migrations.AlterField(
                    model_name='schemaversion',
                    name='body',
                    field=configs.models.OrderedJSONField(),
                ),
            ],
        ),
    ]

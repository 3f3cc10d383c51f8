"""The schemas proposed by schema change requests are kept as JSON text, so their keys stay
in the order the author wrote them (see configs/migrations/0007_schema_bodies_keep_key_order.py).

On PostgreSQL the column turns from jsonb into text; requests made before this keep the order
jsonb had already given them, as there is nothing to restore the original from.
"""

import configs.models
from django.db import migrations


def retype(to: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                'ALTER TABLE "reviews_schemachangerequest" '
                f'ALTER COLUMN "body" TYPE {to} USING "body"::{to}'
            )

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('reviews', '0006_schema_change_drafts'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(retype("text"), retype("jsonb"))],
            state_operations=[
                migrations.AlterField(
                    model_name='schemachangerequest',
                    name='body',
                    field=configs.models.OrderedJSONField(help_text='The proposed schema (Draft 2020-12).'),
                ),
            ],
        ),
    ]

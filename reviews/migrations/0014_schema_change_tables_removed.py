"""The schema change requests' own tables go: every schema change request is a change request
now (moved by 0012)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0013_schema_change_requests_moved_into_change_requests"),
    ]

    operations = [
        migrations.DeleteModel(name="SchemaChangeItem"),
        migrations.DeleteModel(name="SchemaReview"),
        migrations.DeleteModel(name="SchemaChangeRequest"),
    ]

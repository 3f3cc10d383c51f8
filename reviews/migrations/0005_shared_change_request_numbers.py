from django.core.management.color import no_style
from django.db import migrations, models


def number_every_change_request(apps, schema_editor):
    """Give every existing change request a number. Config change requests keep theirs; schema
    change requests, numbered apart until now, are renumbered after them so no two share an id
    (audit events written before this keep the old number in their target)."""
    ChangeRequest = apps.get_model("reviews", "ChangeRequest")
    SchemaChangeRequest = apps.get_model("reviews", "SchemaChangeRequest")
    SchemaChangeItem = apps.get_model("reviews", "SchemaChangeItem")
    SchemaReview = apps.get_model("reviews", "SchemaReview")
    Number = apps.get_model("reviews", "ChangeRequestNumber")
    Number.objects.bulk_create(
        Number(pk=pk, kind="config")
        for pk in ChangeRequest.objects.values_list("pk", flat=True).iterator()
    )
    # After both kinds' highest ids, so no new id meets one not yet moved.
    next_pk = 1 + max(
        ChangeRequest.objects.aggregate(top=models.Max("pk"))["top"] or 0,
        SchemaChangeRequest.objects.aggregate(top=models.Max("pk"))["top"] or 0,
    )
    for old in list(SchemaChangeRequest.objects.order_by("pk")):
        old_pk, published = old.pk, old.published_version_id
        # The published schema version is one-to-one: free it before the copy takes it.
        SchemaChangeRequest.objects.filter(pk=old_pk).update(published_version=None)
        new = old
        new.pk, new.published_version_id = next_pk, published
        new.save(force_insert=True)
        SchemaChangeItem.objects.filter(change_request_id=old_pk).update(change_request_id=next_pk)
        SchemaReview.objects.filter(change_request_id=old_pk).update(change_request_id=next_pk)
        SchemaChangeRequest.objects.filter(pk=old_pk).delete()
        Number.objects.create(pk=next_pk, kind="schema")
        next_pk += 1
    # Explicit ids do not move PostgreSQL's sequence; the next number must come after them.
    with schema_editor.connection.cursor() as cursor:
        for sql in schema_editor.connection.ops.sequence_reset_sql(no_style(), [Number]):
            cursor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0004_schema_change_requests"),
    ]

    operations = [
        migrations.CreateModel(
            name="ChangeRequestNumber",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("config", "Config change"), ("schema", "Schema change")],
                        max_length=10,
                    ),
                ),
            ],
        ),
        migrations.RunPython(number_every_change_request, migrations.RunPython.noop),
    ]

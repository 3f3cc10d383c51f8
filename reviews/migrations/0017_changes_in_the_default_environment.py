"""Every config change made before environments is the default environment's. A migration of
its own, as configs' 0011 is: PostgreSQL cannot alter or index a table written to in the same
transaction."""

from django.db import migrations


def changes_in_the_default_environment(apps, schema_editor):
    """Every config change made before environments continues production's line (the one its
    base version is in); a new config's first value stays for every environment."""
    Change = apps.get_model("reviews", "Change")
    Environment = apps.get_model("configs", "Environment")
    production = Environment.objects.order_by("-position", "-id").first()
    Change.objects.filter(kind="config").update(environment=production)


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0016_environments"),
    ]

    operations = [
        migrations.RunPython(changes_in_the_default_environment, migrations.RunPython.noop),
    ]

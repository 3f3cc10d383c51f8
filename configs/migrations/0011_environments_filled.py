"""Every version made before environments becomes the default environment's, and the others get
their version 1. A migration of its own: on PostgreSQL a table written to cannot be altered or
indexed in the same transaction ("pending trigger events"), so the schema changes around this
fill are in 0010 and 0012."""

from django.db import migrations
from django.utils import timezone

# configs.environments.DEFAULTS at this release, kept here so this migration always does the same.
DEFAULTS = (
    ("development", "Development"),
    ("staging", "Staging"),
    ("production", "Production"),
)


def environments_added(apps, schema_editor):
    """What existed becomes the default (last) environment's: every version is production's.
    Each config's other environments start with a version 1 equal to its live value there (its
    newest when none is live yet), so every environment has a value and no answer changes."""
    Environment = apps.get_model("configs", "Environment")
    Version = apps.get_model("configs", "Version")
    Config = apps.get_model("configs", "Config")
    # A server of this release already running on the database (several app servers, a deploy
    # in progress) creates these same defaults when it finds none (environments.ensure_defaults),
    # and may publish into them before this runs: they are taken as they are (creating them again
    # failed on their unique names), and only what the release before stored is moved and copied.
    names = [name for name, _title in DEFAULTS]
    existing = list(Environment.objects.order_by("position", "id"))
    if existing and [env.name for env in existing] != names:
        raise RuntimeError(
            "The environments table already holds "
            f"{', '.join(env.name for env in existing)}; this upgrade expects none, or exactly "
            f"{', '.join(names)} in that order. Stop every app server, then migrate again."
        )
    envs = existing or [
        Environment.objects.create(name=name, title=title, position=position)
        for position, (name, title) in enumerate(DEFAULTS)
    ]
    production = envs[-1]
    Version.objects.filter(environment__isnull=True).update(environment=production)
    already = set(
        Version.objects.filter(environment__in=envs[:-1]).values_list("config_id", "environment_id")
    )
    now = timezone.now()
    copies = []
    for config_id in (
        Config.objects.filter(versions__isnull=False)
        .distinct()
        .values_list("pk", flat=True)
        .iterator()
    ):
        active = Version.objects.filter(
            config_id=config_id, environment=production, cancelled_at__isnull=True
        )
        source = (
            active.filter(effective_at__lte=now).order_by("-number").first()
            or active.order_by("-number").first()
        )
        if source is None:
            continue
        for env in envs[:-1]:
            if (config_id, env.pk) in already:
                continue
            copies.append(
                Version(
                    config_id=config_id,
                    environment=env,
                    number=1,
                    value=source.value,
                    value_json=source.value_json,
                    overrides=source.overrides,
                    effective_at=now,
                    published_at=now,
                    published_by_id=source.published_by_id,
                    reason=f"Version {source.number} of {production.name}, when environments were added.",
                    schema_id=source.schema_id,
                    schema_version_id=source.schema_version_id,
                )
            )
        if len(copies) >= 2000:
            Version.objects.bulk_create(copies)
            copies = []
    Version.objects.bulk_create(copies)


class Migration(migrations.Migration):
    dependencies = [
        ("configs", "0010_environments"),
    ]

    operations = [
        migrations.RunPython(environments_added, migrations.RunPython.noop),
    ]

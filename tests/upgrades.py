"""Moving the test database between releases, for the tests that upgrade a console an earlier
release filled in (`old_console` in tests/conftest.py)."""

from django.apps.registry import Apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate_to(targets: list[tuple[str, str]]) -> Apps:
    """Migrate (back or forth) to `targets`, returning the models as the database then holds
    them: other apps' later migrations stay applied."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor._create_project_state(with_applied_migrations=True).apps


def upgrade() -> None:
    """Every migration of today's release, and nothing this process kept from before it."""
    from configs import environments
    from configs.api import reads

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    environments.forget()
    reads.forget_prepared()

"""Fill the bench database and write bench/.state/fixture.json (run by bench/run).

Runs with DJANGO_SETTINGS_MODULE=bench.settings and the bench environment, on a freshly created
database: migrations, the demo, a `bench` namespace with 100 configs, a read token for alice in
data-pipelines and bench, and the exact bytes of the config read that /bench/a0/ and /bench/a1/
return."""

import io
import json
import os
import sys
import warnings
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# No collectstatic for a benchmark of the API: WhiteNoise's warning about it is noise here.
warnings.filterwarnings("ignore", message="No directory at")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from configs import services  # noqa: E402
from configs.models import Config, Namespace, Role  # noqa: E402

STATE_DIR = Path(os.environ.get("BENCH_STATE_DIR") or Path(__file__).with_name(".state"))
READ_PATH = "/api/v1/configs/data-pipelines/company-timezones/"
BUNDLE_PATH = "/api/v1/namespaces/bench/bundle/"
BUNDLE_SIZE = 100


def bench_value(i: int) -> dict:
    """A config value of a few hundred bytes, like the demo's, different for each config."""
    return {
        "enabled": i % 3 != 0,
        "owner": f"team-{i % 7}",
        "batch_size": 100 + i,
        "regions": ["eu-west-1", "us-east-1", "ap-northeast-1"][: 1 + i % 3],
        "companies": [
            {"company_id": f"company-{i}-{j}", "timezone": "Europe/Berlin", "weight": j / 4}
            for j in range(3)
        ],
    }


def main() -> None:
    call_command("migrate", interactive=False, verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())

    users = get_user_model().objects
    alice, carol = users.get(username="alice"), users.get(username="carol")
    namespace = services.namespace_create(
        slug="bench", name="Bench", actor=carol, description="100 configs for make bench."
    )
    services.membership_set(namespace=namespace, user=carol, role=Role.ADMIN, actor=carol)
    services.membership_set(namespace=namespace, user=alice, role=Role.EDITOR, actor=carol)
    for i in range(BUNDLE_SIZE):
        services.config_create(
            namespace=namespace,
            key=f"bench-{i:03d}",
            name=f"Bench config {i}",
            value=bench_value(i),
            actor=carol,
            reason="make bench",
        )

    pipelines = Namespace.objects.get(slug="data-pipelines")
    _, secret = services.token_create(
        user=alice,
        name="make bench",
        namespaces=[pipelines, namespace],
        write=False,
        actor=alice,
    )
    config = Config.objects.get(namespace=pipelines, key="company-timezones")

    # The bytes of the config read, from the API itself when it is there.
    client = Client(SERVER_NAME="127.0.0.1")
    response = client.get(READ_PATH, HTTP_AUTHORIZATION=f"Bearer {secret}")
    api = response.status_code == 200
    if api:
        body = response.content.decode("utf-8")
        content_type = response["Content-Type"]
    else:
        # No API yet: a body of the contract's shape, so a0 and a1 can be measured already.
        version = config.versions.live_at(timezone.now()).first()
        body = json.dumps(
            {
                "namespace": pipelines.slug,
                "key": config.key,
                "version": version.number,
                "value": version.value,
                "effective_at": version.effective_at.isoformat(),
                "published_at": version.published_at.isoformat(),
                "published_by": version.published_by.username,
                "schema": config.schema.name if config.schema_id else None,
            }
        )
        content_type = "application/json"

    # Planner statistics, as autovacuum keeps them on a database in use: without them a freshly
    # filled table is planned as if empty.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    STATE_DIR.mkdir(exist_ok=True)
    fixture = {
        "api": api,
        "api_status": response.status_code,
        "body": body,
        "content_type": content_type,
        "config_id": config.pk,
        "token": secret,
        "read_path": READ_PATH,
        "bundle_path": BUNDLE_PATH,
    }
    (STATE_DIR / "fixture.json").write_text(json.dumps(fixture, indent=2), encoding="utf-8")
    print(
        f"prepared: {BUNDLE_SIZE} configs in namespace bench, a read token for alice; "
        f"config read answered {response.status_code}"
        + ("" if api else " (no API yet: a0/a1 serve a body of the contract's shape)")
    )


if __name__ == "__main__":
    main()

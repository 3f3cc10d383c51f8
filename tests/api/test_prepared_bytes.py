"""A version's prepared bytes (what every read answers) write each field as Python writes it,
whichever way they were built (PostgreSQL formats the times itself for speed)."""

import json
from datetime import UTC, datetime

import pytest
from django.core.cache import cache

from configs.api import reads
from configs.models import Config, Version
from configs.selectors import versions_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("microsecond", [0, 5, 120_000, 999_999])
def test_times_are_written_as_the_api_writes_them_everywhere(bob, microsecond):
    config = Config.objects.get(namespace__slug="data-pipelines", key="company-timezones")
    effective = datetime(2026, 3, 1, 9, 30, 15, microsecond, tzinfo=UTC)
    published = datetime(1999, 12, 31, 23, 59, 59, 0, tzinfo=UTC)
    version = Version.objects.create(
        config=config,
        number=versions_of(config).order_by("-number").first().number + 1,
        value={"companies": [{"company_id": "é", "timezone": "UTC"}]},
        effective_at=effective,
        published_at=published,
        published_by=bob,
    )
    reads.forget_prepared()
    cache.clear()

    prepared = reads.prepared(version.pk)
    document = json.loads(prepared.document)

    assert document["effective_at"] == reads.timestamp(effective)
    assert document["published_at"] == "1999-12-31T23:59:59Z"
    assert document["published_by"] == "bob"
    assert document["namespace"] == "data-pipelines" and document["key"] == "company-timezones"
    assert document["value"] == version.value
    assert json.loads(prepared.entry) == {
        "version": version.number,
        "value": version.value,
        "overrides": [],
        "effective_at": reads.timestamp(effective),
    }
    assert (
        prepared.document
        == reads._prepare(
            (
                version.pk,
                version.number,
                version.value_json,
                "bob",
                version.schema.name if version.schema_id else None,
                version.schema_version.number if version.schema_version_id else None,
                "company-timezones",
                "data-pipelines",
                version.overrides,
                version.environment_id,
                reads.timestamp(effective),
                reads.timestamp(published),
            )
        ).document
    )

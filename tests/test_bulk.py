"""`insert_all` writes many rows as `bulk_create` would (COPY on PostgreSQL): each gets its id,
in order, with its values as a save would store them, and a clash is Django's IntegrityError.
`copy_rows` writes rows a caller holds as database values the same way, without models."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.bulk import copy_rows, insert_all
from configs import environments
from configs.models import Config, Version, canonical_json
from push.models import ChangeEvent, Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db


def new_versions(bob, values, number=2):
    now = timezone.now()
    configs = list(Config.objects.order_by("pk"))[: len(values)]
    return [
        Version(
            config=config,
            number=number,
            value=value,
            value_json=canonical_json(value),
            effective_at=now,
            published_at=now,
            published_by=bob,
            reason="Bulk",
        )
        for config, value in zip(configs, values, strict=False)
    ]


def test_rows_get_their_ids_in_order_and_read_back_as_written(bob):
    values = [{"a": [1, "two", None]}, {"quote": 'it\'s "quoted"\n\ttabbed \\ ünïcode'}, [3]]

    versions = insert_all(new_versions(bob, values, number=50))

    assert [v.pk for v in versions] == sorted(v.pk for v in versions)
    assert all(not v._state.adding for v in versions)
    stored = Version.objects.filter(pk__in=[v.pk for v in versions]).order_by("pk")
    assert [(v.value, v.value_json, v.number, v.reason) for v in stored] == [
        (value, canonical_json(value), 50, "Bulk") for value in values
    ]
    assert {v.published_by_id for v in stored} == {bob.pk}
    event = insert_all(
        [
            ChangeEvent(
                kind="live",
                namespace="n",
                key=f"k{v.pk}",
                version=v,
                number=50,
                effective_at=v.effective_at,
            )
            for v in versions
        ]
    )[0]
    assert ChangeEvent.objects.get(pk=event.pk).at == event.at  # auto_now_add filled in


def test_rows_with_ids_made_in_python_keep_them(bob):
    webhook = Webhook.objects.create(
        namespace=Config.objects.first().namespace, url="https://example.com/", events=[]
    )
    deliveries = [WebhookDelivery(webhook=webhook, event="ping") for _ in range(3)]

    insert_all(deliveries)

    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {d.pk for d in deliveries}


def test_a_clash_is_an_integrity_error(bob):
    versions = new_versions(bob, [{"a": 1}, {"b": 2}], number=1)  # every config has a version 1

    with pytest.raises(IntegrityError), transaction.atomic():
        insert_all(versions)


def test_rows_given_as_database_values_read_back_as_models(bob):
    now = timezone.now()
    configs = list(Config.objects.order_by("pk"))[:2]
    values = [{"quote": 'it\'s "quoted"\n\ttabbed \\ ünïcode'}, [None, 1.5]]
    columns = ["config_id", "number", "value", "value_json", "effective_at", "published_at"]
    columns += ["published_by_id", "reason", "bypass_reason", "environment_id"]
    environment = environments.default().id

    copy_rows(
        Version,
        columns,
        [
            (
                c.pk,
                60,
                canonical_json(v),
                canonical_json(v),
                now,
                now,
                bob.pk,
                "Rows",
                "",
                environment,
            )
            for c, v in zip(configs, values, strict=True)
        ],
    )

    stored = Version.objects.filter(number=60).order_by("config_id")
    assert [(v.config_id, v.value, v.reason, v.published_at) for v in stored] == [
        (c.pk, v, "Rows", now) for c, v in zip(configs, values, strict=True)
    ]


def test_rows_that_clash_are_an_integrity_error(bob):
    now = timezone.now()
    config = Config.objects.order_by("pk").first()
    columns = ["config_id", "number", "value", "value_json", "effective_at", "published_at"]
    columns += ["published_by_id", "reason", "bypass_reason", "environment_id"]
    environment = environments.default().id

    with pytest.raises(IntegrityError), transaction.atomic():
        copy_rows(
            Version, columns, [(config.pk, 1, "1", "1", now, now, bob.pk, "", "", environment)]
        )

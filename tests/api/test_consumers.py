"""Consumers: which tokens read a config, which version each read last, and when."""

import time
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from configs import consumers
from configs.models import ApiToken, Consumer
from configs.selectors import newest_version as newest
from configs.services import token_create, token_revoke
from tests.api.conftest import client_for, make_token
from tests.api.test_reads import publish_company

pytestmark = pytest.mark.django_db

CONFIG = "/api/v1/configs/data-pipelines/company-timezones/"
CONSUMERS = CONFIG + "consumers/"
BUNDLE = "/api/v1/namespaces/data-pipelines/bundle/"


def pipeline(user, name, *slugs):
    from configs.models import Namespace

    namespaces = list(Namespace.objects.filter(slug__in=slugs or ["data-pipelines"]))
    _token, secret = token_create(user=user, name=name, namespaces=namespaces)
    return client_for(secret)


def test_two_tokens_reading_different_versions_show_with_the_versions_they_read(
    timezones, alice, bob, dave
):
    publish_company(timezones, alice, bob, "hooli")
    nightly = pipeline(alice, "nightly-load")
    pinned = pipeline(bob, "old-report")

    assert pinned.get(CONFIG, {"version": 1}).status_code == 200
    assert nightly.get(CONFIG).status_code == 200
    consumers.flush()

    body = pipeline(dave, "dave-looks").get(CONSUMERS).json()
    assert [(c["token"], c["owner"], c["last_version"]) for c in body] == [
        ("nightly-load", "alice", 2),
        ("old-report", "bob", 1),
    ]
    assert body[0]["last_read_at"] >= body[1]["last_read_at"]


def test_recording_a_read_costs_no_query_on_a_warm_read(
    alice_reads, timezones, django_assert_num_queries
):
    alice_reads.get(CONFIG)  # warms the prepared answer and the token's last-used time
    consumers.forget()  # so that the next read is noted again

    with django_assert_num_queries(1):  # the token's lookup, nothing more
        response = alice_reads.get(CONFIG)

    assert response.status_code == 200
    assert consumers.flush() == 1
    assert Consumer.objects.get().last_version == newest(timezones)


def test_a_token_reading_again_within_a_minute_is_written_once(
    alice_reads, timezones, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    alice_reads.get(CONFIG)
    assert consumers.flush() == 1
    first = Consumer.objects.get().last_read_at

    alice_reads.get(CONFIG)
    alice_reads.get(CONFIG + "value/")
    assert consumers.flush() == 0

    time_machine.shift(timedelta(seconds=61))
    alice_reads.get(CONFIG)
    assert consumers.flush() == 1
    assert Consumer.objects.get().last_read_at == first + timedelta(seconds=61)


def test_reading_a_new_version_is_written_at_once(alice_reads, timezones, alice, bob):
    alice_reads.get(CONFIG)
    consumers.flush()

    publish_company(timezones, alice, bob, "hooli")
    alice_reads.get(CONFIG)

    assert consumers.flush() == 1
    assert Consumer.objects.get().last_version.number == 2


def test_a_bundle_read_is_a_read_of_each_config(alice_reads, timezones):
    bundle = alice_reads.get(BUNDLE).json()

    consumers.flush()

    read = Consumer.objects.filter(token__name="test").values_list("config__key", flat=True)
    assert set(read) == set(bundle["configs"])


def test_a_preview_is_never_recorded_as_the_version_read(alice_reads, timezones, alice):
    from tests.api.test_previews import propose

    cr = propose(timezones, alice, "hooli")
    alice_reads.get(CONFIG, {"change_request": cr.pk})
    alice_reads.get(BUNDLE, {"change_request": cr.pk})

    assert consumers.flush() == 0
    assert not Consumer.objects.exists()


def test_people_reading_in_the_console_are_not_consumers(client, timezones, alice):
    client.force_login(alice)

    assert client.get(CONFIG).status_code == 200
    assert consumers.flush() == 0


def test_revoked_tokens_are_not_listed(timezones, alice):
    token, secret = make_token(alice, "data-pipelines")
    client_for(secret).get(CONFIG)
    consumers.flush()

    token_revoke(token=token, actor=alice)

    assert pipeline(alice, "viewer").get(CONSUMERS).json() == []


def test_readers_of_the_namespace_see_the_consumers_and_nobody_else(timezones, alice, dave):
    _token, elsewhere = make_token(alice, "sales-ops")

    assert pipeline(dave, "dave").get(CONSUMERS).status_code == 200
    assert client_for(elsewhere).get(CONSUMERS).status_code == 404
    assert client_for().get(CONSUMERS).status_code == 401
    assert (
        pipeline(dave, "dave").get(CONFIG.replace("company", "no") + "consumers/").status_code
        == 404
    )


def test_a_consumer_on_an_old_version_for_over_a_day_is_flagged(timezones, alice, bob):
    live = newest(timezones)
    pinned = pipeline(bob, "old-report")
    publish_company(timezones, alice, bob, "hooli")
    pinned.get(CONFIG, {"version": live.number})
    consumers.flush()

    today = consumers.consumers_of(config=timezones, live=newest(timezones))
    later = consumers.consumers_of(
        config=timezones, live=newest(timezones), now=timezone.now() + timedelta(days=2)
    )

    assert today[0].pinned and not today[0].behind
    assert later[0].behind


@pytest.mark.django_db(transaction=True)
def test_the_background_writer_records_reads_within_seconds(settings, demo, alice):
    settings.CONSUMER_FLUSH_SECONDS = 0.1
    consumers.stop_recorder()  # the tests' own settings started none
    try:
        nightly = pipeline(alice, "nightly-load")
        assert nightly.get(CONFIG).status_code == 200
        for _ in range(50):
            if Consumer.objects.exists():
                break
            time.sleep(0.1)
    finally:
        consumers.stop_recorder()
        settings.CONSUMER_FLUSH_SECONDS = 0

    assert Consumer.objects.get().token.name == "nightly-load"


def test_notes_older_than_a_minute_are_forgotten_so_memory_stays_bounded(
    alice_reads, timezones, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    alice_reads.get(CONFIG)
    consumers.flush()
    assert len(consumers._noted) == 1

    time_machine.shift(timedelta(seconds=61))
    consumers.flush()

    assert consumers._noted == {}


def test_another_server_process_does_not_write_the_same_read_again_within_the_minute(
    alice_reads, timezones
):
    alice_reads.get(CONFIG)
    assert consumers.flush() == 1

    consumers.forget()  # what a second process knows: nothing of the first one's notes
    alice_reads.get(CONFIG)

    assert consumers.flush() == 0  # the shared cache says it was written this minute


def test_reads_are_still_recorded_when_the_shared_cache_is_down(
    alice_reads, timezones, monkeypatch
):
    from django.core.cache import cache

    alice_reads.get(CONFIG)

    def down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(cache, "get_many", down)
    assert consumers.flush() == 1


def test_noted_token_uses_are_written_in_one_statement(
    timezones, alice, bob, django_assert_num_queries
):
    nightly, _ = token_create(user=alice, name="nightly-load", namespaces=[timezones.namespace])
    report, _ = token_create(user=bob, name="old-report", namespaces=[timezones.namespace])
    earlier = timezone.now() - timedelta(seconds=30)
    consumers.note_use(nightly.pk, earlier)
    consumers.note_use(report.pk, earlier + timedelta(seconds=10))

    with django_assert_num_queries(1):
        consumers.flush()

    nightly.refresh_from_db()
    report.refresh_from_db()
    assert (nightly.last_used_at, report.last_used_at) == (earlier, earlier + timedelta(seconds=10))
    with django_assert_num_queries(0):
        consumers.flush()  # written once


def test_a_token_s_last_use_is_only_ever_moved_forward(timezones, alice):
    token, _ = token_create(user=alice, name="nightly-load", namespaces=[timezones.namespace])
    now = timezone.now()
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)

    consumers.note_use(token.pk, now - timedelta(seconds=8))  # written by another process since
    consumers.flush()

    token.refresh_from_db()
    assert token.last_used_at == now


def test_last_uses_the_database_could_not_take_are_written_at_the_next_batch(
    timezones, alice, monkeypatch
):
    token, _ = token_create(user=alice, name="nightly-load", namespaces=[timezones.namespace])
    used = timezone.now()
    consumers.note_use(token.pk, used)
    write = consumers._write_uses

    def database_away(uses):
        raise OperationalError("the database system is shutting down")

    monkeypatch.setattr(consumers, "_write_uses", database_away)
    with pytest.raises(OperationalError):
        consumers.flush()
    monkeypatch.setattr(consumers, "_write_uses", write)
    consumers.flush()

    token.refresh_from_db()
    assert token.last_used_at == used

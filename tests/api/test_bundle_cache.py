"""Each worker keeps whole bundles, sized by bytes: two big namespaces stay warm together."""

import pytest

from configs import services as config_services
from configs.api import reads
from configs.models import Config, Namespace, Role, Version, canonical_json
from reviews import services as review_services
from tests.api.conftest import client_for, make_token

pytestmark = pytest.mark.django_db

BIG = 300  # configs per namespace: more than the old per-worker limit allowed for two


def big_namespace(slug: str, *, carol, alice) -> str:
    namespace = config_services.namespace_create(slug=slug, name=slug, actor=carol)
    config_services.membership_set(namespace=namespace, user=alice, role=Role.VIEWER)
    configs = Config.objects.bulk_create(
        Config(namespace=namespace, key=f"c{n}", name=f"C{n}") for n in range(BIG)
    )
    Version.objects.bulk_create(
        Version(
            config=config,
            number=1,
            value={"n": n, "padding": "x" * 200},
            value_json=canonical_json({"n": n, "padding": "x" * 200}),
            effective_at=namespace.created_at,
            published_at=namespace.created_at,
            published_by=carol,
        )
        for n, config in enumerate(configs)
    )
    return f"/api/v1/namespaces/{slug}/bundle/"


@pytest.fixture
def two_big_bundles(alice, carol, demo):
    first = big_namespace("first", carol=carol, alice=alice)
    second = big_namespace("second", carol=carol, alice=alice)
    _token, secret = make_token(alice, "first", "second")
    return client_for(secret), first, second


def refuse_rebuilding(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the bundle was rebuilt instead of served whole")

    monkeypatch.setattr(reads, "prepared_many", refuse)


def test_two_big_namespaces_stay_warm_together(two_big_bundles, monkeypatch, settings):
    api, first, second = two_big_bundles
    # Room for both bundles (each about 75 KB), far less than their versions' entries would
    # take one by one.
    settings.BUNDLE_CACHE_BYTES = 200_000
    settings.PREPARED_CACHE_BYTES = 10_000
    bodies = {url: api.get(url).content for url in (first, second)}

    refuse_rebuilding(monkeypatch)

    for url in (first, second, first):
        response = api.get(url)
        assert response.status_code == 200
        assert response.content == bodies[url]
        assert len(response.json()["configs"]) == BIG


def test_the_least_recently_read_bundle_makes_room_for_a_new_one(
    two_big_bundles, monkeypatch, settings
):
    api, first, second = two_big_bundles
    settings.BUNDLE_CACHE_BYTES = 120_000  # room for one of them only
    api.get(first)
    api.get(second)
    built = []
    original = reads.prepared_many
    monkeypatch.setattr(reads, "prepared_many", lambda ids: built.append(ids) or original(ids))

    api.get(second)
    assert built == []  # the newest is kept whole
    api.get(first)
    assert len(built) == 1  # the older one was let go, whole, and is built again


def test_a_publish_gives_a_new_bundle_at_once(two_big_bundles, alice, carol):
    api, first, _second = two_big_bundles
    before = api.get(first).json()["configs"]["c1"]
    config = Config.objects.get(namespace__slug="first", key="c1")
    namespace = Namespace.objects.get(slug="first")
    config_services.membership_set(namespace=namespace, user=carol, role=Role.ADMIN)
    Namespace.objects.filter(pk=namespace.pk).update(required_approvals=0)

    review_services.change_request_open(
        config=config,
        author=carol,
        value={"n": "changed"},
        title="Change c1",
        base_version=before["version"],
        publish=True,
    )

    after = api.get(first).json()["configs"]["c1"]
    assert after["value"] == {"n": "changed"}
    assert after["version"] == before["version"] + 1


def test_a_bundle_larger_than_the_whole_budget_is_served_but_not_kept(
    two_big_bundles, monkeypatch, settings
):
    api, first, _second = two_big_bundles
    settings.BUNDLE_CACHE_BYTES = 1_000
    assert len(api.get(first).json()["configs"]) == BIG
    built = []
    original = reads.prepared_many
    monkeypatch.setattr(reads, "prepared_many", lambda ids: built.append(ids) or original(ids))

    assert len(api.get(first).json()["configs"]) == BIG
    assert len(built) == 1

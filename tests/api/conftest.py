import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from configs.api.reads import forget_prepared
from configs.models import Namespace
from configs.services import token_create


@pytest.fixture(autouse=True)
def fresh_caches():
    # Ids come back after a rollback (SQLite), so no prepared bytes may outlive a test.
    forget_prepared()
    cache.clear()
    yield
    forget_prepared()
    cache.clear()


def make_token(user, *slugs, write=False, **kwargs):
    namespaces = list(Namespace.objects.filter(slug__in=slugs))
    return token_create(user=user, name="test", namespaces=namespaces, write=write, **kwargs)


def client_for(secret: str | None = None) -> APIClient:
    api = APIClient()
    if secret:
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return api


@pytest.fixture
def alice_reads(alice):
    """A read token of alice's for both demo namespaces."""
    _token, secret = make_token(alice, "data-pipelines", "sales-ops")
    return client_for(secret)

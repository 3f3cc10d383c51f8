import pytest
from rest_framework.test import APIClient

from configs.models import Namespace
from configs.services import token_create


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

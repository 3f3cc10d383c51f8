"""Overrides through OFREP, read by the stock providers: the demo's override for Globex is a
targeting match with its name as variant, another company gets the value (DEFAULT)."""

import json

import pytest
from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext
from openfeature.flag_evaluation import Reason

from configs.selectors import newest_version as newest
from tests.ofrep.test_real_clients import node
from tests.push.conftest import read_token

pytestmark = pytest.mark.django_db(transaction=True)


def override_value(config, name):
    return next(o["value"] for o in newest(config).overrides if o["name"] == name)


def test_python_gets_globex_s_override_and_acme_the_value(asgi_server, alice, metrics):
    _token, secret = read_token(alice, "sales-ops")
    api.set_provider(
        OFREPProvider(
            base_url=asgi_server,
            headers_factory=lambda: {"Authorization": f"Bearer {secret}"},
        ),
        domain="targeting",
    )
    client = api.get_client(domain="targeting")
    try:
        globex = client.get_object_details(
            "custom-metrics", {}, EvaluationContext("globex", {"company": "globex"})
        )
        acme = client.get_object_details(
            "custom-metrics", {}, EvaluationContext("acme", {"company": "acme"})
        )
    finally:
        api.shutdown()

    assert (globex.reason, globex.variant) == (Reason.TARGETING_MATCH, "globex")
    assert globex.value == override_value(metrics, "globex")
    assert (acme.reason, acme.variant, acme.value) == (
        Reason.DEFAULT,
        "default",
        newest(metrics).value,
    )


def test_javascript_gets_globex_s_override_with_its_variant(asgi_server, alice, metrics):
    _token, secret = read_token(alice, "sales-ops")
    calls = [
        ["object", "custom-metrics", {}, {"targetingKey": "globex", "company": "globex"}],
        ["object", "sales-ops.custom-metrics", {}, {"targetingKey": "acme", "company": "acme"}],
    ]

    globex, acme = node("evaluate", asgi_server, secret, json.dumps(calls))

    assert (globex["reason"], globex["variant"]) == ("TARGETING_MATCH", "globex")
    assert globex["value"] == override_value(metrics, "globex")
    assert (acme["reason"], acme["variant"]) == ("DEFAULT", "default")

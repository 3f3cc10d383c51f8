"""The demo read through OpenFeature's stock SDKs and OFREP providers, nothing of ours installed:
Python's `openfeature-sdk` + `openfeature-provider-ofrep`, JavaScript's `@openfeature/server-sdk`
+ `@openfeature/ofrep-provider` (and, for the event stream, `@openfeature/web-sdk` +
`@openfeature/ofrep-web-provider`: the server provider asks per evaluation and follows no stream),
against the app served by uvicorn (tests/push/conftest.py)."""

import json
import queue
import subprocess
import threading
from pathlib import Path

import pytest
from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext
from openfeature.flag_evaluation import ErrorCode, Reason

from configs.models import Namespace
from configs.selectors import newest_version as newest
from configs.services import config_create
from tests.push.conftest import publish_metric, read_token

pytestmark = pytest.mark.django_db(transaction=True)

PROVIDERS = Path(__file__).with_name("providers.cjs")
NODE = ["node", "--experimental-eventsource"]


@pytest.fixture
def flags(carol, demo):
    """A string and a number beside the demo's objects, in sales-ops."""
    sales = Namespace.objects.get(slug="sales-ops")
    config_create(namespace=sales, key="welcome-text", name="Welcome", value="Hello", actor=carol)
    config_create(namespace=sales, key="batch-size", name="Batch", value=500, actor=carol)


@pytest.fixture
def python_client(asgi_server, alice, flags):
    _token, secret = read_token(alice, "sales-ops")
    provider = OFREPProvider(
        base_url=asgi_server, headers_factory=lambda: {"Authorization": f"Bearer {secret}"}
    )
    api.set_provider(provider, domain="config-console")
    yield api.get_client(domain="config-console")
    api.shutdown()


def test_python_reads_a_string_a_number_and_an_object(python_client, metrics):
    context = EvaluationContext(targeting_key="acme", attributes={"company": "acme"})

    text = python_client.get_string_details("welcome-text", "?", context)
    number = python_client.get_integer_details("batch-size", 0, context)
    value = python_client.get_object_details("custom-metrics", {}, context)

    assert (text.value, text.reason, text.variant) == ("Hello", Reason.STATIC, "default")
    assert value.variant == "default"
    assert number.value == 500
    assert value.value == newest(metrics).value
    assert value.flag_metadata == {
        "namespace": "sales-ops",
        "version": newest(metrics).number,
        "environment": "production",
    }


def test_python_falls_back_to_the_caller_s_default_for_a_missing_flag(python_client):
    details = python_client.get_string_details("no-such-flag", "fallback")

    assert details.value == "fallback"
    assert details.error_code == ErrorCode.FLAG_NOT_FOUND
    assert details.reason == Reason.ERROR


def node(*args, timeout=60):
    done = subprocess.run(
        [*NODE, str(PROVIDERS), *args], capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_javascript_reads_values_and_falls_back_for_a_missing_flag(
    asgi_server, alice, flags, metrics
):
    _token, secret = read_token(alice, "sales-ops")
    context = {"targetingKey": "acme", "company": "acme"}
    calls = [
        ["string", "welcome-text", "?", context],
        ["number", "batch-size", 0, context],
        ["object", "custom-metrics", {}, context],
        ["string", "no-such-flag", "fallback", context],
    ]

    text, number, value, missing = node("evaluate", asgi_server, secret, json.dumps(calls))

    assert (text["value"], text["reason"], text["variant"]) == ("Hello", "STATIC", "default")
    assert value["variant"] == "default"
    assert number["value"] == 500
    assert value["value"] == newest(metrics).value
    assert value["flagMetadata"] == {
        "namespace": "sales-ops",
        "version": newest(metrics).number,
        "environment": "production",
    }
    assert (missing["value"], missing["errorCode"]) == ("fallback", "FLAG_NOT_FOUND")


def test_javascript_sees_a_publish_through_the_event_stream_without_polling(
    asgi_server, alice, metrics
):
    _token, secret = read_token(alice, "sales-ops")
    process = subprocess.Popen(
        [*NODE, str(PROVIDERS), "follow", asgi_server, secret, "custom-metrics", "{}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(json.loads(line)) for line in process.stdout], daemon=True
    ).start()
    try:
        assert lines.get(timeout=30) == {"ready": newest(metrics).value}

        value = publish_metric(alice, "signups").value  # polling is off: only the stream tells

        assert lines.get(timeout=15) == {"changed": value}
    finally:
        process.kill()
        process.wait(timeout=10)

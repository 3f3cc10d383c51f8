"""The API describes itself: OpenAPI 3.1 at /api/schema/, Swagger UI offline at /api/docs/."""

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_schema_is_valid_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    validate_schema(document)


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/api/v1/configs/{namespace}/{key}/", "get", {"200", "304", "400", "401", "404"}),
        ("/api/v1/configs/{namespace}/{key}/value/", "get", {"200", "304", "401", "404"}),
        ("/api/v1/configs/{namespace}/{key}/versions/", "get", {"200", "401", "404"}),
        ("/api/v1/configs/{namespace}/{key}/consumers/", "get", {"200", "401", "404"}),
        ("/api/v1/namespaces/{namespace}/bundle/", "get", {"200", "304", "401", "404"}),
        (
            "/api/v1/configs/{namespace}/{key}/change-requests/",
            "post",
            {"201", "400", "401", "403", "404", "409", "413"},
        ),
        ("/api/v1/change-requests/{id}/", "get", {"200", "401", "404"}),
        ("/api/v1/change-requests/{id}/", "patch", {"200", "400", "403", "409"}),
        ("/api/v1/change-requests/{id}/approve/", "post", {"200", "403", "409"}),
        ("/api/v1/change-requests/{id}/request-changes/", "post", {"200", "403", "409"}),
        ("/api/v1/change-requests/{id}/publish/", "post", {"200", "400", "403", "409"}),
        ("/api/v1/change-requests/{id}/withdraw/", "post", {"200", "403", "409"}),
    ],
)
def test_every_endpoint_describes_its_answers_including_errors(document, path, method, statuses):
    described = set(document["paths"][path][method]["responses"])

    assert statuses <= described


def test_token_authentication_is_described(document):
    assert document["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"


def test_docs_are_served_without_the_internet(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()
    assert "/static/drf_spectacular_sidecar/" in page


def test_schema_generates_without_a_single_warning(tmp_path):
    # --fail-on-warn: an endpoint added without its responses described fails here.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))

    assert (tmp_path / "s.yml").read_text().startswith("openapi: 3.1.0")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/configs/{namespace}/{key}/",
        "/api/v1/configs/{namespace}/{key}/value/",
        "/api/v1/namespaces/{namespace}/bundle/",
    ],
)
def test_reads_describe_the_preview_of_a_change_request(document, path):
    parameters = {p["name"]: p for p in document["paths"][path]["get"]["parameters"]}

    assert "Config-Preview" in parameters["change_request"]["description"]


def test_the_evaluation_of_a_config_describes_which_version_it_evaluates(document):
    operation = document["paths"]["/api/v1/configs/{namespace}/{key}/evaluate/"]["post"]
    parameters = {p["name"]: p for p in operation["parameters"]}

    assert {"environment", "version", "at", "change_request"} <= set(parameters)
    assert parameters["version"]["schema"]["type"] == "integer"
    assert parameters["at"]["schema"]["format"] == "date-time"


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/ofrep/v1/evaluate/flags/{key}", "post", {"200", "400", "401", "403", "404", "429"}),
        ("/ofrep/v1/evaluate/flags", "post", {"200", "304", "400", "401", "403", "429"}),
        ("/ofrep/v1/stream", "get", {"200", "401", "503"}),
    ],
)
def test_openfeature_endpoints_are_described(document, path, method, statuses):
    assert statuses <= set(document["paths"][path][method]["responses"])


def test_openfeature_errors_are_described_as_they_are_answered(document, alice):
    from jsonschema import Draft202012Validator

    from tests.api.conftest import client_for, make_token

    answer = document["paths"]["/ofrep/v1/evaluate/flags/{key}"]["post"]["responses"]["404"]
    # Its references (#/components/…) resolve in a schema holding the document's components.
    schema = {
        **answer["content"]["application/json"]["schema"],
        "components": document["components"],
    }
    _token, secret = make_token(alice, "data-pipelines", "sales-ops")

    response = client_for(secret).post("/ofrep/v1/evaluate/flags/no-such.flag", {}, format="json")

    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"key", "errorCode", "errorDetails"}
    assert body["errorCode"] == "FLAG_NOT_FOUND"
    assert not list(Draft202012Validator(schema).iter_errors(body))


@pytest.mark.parametrize(
    ("path", "described"),
    [
        ("/ofrep/v1/evaluate/flags/sales-ops.custom-metrics", "/ofrep/v1/evaluate/flags/{key}"),
        ("/ofrep/v1/evaluate/flags", "/ofrep/v1/evaluate/flags"),
    ],
)
def test_openfeature_answers_are_as_described(document, alice, path, described):
    from jsonschema import Draft202012Validator

    from tests.api.conftest import client_for, make_token

    answer = document["paths"][described]["post"]["responses"]["200"]
    schema = {
        **answer["content"]["application/json"]["schema"],
        "components": document["components"],
    }
    _token, secret = make_token(alice, "data-pipelines", "sales-ops")

    response = client_for(secret).post(path, {"context": {"company": "globex"}}, format="json")

    assert response.status_code == 200
    assert not list(Draft202012Validator(schema).iter_errors(response.json()))
    assert "flags" in response.json() or response.json()["metadata"]["namespace"] == "sales-ops"

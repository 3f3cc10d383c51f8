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

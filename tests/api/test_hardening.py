"""The API's edge: whatever arrives, the answer is a JSON 4xx naming the problem, never a 500."""

import pytest
from django.test import RequestFactory

from common.api import handler500
from reviews.models import ChangeRequest
from tests.api.conftest import client_for, make_token

pytestmark = pytest.mark.django_db

PROPOSE = "/api/v1/configs/data-pipelines/company-timezones/change-requests/"
VALUE = {"companies": [{"company_id": "acme", "timezone": "UTC"}]}
ENVELOPE = '{"value": %s, "base_version": 1, "title": "t"}'


@pytest.fixture
def alice_writes(alice, timezones):
    _token, secret = make_token(alice, "data-pipelines", write=True)
    return client_for(secret)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"this is not json", "not valid JSON"),
        (b'{"value": ', "not valid JSON"),
        ((ENVELOPE % "NaN").encode(), "NaN is not allowed"),
        ((ENVELOPE % "Infinity").encode(), "Infinity is not allowed"),
        ((ENVELOPE % "-Infinity").encode(), "Infinity is not allowed"),
        ((ENVELOPE % "1e999").encode(), "too large"),
        (b'{"value": {}, "value": {}, "base_version": 1, "title": "t"}', "appears twice"),
        ((ENVELOPE % ("[" * 100_000 + "]" * 100_000)).encode(), "nested more than"),
        ((ENVELOPE % ("[" * 70 + "]" * 70)).encode(), "nested more than"),
        (b"\xff\xfe not utf-8", "not valid JSON"),
    ],
    ids=[
        "not-json",
        "truncated",
        "nan",
        "infinity",
        "minus-infinity",
        "huge-number",
        "duplicate-keys",
        "very-deep",
        "deep",
        "not-utf8",
    ],
)
def test_bad_json_body_is_400_json_and_nothing_is_saved(alice_writes, body, says):
    response = alice_writes.generic("POST", PROPOSE, body, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert says in response.json()["detail"]
    assert not ChangeRequest.objects.exists()


def test_empty_body_is_400_naming_the_missing_fields(alice_writes):
    response = alice_writes.generic("POST", PROPOSE, b"", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"] == "The request has 3 problems."
    assert {error["path"] for error in response.json()["errors"]} == {
        "/value",
        "/base_version",
        "/title",
    }


def test_body_over_the_limit_is_413_json(alice_writes, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = (ENVELOPE % ('"' + "x" * 2000 + '"')).encode()

    response = alice_writes.generic("POST", PROPOSE, body, content_type="application/json")

    assert response.status_code == 413
    assert "larger than the 1000 bytes" in response.json()["detail"]
    assert not ChangeRequest.objects.exists()


def test_form_encoded_body_is_415_json(alice_writes):
    response = alice_writes.post(PROPOSE, {"value": "x"}, format="multipart")

    assert response.status_code == 415
    assert response.json()["detail"]


def test_body_that_is_not_an_object_is_400(alice_writes):
    response = alice_writes.generic("POST", PROPOSE, b"[1, 2]", content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["errors"][0]["path"] == ""  # the body itself
    assert "dictionary" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "url", ["/api/v1/nothing-here/", "/api/v1/configs/", "/api/nope", "/api/v1/change-requests/x/"]
)
def test_unknown_address_under_api_is_404_json(alice_reads, url):
    response = alice_reads.get(url, follow=True)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


@pytest.mark.parametrize("method", ["get", "post"])
def test_address_without_its_final_slash_says_so_in_json(alice_writes, method):
    response = getattr(alice_writes, method)(PROPOSE.rstrip("/"))

    assert response.status_code == 404
    assert response.json() == {"detail": f"Add the final slash: {PROPOSE}"}


@pytest.mark.parametrize("url", ["/api/v1/change-requests/-1/approve/", "/api/v1/nothing/"])
def test_a_post_to_no_such_address_is_a_json_404_even_from_a_browser(client, alice, url):
    client.force_login(alice)
    client.handler.enforce_csrf_checks = True

    response = client.post(url, {})

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_wrong_method_is_405_json(alice_reads, timezones):
    response = alice_reads.delete("/api/v1/configs/data-pipelines/company-timezones/")

    assert response.status_code == 405
    assert response.json()["detail"]


def test_crash_under_api_answers_json_but_console_pages_keep_the_html_page():
    api = handler500(RequestFactory().get("/api/v1/configs/a/b/"))
    console = handler500(RequestFactory().get("/configs/"))

    assert api.status_code == console.status_code == 500
    assert api["Content-Type"] == "application/json"
    assert b"Something went wrong" in api.content
    assert console["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("pinned", [{}, {"version": 1}])
def test_no_html_under_api_even_for_a_browser(alice_reads, timezones, pinned):
    response = alice_reads.get(
        "/api/v1/configs/data-pipelines/company-timezones/", pinned, HTTP_ACCEPT="text/html"
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["version"] == 1


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/v1/configs/data-pipelines/company-timezones/?version=" + "9" * 30, 404),
        ("/api/v1/configs/data-pipelines/company-timezones/?version=²", 400),
        ("/api/v1/configs/data-pipelines/company-timezones/?version=-1", 400),
        ("/api/v1/change-requests/" + "9" * 30 + "/", 404),
        # Lists page by cursor: a page number is refused in words, whatever it is.
        ("/api/v1/configs/data-pipelines/company-timezones/versions/?page=" + "9" * 30, 400),
        ("/api/v1/audit/?page=abc", 400),
        ("/api/v1/audit/?cursor=" + "9" * 30, 400),
    ],
)
def test_out_of_range_numbers_are_4xx_json(alice_reads, timezones, url, status):
    response = alice_reads.get(url)

    assert response.status_code == status
    assert response.json()["detail"]


@pytest.mark.parametrize(
    "query",
    [
        {"at": "0001-01-01T00:00:00+14:00"},
        {"at": "9999-12-31T23:59:59-14:00"},
    ],
)
def test_instants_at_the_edge_of_the_calendar_are_400(alice_reads, timezones, query):
    response = alice_reads.get("/api/v1/configs/data-pipelines/company-timezones/", query)

    assert response.status_code == 400
    assert "at must be" in response.json()["detail"]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/v1/audit/?until=9999-12-31", 200),
        ("/api/v1/audit/?since=0001-01-01T00:00:00%2B14:00", 400),
        ("/api/v1/audit/?actor=%00", 400),
        ("/api/v1/audit/?config=a%00/b", 400),
        ("/api/v1/configs/data-pipelines/company-timezones/?at=%00", 400),
    ],
)
def test_odd_filters_are_answered_not_crashed_on(alice_reads, timezones, url, status):
    response = alice_reads.get(url)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"


def test_nul_in_a_proposed_value_is_400(alice_writes):
    response = alice_writes.generic(
        "POST",
        PROPOSE,
        (ENVELOPE % '{"companies": [{"company_id": "a\\u0000", "timezone": "UTC"}]}').encode(),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
    assert not ChangeRequest.objects.exists()


def test_nul_in_a_console_search_is_400_not_a_crash(client, alice, timezones):
    client.force_login(alice)

    assert client.get("/configs/?q=%00").status_code == 400

"""Content-Security-Policy without inline code, and Permissions-Policy, on every answer."""

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.mark.parametrize("url", ["/accounts/login/", "/api/v1/", "/healthz", "/api/docs/"])
def test_every_answer_carries_the_policies(client, db, url):
    response = client.get(url)

    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "geolocation=()" in response["Permissions-Policy"]


def test_console_templates_hold_no_inline_script_or_style():
    offending = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=", text):
            offending.append(str(template.relative_to(TEMPLATES)))

    assert offending == []


def test_api_docs_start_up_script_is_served_apart_from_the_page(client, db):
    page = client.get("/api/docs/").content.decode()

    assert re.search(r"<script>", page) is None
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert b"SwaggerUIBundle" in script.content

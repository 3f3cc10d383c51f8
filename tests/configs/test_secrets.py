"""Values never hold credentials: the detector on positives and near misses, and every path
that stores a value refusing them."""

import pytest

from configs.secrets import credential_format, key_names_a_credential, secret_problems

# Assembled at run time, so the repository itself holds nothing a scanner would flag.
AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
PRIVATE_KEY = (
    "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"
)
SLACK = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
GITHUB = "ghp_" + "A" * 36
GITHUB_FINE = "github_pat_" + "B" * 22 + "_" + "C" * 59
GITLAB = "glpat-" + "x" * 20
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
GOOGLE = "AIza" + "D" * 35
STRIPE = "sk_live_" + "0" * 24


@pytest.mark.parametrize(
    "value, path",
    [
        ({"password": "hunter2"}, "/password"),
        ({"db": {"password": "hunter2"}}, "/db/password"),
        ({"dbPassword": "hunter2"}, "/dbPassword"),
        ({"client_secret": "s3cr3t"}, "/client_secret"),
        ({"api_key": "k-123"}, "/api_key"),
        ({"api-key": "k-123"}, "/api-key"),
        ({"apiKey": "k-123"}, "/apiKey"),
        ({"private_key": "abc"}, "/private_key"),
        ({"token": "uid"}, "/token"),
        ({"github_token": "anything"}, "/github_token"),
        ({"passwords": ["a", "b"]}, "/passwords/0"),
        ({"note": AWS_KEY}, "/note"),
        ({"keys": [PRIVATE_KEY]}, "/keys/0"),
        ({"dsn": "postgres://etl:hunter2@db.internal:5432/warehouse"}, "/dsn"),
        ({"hook": SLACK}, "/hook"),
        ({"ci": GITHUB}, "/ci"),
        ({"ci": GITHUB_FINE}, "/ci"),
        ({"ci": GITLAB}, "/ci"),
        ({"session": JWT}, "/session"),
        ({"maps": GOOGLE}, "/maps"),
        ({"billing": STRIPE}, "/billing"),
        (["text before " + AWS_KEY], "/0"),
    ],
)
def test_credentials_are_found_at_their_path(value, path):
    problems = secret_problems(value, None)

    assert [problem["path"] for problem in problems][:1] == [path]
    assert "secret store" in problems[0]["message"]


@pytest.mark.parametrize(
    "value",
    [
        {"token_field": "uid"},
        {"credential_ref": "vault:warehouse/etl"},
        {"password_ref": "vault:db/etl"},
        {"password_min_length": 12},
        {"password": ""},
        {"password": None},
        {"require_password": True},
        {"secret_name": "etl-db"},
        {"token_url": "https://auth.example.com/oauth/token"},
        {"public_key_url": "https://example.com/jwks.json"},
        {"key": "company-timezones"},
        {"dsn": "postgres://etl@db.internal:5432/warehouse"},
        {"url": "https://example.com:8443/path?a=b"},
        {"sha": "4f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39"},
        {"id": "AKIA-not-a-key"},
        {"timezone": "Europe/Paris", "companies": ["acme", "globex"]},
        {"jwt_like": "eyJ.not.a.token"},
    ],
)
def test_near_misses_pass(value):
    assert secret_problems(value, None) == []


@pytest.mark.parametrize(
    "key, names",
    [
        ("password", True),
        ("DB_PASSWORD", True),
        ("refreshToken", True),
        ("signing_key", True),
        ("token_field", False),
        ("credential_ref", False),
        ("tokens_per_second", False),
        ("key", False),
        ("public_key", False),
    ],
)
def test_which_keys_name_a_credential(key, names):
    assert key_names_a_credential(key) is names


def test_a_schema_marks_a_property_safe_with_x_not_secret():
    schema = {
        "type": "object",
        "properties": {
            "page_token": {"type": "string", "x-not-secret": True},
            "password": {"type": "string"},
        },
    }

    problems = secret_problems({"page_token": "first", "password": "hunter2"}, schema)

    assert [problem["path"] for problem in problems] == ["/password"]


def test_x_not_secret_reaches_through_refs_and_items():
    schema = {
        "type": "object",
        "$defs": {"sample": {"type": "string", "x-not-secret": True}},
        "properties": {"samples": {"type": "array", "items": {"$ref": "#/$defs/sample"}}},
    }

    assert secret_problems({"samples": [AWS_KEY]}, schema) == []


def test_the_message_names_the_kind_of_credential():
    [problem] = secret_problems({"note": AWS_KEY}, None)

    assert problem["message"].startswith("This looks like a credential (AWS Access Key).")


def test_formats_are_found_only_where_they_are():
    assert credential_format("acme") is None
    assert credential_format(AWS_KEY) == "AWS Access Key"

"""The credential table: every shape of credential found so far is refused on every path that
stores a value (the API, the console's form, import, a schema change), and nothing of it is kept;
every look-alike on the same paths is stored.

Credentials are assembled at run time, so the repository itself holds nothing a scanner flags.
"""

import base64
import copy
import hashlib
import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from configs.models import Config, Schema, Version
from reviews import services as review_services
from reviews.models import Change, ChangeRequest
from tests.api.conftest import client_for, make_token

pytestmark = pytest.mark.django_db

A = "AKIA"
AWS = A + "IOSFODNN7EXAMPLE"
BEGIN = "-----BEGIN "
PEM_BODY = "\nMIIEowIBAAKCAQEAw7Nd1l6ZsJ1sQaXcVbTn\n-----END "


def pem(kind: str) -> str:
    return f"{BEGIN}{kind}PRIVATE KEY-----{PEM_BODY}{kind}PRIVATE KEY-----"


def b64(text: str, urlsafe: bool = False) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return encode(text.encode()).decode()


def noise(n: int, seed: str = "x") -> bytes:
    out = b""
    while len(out) < n:
        out += hashlib.sha256((seed + str(len(out))).encode()).digest()
    return out[:n]


GITHUB = "ghp_" + "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)

# (name, value stored as the config's whole value, a piece of it no store may hold afterwards)
CREDENTIALS = [
    ("aws key id", {"note": AWS}, AWS),
    ("aws temporary key id", {"note": "ASIA" + "Y34FZKBOKMUTVV7A"}, "Y34FZKBOKMUTVV7A"),
    ("aws key id lower-cased", {"note": AWS.lower()}, AWS.lower()),
    ("aws key id with a zero-width space", {"note": AWS[:8] + "\u200b" + AWS[8:]}, AWS[8:]),
    ("aws key id with a soft hyphen", {"note": AWS[:6] + "\u00ad" + AWS[6:]}, AWS[6:]),
    (
        "aws key id in full-width letters",
        {"note": "".join(chr(ord(c) + 0xFEE0) for c in AWS)},
        "ＩＯＳＦＯ",
    ),
    ("aws key id as an object key", {"accounts": {AWS: "prod"}}, AWS),
    ("aws key id inside a sentence", {"note": f"use {AWS} for prod"}, AWS),
    ("aws key id in a list", {"keys": ["a", AWS]}, AWS),
    ("rsa private key", {"key": pem("RSA ")}, "MIIEowIBAAKCAQEAw7Nd1l6ZsJ1sQaXcVbTn"),
    ("ec private key", {"key": pem("EC ")}, "MIIEowIBAAKCAQEAw7Nd1l6ZsJ1sQaXcVbTn"),
    ("openssh private key", {"key": pem("OPENSSH ")}, "MIIEowIBAAKCAQEAw7Nd1l6ZsJ1sQaXcVbTn"),
    ("pkcs8 private key", {"key": pem("")}, "MIIEowIBAAKCAQEAw7Nd1l6ZsJ1sQaXcVbTn"),
    (
        "private key typed in small letters",
        {"key": pem("RSA ").lower()},
        "miieowibaakcaqeaw7nd1l6zsj1sqaxcvbtn",
    ),
    ("base64 of a private key block", {"blob": b64(pem("RSA "))}, b64(pem("RSA "))[:40]),
    ("base64 of an aws key id", {"blob": b64(f"id={AWS}")}, b64(f"id={AWS}")),
    ("url-safe base64 of a github token", {"blob": b64(GITHUB, urlsafe=True)}, b64(GITHUB, True)),
    (
        "base64 of base64 of a private key",
        {"blob": b64(b64(pem("EC ")))},
        b64(b64(pem("EC ")))[:40],
    ),
    (
        "postgres url with a password",
        {"dsn": "postgres://etl:Tr0ub4dor3@db.internal/wh"},
        "Tr0ub4dor3",
    ),
    ("https url with a password", {"hook": "https://ci:Tr0ub4dor3@ci.example.com/x"}, "Tr0ub4dor3"),
    (
        "redis url with a password",
        {"cache": "redis://default:Tr0ub4dor3@cache:6379/0"},
        "Tr0ub4dor3",
    ),
    (
        "slack bot token",
        {"chat": "xoxb-" + "123456789012-1234567890123-abcdefghij"},
        "1234567890123-abcdefghij",
    ),
    (
        "slack user token",
        {"chat": "xoxp-" + "223456789012-2234567890123-bcdefghijk"},
        "2234567890123-bcdefghijk",
    ),
    (
        "slack webhook",
        {"chat": "https://hooks.slack.com/services/" + "T0AB12CD3/B0AB12CD3/xYzAbC123"},
        "xYzAbC123",
    ),
    ("github token", {"ci": GITHUB}, GITHUB),
    ("github oauth token", {"ci": "gho_" + GITHUB[4:]}, GITHUB[4:]),
    ("github fine-grained token", {"ci": "github_pat_" + "B" * 22 + "_" + "C" * 59}, "C" * 59),
    ("gitlab token", {"ci": "glpat-" + "xY3zAb5cDe7fGh9iJk1L"}, "xY3zAb5cDe7fGh9iJk1L"),
    ("jwt", {"session": JWT}, JWT),
    (
        "google api key",
        {"maps": "AIza" + "SyD3x4mpl3K3yF0rT3st1ng0nly12345678"},
        "SyD3x4mpl3K3yF0rT3st1ng0nly12345678",
    ),
    (
        "stripe secret key",
        {"billing": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"},
        "4eC39HqLyjWDarjtT1zdp7dc",
    ),
    (
        "stripe restricted key",
        {"billing": "rk_live_" + "5eC39HqLyjWDarjtT1zdp7dc"},
        "5eC39HqLyjWDarjtT1zdp7dc",
    ),
    ("sendgrid key", {"mail": "SG." + "a" * 22 + "." + "b" * 43}, "b" * 43),
    ("twilio key", {"sms": "SK" + "0123456789abcdef" * 2}, "0123456789abcdef" * 2),
    ("openai key", {"llm": "sk-" + "a1B2" * 5 + "T3BlbkFJ" + "c3D4" * 5}, "T3BlbkFJ" + "c3D4" * 5),
    ("telegram bot token", {"bot": "123456789:" + "AAH" + "x" * 32}, "AAH" + "x" * 32),
    ("mailchimp key", {"mail": "0123456789abcdef" * 2 + "-us12"}, "0123456789abcdef" * 2 + "-us12"),
    ("azure storage key", {"blob": "AccountKey=" + "Q" * 86 + "=="}, "Q" * 86),
    ("square oauth secret", {"pay": "sq0csp-" + "Z" * 43}, "Z" * 43),
    (
        "npm token in an npmrc line",
        {"npmrc": "//registry.npmjs.org/:_authToken=npm_" + "k" * 36},
        "k" * 36,
    ),
    ("a password", {"password": "Tr0ub4dor3"}, "Tr0ub4dor3"),
    ("a password that is a number", {"password": 12345678}, "12345678"),
    ("a password nested deep", {"db": {"primary": {"db_password": "Tr0ub4dor3"}}}, "Tr0ub4dor3"),
    ("a client secret in camel case", {"oauth": {"clientSecret": "Tr0ub4dor3"}}, "Tr0ub4dor3"),
    ("tokens in a list", {"tokens": ["Tr0ub4dor3"]}, "Tr0ub4dor3"),
    ("a password key with a zero-width space", {"pass\u200bword": "Tr0ub4dor3"}, "Tr0ub4dor3"),
    ("a password key in full-width letters", {"ｐａｓｓｗｏｒｄ": "Tr0ub4dor3"}, "Tr0ub4dor3"),
    ("a private key that is a number", {"private_key": 31337}, "31337"),
]

PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + noise(3000)).decode()
JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + noise(3000, "j")).decode()
CERTIFICATE = (
    "-----BEGIN CERTIFICATE-----\n"
    + base64.encodebytes(noise(900, "c")).decode()
    + "-----END CERTIFICATE-----"
)

LOOK_ALIKES = [
    ("uuid", {"id": "550e8400-e29b-41d4-a716-446655440000"}),
    ("sha-256", {"digest": hashlib.sha256(b"a").hexdigest()}),
    ("sha-1 commit", {"commit": hashlib.sha1(b"a").hexdigest()}),
    ("md5", {"etag": hashlib.md5(b"a").hexdigest()}),
    ("upper-case sha-256", {"digest": hashlib.sha256(b"b").hexdigest().upper()}),
    ("vault reference", {"secret": "vault://warehouse/etl"}),
    ("credential_ref", {"credential_ref": "vault:warehouse/etl"}),
    ("password_ref", {"db": {"password_ref": "vault:db/etl"}}),
    ("base64 png", {"logo": PNG}),
    ("base64 jpeg", {"photo": JPEG}),
    ("certificate", {"ca": CERTIFICATE}),
    ("ssh public key", {"ssh": "ssh-ed25519 " + base64.b64encode(noise(51, "s")).decode()}),
    (
        "public key block",
        {"jwks": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYI\n-----END PUBLIC KEY-----"},
    ),
    ("base64 of plain words", {"note": b64("kept for the 2023 backfill, ask the data team")}),
    ("password length", {"password_min_length": 12}),
    ("a token url", {"token_url": "https://auth.example.com/oauth/token"}),
    ("a secret's name", {"secret_name": "etl-db"}),
    ("an empty password", {"password": ""}),
    ("a password switch", {"require_password": True}),
    ("a url with a user and no password", {"dsn": "postgres://etl@db.internal:5432/warehouse"}),
    ("almost an aws key", {"id": "AKIA-not-a-key"}),
    ("a jwt-like id", {"id": "eyJ.not.a.token"}),
    ("stripe customer id", {"customer": "cus_" + "NffrFeUfNV2Hib"}),
    ("long snake-case identifiers", {"table": "warehouse_connections_primary_eu_west_1_backup"}),
    ("full-width words", {"note": "ｆｕｌｌｗｉｄｔｈ ｔｅｘｔ"}),
]


def ids(table):
    return [row[0] for row in table]


def nothing_kept(piece: str) -> bool:
    """No version, change request, schema, schema change or audit event holds `piece`."""
    texts = [
        json.dumps(v, ensure_ascii=False) for v in Version.objects.values_list("value", flat=True)
    ]
    for cr in ChangeRequest.objects.all():
        texts += [cr.title, cr.description]
    # Every change of every kind: a config's proposed value, a schema's proposed body.
    for value, body in Change.objects.values_list("value", "body"):
        texts += [json.dumps(value, ensure_ascii=False), json.dumps(body, ensure_ascii=False)]
    texts += [
        json.dumps(s, ensure_ascii=False) for s in Schema.objects.values_list("body", flat=True)
    ]
    texts += [
        json.dumps(e.details, ensure_ascii=False) + e.reason for e in AuditEvent.objects.all()
    ]
    return not any(piece in text for text in texts)


LEGACY_API = "/api/v1/configs/sales-ops/legacy-fields/change-requests/"
LEGACY_EDIT = "/configs/sales-ops/legacy-fields/edit/"


def through_the_api(value):
    from django.contrib.auth import get_user_model

    alice = get_user_model().objects.get(username="alice")
    _token, secret = make_token(alice, "sales-ops", write=True)
    response = client_for(secret).post(
        LEGACY_API, {"value": value, "base_version": 1, "title": "Legacy fields"}, format="json"
    )
    assert response.status_code in (201, 400), response.content
    return response.status_code == 201


def through_the_console(client, value):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="alice"))
    response = client.post(
        LEGACY_EDIT,
        {
            "editor": "raw",
            "raw": json.dumps(value, ensure_ascii=False),
            "title": "Legacy fields",
            "base_version": 1,
            "confirmed": "1",
        },
    )
    if response.status_code == 200:
        assert "secret store" in response.content.decode()
    return response.status_code == 302


def through_import(tmp_path, value):
    call_command("export_configs", str(tmp_path), stdout=StringIO())
    path = tmp_path / "configs" / "sales-ops" / "legacy-fields.json"
    data = json.loads(path.read_text())
    data["value"] = value
    path.write_text(json.dumps(data, ensure_ascii=False))
    try:
        call_command("import_configs", str(tmp_path), "--user", "carol", stdout=StringIO())
    except CommandError as refused:
        assert "nothing was imported" in str(refused)
        return False
    return True


def through_a_schema_change(value):
    """Each top-level field of `value` becomes a new property of a schema, `value`'s data as
    its default and its example."""
    from django.contrib.auth import get_user_model

    carol = get_user_model().objects.get(username="carol")
    config = Config.objects.get(namespace__slug="data-pipelines", key="company-timezones")
    body = copy.deepcopy(config.schema.body)
    for key, data in value.items():
        body["properties"][key] = {"default": data, "examples": [data]}
    try:
        review_services.schema_change_open(
            schema=config.schema, author=carol, body=body, base_version=1, title="New fields"
        )
    except ValidationError as refused:
        assert "secret store" in " ".join(refused.messages)
        return False
    return True


def stored_through(path, value, client, tmp_path) -> bool:
    if path == "api":
        return through_the_api(value)
    if path == "console":
        return through_the_console(client, value)
    if path == "import":
        return through_import(tmp_path, value)
    return through_a_schema_change(value)


PATHS = ["api", "console", "import", "schema change"]


def test_the_table_is_as_large_as_promised():
    assert len(CREDENTIALS) >= 40
    assert len(LOOK_ALIKES) >= 20


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("name", "value", "piece"), CREDENTIALS, ids=ids(CREDENTIALS))
def test_a_credential_is_refused_and_kept_nowhere(demo, client, tmp_path, path, name, value, piece):
    assert not stored_through(path, value, client, tmp_path)
    assert nothing_kept(piece)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("name", "value"), LOOK_ALIKES, ids=ids(LOOK_ALIKES))
def test_a_look_alike_is_stored(demo, client, tmp_path, path, name, value):
    assert stored_through(path, value, client, tmp_path)

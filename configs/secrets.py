"""Values never hold credentials: find what looks like one, anywhere in a value.

Two rules:

- a key that names a credential (`password`, `db_password`, `secret`, `clientSecret`, `api_key`,
  `private_key`, `token`, `github_token`, …) holding a non-empty string. The key's *last* word
  decides, so `credential_ref`, `token_field`, `password_min_length` and `secret_name` pass;
- a string in a known credential format, whatever its key: detect-secrets' format plugins (cloud
  access keys, private key blocks, URLs with a password, chat and code-host tokens, JWTs and other
  providers' keys), plus the formats those plugins lack (GitHub's fine-grained tokens, Google API
  keys). Its entropy and keyword plugins are left out: they are made for source code and flag
  hashes and identifiers that configs hold by the thousand.

A schema marks a property that only looks like a credential with `"x-not-secret": true`; nothing
under it is checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

from configs.validation import child_schema, json_pointer, resolve

NOT_SECRET = "x-not-secret"
WHERE_SECRETS_BELONG = (
    "Configs are readable by every read token of the namespace and kept for ever in history, "
    "so they never hold credentials: keep the secret in your secret store and put a reference "
    'to it here instead (for example "credential_ref": "vault:warehouse/etl"). If this is not a '
    'credential, the schema can mark the field "x-not-secret": true.'
)


class GitHubFineGrainedTokenDetector(RegexBasedDetector):
    secret_type = "GitHub fine-grained token"
    denylist = [re.compile(r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}")]


class GoogleApiKeyDetector(RegexBasedDetector):
    secret_type = "Google API key"
    denylist = [re.compile(r"AIza[0-9A-Za-z_\-]{35}")]


DETECTORS: list[RegexBasedDetector] = [
    AWSKeyDetector(),
    AzureStorageKeyDetector(),
    BasicAuthDetector(),
    DiscordBotTokenDetector(),
    GitHubTokenDetector(),
    GitLabTokenDetector(),
    JwtTokenDetector(),
    MailchimpDetector(),
    NpmDetector(),
    OpenAIDetector(),
    PrivateKeyDetector(),
    PypiTokenDetector(),
    SendGridDetector(),
    SlackDetector(),
    SquareOAuthDetector(),
    StripeDetector(),
    TelegramBotTokenDetector(),
    TwilioKeyDetector(),
    GitHubFineGrainedTokenDetector(),
    GoogleApiKeyDetector(),
]


def _scoped(pattern: re.Pattern) -> str:
    return f"(?i:{pattern.pattern})" if pattern.flags & re.IGNORECASE else f"(?:{pattern.pattern})"


# One pass over each string finds whether any detector might match; the detectors then say which
# (and apply their own checks, such as a JWT's parts decoding). A value holds many strings.
_ANY_FORMAT = re.compile("|".join(_scoped(p) for d in DETECTORS for p in d.denylist))
_SHORTEST_FORMAT = 16  # "://a:b@" aside, no credential format is shorter
_URL_PASSWORD = re.compile(r"://[^\s/@]*:[^\s/@]+@")

# The words a credential's key ends with (after splitting snake_case, kebab-case, camelCase).
_LAST_WORDS = {
    "password",
    "passwords",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "secrets",
    "token",
    "tokens",
    "apikey",
    "credential",
    "credentials",
}
_LAST_TWO_WORDS = {
    ("api", "key"),
    ("private", "key"),
    ("secret", "key"),
    ("access", "key"),
    ("signing", "key"),
    ("encryption", "key"),
    ("auth", "key"),
}
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def key_names_a_credential(key: str) -> bool:
    words = [word.lower() for word in _WORD.findall(key)]
    if not words:
        return False
    return words[-1] in _LAST_WORDS or tuple(words[-2:]) in _LAST_TWO_WORDS


def credential_format(text: str) -> str | None:
    """The kind of credential `text` holds (e.g. "AWS Access Key"), or None."""
    if len(text) < _SHORTEST_FORMAT and not _URL_PASSWORD.search(text):
        return None
    if not _ANY_FORMAT.search(text):
        return None
    for detector in DETECTORS:
        if any(True for _ in detector.analyze_string(text)):
            return detector.secret_type
    return None


def _strings(
    node: Any, path: list[Any], schema: dict, root: dict, key: str | None
) -> Iterator[tuple[list[Any], str | None, str]]:
    """(path, the key naming it, string) for every string not under an x-not-secret schema."""
    if schema.get(NOT_SECRET) is True:
        return
    if isinstance(node, str):
        yield path, key, node
    elif isinstance(node, dict):
        for name, item in node.items():
            if isinstance(item, _CONTAINERS):
                yield from _strings(
                    item, [*path, name], child_schema(schema, name, root), root, name
                )
    elif isinstance(node, list):
        # Items share one schema: look it up once, and skip numbers and the like without a call
        # (a large value is mostly those).
        items = child_schema(schema, 0, root)
        if items.get(NOT_SECRET) is True:
            return
        for index, item in enumerate(node):
            if isinstance(item, _CONTAINERS):
                yield from _strings(item, [*path, index], items, root, key)


_CONTAINERS = (str, dict, list)


def secret_problems(value: Any, schema: dict | None) -> list[dict[str, str]]:
    """A problem, [{path, message}], for each string in `value` that looks like a credential."""
    root = schema or {}
    problems = []
    for path, key, text in _strings(value, [], resolve(root, root), root, None):
        kind = credential_format(text)
        if kind is not None:
            what = f"This looks like a credential ({kind})."
        elif key is not None and text.strip() and key_names_a_credential(key):
            what = f"'{key}' names a credential, so it cannot hold a value here."
        else:
            continue
        problems.append({"path": json_pointer(path), "message": f"{what} {WHERE_SECRETS_BELONG}"})
    return problems

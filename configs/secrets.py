"""Values never hold credentials: find what looks like one, in every string that is stored.

Three rules, over every string and every object key of a value (and of a schema's data
keywords, a change request's texts, a webhook's description):

- a key that names a credential (`password`, `db_password`, `secret`, `clientSecret`, `api_key`,
  `private_key`, `token`, `github_token`, …) holding anything but an empty string: text or a
  number. The key's *last* word decides, so `credential_ref`, `token_field`,
  `password_min_length` and `secret_name` pass;
- a string in a known credential format, whatever its key: detect-secrets' format plugins (cloud
  access keys, private key blocks, URLs with a password, chat and code-host tokens, JWTs and other
  providers' keys), plus what those plugins lack, written here by hand: GitHub's fine-grained
  tokens, Google API keys, and the capital-letter formats (AWS key ids, private key headers)
  written in any case. Its entropy and keyword plugins are left out: they are made for source
  code and flag hashes and identifiers that configs hold by the thousand;
- the same formats inside base64 (a key block or token encoded to slip past a pattern).

Text is normalised before matching (Unicode NFKC, so full-width letters are letters; zero-width
and other invisible characters removed), so a credential cannot hide behind characters nobody
sees.

A schema exempts one place, never the whole value: `"x-not-secret": true` on the property (or
the `items`) whose text or number only looks like a credential. It is a schema change like any
other, and reviewers read it in words ("allows a secret-looking value at /fixtures/key");
the config's page lists its exempt paths.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
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

from configs.pointers import child_schema, json_pointer, resolve

NOT_SECRET = "x-not-secret"
WHERE_SECRETS_BELONG = (
    "Configs are readable by every read token of the namespace and kept for ever in history, "
    "so they never hold credentials: keep the secret in your secret store and put a reference "
    'to it here instead (for example "credential_ref": "vault:warehouse/etl"). If this is not a '
    'credential, a schema change can mark this one field "x-not-secret": true.'
)
WHERE_SECRETS_BELONG_IN_TEXT = (
    "Change requests, comments and descriptions are kept for ever and sent by e-mail, so they "
    "never hold credentials: keep the secret in your secret store and name it instead."
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

# By hand: detect-secrets matches these capital-letter formats in capitals only, and a key id
# lower-cased or a key block's header typed in small letters is the same credential. The AWS id
# must stand alone here (not inside a longer run of letters), or any long base64 text, compared
# without regard to case, would hold one somewhere.
_ANY_CASE = [
    (
        "AWS Access Key",
        re.compile(
            r"(?<![A-Za-z0-9])(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])",
            re.IGNORECASE,
        ),
    ),
    (
        "Private Key",
        re.compile(
            r"BEGIN[ _-]+(?:(?:RSA|DSA|EC|OPENSSH|PGP|SSH2[ _-]+ENCRYPTED|ENCRYPTED)[ _-]+)?"
            r"PRIVATE[ _-]+KEY",
            re.IGNORECASE,
        ),
    ),
]

# Invisible characters a credential could be split with: soft hyphen, Mongolian vowel
# separator, zero-width space/joiners, directional marks and embeddings, word joiner and the
# invisible operators, the byte order mark. (NFKC keeps them, so they are removed by hand.)
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")

# Runs that may be base64 (standard or URL-safe alphabet): long enough to hold a 20-character
# key id once encoded, and read only when they decode to text.
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")
_BASE64_DEPTH = 2  # base64 of base64 is still looked into, once


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


def normalise(text: str) -> str:
    """`text` as it reads: full-width and other compatibility forms folded (NFKC), invisible
    characters removed."""
    if text.isascii():
        return text
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))


def key_names_a_credential(key: str) -> bool:
    words = [word.lower() for word in _WORD.findall(normalise(key))]
    if not words:
        return False
    return words[-1] in _LAST_WORDS or tuple(words[-2:]) in _LAST_TWO_WORDS


def _known_format(text: str) -> str | None:
    if len(text) < _SHORTEST_FORMAT and not _URL_PASSWORD.search(text):
        return None
    if _ANY_FORMAT.search(text):
        for detector in DETECTORS:
            if any(True for _ in detector.analyze_string(text)):
                return detector.secret_type
    for kind, pattern in _ANY_CASE:
        if pattern.search(text):
            return kind
    return None


def _decoded(run: str) -> str | None:
    """The text a base64 run stands for, or None (not base64, or not text: an image)."""
    padded = run.rstrip("=")
    padded += "=" * (-len(padded) % 4)
    try:
        if "-" in run or "_" in run:
            raw = base64.urlsafe_b64decode(padded)
        else:
            raw = base64.b64decode(padded, validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return text if text.isprintable() or "\n" in text else None


def credential_format(text: str, _depth: int = 0) -> str | None:
    """The kind of credential `text` holds (e.g. "AWS Access Key"), or None."""
    text = normalise(text)
    if len(text) < _SHORTEST_FORMAT and not _URL_PASSWORD.search(text):
        return None
    kind = _known_format(text)
    if kind is not None or _depth >= _BASE64_DEPTH:
        return kind
    for run in _BASE64.findall(text):
        inner = _decoded(run)
        if inner is not None:
            kind = credential_format(inner, _depth + 1)
            if kind is not None:
                return kind if kind.endswith("base64") else f"{kind}, in base64"
    return None


# A value that only names where a secret is kept, which is what a secret-named key should hold
# (by hand: detect-secrets knows formats of secrets, not of references to them). Vault, 1Password,
# AWS Secrets Manager and Parameter Store, Google Secret Manager, Azure Key Vault, and a
# ${VARIABLE} the deployment fills in.
_REFERENCE = re.compile(
    r"(?:vault:|op://|arn:aws:(?:secretsmanager|ssm):|projects/[^/\s]+/secrets/"
    r"|https://[a-z0-9-]+\.vault\.azure\.net/secrets/)\S+|\$\{[A-Za-z_][A-Za-z0-9_]*\}",
    re.IGNORECASE,
)


def is_reference(text: str) -> bool:
    """Whether `text` is only a reference to a secret kept in a secret store."""
    return _REFERENCE.fullmatch(normalise(text).strip()) is not None


def _credential_in_text(text: str) -> str | None:
    kind = credential_format(text)
    return f"This looks like a credential ({kind})." if kind else None


_CONTAINERS = (str, dict, list)
_NUMBERS = (int, float)


def _shown_key(key: str) -> str:
    """A key that looks like a credential, as an error may show it: its first letters only."""
    return key[:4] + "…"


def _problems(
    node: Any, path: list[Any], schema: dict, root: dict, key: str | None, exempt_here: bool
) -> Iterator[tuple[list[Any], str]]:
    """(path, what is wrong) for every credential in `node`. `exempt_here`: the schema marks
    this very place x-not-secret (its own text or number only, never what lies under it)."""
    if isinstance(node, str):
        if exempt_here:
            return
        what = _credential_in_text(node)
        if (
            what is None
            and key is not None
            and node.strip()
            and key_names_a_credential(key)
            and not is_reference(node)
        ):
            what = f"'{key}' names a credential, so it cannot hold a value here."
        if what:
            yield path, what
    elif isinstance(node, _NUMBERS) and not isinstance(node, bool):
        if not exempt_here and key is not None and key_names_a_credential(key):
            yield (
                path,
                f"'{key}' names a credential, so it cannot hold a value here, a number neither.",
            )
    elif isinstance(node, dict):
        for name, item in node.items():
            kind = credential_format(name)
            if kind is not None:
                yield (
                    [*path, _shown_key(name)],
                    (f"This key looks like a credential ({kind}); keys are stored like values."),
                )
            if isinstance(item, _CONTAINERS) or (
                isinstance(item, _NUMBERS) and key_names_a_credential(name)
            ):
                child = child_schema(schema, name, root)
                yield from _problems(
                    item, [*path, name], child, root, name, child.get(NOT_SECRET) is True
                )
    elif isinstance(node, list):
        # Items share one schema: look it up once, and skip numbers and the like without a call
        # unless the key names a credential (a large value is mostly those).
        items = child_schema(schema, 0, root)
        exempt_items = items.get(NOT_SECRET) is True
        numbers_count = key is not None and key_names_a_credential(key)
        for index, item in enumerate(node):
            if isinstance(item, _CONTAINERS) or (numbers_count and isinstance(item, _NUMBERS)):
                yield from _problems(item, [*path, index], items, root, key, exempt_items)


def _problem(path: list[Any], what: str) -> dict[str, str]:
    return {"path": json_pointer(path), "message": f"{what} {WHERE_SECRETS_BELONG}"}


def secret_problems(value: Any, schema: dict | None) -> list[dict[str, str]]:
    """A problem, [{path, message}], for each place in `value` that holds a credential. The
    whole value is never exempt: only a place its schema marks x-not-secret."""
    root = schema or {}
    return [
        _problem(path, what)
        for path, what in _problems(value, [], resolve(root, root), root, None, False)
    ]


def is_credential_problem(problem: dict[str, str]) -> bool:
    """Whether a value's problem is a credential (refused even where other problems may wait,
    as in a draft: a credential is never stored at all)."""
    return problem.get("message", "").endswith(WHERE_SECRETS_BELONG)


# Keywords of a schema that hold data (stored with the schema, shown in forms, filled into
# values): each is checked as a value would be at its property.
_DATA_KEYWORDS = ("default", "const")
_DATA_LIST_KEYWORDS = ("examples", "enum")


def schema_secret_problems(body: Any) -> list[dict[str, str]]:
    """A problem, [{path in the schema, message}], for each credential a schema body holds: in
    its data keywords (default, const, examples, enum: checked as values at their property),
    and in any other text or key (titles, descriptions, property names)."""
    problems: list[dict[str, str]] = []
    root = body if isinstance(body, dict) else {}

    def walk(node: Any, where: list[Any], prop: str | None) -> None:
        if isinstance(node, str):
            what = _credential_in_text(node)
            if what:
                problems.append(_problem(where, what))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, [*where, index], prop)
        elif isinstance(node, dict):
            exempt = node.get(NOT_SECRET) is True and bool(where)
            for name, item in node.items():
                kind = credential_format(name)
                if kind is not None:
                    problems.append(
                        _problem(
                            [*where, _shown_key(name)],
                            f"This name looks like a credential ({kind}).",
                        )
                    )
                    continue
                here = [*where, name]
                if name in _DATA_KEYWORDS or (
                    name in _DATA_LIST_KEYWORDS and isinstance(item, list)
                ):
                    samples = [item] if name in _DATA_KEYWORDS else item
                    for index, sample in enumerate(samples):
                        at = here if name in _DATA_KEYWORDS else [*here, index]
                        problems.extend(
                            _problem([*at, *path], what)
                            for path, what in _problems(
                                sample, [], resolve(node, root), root, prop, exempt
                            )
                        )
                elif name in (
                    "properties",
                    "patternProperties",
                    "$defs",
                    "definitions",
                ) and isinstance(item, dict):
                    for child, sub in item.items():
                        kind = credential_format(child)
                        if kind is not None:
                            problems.append(
                                _problem(
                                    [*here, _shown_key(child)],
                                    f"This name looks like a credential ({kind}).",
                                )
                            )
                            continue
                        walk(sub, [*here, child], child if name == "properties" else prop)
                else:
                    walk(item, here, prop)

    walk(body, [], None)
    return problems


def text_credential(text: str | None) -> str | None:
    """What a stored text (a title, a comment, a description) holds that looks like a
    credential, in words, or None."""
    return _credential_in_text(text) if text else None


def ensure_no_credentials(**texts: str | None) -> None:
    """Refuse texts about to be stored (a change request's title, a comment, a webhook's
    description…) that hold a credential; raises ValidationError naming the field."""
    from django.core.exceptions import ValidationError

    refused = {
        field: f"{what} {WHERE_SECRETS_BELONG_IN_TEXT}"
        for field, text in texts.items()
        if (what := text_credential(text))
    }
    if refused:
        raise ValidationError(refused)


def refuse_credentials_in(model: type, *fields: str) -> None:
    """Refuse to save `model` while one of its text `fields` holds a credential: one guard at
    the model, so that every path that stores the text (service, admin, import) is covered."""
    from django.db.models.signals import pre_save

    def check(sender, instance, **kwargs) -> None:
        ensure_no_credentials(**{field: getattr(instance, field) for field in fields})

    check.__qualname__ = f"refuse_credentials_in[{model.__name__}]"
    pre_save.connect(check, sender=model, weak=False, dispatch_uid=check.__qualname__)


def exempt_paths(schema: dict | None, root: dict | None = None) -> list[str]:
    """The places a schema lets hold a value that only looks like a credential, as paths in
    the value ("/fixtures/key", "/samples/*"). `root`: the whole schema, when `schema` is a
    part of it (its references are resolved there)."""
    if not schema:
        return []
    root = root or schema
    found: list[str] = []

    def walk(node: Any, path: list[str], seen: frozenset[int]) -> None:
        node = resolve(node, root) if isinstance(node, dict) else {}
        if id(node) in seen:
            return  # a recursive schema: its places were listed on the way in
        seen = seen | {id(node)}
        if node.get(NOT_SECRET) is True and (path or root is not schema):
            found.append("".join("/" + step for step in path))
        for name, sub in (node.get("properties") or {}).items():
            walk(sub, [*path, str(name).replace("~", "~0").replace("/", "~1")], seen)
        for keyword in ("items", "additionalProperties"):
            if isinstance(node.get(keyword), dict):
                walk(node[keyword], [*path, "*"], seen)

    walk(schema, [], frozenset())
    return found

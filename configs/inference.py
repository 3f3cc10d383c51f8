"""Start a schema from an example: a Draft 2020-12 schema that accepts the pasted value.

GenSON (a kept library) infers the types, merges the items of arrays of objects and makes
`required` the keys present in every sample. It writes an older `$schema` and no titles or
formats; those are added here: titles from the keys ("company_id" → "Company ID") and the
formats every sample string satisfies (date-time, date, email, uri).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from genson import SchemaBuilder

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
# Words people write in capitals; every other word keeps the case of the key.
_ACRONYMS = {
    "id": "ID",
    "ids": "IDs",
    "url": "URL",
    "uri": "URI",
    "api": "API",
    "ip": "IP",
    "utc": "UTC",
    "sku": "SKU",
    "json": "JSON",
    "html": "HTML",
    "http": "HTTP",
    "https": "HTTPS",
    "sql": "SQL",
    "ui": "UI",
    "sso": "SSO",
    "saml": "SAML",
    "oidc": "OIDC",
    "mfa": "MFA",
    "sla": "SLA",
    "kpi": "KPI",
    "crm": "CRM",
    "ttl": "TTL",
    "smtp": "SMTP",
    "dns": "DNS",
    "tls": "TLS",
    "ssl": "SSL",
    "vat": "VAT",
    "csv": "CSV",
    "pdf": "PDF",
    "gdpr": "GDPR",
    "eu": "EU",
    "us": "US",
    "uk": "UK",
    "arr": "ARR",
    "mrr": "MRR",
    "roi": "ROI",
    "ceo": "CEO",
    "qa": "QA",
    "aws": "AWS",
    "gcp": "GCP",
    "s3": "S3",
    "cpu": "CPU",
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def title_from_key(key: str) -> str:
    """'company_id' → 'Company ID', 'effectiveFrom' → 'Effective from'."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(key))
    words = [w for w in re.split(r"[\s_\-.]+", spaced) if w]
    if not words:
        return str(key)
    shown = [_ACRONYMS.get(w.lower(), w.lower() if n else w) for n, w in enumerate(words)]
    first = shown[0]
    shown[0] = first if first in _ACRONYMS.values() else first[:1].upper() + first[1:]
    return " ".join(shown)


def _is_date_time(text: str) -> bool:
    if not _DATE_TIME.match(text):
        return False
    try:
        datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_date(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_uri(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in {"http", "https"} and bool(parts.netloc) and " " not in text


_FORMATS = [
    ("date-time", _is_date_time),
    ("date", _is_date),
    ("email", lambda text: bool(_EMAIL.match(text))),
    ("uri", _is_uri),
]


def _format_of(samples: list[str]) -> str | None:
    for name, test in _FORMATS:
        if samples and all(test(s) for s in samples):
            return name
    return None


def _annotate(node: dict, samples: list[Any]) -> None:
    """Add titles and formats to `node` (GenSON's schema), knowing every sample it describes."""
    kinds = node.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "string" in kinds:
        texts = [s for s in samples if isinstance(s, str)]
        fmt = _format_of(texts)
        if fmt:
            node["format"] = fmt
    for key, child in (node.get("properties") or {}).items():
        child.setdefault("title", title_from_key(key))
        _annotate(child, [s[key] for s in samples if isinstance(s, dict) and key in s])
    items = node.get("items")
    if isinstance(items, dict):
        _annotate(items, [i for s in samples if isinstance(s, list) for i in s])
    for branch in node.get("anyOf") or []:
        _annotate(branch, samples)


def infer_schema(example: Any, *, title: str = "") -> dict:
    """A Draft 2020-12 schema that accepts `example`, with titles and the formats it can tell."""
    builder = SchemaBuilder(schema_uri=False)
    builder.add_object(example)
    body = builder.to_schema()
    _annotate(body, [example])
    schema = {"$schema": DRAFT_2020_12}
    if title:
        schema["title"] = title
    schema.update(body)
    return schema

"""Times as people read and type them, in one named zone.

Everything is shown and entered in the zone the page names: UTC unless the person chose their
own (the active Django time zone, set per request from their profile). The schema form does not
use the browser's date and time inputs: they work in the browser's unlabelled local zone and
lose a date while its year is being typed. A date-time field is a plain text box instead
("2026-11-30 00:00"), read here in the named zone and stored as an RFC 3339 instant in UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from django.utils import timezone

from configs.pointers import child_schema, resolve

# What a person may type: a date, optionally a time (minutes, optionally seconds), optionally a
# zone offset or Z. A "T" between date and time is accepted too, so ISO text pastes cleanly.
_TYPED = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?\s*$",
    re.IGNORECASE,
)


_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)


def zone_name(zone: tzinfo | None = None) -> str:
    """The zone a page names: "UTC" or a tz database name such as "Asia/Tokyo"."""
    zone = zone or timezone.get_current_timezone()
    name = getattr(zone, "key", None) or str(zone)
    return "UTC" if name in ("UTC", "Etc/UTC", "utc") else name


def parse_instant(text: Any) -> datetime | None:
    """An RFC 3339 instant with its offset ("2026-12-01T00:00:00Z"), or None."""
    if not isinstance(text, str) or not re.match(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}", text):
        return None
    try:
        instant = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else None


def parse_typed(text: str, zone: tzinfo | None = None) -> datetime | None:
    """What a person typed, read in `zone` unless it names its own offset; None if unreadable."""
    match = _TYPED.match(text or "")
    if not match:
        return None
    year, month, day, hour, minute, second, offset = match.groups()
    try:
        naive = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:
        return None
    if offset:
        offset = offset.upper()
        if offset != "Z" and ":" not in offset:
            offset = f"{offset[:3]}:{offset[3:]}"
        return parse_instant(naive.isoformat() + ("+00:00" if offset == "Z" else offset))
    try:
        return timezone.make_aware(naive, zone or timezone.get_current_timezone())
    except (ValueError, OverflowError):
        return None


def publish_time(text: str) -> datetime | None:
    """A "Take effect at" field: empty means now; otherwise a time in the page's zone."""
    from django.core.exceptions import ValidationError

    text = (text or "").strip()
    if not text:
        return None
    instant = parse_typed(text)
    if instant is None:
        raise ValidationError(
            f"Take effect at: enter a date and time in {zone_name()}, "
            f"for example {typed_example()}."
        )
    if instant.year >= 9999:
        raise ValidationError("Enter a publish time between now and the year 9999.")
    return instant


def stored(instant: datetime) -> str:
    """The form a value keeps: RFC 3339 in UTC, to the second ("2026-12-01T00:00:00Z")."""
    utc = instant.astimezone(UTC)
    return f"{utc.year:04d}-{utc:%m-%d}T{utc:%H:%M:%S}Z"  # %Y drops leading zeros on Linux


def typed_example(zone: tzinfo | None = None) -> str:
    """A time to show as an example of typing one: tomorrow 09:00 in `zone`, so the example is
    never a moment already past (a fixed date soon is)."""
    zone = zone or timezone.get_current_timezone()
    tomorrow = timezone.localtime(timezone.now(), zone) + timedelta(days=1)
    return f"{tomorrow.year:04d}-{tomorrow:%m-%d} 09:00"


def typed(instant: datetime, zone: tzinfo | None = None) -> str:
    """An instant as the form shows it for typing, in `zone` ("2026-11-30 00:00")."""
    local = timezone.localtime(instant, zone or timezone.get_current_timezone())
    text = f"{local.year:04d}-{local:%m-%d %H:%M}"
    return text + (f":{local.second:02d}" if local.second else "")


def in_words(instant: datetime, zone: tzinfo | None = None) -> str:
    """ "Mon 30 Nov 2026, 00:00 UTC": an instant in the named zone, for reading."""
    zone = zone or timezone.get_current_timezone()
    local = timezone.localtime(instant, zone)
    return f"{local:%a} {local.day} {local:%b} {local.year:04d}, {local:%H:%M} {zone_name(zone)}"


def relative(instant: datetime, now: datetime | None = None) -> str:
    """ "in 3 days", "2 hours ago", "now": the largest whole unit only."""
    now = now or timezone.now()
    seconds = (instant - now).total_seconds()
    size = abs(seconds)
    if size < 60:
        return "now"
    for unit, length in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if size >= length:
            count = int(size // length)
            words = f"{count} {unit}{'s' if count != 1 else ''}"
            return f"in {words}" if seconds > 0 else f"{words} ago"
    return "now"  # pragma: no cover - the loop always returns for size >= 60


def _is_date_time(schema: dict) -> bool:
    return schema.get("type") == "string" and schema.get("format") == "date-time"


def date_time_titles(schema: dict | None) -> list[str]:
    """The titles of a schema's date-time fields ("Switch over at"), in schema order, once each:
    what the page names when it says dates inside the value are data."""
    titles: list[str] = []

    def walk(node: Any, name: str) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, name)
            return
        if not isinstance(node, dict):
            return
        if _is_date_time(node):
            title = str(node.get("title") or name)
            if title and title not in titles:
                titles.append(title)
        for key, item in node.items():
            if key in ("properties", "$defs", "definitions", "patternProperties"):
                if isinstance(item, dict):
                    for child, child_schema_ in item.items():
                        walk(child_schema_, child)
            elif key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf"):
                walk(item, name)

    walk(schema or {}, "")
    return titles


def _map_date_times(value: Any, schema: dict, root: dict, change) -> Any:
    schema = resolve(schema, root)
    if isinstance(value, dict):
        return {
            key: _map_date_times(item, child_schema(schema, key, root), root, change)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            _map_date_times(item, child_schema(schema, n, root), root, change)
            for n, item in enumerate(value)
        ]
    if isinstance(value, str) and _is_date_time(schema):
        return change(value)
    return value


def _instants(value: Any, schema: dict) -> dict[datetime, str]:
    found: dict[datetime, str] = {}

    def keep(text: str) -> str:
        instant = parse_instant(text)
        if instant is not None:
            found.setdefault(instant, text)
        return text

    _map_date_times(value, schema, schema, keep)
    return found


def for_typing(value: Any, schema: dict | None, zone: tzinfo | None = None) -> Any:
    """`value` with each date-time field as the form shows it, in the page's zone."""
    if not schema:
        return value

    def show(text: str) -> str:
        instant = parse_instant(text)
        return typed(instant, zone) if instant is not None else text

    return _map_date_times(value, schema, schema, show)


def from_typing(
    value: Any, schema: dict | None, *, zone: tzinfo | None = None, before: Any = None
) -> Any:
    """`value` with each typed date-time field read in the page's zone and stored in UTC.

    A field whose instant did not change keeps its earlier text exactly (from `before`), so
    reading and writing back a form never shows up as a change. Text that is not a date and
    time is kept as typed, for the validator to name.
    """
    if not schema:
        return value
    earlier = _instants(before, schema) if before is not None else {}

    def read(text: str) -> str:
        if _RFC3339.match(text):
            return text  # already an exact instant (pasted, or written in the raw editor)
        instant = parse_typed(text, zone)
        if instant is None:
            return text
        try:
            return earlier.get(instant) or stored(instant)
        except OverflowError:  # at the very edge of the calendar: let the validator say so
            return text

    return _map_date_times(value, schema, schema, read)

"""An event's details in words, for the audit pages. The row keeps the data; this only reads it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from configs.diff import sentence, sentences, show

# Details a person reads better under another name.
_LABELS = {
    "ip": "IP address",
    "previous_role": "Previous role",
    "base_version": "Based on version",
    "from_version": "From version",
    "to_version": "To version",
    "dismissed_approvals": "Approvals dismissed",
    "approved_by": "Approved by",
    "effective_at": "Takes effect",
    "change_request": "Change request",
    "value_hash": "Value fingerprint",  # events written before change requests were sets
    "proposal_hash": "Proposal fingerprint",
}


def _label(key: str) -> str:
    return _LABELS.get(key, key.replace("_", " ").capitalize())


def _value(key: str, value: Any) -> str:
    if value is None:
        return "none"
    if key == "change_request":
        return f"#{value}"
    if key.endswith("hash") and isinstance(value, str):
        return value[:12]  # enough to tell two apart; the export has the whole value
    if isinstance(value, str) and key.endswith("_at"):
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            return value
        if timezone.is_aware(instant):
            instant = timezone.localtime(instant)
        return instant.strftime("%Y-%m-%d %H:%M %Z").strip()
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ", ".join(value) if value else "none"
    return show(value, limit=200)


def _change_line(field: str, change: Any) -> str:
    """'Required approvals: 1 → 2', for one field of a settings change."""
    if not (isinstance(change, dict) and change.keys() == {"before", "after"}):
        return f"{_label(field)}: {_value(field, change)}"  # another shape: show it as data
    before, after = (
        "none" if change[side] == "" else _value(field, change[side])
        for side in ("before", "after")
    )
    return f"{_label(field)}: {before} → {after}"


def detail_lines(details: dict[str, Any]) -> list[str]:
    """'Companies → globex → Timezone: Europe/Berlin → Asia/Tokyo', 'Role: reviewer', …"""
    details = dict(details or {})
    lines: list[str] = []
    changes = details.get("changes")
    if isinstance(changes, dict):
        # A namespace's or config's settings: {field: {"before": …, "after": …}}.
        del details["changes"]
        lines += [_change_line(field, change) for field, change in changes.items()]
    diff = details.pop("diff", None)
    if isinstance(diff, list):
        try:
            lines += [sentence(change) for change in diff] or ["No change to the value"]
        except (KeyError, TypeError):  # a diff recorded in another shape: show it as data
            lines.append(f"Changes: {show(diff, limit=200)}")
    # Overrides' changes, told in words when recorded: one line each (a set's by config).
    told = details.pop("override_changes", None)
    if isinstance(told, list):
        lines += [str(line) for line in told]
    elif isinstance(told, dict):
        lines += [
            f"{label}: {line}"
            for label, said in told.items()
            for line in (said if isinstance(said, list) else [said])
        ]
    if "before" in details and "after" in details:
        lines += sentences(details.pop("before"), details.pop("after"))
    lines += [
        f"{_label(key)}: {_value(key, value)}" for key, value in details.items() if value != ""
    ]
    return lines

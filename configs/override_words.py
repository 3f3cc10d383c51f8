"""Overrides in words, for people who review them: whom each is for ("For companies globex,
initech") and what changes for them ("For companies globex, initech: Timezone: UTC →
Europe/Berlin")."""

from __future__ import annotations

from typing import Any

from configs.diff import sentences

_OPS = {
    "not_in": "other than",
    "starts_with": "starting with",
    "ends_with": "ending with",
    "matches": "matching",
    "lt": "under",
    "lte": "at most",
    "gt": "over",
    "gte": "at least",
    "semver_lt": "before version",
    "semver_gte": "at version or after",
    "before": "before",
    "after": "after",
}


# The operators as the console's editor offers them, in the order it lists them (every operator
# of config_console_client.evaluation, named for people who do not read JSON), with what the
# values box expects (one value per line, so a value may hold a comma).
OPERATOR_CHOICES: list[dict[str, str]] = [
    {"op": "in", "words": "is one of", "help": "One per line; a value may contain commas."},
    {"op": "not_in", "words": "is not one of", "help": "One per line; a value may contain commas."},
    {"op": "equals", "words": "equals", "help": "One per line: any one matches."},
    {"op": "starts_with", "words": "starts with", "help": "One per line: any one matches."},
    {"op": "ends_with", "words": "ends with", "help": "One per line: any one matches."},
    {
        "op": "matches",
        "words": "matches pattern",
        "help": "A regular expression, e.g. ^acme-. One per line: any one matches.",
    },
    {"op": "lt", "words": "is less than", "help": "A number."},
    {"op": "lte", "words": "is at most", "help": "A number."},
    {"op": "gt", "words": "is more than", "help": "A number."},
    {"op": "gte", "words": "is at least", "help": "A number."},
    {"op": "semver_lt", "words": "version is before", "help": "A version such as 1.4.0."},
    {"op": "semver_gte", "words": "version is at or after", "help": "A version such as 1.4.0."},
    # The edit form names the person's own zone here (configs.forms).
    {
        "op": "before",
        "words": "date is before",
        "help": "A date and time, such as 2026-12-01 09:00.",
    },
    {"op": "after", "words": "date is after", "help": "A date and time, such as 2026-12-01 09:00."},
]


def _attribute(name: str, many: bool) -> str:
    words = "id" if name == "targetingKey" else name.replace("_", " ").replace("-", " ")
    if not many:
        return words
    if words.endswith("y") and not words.endswith(("ay", "ey", "oy", "uy")):
        return words[:-1] + "ies"
    return words if words.endswith("s") else words + "s"


def _condition(condition: dict) -> str:
    values = condition.get("values", [condition.get("value")])
    values = values if isinstance(values, list) else [values]
    listed = ", ".join(str(v) for v in values)
    op = condition.get("op")
    if op in ("in", "equals"):
        return f"{_attribute(str(condition.get('attribute')), len(values) > 1)} {listed}"
    joined = " or ".join(str(v) for v in values)
    return f"{_attribute(str(condition.get('attribute')), False)} {_OPS.get(str(op), op)} {joined}"


def whom(override: dict) -> str:
    """Whom an override serves, in words: "For companies globex, initech"."""
    conditions = " and ".join(_condition(c) for c in override.get("when") or [])
    split = override.get("split")
    if split is None:
        return f"For {conditions}" if conditions else "For everyone"
    who = f" with {conditions}" if conditions else ""
    return f"For a split by {_attribute(str(split.get('by', 'targetingKey')), False)}{who}"


def _served(override: dict) -> list[tuple[str, Any]]:
    """(whom, value) for each value the override serves (one per bucket of a split)."""
    split = override.get("split")
    if split is None:
        return [(whom(override), override.get("value"))]
    head = whom(override)
    return [
        (
            f"{head}, {bucket.get('percent')}%"
            + (f" ({bucket['name']})" if "name" in bucket else ""),
            bucket.get("value"),
        )
        for bucket in split.get("buckets") or []
    ]


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _value_changes(label: str, before: Any, after: Any, schema: dict | None) -> list[str]:
    return [f"{label}: {line}" for line in sentences(before, after, schema)]


def override_sentences(
    value_before: Any,
    overrides_before: list | None,
    value_after: Any,
    overrides_after: list | None,
    schema: dict | None = None,
) -> list[str]:
    """What changes in the overrides from one version to the next, in words: each override
    added or removed, whom it is for now, and what its values change (an added override's
    value is told as it differs from the config's value)."""
    before = {o["name"]: o for o in overrides_before or [] if isinstance(o, dict) and "name" in o}
    after = {o["name"]: o for o in overrides_after or [] if isinstance(o, dict) and "name" in o}
    lines: list[str] = []
    for name, override in after.items():
        old = before.get(name)
        if old is None:
            for label, served in _served(override):
                told = _value_changes(label, value_after, served, schema)
                lines += told or [f"{label}: the same value as everyone else, for now"]
            continue
        if whom(old) != whom(override) or old.get("when") != override.get("when"):
            lines.append(f"Override {name}: now {_lower(whom(override))} (was {_lower(whom(old))})")
        old_served, new_served = _served(old), _served(override)
        if len(old_served) == len(new_served):
            for (_, a), (label, b) in zip(old_served, new_served, strict=True):
                lines += _value_changes(label, a, b, schema)
        else:
            lines.append(f"{whom(override)}: the split's buckets changed")
    for name, override in before.items():
        if name not in after:
            lines.append(
                f"{whom(override)}: no value of their own any more (override {name} removed)"
            )
    kept_before = [n for n in before if n in after]
    kept_after = [n for n in after if n in before]
    if kept_before != kept_after:
        lines.append(
            "Overrides: order changed: " + ", ".join(kept_after) + " (the first that matches wins)"
        )
    return lines


def override_summary(overrides: list | None) -> list[str]:
    """Each override of a version, in words, in order: "For companies globex, initech"."""
    return [f"{whom(o)} ({o.get('name')})" for o in overrides or [] if isinstance(o, dict)]

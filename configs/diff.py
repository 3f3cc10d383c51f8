"""Differences between two JSON values, as data, and as sentences built from schema titles.

`diff_values` returns a list of changes `{op, path, where, before, after}` (`op`: added, removed,
changed, or reordered for list items kept but moved, with `moves` in words): `path` is a JSON
Pointer into the newer value (the older one for removals), `where` the human names of each step
(schema titles, and for list items their most identifying field rather than an index).
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from configs import times
from configs.pointers import child_schema as _child_schema
from configs.pointers import json_pointer
from configs.pointers import resolve as _resolve

_IDENTIFYING = ("id", "key", "name", "slug", "code")


def _identity_key(*lists: list) -> str | None:
    """The field that names the items of these lists (`id`, `name`, `company_id`…), if any."""
    items = [item for items in lists for item in items]
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    common = set(items[0])
    for item in items[1:]:
        common &= set(item)
    candidates = [k for k in _IDENTIFYING if k in common]
    candidates += sorted(
        k for k in common if (k.endswith("_id") or k.endswith("_name")) and k not in candidates
    )
    for key in candidates:
        if all(
            isinstance(i[key], (str, int)) and not isinstance(i[key], bool) for i in items
        ) and all(len({i[key] for i in items_}) == len(items_) for items_ in lists):
            return key
    return None


def _own_key(item: Any) -> str | None:
    """The field that names this one item (`id`, `name`, `company_id`…), when the items of its
    list cannot all be told apart by one (some lack it, or two share a value): a row is still
    better named "globex" than "item 2"."""
    if not isinstance(item, dict):
        return None
    keys = [k for k in _IDENTIFYING if k in item]
    keys += sorted(k for k in item if str(k).endswith(("_id", "_name", "_key")) and k not in keys)
    for key in keys:
        value = item[key]
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return key
    return None


def show(value: Any, limit: int = 80) -> str:
    """A value as a person would read it."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        instant = times.parse_instant(value)
        if instant is not None:  # "Mon 30 Nov 2026, 00:00 UTC", in the reader's zone
            return times.in_words(instant)
        return value if value else '""'
    if isinstance(value, (int, float)):
        return str(value)
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _title(node: dict, fallback: Any) -> str:
    if node.get("title"):
        return str(node["title"])
    if isinstance(fallback, int):
        return f"item {fallback + 1}"
    return str(fallback)


def _words(value: Any, node: dict, root: dict) -> str:
    """A value of any depth, whole, in words: fields by their schema titles, nothing cut off."""
    if isinstance(value, dict):
        fields = []
        for k, v in value.items():
            child = _child_schema(node, k, root)
            fields.append(f"{_title(child, k)}: {_words(v, child, root)}")
        return f"({'; '.join(fields)})" if fields else "(no fields)"
    if isinstance(value, list):
        child = _child_schema(node, 0, root)
        return ", ".join(_words(v, child, root) for v in value) if value else "none"
    return show(value)


def _summary(item: Any, key: str | None, node: dict | None = None, root: dict | None = None) -> str:
    """'initech (Asia/Tokyo)': an item named by its identifying field, then its other values.
    A short item of plain values is named by them alone; a longer or nested one lists every
    field by its title, whole: a reviewer approves what is added, not its first 60 characters."""
    node, root = node or {}, root or {}
    if not isinstance(item, dict):
        return _words(item, node, root)
    name = show(item[key]) if key else ""
    others = {k: v for k, v in item.items() if k != key}
    detail = ", ".join(show(v) for v in others.values())
    if len(detail) > 60 or any(isinstance(v, (dict, list)) for v in others.values()):
        detail = "; ".join(
            f"{_title(child, k)}: {_words(v, child, root)}"
            for k, v in others.items()
            for child in [_child_schema(node, k, root)]
        )
    if name and detail:
        return f"{name} ({detail})"
    return name or detail or _words(item, node, root)


def _reordering(before: list, after: list, path: list, where: list) -> dict | None:
    """The items kept on both sides but in another order, as moves a person can follow:
    'initech moved before acme'. Items that kept their relative order are not named."""
    if before == after:
        return None
    # The longest run of items that kept their order stays put; the others moved.
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    staying = set()
    for block in matcher.get_matching_blocks():
        staying.update(after[block.b : block.b + block.size])
    moves = []
    for n, ident in enumerate(after):
        if ident in staying:
            continue
        following = after[n + 1] if n + 1 < len(after) else None
        if following is None:
            moves.append(f"{show(ident)} moved to the end")
        else:
            moves.append(f"{show(ident)} moved before {show(following)}")
    return {
        "op": "reordered",
        "path": json_pointer(path),
        "where": where,
        "before": before,
        "after": after,
        "moves": moves,
    }


def diff_values(before: Any, after: Any, schema: dict | None = None) -> list[dict]:
    """Every change from `before` to `after`, each with its path and its place in words."""
    return first_changes(before, after, schema)[0]


def first_changes(
    before: Any, after: Any, schema: dict | None = None, *, limit: int | None = None
) -> tuple[list[dict], int]:
    """The first `limit` changes (all when None), and how many there are in all.

    Changes past the limit are counted, not described: describing a quarter of a million added
    list items would take seconds and make a diff as large as the value itself."""
    changes: list[dict] = []
    total = 0
    root = schema or {}

    def room() -> bool:
        """Count one more change; True while it is still to be described."""
        nonlocal total
        total += 1
        return limit is None or total <= limit

    def item_change(op: str, item: Any, path: list, where: list, key, item_schema) -> dict:
        """A whole list item added or removed, named by its identifying field when it has one."""
        return {
            "op": op,
            "path": json_pointer(path),
            "where": where,
            "before": item if op == "removed" else None,
            "after": item if op == "added" else None,
            "item": _summary(item, key, item_schema, root),
        }

    def walk(a, b, path: list, where: list, node: dict):
        nonlocal total
        if a == b and type(a) is type(b):
            return
        if isinstance(a, dict) and isinstance(b, dict):
            # Fields in the schema's order (the form's), whatever order the stored value keeps
            # its keys in (PostgreSQL's jsonb sorts them): the edit page's "What will change"
            # and the change request page then say the same changes in the same order.
            declared = _resolve(node, root).get("properties") if isinstance(node, dict) else None
            place = {k: n for n, k in enumerate(declared or {})}
            keys = list(a) + [k for k in b if k not in a]
            keys.sort(key=lambda k: place.get(k, len(place)))
            for k in keys:
                child = _child_schema(node, k, root)
                if k not in a:
                    if room():
                        changes.append(
                            {
                                "op": "added",
                                "path": json_pointer(path + [k]),
                                "where": where + [_title(child, k)],
                                "before": None,
                                "after": b[k],
                            }
                        )
                elif k not in b:
                    if room():
                        changes.append(
                            {
                                "op": "removed",
                                "path": json_pointer(path + [k]),
                                "where": where + [_title(child, k)],
                                "before": a[k],
                                "after": None,
                            }
                        )
                else:
                    walk(a[k], b[k], path + [k], where + [_title(child, k)], child)
            return
        if isinstance(a, list) and isinstance(b, list):
            item_schema = _child_schema(node, 0, root)
            key = _identity_key(a, b)
            if key:
                old = {i[key]: (n, i) for n, i in enumerate(a)}
                new = {i[key]: (n, i) for n, i in enumerate(b)}
                for ident, (n, item) in new.items():
                    if ident not in old:
                        if room():
                            changes.append(
                                item_change("added", item, path + [n], where, key, item_schema)
                            )
                    else:
                        walk(old[ident][1], item, path + [n], where + [show(ident)], item_schema)
                for ident, (n, item) in old.items():
                    if ident not in new:
                        if room():
                            changes.append(
                                item_change("removed", item, path + [n], where, key, item_schema)
                            )
                reordered = _reordering(
                    [i for i in old if i in new], [i for i in new if i in old], path, where
                )
                if reordered:
                    if room():
                        changes.append(reordered)
                return
            for n in range(min(len(a), len(b))):
                if a[n] == b[n] and type(a[n]) is type(b[n]):
                    continue  # most items of a long list are unchanged: no path built for them
                own = _own_key(b[n]) or _own_key(a[n])
                named = show((b[n] if _own_key(b[n]) else a[n])[own]) if own else None
                step = named or _title(item_schema, n)
                walk(a[n], b[n], path + [n], where + [step], item_schema)
            # Items past the end of the shorter list were added (or removed) at the end.
            for op, items, start in (("added", b, len(a)), ("removed", a, len(b))):
                for n in range(start, len(items)):
                    if limit is not None and total >= limit:
                        total += len(items) - n  # past the limit, the rest are only counted
                        break
                    if room():
                        changes.append(
                            item_change(
                                op, items[n], path + [n], where, _own_key(items[n]), item_schema
                            )
                        )
            return
        if room():
            changes.append(
                {
                    "op": "changed",
                    "path": json_pointer(path),
                    "where": where,
                    "before": a,
                    "after": b,
                }
            )

    walk(before, after, [], [], _resolve(root, root))
    return changes, total


def sentence(change: dict) -> str:
    """One change in words: 'Companies → globex → Timezone: Europe/Berlin → Asia/Tokyo'."""
    where = " → ".join(change["where"]) or "The whole value"
    if change["op"] == "reordered":
        return f"{where}: order changed: {'; '.join(change['moves'])}"
    if "item" in change:
        return f"{where}: {change['op']} {change['item']}"
    if change["op"] == "added":
        return f"{where}: set to {show(change['after'])}"
    if change["op"] == "removed":
        return f"{where}: removed (was {show(change['before'])})"
    return f"{where}: {show(change['before'])} → {show(change['after'])}"


def sentences(before: Any, after: Any, schema: dict | None = None) -> list[str]:
    return [sentence(c) for c in diff_values(before, after, schema)]


def pretty_lines(before: Any, after: Any) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """Both values as pretty JSON lines, each marked True where it differs from the other side."""

    left = (
        json.dumps(before, indent=2, ensure_ascii=False, sort_keys=True).splitlines()
        if before is not None
        else []
    )
    right = (
        json.dumps(after, indent=2, ensure_ascii=False, sort_keys=True).splitlines()
        if after is not None
        else []
    )
    left_marks, right_marks = [True] * len(left), [True] * len(right)
    for block in difflib.SequenceMatcher(a=left, b=right, autojunk=False).get_matching_blocks():
        for i in range(block.size):
            left_marks[block.a + i] = False
            right_marks[block.b + i] = False
    return list(zip(left, left_marks, strict=True)), list(zip(right, right_marks, strict=True))


_ABSENT = object()


def merged(base: Any, ours: Any, theirs: Any, path: str = "") -> tuple[Any, list[str]]:
    """`ours` (a change made on `base`) carried over onto `theirs` (another change made on
    `base` and published first): where only one side changed a place, that side's value is
    kept; where both changed the same place differently, ours is kept there and its JSON path
    is returned as a conflict, for a person to settle. Objects are merged key by key; lists and
    other values as a whole (two lists grown by both sides are a conflict).

    Written here rather than taken from a library: deepdiff and jsonmerge diff or merge two
    documents, not a change and another change of one base, which is what a rebase needs."""
    if ours == theirs:
        return ours, []
    if ours == base:
        return theirs, []
    if theirs == base:
        return ours, []
    if isinstance(base, dict) and isinstance(ours, dict) and isinstance(theirs, dict):
        result: dict = {}
        conflicts: list[str] = []
        for key in [*theirs, *(k for k in ours if k not in theirs)]:
            value, found = merged(
                base.get(key, _ABSENT),
                ours.get(key, _ABSENT),
                theirs.get(key, _ABSENT),
                f"{path}/{key}",
            )
            conflicts += found
            if value is not _ABSENT:
                result[key] = value
        return result, conflicts
    return ours, [path or "/"]

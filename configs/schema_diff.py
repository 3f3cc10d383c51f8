"""What changed between two versions of a schema, in sentences a person can read:
"Companies → item: new required field Owner team, default 'data'"."""

from __future__ import annotations

from typing import Any

from configs.pointers import resolve
from configs.secrets import exempt_paths
from configs.validation import _humanize_key

_TYPE_WORDS = {
    "string": "text",
    "number": "number",
    "integer": "whole number",
    "boolean": "yes/no",
    "array": "list",
    "object": "group of fields",
    "null": "nothing",
}
# Keywords walked into (or told about on their own) rather than reported as a plain change.
_STRUCTURE = {"properties", "required", "items", "$defs", "$schema", "$id", "type", "enum"}
NOT_SECRET = "x-not-secret"  # configs.secrets.NOT_SECRET: said in words of its own


def _title(node: dict, key: Any) -> str:
    return str(node.get("title") or _humanize_key(key))


def _types(node: dict) -> str:
    kind = node.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind else []
    return " or ".join(_TYPE_WORDS.get(k, str(k)) for k in kinds) or "anything"


def _step(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def schema_changes(before: dict | None, after: dict) -> list[str]:
    """Each difference from `before` (None: nothing yet) to `after`, as a sentence."""
    if before is None:
        return ["First version."]
    out: list[str] = []

    def say(where: list[str], text: str) -> None:
        out.append(f"{' → '.join(where)}: {text}" if where else text[:1].upper() + text[1:])

    def walk(a: dict, b: dict, where: list[str], pointer: str) -> None:
        a, b = resolve(a, before), resolve(b, after)
        exempt_before, exempt_after = a.get(NOT_SECRET) is True, b.get(NOT_SECRET) is True
        if exempt_after and not exempt_before:
            say(where, f"allows a secret-looking value at {pointer or '/'}")
        elif exempt_before and not exempt_after:
            say(where, f"no longer allows a secret-looking value at {pointer or '/'}")
        if _types(a) != _types(b):
            say(where, f"type {_types(a)} → {_types(b)}")
        if a.get("enum") != b.get("enum"):
            old, new = a.get("enum") or [], b.get("enum") or []
            added = [_show(v) for v in new if v not in old]
            removed = [_show(v) for v in old if v not in new]
            parts = ([f"added {', '.join(added)}"] if added else []) + (
                [f"removed {', '.join(removed)}"] if removed else []
            )
            say(where, "choices " + ("; ".join(parts) if parts else "reordered"))
        for keyword in sorted((set(a) | set(b)) - _STRUCTURE - {NOT_SECRET}):
            if a.get(keyword) != b.get(keyword):
                if keyword not in a:
                    say(where, f"{keyword} set to {_show(b[keyword])}")
                elif keyword not in b:
                    say(where, f"{keyword} {_show(a[keyword])} removed")
                else:
                    say(where, f"{keyword} {_show(a[keyword])} → {_show(b[keyword])}")
        old_props, new_props = a.get("properties") or {}, b.get("properties") or {}
        old_req, new_req = set(a.get("required") or []), set(b.get("required") or [])
        for key, node in new_props.items():
            node = resolve(node, after)
            if key not in old_props:
                required = "required" if key in new_req else "optional"
                default = f", default {_show(node['default'])}" if "default" in node else ""
                say(where, f"new {required} field {_title(node, key)}{default}")
                for place in exempt_paths(node, after):
                    say(where, f"allows a secret-looking value at {pointer}/{_step(key)}{place}")
                continue
            label = _title(node, key)
            if key in new_req and key not in old_req:
                say(where, f"{label} is now required")
            elif key in old_req and key not in new_req:
                say(where, f"{label} is now optional")
            walk(old_props[key], node, [*where, label], f"{pointer}/{_step(key)}")
        for key, node in old_props.items():
            if key not in new_props:
                say(where, f"field {_title(resolve(node, before), key)} removed")
        # The form shows fields in the order the schema lists them: a new order is a change.
        kept_order = [k for k in new_props if k in old_props]
        if kept_order != [k for k in old_props if k in new_props]:
            order = ", ".join(_title(resolve(new_props[k], after), k) for k in kept_order)
            say(where, f"fields in a new order: {order}")
        if isinstance(a.get("items"), dict) and isinstance(b.get("items"), dict):
            walk(a["items"], b["items"], [*where, "item"], f"{pointer}/*")

    walk(before, after, [], "")
    return out


_FORMAT_WORDS = {
    "date-time": "date and time",
    "date": "date",
    "email": "e-mail address",
    "uri": "web address",
}


def _kind_in_words(node: dict) -> str:
    if isinstance(node.get("enum"), list):
        shown = ", ".join(_show(v) for v in node["enum"][:8])
        return "one of " + shown + (" …" if len(node["enum"]) > 8 else "")
    if node.get("type") == "string" and node.get("format") in _FORMAT_WORDS:
        return _FORMAT_WORDS[node["format"]]
    return _types(node)


def schema_in_words(body: dict) -> list[str]:
    """Each field a schema asks for, as a line a reviewer reads ("Holidays → Date: date,
    required"), in the schema's order: how a new config's review shows the schema made with
    it."""
    lines: list[str] = []

    def walk(node: Any, where: list[str], depth: int) -> None:
        node = resolve(node, body) if isinstance(node, dict) else {}
        if depth > 8:  # a schema that refers to itself would go on for ever
            return
        if node.get("type") == "array" and isinstance(node.get("items"), dict):
            node = resolve(node["items"], body)
        required = set(node.get("required") or [])
        for key, child in (node.get("properties") or {}).items():
            child = resolve(child, body) if isinstance(child, dict) else {}
            title = _title(child, key)
            kind = _kind_in_words(child)
            if child.get("type") == "array":
                items = child.get("items") if isinstance(child.get("items"), dict) else {}
                items = resolve(items, body)
                kind = "a list of " + (
                    "groups of fields" if items.get("properties") else _kind_in_words(items)
                )
            extra = ", required" if key in required else ""
            if "default" in child:
                extra += f", default {_show(child['default'])}"
            lines.append(f"{' → '.join([*where, title])}: {kind}{extra}")
            if child.get("properties") or (
                child.get("type") == "array" and isinstance(child.get("items"), dict)
            ):
                walk(child, [*where, title], depth + 1)

    walk(body, [], 0)
    return lines

"""Walking a value and its schema side by side: JSON Pointers, local `$ref`s and the schema of
a child. Validation, the credential check, diffs and times all walk this way; they share it from
here, below each of them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def json_pointer(parts: Iterable[Any]) -> str:
    """RFC 6901 pointer for a path of keys and indexes ('' is the whole document)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def resolve(schema: Any, root: Any) -> dict:
    """Follow local `$ref`s (the only kind we allow) to the schema they name."""
    hops = 0
    while isinstance(schema, dict) and "$ref" in schema and hops < 10:
        node = root
        ref = schema["$ref"]
        for part in ref.lstrip("#/").split("/") if ref not in ("#", "#/") else []:
            part = part.replace("~1", "/").replace("~0", "~")
            node = node.get(part, {}) if isinstance(node, dict) else {}
        schema, hops = node, hops + 1
    return schema if isinstance(schema, dict) else {}


def child_schema(schema: dict, step: Any, root: Any) -> dict:
    """The schema of `step` (a key or an index) inside a value described by `schema`."""
    if isinstance(step, int):
        return resolve(schema.get("items", {}), root)
    props = schema.get("properties", {})
    if step in props:
        return resolve(props[step], root)
    extra = schema.get("additionalProperties")
    return resolve(extra, root) if isinstance(extra, dict) else {}

"""The one validator for config values: forms, API and commands all call `validate_value`.

JSON Schema Draft 2020-12 with format checking. User-written `pattern`s run on the `regex`
package with a timeout, so a catastrophic pattern cannot hang a worker; `$ref`s must be local
(no schema is ever fetched from the network). Errors come back as `[{path, message}]` with JSON
Pointer paths and messages in plain words built from the schema's titles.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import Any

import regex
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError
from jsonschema.exceptions import ValidationError as JsonSchemaError
from referencing import Registry
from referencing.exceptions import NoSuchResource, Unresolvable

from configs.patterns import describe as describe_pattern
from configs.pointers import child_schema, json_pointer, resolve
from configs.secrets import NOT_SECRET, schema_secret_problems, secret_problems

PATTERN_TIMEOUT_SECONDS = 0.1


class PatternTimeout(Exception):
    pass


def _matches(pattern: str, text: str) -> bool:
    try:
        return regex.search(pattern, text, timeout=PATTERN_TIMEOUT_SECONDS) is not None
    except TimeoutError as exc:
        raise PatternTimeout(pattern) from exc


def _pattern(validator, pattern, instance, schema):
    if not validator.is_type(instance, "string"):
        return
    try:
        if not _matches(pattern, instance):
            yield JsonSchemaError(f"{instance!r} does not match {pattern!r}")
    except PatternTimeout:
        yield JsonSchemaError(f"{instance!r} took too long to check against {pattern!r}")
    except regex.error:
        yield JsonSchemaError(f"{pattern!r} is not a valid regular expression")


def _key_matches(pattern: str, key: str) -> bool:
    try:
        return _matches(pattern, key)
    except (PatternTimeout, regex.error):
        return False


def _pattern_properties(validator, pattern_properties, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for key, item in instance.items():
            if _key_matches(pattern, key):
                yield from validator.descend(item, subschema, path=key, schema_path=pattern)


def _additional_properties(validator, additional, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    extras = [
        key
        for key in instance
        if key not in known and not any(_key_matches(p, key) for p in patterns)
    ]
    if validator.is_type(additional, "object"):
        for key in extras:
            yield from validator.descend(instance[key], additional, path=key)
    elif additional is False:
        # One error per unexpected key, at the key's own path, so it can be pointed at.
        for key in extras:
            yield JsonSchemaError(f"Additional property {key!r} is not allowed", path=[key])


SafeValidator = validators.extend(
    Draft202012Validator,
    {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
    },
)


def _refuse_remote(uri: str):
    raise NoSuchResource(ref=uri)


LOCAL_ONLY = Registry(retrieve=_refuse_remote)


class InvalidSchema(Exception):
    """A JSON Schema that cannot be used; `message` says why in plain words."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _walk(node: Any) -> Iterable[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def check_schema(schema: Any) -> None:
    """Raise InvalidSchema unless `schema` is a usable Draft 2020-12 schema with local refs only."""
    if not isinstance(schema, dict):
        raise InvalidSchema("A schema must be a JSON object.")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        raise InvalidSchema(f"{exc.message}" + (f" (at {where})" if where else "")) from exc
    for key, value in _walk(schema):
        if key in {"$ref", "$dynamicRef"} and not str(value).startswith("#"):
            raise InvalidSchema(
                f"Only references inside the schema are allowed (starting with '#'), not {value!r}."
            )
        if key == "pattern" and isinstance(value, str):
            try:
                regex.compile(value)
            except regex.error as exc:
                raise InvalidSchema(f"{value!r} is not a valid regular expression: {exc}") from exc
    cycle = ref_cycle(schema)
    if cycle:
        raise InvalidSchema(
            "Its references go round in a circle without reaching a schema: "
            + " → ".join(cycle)
            + ". Make one of them describe the value instead of referring on."
        )
    _check_credentials(schema)


def _check_credentials(schema: dict) -> None:
    """A schema holds no credential (in its defaults, examples, titles…) and exempts no whole
    value from the check (configs/secrets.py)."""
    if NOT_SECRET in schema:
        raise InvalidSchema(
            f'"{NOT_SECRET}" cannot exempt the whole value: put it on the one property (or '
            "items) whose value only looks like a credential, so that everything else is still "
            "checked."
        )
    problems = schema_secret_problems(schema)
    if problems:
        first = problems[0]
        raise InvalidSchema(f"at {first['path']}: {first['message']}")


# Keywords that apply their subschemas to the same place in the value: following a `$ref`
# through only these never moves into the value, so a loop of them never ends.
_IN_PLACE_LISTS = ("allOf", "anyOf", "oneOf")
_IN_PLACE = ("not", "if", "then", "else")


def _target(root: Any, ref: str) -> tuple[str, Any]:
    node = root
    parts = ref.lstrip("#/").split("/") if ref not in ("#", "#/") else []
    for part in parts:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return ref, None
    return "#" + json_pointer(p.replace("~1", "/").replace("~0", "~") for p in parts), node


def _in_place(pointer: str, node: Any, root: Any) -> Iterable[tuple[str, Any]]:
    if not isinstance(node, dict):
        return
    if isinstance(node.get("$ref"), str):
        yield _target(root, node["$ref"])
    for key in _IN_PLACE_LISTS:
        if isinstance(node.get(key), list):
            for n, child in enumerate(node[key]):
                yield f"{pointer}/{key}/{n}", child
    for key in _IN_PLACE:
        if isinstance(node.get(key), dict):
            yield f"{pointer}/{key}", node[key]


def ref_cycle(schema: Any) -> list[str] | None:
    """A loop of `$ref`s that never moves into the value (validating would never end), as the
    pointers it passes through, or None."""
    done: set[str] = set()

    def visit(pointer: str, node: Any, path: list[str]) -> list[str] | None:
        if pointer in path:
            return path[path.index(pointer) :] + [pointer]
        if pointer in done:
            return None
        for child_pointer, child in _in_place(pointer, node, schema):
            cycle = visit(child_pointer, child, path + [pointer])
            if cycle:
                return cycle
        done.add(pointer)
        return None

    starts = [("#", schema)]
    for key in ("$defs", "definitions"):
        if isinstance(schema.get(key), dict):
            starts += [(f"#/{key}/{name}", sub) for name, sub in schema[key].items()]
    for pointer, node in starts:
        cycle = visit(pointer, node, [])
        if cycle:
            return cycle
    return None


def _humanize_key(key: Any) -> str:
    if isinstance(key, int):
        return f"Item {key + 1}"
    text = str(key).replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:] if text else "The value"


def _label(error: JsonSchemaError) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    if schema.get("title"):
        return str(schema["title"])
    path = list(error.absolute_path)
    return _humanize_key(path[-1]) if path else "The value"


_TYPE_WORDS = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "yes or no",
    "array": "a list",
    "object": "a group of fields",
    "null": "nothing",
}

_FORMAT_WORDS = {
    "date-time": "a date and time",
    "date": "a date",
    "time": "a time of day",
    "email": "an email address",
    "uri": "a web address",
    "hostname": "a host name",
    "ipv4": "an IPv4 address",
    "ipv6": "an IPv6 address",
    "uuid": "a UUID",
}


def _plural(label: str) -> str:
    word = label.lower()
    return "options" if word.endswith("s") else f"{word}s"


def _own_message(schema: Any, kind: str) -> str | None:
    """The schema's own words for this failure: `x-message`, or ajv-errors' `errorMessage`
    (one string, or one per keyword)."""
    if not isinstance(schema, dict):
        return None
    for key in ("x-message", "errorMessage"):
        own = schema.get(key)
        if isinstance(own, str) and own.strip():
            return own.strip()
        if isinstance(own, dict) and isinstance(own.get(kind), str):
            return own[kind].strip()
    return None


def _examples(schema: Any) -> str:
    examples = schema.get("examples") if isinstance(schema, dict) else None
    if not isinstance(examples, list) or not examples:
        return ""
    shown = ", ".join(str(e) for e in examples[:3] if isinstance(e, (str, int, float)))
    return f" For example: {shown}." if shown else ""


def _message(error: JsonSchemaError) -> tuple[list[Any], str]:
    """The path to point at and the sentence to show there."""
    path = list(error.absolute_path)
    kind = error.validator
    label = _label(error)
    value = error.validator_value
    own = _own_message(error.schema, kind) if kind not in ("required", "type") else None
    if own:
        return path, f"{label}: {own.rstrip('.')}.{_examples(error.schema)}"
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        props = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        title = (props.get(missing) or {}).get("title") or _humanize_key(missing)
        return [*path, missing], f"{title} is required."
    if kind == "additionalProperties":
        return path, f"'{path[-1]}' is not a field this config knows; remove it."
    if kind == "enum":
        return path, f"{label}: choose one of the listed {_plural(label)}."
    if kind == "const":
        return path, f"{label}: must be {value!r}."
    if kind == "format":
        return path, f"{label}: enter {_FORMAT_WORDS.get(value, f'a valid {value}')}."
    if kind == "type":
        wanted = value if isinstance(value, list) else [value]
        words = " or ".join(_TYPE_WORDS.get(t, t) for t in wanted)
        return path, f"{label}: enter {words}."
    if kind == "pattern":
        if "took too long" in error.message:
            return path, f"{label}: could not be checked against its format in time; shorten it."
        words = describe_pattern(value) if isinstance(value, str) else None
        if words:
            return path, f"{label}: {words}.{_examples(error.schema)}"
        return path, f"{label}: this is not in the expected form.{_examples(error.schema)}"
    if kind == "minLength":
        if value == 1:
            return path, f"{label} cannot be empty."
        return path, f"{label}: enter at least {value} characters."
    if kind == "maxLength":
        return path, f"{label}: enter at most {value} characters."
    if kind in {"minimum", "exclusiveMinimum"}:
        word = "at least" if kind == "minimum" else "more than"
        return path, f"{label}: enter a number {word} {value}."
    if kind in {"maximum", "exclusiveMaximum"}:
        word = "at most" if kind == "maximum" else "less than"
        return path, f"{label}: enter a number {word} {value}."
    if kind == "minItems":
        return path, f"{label}: add at least {value}."
    if kind == "maxItems":
        return path, f"{label}: keep at most {value}."
    if kind == "uniqueItems":
        return path, f"{label}: each entry must be different."
    return path, f"{label}: {error.message}"


def validator_for(schema: dict) -> Any:
    """The validator for `schema`, made once and reused for every value checked against it."""
    return SafeValidator(
        copy.deepcopy(schema),
        registry=LOCAL_ONLY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def serialized_size(value: Any) -> int:
    """Bytes of `value` as the compact JSON it is stored and served as."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def ensure_not_too_large(value: Any) -> int:
    """The value's size; ValueTooLarge over CONFIG_MAX_VALUE_BYTES, before anything walks it."""
    from django.conf import settings

    from common.errors import ValueTooLarge

    limit = settings.CONFIG_MAX_VALUE_BYTES
    size = serialized_size(value)
    if size > limit:
        raise ValueTooLarge(size, limit)
    return size


# Above this size, values are checked by jsonschema-rs (Rust, a hundred times faster) so that
# the largest accepted value is checked in well under a second; its messages are plainer than
# the ones built above, so smaller values, which people edit by hand, keep those.
LARGE_VALUE_BYTES = 64 * 1024
LARGE_VALUE_PROBLEMS_SHOWN = 100


def _no_remote(uri: str):
    raise ValueError(f"{uri} is not fetched: only references inside the schema are allowed")


def large_value_problems(schema: dict, value: Any) -> list[dict[str, str]]:
    """The problems with a large value, found by jsonschema-rs (the first hundred)."""
    import jsonschema_rs

    try:
        validator = jsonschema_rs.Draft202012Validator(
            schema, validate_formats=True, retriever=_no_remote
        )
    except (jsonschema_rs.ValidationError, ValueError) as exc:
        return [{"path": "", "message": f"The schema cannot be used: {exc}"}]
    problems = []
    for error in validator.iter_errors(value):
        path = list(error.instance_path)
        label = _humanize_key(path[-1]) if path else "The value"
        problems.append({"path": json_pointer(path), "message": f"{label}: {error.message}."})
        if len(problems) == LARGE_VALUE_PROBLEMS_SHOWN:
            break
    return problems


def validate_value(
    value: Any, schema: dict | None, validator: Any | None = None
) -> list[dict[str, str]]:
    """Every problem with `value` under `schema`, as [{path, message}] sorted by path; raises
    ValueTooLarge for a value over CONFIG_MAX_VALUE_BYTES.

    No schema means free-form JSON: anything JSON can hold is valid, except credentials, which
    no value may hold (configs/secrets.py). `validator`: `validator_for(schema)`, made once by a
    caller checking many values against the same schema.
    """
    size = ensure_not_too_large(value)
    if schema is None:
        problems = []
    elif size > LARGE_VALUE_BYTES:
        problems = large_value_problems(schema, value)
    else:
        problems = value_problems(validator or validator_for(schema), value)
    problems += secret_problems(value, schema)
    return sorted(problems, key=lambda p: (p["path"], p["message"]))


def new_value_problems(validator: Any, value: Any) -> list[dict[str, str]]:
    """Every problem with a value about to be stored, under a validator from `validator_for`:
    its size (ValueTooLarge), its schema and credentials, as `validate_value` checks them."""
    ensure_not_too_large(value)
    problems = value_problems(validator, value) + secret_problems(value, validator.schema)
    return sorted(problems, key=lambda p: (p["path"], p["message"]))


def value_problems(validator: Any, value: Any) -> list[dict[str, str]]:
    """Every problem with `value` under a validator from `validator_for`, sorted by path."""
    problems = []
    try:
        errors = list(validator.iter_errors(value))
    except Unresolvable as exc:
        return [{"path": "", "message": f"The schema refers to something it lacks: {exc}."}]
    # A value of the wrong type fails its other keywords too; name only the type there.
    wrong_type = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    for error in errors:
        if tuple(error.absolute_path) in wrong_type and error.validator != "type":
            continue
        path, message = _message(error)
        problems.append({"path": json_pointer(path), "message": message})
    # Deduplicate (one missing field can be reported by several branches) and sort by path.
    unique = {(p["path"], p["message"]): p for p in problems}
    return sorted(unique.values(), key=lambda p: (p["path"], p["message"]))


_IDENTIFYING = ("id", "key", "name", "slug", "code")


def _item_name(item: Any, index: int) -> str:
    """A list item as people know it: by its identifying field ("Globex Corp!"), else "item 4"."""
    if isinstance(item, dict):
        keys = [k for k in _IDENTIFYING if k in item]
        keys += sorted(k for k in item if str(k).endswith(("_id", "_name", "_key")))
        for key in keys:
            if isinstance(item[key], (str, int)) and not isinstance(item[key], bool):
                if str(item[key]).strip():
                    return str(item[key])
    return f"item {index + 1}"


def where_in_words(value: Any, schema: dict | None, pointer: str) -> str:
    """The place a problem is, for people: "Companies → Globex Corp!" for
    /companies/3/company_id (the field itself is named by the message)."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    root = schema or {}
    node = resolve(root, root)
    words: list[str] = []
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        if isinstance(value, list) and part.isdigit():
            index = int(part)
            item = value[index] if index < len(value) else None
            words.append(_item_name(item, index))
            value, node = item, child_schema(node, index, root)
        elif isinstance(value, dict):
            child = child_schema(node, part, root)
            if last and not isinstance(value.get(part), (dict, list)):
                break  # a field: its message names it already
            words.append(str(child.get("title") or _humanize_key(part)))
            value, node = value.get(part), child
        else:
            break
    return " → ".join(words)


MAX_OVERRIDES = 1000


def overrides_errors(
    overrides: Any, schema: dict | None, validator: Any | None = None
) -> list[dict[str, str]]:
    """Every problem with a version's overrides, as [{path, message}] under `/overrides`: their
    shape (config_console_client.evaluation), then each value they serve under `schema`, as the
    value is checked (size, schema, credentials); each message names the override."""
    if overrides is None or overrides == []:
        return []
    from config_console_client.evaluation import overrides_problems, served_values

    problems = overrides_problems(overrides)
    if problems:
        return problems
    if len(overrides) > MAX_OVERRIDES:
        return [{"path": "/overrides", "message": f"Keep at most {MAX_OVERRIDES} overrides."}]
    ensure_not_too_large(overrides)
    if schema is not None and validator is None:
        validator = validator_for(schema)
    for pointer, served in served_values(overrides):
        number = int(pointer.split("/")[2])
        name = overrides[number]["name"]
        for problem in validate_value(served, schema, validator):
            problems.append(
                {"path": pointer + problem["path"], "message": f"{name}: {problem['message']}"}
            )
    return problems

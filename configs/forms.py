"""The edit form: django-jsonform's widget for people, a raw JSON tab for engineers.

Validation is ours (configs.validation), not the widget's: its own validator differs from JSON
Schema and crashes on some inputs. Errors go back to the widget under the input
that caused them, and to a list at the top of the page.
"""

from __future__ import annotations

import copy
import json

from config_console_client.evaluation import parse_instant as parse_condition_instant
from django import forms
from django.contrib.auth import get_user_model
from django_jsonform.forms.fields import JSONFormField
from django_jsonform.utils import ErrorMap
from django_jsonform.widgets import JSONFormWidget

from common.errors import InvalidValue
from common.jsontext import BadJSON, parse_json
from configs import times
from configs.inference import infer_schema
from configs.models import Config, Namespace, Schema, key_validator
from configs.override_words import OPERATOR_CHOICES, whom
from configs.pointers import child_schema, resolve
from configs.validation import (
    InvalidSchema,
    check_schema,
    overrides_errors,
    validate_value,
    where_in_words,
)


def json_from_text(text: str):
    """Typed JSON, or the form error saying where it breaks (line and column)."""
    try:
        return parse_json(text)
    except BadJSON as exc:
        raise forms.ValidationError(exc.for_people()) from exc


def schema_from_text(text: str) -> dict:
    """A typed JSON Schema, or the form error saying what is wrong with it."""
    body = json_from_text(text)
    try:
        check_schema(body)
    except InvalidSchema as exc:
        raise forms.ValidationError(exc.message) from exc
    return body


def _pointer_parts(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def _for_people(node) -> None:
    """Help under each input from the schema's words, and each date-time field a text box that
    names its zone (see configs.times)."""
    if isinstance(node, list):
        for item in node:
            _for_people(item)
        return
    if not isinstance(node, dict):
        return
    help_text = str(node.get("description") or "") if "type" in node else ""
    examples = node.get("examples")
    if isinstance(examples, list) and examples and "type" in node:
        shown = ", ".join(str(e) for e in examples[:3] if isinstance(e, (str, int, float)))
        help_text = (help_text + f" For example: {shown}.").strip()
    if help_text and "help_text" not in node and node.get("type") not in ("object", "array"):
        node["help_text"] = help_text
    if node.get("type") == "string" and node.get("format") == "date-time":
        node.pop("format")
        zone = times.zone_name()
        # No placeholder: a grey example in an empty box reads as a date that is set.
        node["help_text"] = f"Date and time in {zone}, for example {times.typed_example()}" + (
            f". {node['help_text']}" if node.get("help_text") else ""
        )
        node["classNames"] = "date-time"
    for value in node.values():
        _for_people(value)


def _widget_schema(schema: dict) -> dict:
    # The widget mutates the schema it gets, and does not know the `$schema` keyword.
    body = copy.deepcopy(schema)
    body.pop("$schema", None)
    _for_people(body)
    return body


def prune_blanks(value, schema: dict, root: dict | None = None):
    """Drop what the form widget fills in for inputs left empty.

    The widget sends every property, with "" or null for untouched inputs and [] for empty
    lists. For a person an empty input means "not set": without pruning, an untouched optional
    field would fail its schema or show up as a change, and a required one left empty would get
    a confusing format error instead of "… is required".
    """
    root = root if root is not None else schema
    schema = resolve(schema, root)
    if isinstance(value, list):
        return [
            prune_blanks(item, child_schema(schema, n, root), root) for n, item in enumerate(value)
        ]
    if not isinstance(value, dict):
        return value
    required = set(schema.get("required", []))
    pruned = {}
    for key, item in value.items():
        item = prune_blanks(item, child_schema(schema, key, root), root)
        if item is None or item == "" or (item == [] and key not in required):
            continue
        pruned[key] = item
    return pruned


class SchemaValueField(JSONFormField):
    def to_python(self, value):
        """The form's JSON read as all JSON the console takes (common.jsontext: no NaN or
        duplicate keys, numbers kept exactly), not with json.loads as django-jsonform does."""
        if self.disabled or not isinstance(value, str) or value in self.empty_values:
            return super().to_python(value)
        try:
            return parse_json(value)
        except BadJSON as exc:
            raise forms.ValidationError(exc.for_people(), code="invalid") from exc

    def validate(self, value):
        """Validation happens in ValueForm.clean with the project's one validator."""


# Offered for a condition's attribute besides those the config's overrides already name: the
# customer, and OpenFeature's targeting key.
COMMON_ATTRIBUTES = ("company", "targetingKey")


def _map_served(overrides: list, change) -> list:
    """A copy of `overrides` with `change(value, name, bucket)` applied to every value they
    serve: an override's value (bucket None), and each bucket's of a split. Anything that is
    not an override's shape is left for the validator to name."""
    mapped = []
    for override in overrides:
        if not isinstance(override, dict):
            mapped.append(override)
            continue
        override = dict(override)
        name = override.get("name")
        if "value" in override:
            override["value"] = change(override["value"], name, None)
        split = override.get("split")
        if isinstance(split, dict) and isinstance(split.get("buckets"), list):
            override["split"] = {
                **split,
                "buckets": [
                    {**b, "value": change(b["value"], name, n)}
                    if isinstance(b, dict) and "value" in b
                    else b
                    for n, b in enumerate(split["buckets"])
                ],
            }
        mapped.append(override)
    return mapped


# Operators whose values are instants: the editor shows and takes them in the page's zone.
INSTANT_OPS = ("before", "after")


def _map_instants(overrides: list, change) -> list:
    """A copy of `overrides` with `change(item)` applied to each value of a `before`/`after`
    condition (`values` or a single `value`). Anything not of a condition's shape is kept."""
    mapped = []
    for override in overrides:
        when = override.get("when") if isinstance(override, dict) else None
        if not isinstance(when, list):
            mapped.append(override)
            continue
        conditions = []
        for condition in when:
            if isinstance(condition, dict) and condition.get("op") in INSTANT_OPS:
                condition = dict(condition)
                if isinstance(condition.get("values"), list):
                    condition["values"] = [change(v) for v in condition["values"]]
                elif "value" in condition:
                    condition["value"] = change(condition["value"])
            conditions.append(condition)
        mapped.append({**override, "when": conditions})
    return mapped


def _instants_for_typing(overrides: list) -> list:
    """Conditions' instants as people type them, in the page's zone ("2026-12-01 09:00"), read
    as the evaluation reads them (no offset: UTC; a number: Unix seconds)."""

    def show(item):
        instant = parse_condition_instant(item)
        return times.typed(instant) if instant is not None else item

    return _map_instants(overrides, show)


def _instants_from_typing(overrides: list, earlier: list) -> list:
    """Conditions' instants typed in the page's zone, stored as UTC instants; one that did not
    change keeps its earlier form exactly (so an untouched condition is no change). Text that
    is not a date and time is kept as typed, for the validator to name."""
    before: dict = {}

    def note(item):
        instant = parse_condition_instant(item)
        if instant is not None:
            before.setdefault(instant, item)
        return item

    _map_instants(earlier, note)

    def read(item):
        if not isinstance(item, str):
            return item
        instant = times.parse_typed(item)
        if instant is None:
            return item
        try:
            return before.get(instant, times.stored(instant))
        except OverflowError:  # at the very edge of the calendar: let the validator say so
            return item

    return _map_instants(overrides, read)


def _instants_in_words(overrides: list) -> list:
    """Conditions' instants as typed in the page's zone, in words that name it ("Tue 1 Dec 2026,
    09:00 Asia/Tokyo"): what a folded override says."""

    def words(item):
        instant = times.parse_typed(item) if isinstance(item, str) else None
        return times.in_words(instant) if instant is not None else item

    return _map_instants(overrides, words)


def _served_by_name(overrides: list) -> dict:
    """Each value `overrides` serve, by (override name, bucket number or None)."""
    found: dict = {}

    def keep(value, name, bucket):
        found[(name, bucket)] = value
        return value

    _map_served(overrides, keep)
    return found


def _override_slot(rest: list[str]) -> tuple[str, str | None]:
    """Where, next to its override, a problem at /overrides/N/<rest> is shown: the slot
    ("override", "name", "condition", "split", "bucket") and which condition or bucket."""
    if rest[:1] == ["when"] and len(rest) > 1:
        return "condition", rest[1]
    if rest[:2] == ["split", "buckets"] and len(rest) > 2:
        return "bucket", rest[2]
    if rest[:1] == ["split"]:
        return "split", None
    if rest[:1] == ["name"]:
        return "name", None
    return "override", None


class ValueForm(forms.Form):
    EDITORS = [("form", "Form"), ("raw", "Raw JSON")]

    editor = forms.ChoiceField(choices=EDITORS, widget=forms.HiddenInput, initial="form")
    raw = forms.CharField(
        label="Raw JSON",
        required=False,
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 20, "class": "vLargeTextField raw-json", "spellcheck": "false"}
        ),
    )
    title = forms.CharField(
        label="Why are you making this change?",
        max_length=200,
        help_text="One line; reviewers read it first.",
        widget=forms.TextInput(attrs={"class": "vTextField", "size": 80}),
    )
    description = forms.CharField(
        label="More detail (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
    )
    base_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    confirmed = forms.BooleanField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args,
        config: Config | None = None,
        initial_value=None,
        schema: dict | None = None,
        label: str = "",
        initial_overrides: list | None = None,
        with_overrides: bool = False,
        **kwargs,
    ):
        """The editor for `config`'s value, or (no config yet) for a value of `schema`; with
        `with_overrides`, also for its overrides (`initial_overrides`: those it has now)."""
        super().__init__(*args, **kwargs)
        self.config = config
        if config is not None:
            schema = config.schema.body if config.schema_id else None
            label = config.name
        self.schema = schema
        self.problems: list[dict[str, str]] = []
        # What the value was before this edit: unchanged times keep their exact text.
        self.before = initial_value
        if initial_value is not None and not self.is_bound:
            self.initial.setdefault("raw", json.dumps(initial_value, indent=2, ensure_ascii=False))
        if self.schema is not None and self.schema.get("type") in ("object", "array"):
            field = SchemaValueField(
                schema=_widget_schema(self.schema), required=False, label="Value"
            )
            field.widget.attrs["aria-label"] = label or "Value"
            self.fields["value"] = field
            if initial_value is not None:
                self.initial.setdefault("value", times.for_typing(initial_value, self.schema))
        else:
            # Free-form JSON (no schema, or one the form cannot draw): raw editing only.
            self.fields["editor"].initial = "raw"
            self.initial["editor"] = "raw"
        self.initial_overrides = list(initial_overrides or [])
        # Where each override's problems are shown beside it: {number: {slot: …}}.
        self.override_problems: dict[int, dict] = {}
        if with_overrides:
            self._add_override_fields()

    def _add_override_fields(self) -> None:
        # The JSON travels in one field: typed by hand without JavaScript, written by the
        # overrides editor (static/console/console.js) with it, which says so in
        # `overrides_editor` ("form": its values are as the schema form types them).
        self.fields["overrides"] = forms.CharField(
            label="Values for some customers (overrides, as JSON)",
            required=False,
            strip=False,
            help_text='A list such as [{"name": "globex", "when": [{"attribute": "company", '
            '"op": "in", "values": ["globex"]}], "value": …}]. The first override that matches '
            "a customer gives them its value; everyone else gets the value above.",
            widget=forms.Textarea(
                attrs={
                    "rows": 8,
                    "class": "vLargeTextField overrides-json",
                    "spellcheck": "false",
                    "aria-describedby": "overrides-help",
                }
            ),
        )
        self.fields["overrides_editor"] = forms.ChoiceField(
            choices=[("form", "Form"), ("raw", "Raw JSON")],
            widget=forms.HiddenInput,
            required=False,
            initial="raw",
        )
        if not self.is_bound:
            self.initial["overrides"] = json.dumps(
                self.initial_overrides, indent=2, ensure_ascii=False
            )

    @property
    def edits_overrides(self) -> bool:
        return "overrides" in self.fields

    def _typed_overrides(self):
        """The overrides proposed, as they are to be stored; None: the form does not edit them
        (they are kept as they are)."""
        if not self.edits_overrides or "overrides" not in self.data:
            return None
        text = self.cleaned_data.get("overrides") or ""
        if not text.strip():
            return []
        try:
            overrides = parse_json(text)
        except BadJSON as exc:
            self.add_error("overrides", exc.for_people())
            return None
        if not isinstance(overrides, list):
            return overrides  # the validator says what they must be
        from_form = self.cleaned_data.get("overrides_editor") == "form" and self.has_form_editor
        earlier = _served_by_name(self.initial_overrides)

        def typed(value, name, bucket):
            if from_form:
                value = prune_blanks(value, self.schema)
            before = earlier.get((name, bucket), self.before)
            return times.from_typing(value, self.schema, before=before)

        if from_form:
            overrides = _instants_from_typing(overrides, self.initial_overrides)
        return _map_served(overrides, typed)

    def overrides_for_editor(self) -> list | None:
        """The overrides as the editor shows them (what was typed, after an error), or None when
        the JSON typed cannot be shown there."""
        if not self.is_bound:
            overrides = self.initial_overrides
            from_form = False
        else:
            try:
                overrides = parse_json(self.data.get("overrides") or "[]")
            except BadJSON:
                return None
            from_form = self.data.get("overrides_editor") == "form"
        if not isinstance(overrides, list) or not all(isinstance(o, dict) for o in overrides):
            return None
        if from_form:
            return overrides
        overrides = _instants_for_typing(overrides)
        return _map_served(overrides, lambda v, _n, _b: times.for_typing(v, self.schema))

    def overrides_editor_data(self) -> dict:
        """What the overrides editor in the browser starts from."""
        used = []
        for override in self.initial_overrides:
            if not isinstance(override, dict):
                continue
            for condition in override.get("when") or []:
                if isinstance(condition, dict) and isinstance(condition.get("attribute"), str):
                    used.append(condition["attribute"])
            split = override.get("split")
            if isinstance(split, dict) and isinstance(split.get("by"), str):
                used.append(split["by"])
        overrides = self.overrides_for_editor()
        return {
            "overrides": overrides,
            # Whom each is for, in words: what a folded override shows.
            "summaries": [whom(o) for o in _instants_in_words(overrides or [])],
            "problems": {str(n): slots for n, slots in self.override_problems.items()},
            "attributes": list(dict.fromkeys([*used, *COMMON_ATTRIBUTES])),
            "operators": [
                {**o, "help": self._instant_help()} if o["op"] in INSTANT_OPS else o
                for o in OPERATOR_CHOICES
            ],
            "zone": times.zone_name(),
            "form_editor": self.has_form_editor,
        }

    @staticmethod
    def _instant_help() -> str:
        return (
            f"A date and time in {times.zone_name()}, such as {times.typed_example()}. "
            "One per line."
        )

    def override_value_prototype(self) -> str:
        """The schema form once more, for the editor to copy for each value an override serves
        (django-jsonform draws every copy put on the page; `__prefix__` ones it leaves)."""
        if not self.has_form_editor:
            return ""
        widget = JSONFormWidget(schema=self.fields["value"].widget.schema)
        return widget.render(
            "override-value-__prefix__", json.dumps(None), attrs={"id": "override-value-__prefix__"}
        )

    @property
    def has_form_editor(self) -> bool:
        return "value" in self.fields

    def clean(self):
        cleaned = super().clean()
        overrides = self._typed_overrides()
        cleaned["new_overrides"] = self.typed_overrides = overrides
        editor = cleaned.get("editor") or "form"
        if editor == "form" and self.has_form_editor:
            if "value" in self.errors:
                return cleaned
            value = prune_blanks(cleaned.get("value"), self.schema)
        else:
            try:
                value = parse_json(cleaned.get("raw") or "")
            except BadJSON as exc:
                self.add_error("raw", exc.for_people())
                return cleaned
        value = times.from_typing(value, self.schema, before=self.before)
        self.typed_value = value
        try:
            self.problems = validate_value(value, self.schema)
            if overrides is not None:
                self.problems += overrides_errors(overrides, self.schema)
        except InvalidValue as exc:  # too large to check
            self.problems = exc.errors
        if self.problems:
            self._show_problems(editor)
        cleaned["new_value"] = value
        return cleaned

    def _override(self, number: str) -> dict:
        overrides = getattr(self, "typed_overrides", None)
        if not isinstance(overrides, list) or not number.isdigit() or int(number) >= len(overrides):
            return {}
        found = overrides[int(number)]
        return found if isinstance(found, dict) else {}

    def _override_where(self, path: str) -> str:
        """Where an override's problem is, for people: "Values for some customers → globex →
        Companies → acme"."""
        parts = _pointer_parts(path)[1:]
        if not parts:
            return "Values for some customers"
        override = self._override(parts[0])
        words = ["Values for some customers", str(override.get("name") or f"override {parts[0]}")]
        rest = parts[1:]
        served, inside = None, []
        if rest[:1] == ["value"]:
            served, inside = override.get("value"), rest[1:]
        elif rest[:2] == ["split", "buckets"] and rest[3:4] == ["value"] and rest[2].isdigit():
            buckets = (override.get("split") or {}).get("buckets") or []
            number = int(rest[2])
            bucket = buckets[number] if number < len(buckets) else {}
            words.append(str(bucket.get("name") or f"variant {number + 1}"))
            served, inside = bucket.get("value"), rest[4:]
        if inside:
            pointer = "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in inside)
            inner = where_in_words(served, self.schema, pointer)
            if inner:
                words.append(inner)
        return " → ".join(words)

    def _place_override_problem(self, problem: dict) -> None:
        """File a problem beside its override for the editor: under the condition, variant or
        field it is about, and inside the schema form of the value it is in."""
        parts = _pointer_parts(problem["path"])[1:]
        if not parts or not parts[0].isdigit():
            return
        slots = self.override_problems.setdefault(
            int(parts[0]),
            {"override": [], "name": [], "condition": {}, "split": [], "bucket": {}},
        )
        rest = parts[1:]
        slot, which = _override_slot(rest)
        message = problem["message"]
        if which is None:
            slots[slot].append(message)
        else:
            slots[slot].setdefault(which, []).append(message)
        if rest[:1] == ["value"]:
            slots.setdefault("value_errors", ErrorMap()).append(coords=rest[1:], msg=message)
        elif rest[:2] == ["split", "buckets"] and rest[3:4] == ["value"]:
            errors = slots.setdefault("bucket_value_errors", {}).setdefault(rest[2], ErrorMap())
            errors.append(coords=rest[4:], msg=message)

    def set_problems(self, problems: list[dict[str, str]]) -> None:
        """Show errors found later (by the service) the same way as our own."""
        self.problems = problems
        self._show_problems(self.cleaned_data.get("editor") or "form")

    def _show_problems(self, editor: str) -> None:
        # Each problem also says where it is in people's words ("Companies → Globex Corp!").
        value = getattr(self, "typed_value", None)
        self.problems = [
            {
                **p,
                "where": self._override_where(p["path"])
                if p.get("path", "").startswith("/overrides")
                else where_in_words(value, self.schema, p.get("path", "")),
            }
            for p in self.problems
        ]
        for_value = [p for p in self.problems if not p.get("path", "").startswith("/overrides")]
        for problem in self.problems:
            if problem.get("path", "").startswith("/overrides/"):
                self._place_override_problem(problem)
        if editor == "form" and self.has_form_editor:
            errors = ErrorMap()
            for problem in for_value:
                errors.append(coords=_pointer_parts(problem["path"]), msg=problem["message"])
            self.fields["value"].widget.add_error(errors)
        count = len(self.problems)
        self.add_error(
            None, f"Please correct the {count} problem{'s' if count != 1 else ''} below."
        )


class SchemaForm(forms.Form):
    title = forms.CharField(
        max_length=200, required=False, widget=forms.TextInput(attrs={"class": "vTextField"})
    )
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"})
    )
    body = forms.CharField(
        label="JSON Schema",
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 24, "class": "vLargeTextField raw-json", "spellcheck": "false"}
        ),
    )
    reason = forms.CharField(
        label="Why are you changing it?",
        max_length=200,
        widget=forms.TextInput(attrs={"class": "vTextField", "size": 80}),
    )

    def __init__(self, *args, schema: Schema | None, **kwargs):
        """The form for changing `schema` (None: for a new one, see NewSchemaForm)."""
        super().__init__(*args, **kwargs)
        if schema is not None and not self.is_bound:
            self.initial.update(
                title=schema.title,
                description=schema.description,
                body=json.dumps(schema.body, indent=2, ensure_ascii=False),
            )

    def clean_body(self):
        return schema_from_text(self.cleaned_data["body"])


class NewSchemaForm(SchemaForm):
    """A new schema: its name, and its body typed as JSON or proposed from a pasted example."""

    name = forms.CharField(
        max_length=100,
        validators=[key_validator],
        help_text="Lowercase letters, digits, '-' and '_'; unique; configs and pipelines name the "
        "schema by it, and it cannot change later.",
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )
    example = forms.CharField(
        label="Example value (JSON)",
        required=False,
        strip=False,
        help_text="Paste a value like the ones configs of this schema will hold; a schema is "
        "proposed from it below, which you can edit before creating it.",
        widget=forms.Textarea(
            attrs={"rows": 8, "class": "vLargeTextField raw-json", "spellcheck": "false"}
        ),
    )
    field_order = ["name", "title", "description", "example", "body", "reason"]
    HELP = {
        "title": "Shown in the schema list; the schema's own title if left empty.",
        "body": "Draft 2020-12. Property titles become the form's labels, descriptions its help.",
        "reason": "One line; kept with version 1.",
    }

    def __init__(self, *args, proposing: bool = False, **kwargs):
        """`proposing`: the body is to be inferred from the example, replacing what was typed."""
        super().__init__(*args, schema=None, **kwargs)
        self.proposing = proposing
        fields = self.fields
        for name, help_text in self.HELP.items():
            fields[name].help_text = help_text
        fields["reason"].label = "Why is it needed?"
        fields["body"].required = not proposing
        fields["body"].error_messages["required"] = (
            "Type the JSON Schema, or propose one from an example above."
        )

    def clean_example(self):
        text = self.cleaned_data["example"]
        if not text.strip():
            if self.proposing:
                raise forms.ValidationError("Paste an example value to propose a schema from.")
            return None
        return json_from_text(text)

    def clean_body(self):
        return None if self.proposing else super().clean_body()

    def clean(self):
        cleaned = super().clean()
        example = cleaned.get("example")
        if self.proposing and example is not None:
            body = infer_schema(example, title=cleaned.get("title") or "")
            # Shown in the body's box for the author to edit, as /configs/new/ does.
            self.data = self.data.copy()
            self.data["body"] = json.dumps(body, indent=2, ensure_ascii=False)
            cleaned["body"] = body
        return cleaned


class NewConfigForm(forms.Form):
    """What a new config is: where, its key and name, who owns it, and which schema it has."""

    SCHEMA_CHOICES = [
        ("existing", "An existing schema"),
        ("example", "Start from an example"),
        ("none", "None (free-form JSON)"),
    ]

    namespace = forms.ModelChoiceField(queryset=Namespace.objects.none(), to_field_name="slug")
    key = forms.SlugField(
        max_length=100,
        help_text="Lowercase letters, digits, '-' and '_'; unique in the namespace; pipelines "
        "read the config by it.",
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )
    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"class": "vTextField"}))
    about = forms.CharField(
        label="Description",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "vLargeTextField"}),
    )
    owners = forms.CharField(
        required=False,
        help_text="Usernames, separated by commas; you if left empty.",
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )
    schema_choice = forms.ChoiceField(
        label="Schema", choices=SCHEMA_CHOICES, widget=forms.RadioSelect, initial="example"
    )
    schema = forms.ModelChoiceField(
        queryset=Schema.objects.order_by("name"),
        to_field_name="name",
        required=False,
        label="Existing schema",
    )
    example = forms.CharField(
        label="Example value (JSON)",
        required=False,
        strip=False,
        help_text="Paste a value like the ones this config will hold; a schema is proposed "
        "from it, which you can edit before saving.",
        widget=forms.Textarea(attrs={"rows": 8, "class": "vLargeTextField raw-json"}),
    )
    schema_body = forms.CharField(
        label="Proposed schema (JSON Schema)",
        required=False,
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 16, "class": "vLargeTextField raw-json", "spellcheck": "false"}
        ),
    )

    def __init__(self, *args, namespaces, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["namespace"].queryset = namespaces

    def clean_owners(self):
        names = [n.strip() for n in self.cleaned_data["owners"].split(",") if n.strip()]
        if not names:
            return None
        users = list(get_user_model().objects.filter(username__in=names, is_active=True))
        unknown = sorted(set(names) - {u.username for u in users})
        if unknown:
            raise forms.ValidationError(f"No such person: {', '.join(unknown)}.")
        return users

    def clean_example(self):
        text = self.cleaned_data["example"]
        return json_from_text(text) if text.strip() else None

    def clean_schema_body(self):
        text = self.cleaned_data["schema_body"]
        return schema_from_text(text) if text.strip() else None

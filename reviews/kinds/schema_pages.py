"""The console's pages that only a schema change has: propose one (edit the schema, see the form
it makes and which configs it affects, fix what its defaults cannot), fix one config's value in
it, and the part of the change request page that shows it (the page, its actions and its
address are the change request's: reviews/views.py)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, When
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from common.errors import Conflict, InvalidValue, RuleViolation
from common.jsontext import BadJSON, parse_json
from common.messages import REFUSALS, in_words, refusal
from common.pagination import page_of
from configs import access, environments, services, times
from configs.diff import sentences
from configs.forms import SchemaForm, ValueForm, prune_blanks
from configs.models import Schema, schema_text
from configs.schema_diff import schema_changes
from reviews import services as changes
from reviews.gate import can_publish, gate_for, may_bypass, may_review
from reviews.kinds import schema as schema_kind
from reviews.models import Change, ChangeRequest

VALUE_FIELD = "value:"
# Affected configs listed on the edit page (those needing a fix first); a schema thousands of
# configs use would otherwise make a page nobody can read. The rest are fixed in a draft.
CONFIGS_SHOWN = 50


FIX_PREFIX = "fix"


def _fix_form(body: dict, number: int, value=None, name: str = "", data=None) -> ValueForm:
    """A config's form drawn from the NEW schema, for a value its defaults cannot fix."""
    return ValueForm(
        data, schema=body, initial_value=value, label=name, prefix=f"{FIX_PREFIX}{number}"
    )


def _given_values(request, body: dict) -> tuple[dict, dict[str, str]]:
    """Values the author gave for affected configs ({label: value}), in raw JSON or in the
    config's form (when its editor choice says "form"), and the errors reading them."""
    values, errors = {}, {}
    for name, text in request.POST.items():
        if name.startswith(VALUE_FIELD) and text.strip():
            label = name[len(VALUE_FIELD) :]
            try:
                values[label] = parse_json(text)
            except BadJSON as exc:
                errors[label] = exc.for_people()
    for name, label in request.POST.items():
        number = name[len(FIX_PREFIX) : -len("-label")]
        if not (name.startswith(FIX_PREFIX) and name.endswith("-label") and number.isdigit()):
            continue
        form = _fix_form(body, int(number), data=request.POST)
        if request.POST.get(form.add_prefix("editor")) != "form" or not form.has_form_editor:
            continue
        # The form's own reading of its widget (blanks pruned, times as stored); its other
        # fields (a title, raw JSON) belong to the config's edit page, not to this one.
        field = form.fields["value"]
        try:
            value = field.clean(
                field.widget.value_from_datadict(
                    request.POST, request.FILES, form.add_prefix("value")
                )
            )
        except ValidationError as exc:
            errors[label] = in_words(exc)
            continue
        values.pop(label, None)
        values[label] = times.from_typing(prune_blanks(value, body), body, before=None)
        errors.pop(label, None)
    return values, errors


@login_required
def schema_edit(request, name):
    """Editing a schema proposes a schema change request; it is never saved in place."""
    schema = get_object_or_404(Schema, name=name)
    access.ensure_can_edit_schema(request.user, schema)
    return _proposal_page(request, schema)


def schema_change_edit(request, change: ChangeRequest):
    """The author changes their open schema change: the schema, its values, why."""
    if request.user.pk != change.author_id or not change.allows("edit"):
        raise PermissionDenied("Only the author of an open schema change can edit it.")
    assert change.schema_change is not None
    return _proposal_page(request, change.schema_change.schema, change)


def _proposal_page(request, schema: Schema, change: ChangeRequest | None = None):
    """The schema as JSON, the form it makes, and every config it would reject with its new
    value: to propose a schema change, or (`change`) to edit one."""
    name = schema.name
    editing = change is not None
    proposed = change.schema_change if change else None
    newest = (
        proposed.schema_base_version if proposed else schema.versions.order_by("-number").first()
    )
    form = SchemaForm(request.POST or None, schema=schema)
    if proposed and not form.is_bound:
        form.initial.update(
            body=json.dumps(proposed.body, indent=2, ensure_ascii=False), reason=change.title
        )
    # Values the author gave before, kept unless given again here.
    given = schema_kind.given_values(change) if change else {}
    plan, words, preview, typed_errors = None, None, None, {}
    if request.method == "POST" and form.is_valid():
        body = form.cleaned_data["body"]
        values, typed_errors = _given_values(request, body)
        unchanged = schema_text(body) == schema_text(newest.body)
        if unchanged and change is None:
            if form.cleaned_data["title"] != schema.title or (
                form.cleaned_data["description"] != schema.description
            ):
                services.schema_update(
                    schema=schema,
                    body=body,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    title=form.cleaned_data["title"],
                    description=form.cleaned_data["description"],
                )
                messages.success(request, f"The title and description of {name} were saved.")
                return redirect(schema)
            form.add_error("body", "Nothing would change: edit the schema first.")
        elif unchanged:
            form.add_error("body", "Nothing would change: the schema is as it was.")
        else:
            # The plan passes over values given before for configs no longer rejected.
            plan = schema_kind.plan(schema=schema, body=body, values={**given, **values})
            words = schema_changes(newest.body, body)
            sample = plan[0].value if plan else None
            preview = ValueForm(schema=body, initial_value=sample, label=schema.title or name)
            # Those needing a fix first; each keeps its number (its fix form's prefix).
            plan.sort(key=lambda item: not item.errors)
            for number, item in enumerate(plan[:CONFIGS_SHOWN], start=1):
                if item.errors:
                    item.fix_form = _fix_form(body, number, item.value, item.name)
            draft = "draft" in request.POST
            if ("submit" in request.POST or draft) and not typed_errors:
                values = {k: v for k, v in values.items() if k in {i.label for i in plan}}
                try:
                    if change:
                        changes.change_request_edit(
                            change_request=change,
                            actor=request.user,
                            body=body,
                            values=values,
                            title=form.cleaned_data["reason"],
                        )
                    else:
                        change = changes.schema_change_open(
                            schema=schema,
                            author=request.user,
                            body=body,
                            base_version=int(request.POST.get("base_version") or 0),
                            title=form.cleaned_data["reason"],
                            description=form.cleaned_data["description"],
                            values=values,
                            draft=draft,
                        )
                except InvalidValue:
                    form.add_error(None, "Some configs would still be invalid: fix them below.")
                except (Conflict, RuleViolation, ValidationError, PermissionDenied) as exc:
                    form.add_error(None, refusal(request, exc))
                else:
                    messages.success(
                        request, _SAVED["edit" if editing else "draft" if draft else "submit"]
                    )
                    return redirect(change)
    return render(
        request,
        "reviews/schema_edit.html",
        {
            "page_title": f"Edit schema change #{change.pk}" if change else f"Change schema {name}",
            "schema": schema,
            "change": change,
            "newest": newest,
            "form": form,
            "plan": (plan or [])[:CONFIGS_SHOWN],
            "not_shown": len(plan or []) - CONFIGS_SHOWN,
            "words": words,
            "preview": preview,
            "typed_errors": typed_errors,
            "value_field": VALUE_FIELD,
            "invalid": [i for i in plan or [] if i.errors],
        },
    )


_SAVED = {
    "draft": "Your draft is saved: only you see it until you submit it for review.",
    "submit": "Your schema change was submitted for review.",
    "edit": "Your schema change is saved; approvals of the earlier proposal no longer count.",
}


ITEMS_PER_PAGE = 25


def schema_page(request, change: ChangeRequest, *, typed: dict | None = None):
    """The change request page of a schema change; after a refused action, with everything
    the person typed.

    Its values are listed a page at a time, those still to fix first: a schema thousands of
    configs use gives thousands of them. The page is cut from the changes' ids alone, then only
    its changes are read with their configs and versions (sorting thousands of whole rows with
    their values took most of the page's time)."""
    proposed = change.schema_change
    assert proposed is not None
    gate = gate_for(change)
    config_changes = Change.objects.filter(change_request=change, config__isnull=False)
    in_order = (
        config_changes.alias(fits=Case(When(problems=[], then=True), default=False))
        .order_by("fits", "config__namespace__slug", "config__key")
        .values_list("pk", flat=True)
    )
    items = page_of(request, in_order, per_page=ITEMS_PER_PAGE, param="values")
    shown = config_changes.select_related(
        "config__namespace", "base_version", "published_version"
    ).in_bulk(list(items.object_list))
    items.object_list = [shown[pk] for pk in items.object_list]
    for item in items:
        item.sentences = sentences(item.base_version.value, item.value, proposed.body)
    user = request.user
    is_author = user.pk == change.author_id
    reviewer = may_review(user, change) and not is_author
    earliest, in_the_way = schema_kind.earliest_instant(change)
    # Configs, not changes: a config's value in each environment is a change of its own.
    to_fix = (
        config_changes.exclude(problems=[]).values("config_id").distinct().count()
        if change.is_draft
        else 0
    )
    bypassed = next((i.published_version.bypass_reason for i in items if i.published_version), "")
    return render(
        request,
        "reviews/schema_change.html",
        {
            "page_title": f"#{change.pk} {change.title}",
            "change": change,
            "sc": proposed,
            "items": items,
            "default_environment_id": environments.default().id,
            "words": schema_changes(proposed.schema_base_version.body, proposed.body),
            "schema_json": json.dumps(proposed.body, indent=2, ensure_ascii=False),
            "gate": gate,
            "can_review": reviewer and change.allows("approve"),
            # An approval already standing for this exact proposal is not offered again.
            "approved": any(u.pk == user.pk for u in gate.approvers),
            "can_publish": change.allows("publish")
            and can_publish(user, change)
            and gate.satisfied,
            # Nothing to bypass once the approvals are there: publishing is then the way.
            "can_bypass": change.allows("bypass")
            and not gate.satisfied
            and may_bypass(user, change),
            "can_withdraw": is_author and change.allows("withdraw"),
            "can_edit": is_author and change.allows("edit"),
            "can_submit": is_author and change.allows("submit") and not to_fix,
            "can_reject": reviewer and change.allows("reject"),
            "to_fix": to_fix,
            "can_rebase": is_author and change.allows("rebase"),
            "earliest": earliest,
            "in_the_way": in_the_way,
            "bypassed": bypassed,
            "zone": times.zone_name(),
            "typed": typed or {},
        },
    )


def schema_change_value(request, change: ChangeRequest, config_pk: int):
    """One config's value inside a schema change, in that config's form drawn from the new
    schema (or as raw JSON): its author fixes or changes it here."""
    proposed = change.schema_change
    assert proposed is not None
    # The config's value in the default environment (or, when only others change, in the
    # first of them); the value given here also fixes the config's values in the other
    # environments that the new schema still rejects.
    default = environments.default().id
    # Each environment's item links here with ?environment=<name>: that change, and it alone.
    asked = request.GET.get("environment", "").strip()
    of_config = Change.objects.filter(change_request=change, config_id=config_pk)
    if asked:
        of_config = of_config.filter(environment_id=environments.named(asked).id)
    item = min(
        of_config.select_related("config__namespace", "base_version"),
        key=lambda c: (c.environment_id != default, environments.by_id(c.environment_id).position),
        default=None,
    )
    if item is None:
        raise Http404("No such config in this schema change.")
    if request.user.pk != change.author_id or not change.allows("edit"):
        raise PermissionDenied("Only the author of an open schema change can change its values.")
    label = item.label
    form = _fix_form(proposed.body, 1, item.value, item.config.name, data=request.POST or None)
    error = ""
    if request.method == "POST":
        values, errors = _given_values(request, proposed.body)
        error = errors.get(label, "")
        if not error and label in values:
            still_to_fix = (
                Change.objects.filter(change_request=change, config_id=config_pk)
                .exclude(environment_id=item.environment_id)
                .exclude(problems=[])
                .values_list("environment_id", flat=True)
                if not asked
                else []
            )
            given = {label: values[label]}
            given.update(
                (environments.labelled(str(item.config), environment_id), values[label])
                for environment_id in still_to_fix
            )
            try:
                changes.change_request_edit(change_request=change, actor=request.user, values=given)
            except REFUSALS as exc:
                error = refusal(request, exc)
            else:
                messages.success(request, f"The value of {label} in this schema change is saved.")
                return redirect(change)
        elif not error:
            error = "Give the new value in the form or as JSON."
    return render(
        request,
        "reviews/schema_change_value.html",
        {
            "page_title": f"{item.config.name} in schema change #{change.pk}",
            "change": change,
            "item": item,
            "form": form,
            "label": label,
            "value_field": VALUE_FIELD,
            "value_json": request.POST.get(VALUE_FIELD + label)
            or json.dumps(item.value, indent=2, ensure_ascii=False),
            "error": error,
        },
    )

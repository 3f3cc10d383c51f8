"""The console's "New config" page: where, key, name, owners, a schema (existing, started from
an example, or none) and the first value, which then passes the namespace's review policy. And
its "New schema" page, for schema authors (admins): a schema on its own, typed as JSON or
started from an example, checked and previewed as the form it makes before it is created.

Starting from an example is a round trip, not a script: "Propose a schema" infers one from the
pasted value and shows it beside the form it makes; editing the schema and pressing "Update the
form" redraws the form. What was typed is kept at every step."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render

from common.errors import Conflict, InvalidValue, RuleViolation
from common.messages import in_words, refusal
from configs import access, services
from configs.forms import NewConfigForm, NewSchemaForm, ValueForm
from configs.inference import infer_schema
from configs.models import Namespace, Role
from reviews.new_configs import config_propose


def _schema_for_form(form: NewConfigForm, proposing: bool) -> tuple[dict | None, object]:
    """(the schema the value form draws, the example to start the value from)."""
    data = form.cleaned_data
    choice = data.get("schema_choice")
    example = data.get("example")
    if choice == "existing":
        schema = data.get("schema")
        return (schema.body if schema else None), example
    if choice == "example":
        if proposing or data.get("schema_body") is None:
            if example is None:
                return None, None
            body = infer_schema(example, title=data.get("name") or "")
            form.data = form.data.copy()
            form.data["schema_body"] = json.dumps(body, indent=2, ensure_ascii=False)
            form.cleaned_data["schema_body"] = body
            return body, example
        return data.get("schema_body"), example
    return None, example


@login_required
def config_new(request):
    namespaces = Namespace.objects.filter(
        pk__in=access.namespaces_with_role(request.user, Role.EDITOR)
    )
    if not namespaces.exists():
        raise PermissionDenied("You need the editor role in a namespace to create configs.")
    initial = {"namespace": request.GET.get("namespace", "")}
    form = NewConfigForm(request.POST or None, namespaces=namespaces, initial=initial)
    creating = request.method == "POST" and "create" in request.POST
    schema, example = None, None
    if request.method == "POST":
        form.is_valid()
        schema, example = _schema_for_form(form, proposing="propose" in request.POST)
    value_form = ValueForm(
        request.POST if creating else None,
        schema=schema,
        label=form.cleaned_data.get("name", "") if form.is_bound else "",
        initial_value=example,
        initial={"title": request.POST.get("title", "")},
    )
    if creating and form.is_valid() and value_form.is_valid():
        data = form.cleaned_data
        choice = data["schema_choice"]
        try:
            created = config_propose(
                namespace=data["namespace"],
                key=data["key"],
                name=data["name"],
                description=data["about"],
                owners=data["owners"],
                value=value_form.cleaned_data["new_value"],
                actor=request.user,
                title=value_form.cleaned_data["title"],
                schema=data["schema"] if choice == "existing" else None,
                new_schema=data["schema_body"] if choice == "example" else None,
            )
        except InvalidValue as exc:
            value_form.set_problems(exc.errors)
        except Conflict as exc:
            form.add_error("key", in_words(exc))
        except (RuleViolation, ValidationError, PermissionDenied) as exc:
            form.add_error(None, refusal(request, exc))
        else:
            if created.version is not None:
                messages.success(request, f"Created {created.config} and published version 1.")
                return redirect(created.config)
            messages.success(
                request,
                f"Created {created.config}; version 1 waits for review. Pipelines get it once "
                "it is published.",
            )
            return redirect(created.change_request)
    return render(
        request,
        "configs/new.html",
        {
            "page_title": "New config",
            "form": form,
            "value_form": value_form,
            "schema": schema,
        },
    )


@login_required
def schema_new(request):
    access.ensure_can_create_schema(request.user)
    form = NewSchemaForm(request.POST or None, proposing="propose" in request.POST)
    preview = None
    if form.is_bound:
        form.is_valid()
        body = form.cleaned_data.get("body")
        if body is not None:
            preview = ValueForm(
                schema=body,
                initial_value=form.cleaned_data.get("example"),
                label=form.cleaned_data.get("title") or form.cleaned_data.get("name") or "Value",
            )
    if "create" in request.POST and form.is_valid():
        data = form.cleaned_data
        try:
            schema = services.schema_create(
                name=data["name"],
                body=data["body"],
                actor=request.user,
                title=data["title"],
                description=data["description"],
                reason=data["reason"],
            )
        except Conflict as exc:  # the name is taken
            form.add_error("name", in_words(exc))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Schema {schema.name} was created as version 1.")
            return redirect(schema)
    return render(
        request,
        "configs/schema_new.html",
        {"page_title": "New schema", "form": form, "preview": preview},
    )

"""Console pages for configs and schemas. Each finds what the person may see, calls a service,
and renders or redirects."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from configs import access, selectors, services
from configs.errors import Conflict, InvalidValue, RuleViolation, SchemaInUse
from configs.forms import SchemaForm, ValueForm
from configs.models import Namespace, Role, Schema
from reviews import selectors as review_selectors
from reviews import services as review_services
from reviews.diff import sentences

PAGE_SIZE = 25


def _page(request, items):
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


@login_required
def config_list(request):
    query = request.GET.get("q", "").strip()
    namespace = request.GET.get("namespace", "")
    owner = request.GET.get("owner", "").strip()
    configs = selectors.config_list(
        user=request.user, query=query, namespace=namespace, owner=owner
    )
    page = _page(request, configs)
    review_selectors.attach_open_counts(page.object_list)
    filters = {k: v for k, v in {"q": query, "namespace": namespace, "owner": owner}.items() if v}
    return render(
        request,
        "configs/list.html",
        {
            "page_title": "Configs",
            "page": page,
            "query": query,
            "namespace": namespace,
            "owner": owner,
            "namespaces": Namespace.objects.filter(
                pk__in=access.visible_namespace_ids(request.user)
            ),
            "querystring_base": urlencode(filters) + "&" if filters else "",
        },
    )


@login_required
def config_detail(request, namespace, key):
    config = selectors.config_for(user=request.user, namespace=namespace, key=key)
    live = selectors.live_version(config)
    form = ValueForm(config=config, initial_value=live.value if live else None)
    if form.has_form_editor:
        form.fields["value"].disabled = True
    return render(
        request,
        "configs/detail.html",
        {
            "page_title": config.name,
            "config": config,
            "live": live,
            "approvers": review_selectors.approvers_of(live) if live else [],
            "form": form,
            "scheduled": selectors.scheduled_versions(config),
            "versions": selectors.recent_versions(config),
            "open_changes": review_selectors.open_for_config(config),
            "can_edit": access.has_role(request.user, config.namespace, Role.EDITOR),
            "can_cancel": access.has_role(request.user, config.namespace, Role.REVIEWER),
            "permalink": request.build_absolute_uri(config.get_absolute_url()),
        },
    )


@login_required
def config_edit(request, namespace, key):
    config = selectors.config_for(user=request.user, namespace=namespace, key=key)
    access.ensure_role(request.user, config.namespace, Role.EDITOR)
    base = services.newest_version(config)
    needs_review = config.needs_review
    preview = None
    if request.method == "POST":
        form = ValueForm(request.POST, config=config)
        if form.is_valid():
            value = form.cleaned_data["new_value"]
            base_number = form.cleaned_data["base_version"]
            changes = sentences(
                base.value if base else None,
                value,
                config.schema.body if config.schema_id else None,
            )
            if not changes:
                form.add_error(
                    None, "Nothing has changed yet: edit the value, then review your change."
                )
            elif form.cleaned_data["confirmed"] and "back" not in request.POST:
                try:
                    change_request = review_services.change_request_open(
                        config=config,
                        author=request.user,
                        value=value,
                        title=form.cleaned_data["title"],
                        description=form.cleaned_data["description"],
                        base_version=base_number,
                        publish=not needs_review,
                    )
                except InvalidValue as exc:
                    form.set_problems(exc.errors)
                except (Conflict, RuleViolation, ValidationError) as exc:
                    form.add_error(None, exc.messages[0] if hasattr(exc, "messages") else str(exc))
                else:
                    if change_request.published_version:
                        messages.success(
                            request, f"Published version {change_request.published_version.number}."
                        )
                        return redirect(config)
                    messages.success(request, "Your change was submitted for review.")
                    return redirect(change_request)
            elif "back" not in request.POST:
                preview = changes
                data = request.POST.copy()
                data["confirmed"] = "1"
                form = ValueForm(data, config=config)
                form.is_valid()
    else:
        form = ValueForm(
            config=config,
            initial_value=base.value if base else None,
            initial={"base_version": base.number if base else None},
        )
    return render(
        request,
        "configs/edit.html",
        {
            "page_title": f"Edit {config.name}",
            "config": config,
            "form": form,
            "base": base,
            "needs_review": needs_review,
            "preview": preview,
            "next_number": (base.number + 1) if base else 1,
        },
    )


@login_required
@require_POST
def version_cancel(request, namespace, key, number):
    config = selectors.config_for(user=request.user, namespace=namespace, key=key)
    version = get_object_or_404(config.versions, number=number)
    try:
        services.version_cancel(
            version=version, actor=request.user, reason=request.POST.get("reason", "")
        )
    except RuleViolation as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"Scheduled version {number} was cancelled; it will never take effect."
        )
    return redirect(config)


def _visible_configs(user, schema: Schema):
    visible = set(access.visible_namespace_ids(user))
    return [c for c in schema.configs.all() if c.namespace_id in visible]


@login_required
def schema_list(request):
    schemas = list(selectors.schemas_with_usage())
    for schema in schemas:
        schema.visible_configs = _visible_configs(request.user, schema)
    return render(request, "configs/schemas.html", {"page_title": "Schemas", "schemas": schemas})


@login_required
def schema_detail(request, name):
    schema = get_object_or_404(selectors.schemas_with_usage(), name=name)
    return render(
        request,
        "configs/schema.html",
        {
            "page_title": schema.title or schema.name,
            "schema": schema,
            "configs": _visible_configs(request.user, schema),
            "hidden_count": schema.configs.count() - len(_visible_configs(request.user, schema)),
            "can_edit": access.can_edit_schema(request.user, schema),
        },
    )


@login_required
def schema_edit(request, name):
    schema = get_object_or_404(selectors.schemas_with_usage(), name=name)
    access.ensure_can_edit_schema(request.user, schema)
    breakage = None
    form = SchemaForm(request.POST or None, schema=schema)
    if request.method == "POST" and form.is_valid():
        try:
            services.schema_update(
                schema=schema,
                body=form.cleaned_data["body"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
            )
        except SchemaInUse as exc:
            breakage = exc.problems
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Schema {schema.name} was saved.")
            return redirect(schema)
    return render(
        request,
        "configs/schema_edit.html",
        {
            "page_title": f"Edit schema {schema.name}",
            "schema": schema,
            "form": form,
            "breakage": breakage,
        },
    )

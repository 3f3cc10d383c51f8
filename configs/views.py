"""Console pages for configs and schemas. Each finds what the person may see, calls a service,
and renders or redirects."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from common.errors import Conflict, InvalidValue, RuleViolation
from common.keyset import page_from
from common.messages import in_words, refusal
from common.pagination import page_of
from configs import access, consumers, environments, policies, selectors, services, times
from configs.diff import diff_values, pretty_lines, sentence, sentences, show
from configs.environments import Env
from configs.forms import ValueForm
from configs.models import Config, Namespace, Role, Schema, Version
from configs.override_words import override_sentences
from configs.schema_diff import schema_changes
from configs.secrets import exempt_paths
from configs.side_by_side import side_by_side
from reviews import selectors as review_selectors
from reviews import services as review_services
from reviews.selectors import open_for_schema

PAGE_SIZE = 25
HISTORY_PAGE_SIZE = 50
OPEN_CHANGES_PAGE_SIZE = 20
# One to nine ASCII digits. str.isdigit() also accepts "²" (which int() then refuses) and "١"
# (which int() reads as 1), and ten digits may not fit the database's integer.
VERSION_NUMBER = "[0-9]{1,9}"


def _page(request, items):
    return page_of(request, items, per_page=PAGE_SIZE)


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
            "can_create": bool(access.namespaces_with_role(request.user, Role.EDITOR)),
        },
    )


def _environment(request) -> Env:
    """The environment a page is about: `?environment=<name>`, or the default one; an unknown
    name is a 404."""
    return environments.named(request.GET.get("environment", "").strip())


@login_required
def config_detail(request, namespace, key):
    config = selectors.config_for(user=request.user, namespace=namespace, key=key)
    env = _environment(request)
    lives = selectors.live_versions(config)
    live = lives.get(env.id)
    if live:
        # Who proposed it (and in which change request), besides who published and approved.
        review_selectors.attach_history([live], user=request.user)
    form = ValueForm(config=config, initial_value=live.value if live else None)
    if form.has_form_editor:
        form.fields["value"].disabled = True
    return render(
        request,
        "configs/detail.html",
        {
            "page_title": config.name,
            "config": config,
            "environment": env,
            "in_default": env == environments.default(),
            "environments": environments.every(),
            # The policy a change here passes: the environment's, not the namespace's own.
            "policy": policies.of(config, env),
            "side_by_side": side_by_side(config, lives),
            "live": live,
            "approvers": live.approved_by if live else [],
            "form": form,
            "scheduled": selectors.scheduled_versions(config, environment=env),
            "versions": selectors.recent_versions(config, environment=env),
            "open_changes": page_of(
                request,
                review_selectors.open_for_config(config, user=request.user, environment=env),
                per_page=OPEN_CHANGES_PAGE_SIZE,
                param="changes",
            ),
            "can_edit": access.has_role(request.user, config.namespace, Role.EDITOR),
            "can_cancel": access.has_role(request.user, config.namespace, Role.REVIEWER),
            "permalink": request.build_absolute_uri(config.get_absolute_url()),
            "contributors": review_selectors.contributors(config),
            # The tokens reading this environment (each reads one), beside its live version.
            "readers": consumers.consumers_of(config=config, live=live, environment=env),
            "contributors_window": review_selectors.CONTRIBUTORS_WINDOW,
            "exempt_paths": exempt_paths(config.schema.body if config.schema_id else None),
        },
    )


@login_required
def config_edit(request, namespace, key):
    config = selectors.config_for(user=request.user, namespace=namespace, key=key)
    access.ensure_role(request.user, config.namespace, Role.EDITOR)
    env = _environment(request)
    base = selectors.newest_version(config, env)
    policy = policies.of(config, env)
    needs_review = policy.needs_review
    preview = None
    takes_effect = None
    before = base.value if base else None
    overrides_before = base.overrides if base else []
    if request.method == "POST":
        form = ValueForm(
            request.POST,
            config=config,
            initial_value=before,
            initial_overrides=overrides_before,
            with_overrides=True,
        )
        if form.is_valid():
            value = form.cleaned_data["new_value"]
            overrides = form.cleaned_data["new_overrides"]
            base_number = form.cleaned_data["base_version"]
            schema = config.schema.body if config.schema_id else None
            # What changes for everyone, then for the customers the overrides serve.
            changes = sentences(before, value, schema) + override_sentences(
                before,
                overrides_before,
                value,
                overrides_before if overrides is None else overrides,
                schema,
            )
            # A draft is kept for later, so it needs no preview; without review there is
            # nothing to keep a draft from, and the change is published on confirmation.
            draft = needs_review and "draft" in request.POST
            if not changes:
                form.add_error(
                    None,
                    "Nothing has changed yet: edit the value or the values for some "
                    "customers, then review your change.",
                )
            elif (form.cleaned_data["confirmed"] or draft) and "back" not in request.POST:
                try:
                    effective_at = (
                        None
                        if needs_review
                        else times.publish_time(request.POST.get("effective_at", ""))
                    )
                    joined = _joined(request)
                    if joined is not None:
                        # Added to one of the person's open change requests: reviewed and
                        # published with the rest of it.
                        change_request = review_services.change_request_add(
                            change_request=joined,
                            actor=request.user,
                            config=config,
                            value=value,
                            base_version=base_number,
                            overrides=overrides,
                            environment=env,
                        )
                    else:
                        change_request = review_services.change_request_open(
                            config=config,
                            author=request.user,
                            value=value,
                            overrides=overrides,
                            title=form.cleaned_data["title"],
                            description=form.cleaned_data["description"],
                            base_version=base_number,
                            publish=not needs_review,
                            draft=draft,
                            effective_at=effective_at,
                            environment=env,
                        )
                except InvalidValue as exc:
                    form.set_problems(exc.errors)
                except (Conflict, RuleViolation, ValidationError) as exc:
                    form.add_error(None, in_words(exc))
                else:
                    if change_request.published_version:
                        messages.success(
                            request, f"Published version {change_request.published_version.number}."
                        )
                        return redirect(_in(env, "configs:detail", config))
                    if joined is not None:
                        messages.success(
                            request,
                            f"Added to change request #{joined.pk}: it is reviewed and published "
                            "with the rest of it.",
                        )
                    elif draft:
                        messages.success(
                            request,
                            "Saved as a draft. Nobody reviews it until you submit it for review.",
                        )
                    else:
                        messages.success(request, "Your change was submitted for review.")
                    return redirect(change_request)
            elif "back" not in request.POST:
                # The confirmation says when the version goes live, so a mistyped
                # "Take effect at" is caught here, before anyone confirms "now".
                try:
                    takes_effect = (
                        None
                        if needs_review
                        else times.publish_time(request.POST.get("effective_at", ""))
                    )
                except ValidationError as exc:
                    form.add_error(None, in_words(exc))
                else:
                    preview = changes
                    data = request.POST.copy()
                    data["confirmed"] = "1"
                    form = ValueForm(
                        data,
                        config=config,
                        initial_value=before,
                        initial_overrides=overrides_before,
                        with_overrides=True,
                    )
                    form.is_valid()
    else:
        form = ValueForm(
            config=config,
            initial_value=before,
            initial={"base_version": base.number if base else None},
            initial_overrides=overrides_before,
            with_overrides=True,
        )
    return render(
        request,
        "configs/edit.html",
        {
            "page_title": f"Edit {config.name}"
            + ("" if env == environments.default() else f" in {env.label}"),
            "config": config,
            "environment": env,
            "in_default": env == environments.default(),
            "form": form,
            "base": base,
            "needs_review": needs_review,
            "policy": policy,
            "preview": preview,
            "takes_effect": takes_effect,
            "next_number": (base.number + 1) if base else 1,
            "earliest": selectors.earliest_effective_at(config, environment=env),
            "zone": times.zone_name(),
            "date_fields": times.date_time_titles(form.schema),
            "typed": {"action": "publish", "effective_at": request.POST.get("effective_at", "")}
            if request.method == "POST"
            else {},
            "open_changes": _open_changes_for(request.user, config, env),
            "joinable": review_selectors.joinable(request.user, config, env),
            "add_to": request.POST.get("add_to", ""),
        },
    )


def _joined(request):
    """The person's own open change request the form asks to add this change to, if any."""
    number = request.POST.get("add_to", "")
    if not number.isdigit():
        return None
    return review_selectors.for_change_request(user=request.user, pk=int(number))


def _open_changes_for(user, config, env: Env) -> dict:
    """The open changes on this config in `env`: the person's own ones, and how many others."""
    open_changes = list(review_selectors.open_for_config(config, user=user, environment=env)[:50])
    mine = [cr for cr in open_changes if cr.author_id == user.pk]
    return {"mine": mine, "others": len(open_changes) - len(mine)}


@login_required
@require_POST
def version_cancel(request, namespace, key, number):
    config = selectors.config_for(user=request.user, namespace=namespace, key=key)
    env = _environment(request)
    version = get_object_or_404(selectors.versions_of(config, env), number=number)
    try:
        services.version_cancel(
            version=version, actor=request.user, reason=request.POST.get("reason", "")
        )
    except RuleViolation as exc:
        messages.error(request, refusal(request, exc))
    else:
        messages.success(
            request, f"Scheduled version {number} was cancelled; it will never take effect."
        )
    return redirect(_in(env, "configs:detail", config))


def _restorable(version: Version, live: Version | None, newest: Version | None) -> bool:
    """Whether restoring `version` would change anything (the service still checks).

    A cancelled version never took effect, so there is no earlier state to go back to."""
    if version.cancelled_at:
        return False
    return version.pk not in {getattr(live, "pk", None), getattr(newest, "pk", None)}


@login_required
def config_history(request, namespace, key):
    config = selectors.config_for(user=request.user, namespace=namespace, key=key)
    env = _environment(request)
    # Pages are cut from the version numbers alone (the (config, number) index), by keyset
    # (common.keyset: "Older →" starts below the last number shown), then only that page's
    # versions are read with their people and change requests: the oldest page of a long history
    # costs what the newest does.
    numbers = selectors.versions_of(config, env).order_by("-number").values("number")
    page = page_from(request, numbers, per_page=HISTORY_PAGE_SIZE)
    shown = [row["number"] for row in page.object_list]
    page.object_list = list(review_selectors.version_history(config, env).filter(number__in=shown))
    review_selectors.attach_history(page.object_list, user=request.user)
    live = selectors.live_version(config, environment=env)
    newest = selectors.newest_version(config, env)
    can_edit = access.has_role(request.user, config.namespace, Role.EDITOR)
    for version in page.object_list:
        version.restorable = can_edit and _restorable(version, live, newest)
    return render(
        request,
        "configs/history.html",
        {
            "page_title": f"History of {config.name}"
            + ("" if env == environments.default() else f" in {env.label}"),
            "config": config,
            "environment": env,
            "in_default": env == environments.default(),
            "page": page,
            "newest_page": not page.has_previous(),
            "count": selectors.versions_of(config, env).count(),
            "live": live,
            "now": timezone.now(),
            "querystring_base": _env_query(env),
        },
    )


def _env_query(env: Env) -> str:
    """`environment=<name>&` for a page's own links outside the default environment."""
    return "" if env == environments.default() else f"{urlencode({'environment': env.name})}&"


def _in(env: Env, name: str, config: Config, *args) -> str:
    """The URL of config page `name` as seen in `env`."""
    url = reverse(name, args=[config.namespace.slug, config.key, *args])
    query = _env_query(env)
    return f"{url}?{query[:-1]}" if query else url


def _version_number(raw: str) -> int:
    if not re.fullmatch(VERSION_NUMBER, raw):
        raise Http404("No such version.")
    return int(raw)


def _diff_rows(before, after, schema: dict | None) -> list[dict]:
    """The path-level table: each changed path, its value before and after, and the sentence."""
    return [
        {
            "path": change["path"] or "/",
            "before": "" if change["op"] == "added" else show(change["before"]),
            "after": "" if change["op"] == "removed" else show(change["after"]),
            "sentence": sentence(change),
        }
        for change in diff_values(before, after, schema)
    ]


def _diff_context(config: Config, before: Version | None, after: Version) -> dict:
    """What changed from version `before` (None: nothing yet) to version `after`."""
    value = before.value if before else None
    left, right = pretty_lines(value, after.value)
    schema = config.schema.body if config.schema_id else None
    overrides = override_sentences(
        value, before.overrides if before else [], after.value, after.overrides, schema
    )
    return {
        "rows": _diff_rows(value, after.value, schema)
        + [{"path": "/overrides", "before": "", "after": "", "sentence": s} for s in overrides],
        "left": left,
        "right": right,
        "left_title": f"Version {before.number}" if before else "Nothing (first version)",
        "right_title": f"Version {after.number}",
    }


@login_required
def version_compare(request, namespace, key):
    config = selectors.config_for(user=request.user, namespace=namespace, key=key)
    env = _environment(request)
    raw_from, raw_to = request.GET.get("from", ""), request.GET.get("to", "")
    if not raw_from or not raw_to:
        messages.info(request, "Pick two versions to compare, then press Compare.")
        return redirect(_in(env, "configs:history", config))
    versions = selectors.versions_of(config, env)
    from_version = get_object_or_404(versions, number=_version_number(raw_from))
    to_version = get_object_or_404(versions, number=_version_number(raw_to))
    live = selectors.live_version(config, environment=env)
    newest = selectors.newest_version(config, env)
    can_edit = access.has_role(request.user, config.namespace, Role.EDITOR)
    same = from_version.pk == to_version.pk
    shown = [from_version] if same else [from_version, to_version]
    context = {
        "page_title": f"{config.name}: version {from_version.number} → {to_version.number}",
        "config": config,
        "environment": env,
        "in_default": env == environments.default(),
        "from_version": from_version,
        "to_version": to_version,
        "same": same,
        "restorable": [v for v in shown if can_edit and _restorable(v, live, newest)],
    }
    if not same:
        context.update(_diff_context(config, from_version, to_version))
    return render(request, "configs/compare.html", context)


@login_required
def version_detail(request, namespace, key, number):
    config = selectors.config_for(user=request.user, namespace=namespace, key=key)
    env = _environment(request)
    versions = selectors.versions_of(config, env)
    version = get_object_or_404(versions.select_related("published_by"), number=number)
    review_selectors.attach_history([version], user=request.user)
    previous = versions.active().filter(number__lt=number).order_by("-number").first()
    live = selectors.live_version(config, environment=env)
    newest = selectors.newest_version(config, env)
    can_edit = access.has_role(request.user, config.namespace, Role.EDITOR)
    return render(
        request,
        "configs/version.html",
        {
            "page_title": f"{config.name}: version {version.number}",
            "config": config,
            "environment": env,
            "in_default": env == environments.default(),
            "version": version,
            "previous": previous,
            "live": live,
            "now": timezone.now(),
            "restorable": can_edit and _restorable(version, live, newest),
            **_diff_context(config, previous, version),
        },
    )


@login_required
@require_POST
def version_restore(request, namespace, key, number):
    config = selectors.config_for(user=request.user, namespace=namespace, key=key)
    env = _environment(request)
    version = get_object_or_404(selectors.versions_of(config, env), number=number)
    try:
        change_request = review_services.version_restore(
            version=version, actor=request.user, reason=request.POST.get("reason", "")
        )
    except ValidationError as exc:
        messages.error(request, f"Version {number} was not restored: {refusal(request, exc)}")
    except InvalidValue as exc:
        messages.error(
            request,
            f"Version {number} cannot be restored as it is: the config's schema has changed "
            "since and no longer accepts it. Edit the config instead. Problems:",
        )
        for line in exc.lines():
            messages.error(request, line)
    except (Conflict, RuleViolation) as exc:
        messages.error(request, refusal(request, exc))
    else:
        messages.success(
            request,
            f"Restoring version {number} is now a change request; "
            "it is reviewed and published like any other change.",
        )
        return redirect(change_request)
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        return redirect(back)
    return redirect(_in(env, "configs:version", config, number))


@login_required
def schema_list(request):
    schemas = selectors.schemas_with_usage(user=request.user)
    return render(
        request,
        "configs/schemas.html",
        {
            "page_title": "Schemas",
            "schemas": schemas,
            "can_create": access.can_create_schema(request.user),
        },
    )


def _schema_number(raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    if not re.fullmatch(VERSION_NUMBER, raw):
        raise Http404("No such schema version.")
    return int(raw)


@login_required
def schema_detail(request, name):
    schema = get_object_or_404(Schema, name=name)
    number = _schema_number(request.GET.get("version"))
    version = selectors.schema_version(name=name, number=number)
    if version is None:
        raise Http404("No such schema version.")
    visible = selectors.schema_configs_visible(user=request.user, schema=schema)
    page = page_of(request, visible, per_page=PAGE_SIZE)
    return render(
        request,
        "configs/schema.html",
        {
            "page_title": schema.title or schema.name,
            "schema": schema,
            "version": version,
            "newest": number is None or version.body == schema.body,
            "page": page,
            "querystring_base": f"version={number}&" if number else "",
            "hidden_count": selectors.schema_config_count(schema) - page.paginator.count,
            "can_edit": access.can_edit_schema(request.user, schema),
            "open_changes": open_for_schema(schema, user=request.user),
        },
    )


@login_required
def schema_history(request, name):
    schema = get_object_or_404(Schema, name=name)
    versions = selectors.schema_versions(schema)
    page = page_of(request, versions, per_page=HISTORY_PAGE_SIZE)
    from_number = _schema_number(request.GET.get("from"))
    to_number = _schema_number(request.GET.get("to"))
    newest = versions.first()
    to_version = get_object_or_404(versions, number=to_number) if to_number else newest
    if from_number:
        from_version = get_object_or_404(versions, number=from_number)
    else:
        from_version = versions.filter(number__lt=to_version.number).first()
    changes = None
    if from_version is not None:
        changes = schema_changes(from_version.body, to_version.body)
    return render(
        request,
        "configs/schema_history.html",
        {
            "page_title": f"History of schema {schema.name}",
            "schema": schema,
            "page": page,
            "from_version": from_version,
            "to_version": to_version,
            "changes": changes,
            "querystring_base": "",
        },
    )

"""Console pages for change requests: the page itself, its actions, the inbox and dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from common.errors import Conflict, InvalidValue, RuleViolation
from common.keyset import page_from
from common.messages import REFUSALS, in_words, refusal
from common.pagination import page_of
from configs import access, times
from configs import selectors as config_selectors
from configs.diff import first_changes, pretty_lines, sentence, sentences
from configs.forms import ValueForm
from configs.models import Config, Schema, Version, canonical_json
from configs.override_words import override_sentences
from configs.schema_diff import schema_in_words
from configs.selectors import newest_version
from reviews import previews, selectors, services
from reviews.gate import can_publish, gate_for, may_author, may_bypass, may_review
from reviews.kinds import schema_pages
from reviews.models import Change, ChangeRequest

Status = ChangeRequest.Status


def _schema(config: Config):
    return config.schema.body if config.schema_id else None


def _actions(user, change_request, gate) -> dict[str, bool]:
    """The actions this person may take now; the page offers only these (services still check).

    Which state allows what comes from the change request's action table; who may act from
    reviews/gate.py, the rules the services apply."""
    is_author = user.pk == change_request.author_id
    is_reviewer = may_review(user, change_request)
    # An author demoted since proposing may still withdraw, but not change or send it.
    is_editing_author = is_author and may_author(user, change_request)
    allows = change_request.allows
    return {
        "review": allows("approve") and is_reviewer and not is_author,
        "edit": allows("edit") and is_editing_author,
        "submit": allows("submit") and is_editing_author,
        "withdraw": allows("withdraw") and is_author,
        "reject": allows("reject") and is_reviewer and not is_author,
        "publish": allows("publish") and can_publish(user, change_request) and gate.satisfied,
        "bypass": allows("bypass") and may_bypass(user, change_request) and not gate.satisfied,
        "rebase": allows("rebase") and is_editing_author,
        # An approval already standing for this exact proposal is not offered again.
        "approved": any(u.pk == user.pk for u in gate.approvers),
        "comment": allows("comment"),
    }


@dataclass
class NewSchema:
    """The schema of a config proposed for the first time: reviewers approve the value and
    the fields it is checked against (often made together with it, from an example)."""

    schema: Schema
    fields: list[str]
    made_by: str  # who made the schema with this config; empty for a schema already in use
    form: ValueForm


def _new_schema(change: Change) -> NewSchema | None:
    config = change.config
    if change.base_version_id or not config.schema_id:
        return None
    schema = config.schema
    first = schema.versions.filter(number=1).select_related("created_by").first()
    made_here = first is not None and first.reason == f"Made with {config}"
    form = ValueForm(config=config, initial_value=change.value)
    if form.has_form_editor:
        form.fields["value"].disabled = True
    return NewSchema(
        schema=schema,
        fields=schema_in_words(schema.body),
        made_by=str(first.created_by) if made_here and first and first.created_by else "",
        form=form,
    )


@dataclass
class ChangePanel:
    """One config's change as the change request page shows it."""

    change: Change
    sentences: list[str]
    total: int
    json_inline: bool
    left: list = field(default_factory=list)
    right: list = field(default_factory=list)
    theirs: Version | None = None
    their_changes: list[str] = field(default_factory=list)
    try_it: previews.TryIt | None = None
    new_schema: NewSchema | None = None  # a new config's schema, shown with its first value

    @property
    def config(self) -> Config:
        return self.change.config

    @property
    def cut(self) -> bool:
        return len(self.sentences) < self.total


def _empty_like(value):
    """`value` with every list emptied and every plain field left out: what a first value is
    compared with, so each field reads "set to …" and each list item "added …"."""
    if isinstance(value, dict):
        return {k: _empty_like(v) for k, v in value.items() if isinstance(v, (dict, list))}
    if isinstance(value, list):
        return []
    return None


def _panel(request, change_request, change: Change, *, show_all: bool) -> ChangePanel:
    base = change.base_version
    before = base.value if base else None
    schema = _schema(change.config)
    newest = newest_version(change.config, change.env)
    theirs = newest if change_request.allows("rebase") and newest != base else None
    # A first value is told field by field and item by item (from an empty value of the same
    # shape), not as one cut-off "whole value".
    empty = _empty_like(change.value)
    shown, total = first_changes(
        before if base else empty, change.value, schema, limit=None if show_all else CHANGES_SHOWN
    )
    # Large values stay readable and light: the list of changes is cut (with "show all"), and
    # the side-by-side JSON is drawn on its own page when the values are big.
    json_inline = _json_size(base) + len(canonical_json(change.value)) <= SIDE_BY_SIDE_INLINE_BYTES
    left, right = pretty_lines(before, change.value) if json_inline else ([], [])
    # Whom the overrides serve, and what changes for them, after the value's own changes.
    for_some = override_sentences(
        before, base.overrides if base else [], change.value, change.overrides, schema
    )
    return ChangePanel(
        change=change,
        sentences=[sentence(line) for line in shown] + for_some,
        total=total + len(for_some),
        json_inline=json_inline,
        left=left,
        right=right,
        theirs=theirs,
        their_changes=sentences(before, theirs.value, schema) if theirs else [],
        try_it=previews.try_it(request, change_request, change),
        new_schema=_new_schema(change),
    )


# A change request of many configs shows this many of them on a page.
CHANGES_PER_PAGE = 20


@login_required
def change_request_detail(request, pk):
    change_request = selectors.for_change_request(user=request.user, pk=pk)
    return _detail_page(request, change_request)


def schema_change_address(request, pk, rest: str = ""):
    """A schema change's former addresses (in e-mails and audit events) lead to its change
    request page."""
    return redirect("reviews:edit" if rest == "edit" else "reviews:detail", pk, permanent=True)


def _detail_page(request, change_request, *, typed=None):
    """The change request page; after a refused action, with everything the person typed."""
    if change_request.schema_change is not None:
        return schema_pages.schema_page(request, change_request, typed=typed)
    gate = gate_for(change_request)
    show_all = request.GET.get("changes") == "all"
    page = page_of(request, change_request.change_list, per_page=CHANGES_PER_PAGE, param="set")
    panels = [_panel(request, change_request, c, show_all=show_all) for c in page]
    first = change_request.change
    newest = newest_version(first.config, first.env)
    addable = (
        config_selectors.editable_configs(request.user)
        .exclude(pk__in=[c.config_id for c in change_request.change_list])
        .select_related("namespace")
        .order_by("namespace__slug", "key")[:ADDABLE_AT_MOST]
        if change_request.allows("edit") and request.user.pk == change_request.author_id
        else []
    )
    return render(
        request,
        "reviews/detail.html",
        {
            "page_title": f"#{change_request.pk} {change_request.title}",
            "cr": change_request,
            "config": first.config,
            "panels": panels,
            "set_page": page,
            "gate": gate,
            "reviews": change_request.reviews.select_related("reviewer"),
            "comments": change_request.comments.select_related("author"),
            "can": _actions(request.user, change_request, gate),
            "next_number": (newest.number + 1) if newest else 1,
            "earliest": max(
                filter(
                    None,
                    (
                        config_selectors.earliest_effective_at(c.config)
                        for c in change_request.change_list
                    ),
                ),
                default=None,
            ),
            "addable": addable,
            "zone": times.zone_name(),
            "date_fields": [
                title
                for c in change_request.change_list
                for title in times.date_time_titles(_schema(c.config))
            ],
            # The scripts and styles of the form a new config's schema makes (the same for all).
            "form_media": next(
                (p.new_schema.form.media for p in panels if p.new_schema is not None), None
            ),
            "typed": typed or {},
        },
    )


# "Add another config to this change" offers at most this many configs to pick from.
ADDABLE_AT_MOST = 500
CHANGES_SHOWN = 200
SIDE_BY_SIDE_INLINE_BYTES = 200_000


def _json_size(version) -> int:
    return len(version.value_json) if version is not None and version.value_json else 0


@login_required
def change_request_side_by_side(request, pk):
    """Base and proposed value as pretty JSON side by side, for engineers, on its own page."""
    change_request = selectors.for_change_request(user=request.user, pk=pk)
    change = _change_of(request, change_request)
    base = change.base_version
    left, right = pretty_lines(base.value if base else None, change.value)
    return render(
        request,
        "reviews/side_by_side.html",
        {
            "page_title": f"#{change_request.pk} side by side",
            "cr": change_request,
            "config": change.config,
            "left": left,
            "right": right,
        },
    )


def _effective_at(request) -> datetime | None:
    """The requested publish time, typed in the zone the page names (empty: now)."""
    return times.publish_time(request.POST.get("effective_at", ""))


# What a person may have typed into an action's form, kept when the action is refused.
TYPED_FIELDS = ("comment", "bypass_reason", "effective_at")


def _seen_revision(request) -> int | None:
    # The revision the reviewer read: a verdict on a proposal that changed since is refused.
    seen = request.POST.get("revision", "")
    return int(seen) if seen.isascii() and seen.isdigit() and len(seen) < 10 else None


def _approve(request, change_request):
    services.change_request_approve(
        change_request=change_request,
        reviewer=request.user,
        comment=request.POST.get("comment", ""),
        seen_revision=_seen_revision(request),
    )
    messages.success(request, "You approved this change.")


def _request_changes(request, change_request):
    services.change_request_request_changes(
        change_request=change_request,
        reviewer=request.user,
        comment=request.POST.get("comment", ""),
        seen_revision=_seen_revision(request),
    )
    messages.success(request, "You asked for changes; publishing waits for your approval.")


def _submit(request, change_request):
    services.change_request_submit(change_request=change_request, actor=request.user)
    messages.success(request, "Your change was submitted for review.")


def _comment(request, change_request):
    services.change_request_comment(
        change_request=change_request, actor=request.user, body=request.POST.get("comment", "")
    )


def _withdraw(request, change_request):
    services.change_request_withdraw(
        change_request=change_request, actor=request.user, reason=request.POST.get("comment", "")
    )
    messages.success(request, "You withdrew this change request.")


def _reject(request, change_request):
    services.change_request_reject(
        change_request=change_request, actor=request.user, reason=request.POST.get("comment", "")
    )
    messages.success(request, "You rejected this change request.")


def _publish(request, change_request, *, bypass: bool = False):
    version = services.change_request_publish(
        change_request=change_request,
        actor=request.user,
        effective_at=_effective_at(request),
        bypass_reason=request.POST.get("bypass_reason", "") if bypass else None,
    )
    if version is None:
        messages.success(
            request, "Published: the new schema version and every config's new version."
        )
        return redirect(change_request)
    when = "now" if version.effective_at <= version.published_at else "on schedule"
    if not change_request.is_single:
        count = len(change_request.change_list)
        messages.success(request, f"Published all {count} changes; they take effect {when}.")
        return redirect(change_request)
    messages.success(request, f"Published version {version.number}; it takes effect {when}.")
    return redirect(change_request.config)


def _bypass(request, change_request):
    return _publish(request, change_request, bypass=True)


# The console's actions by the name in their address; each calls one service.
ACTIONS = {
    "approve": _approve,
    "request-changes": _request_changes,
    "submit": _submit,
    "comment": _comment,
    "withdraw": _withdraw,
    "reject": _reject,
    "publish": _publish,
    "bypass": _bypass,
}


@login_required
@require_POST
def change_request_action(request, pk, action):
    change_request = selectors.for_change_request(user=request.user, pk=pk)
    do = ACTIONS.get(action)
    if do is None:
        raise Http404("No such action.")
    try:
        response = do(request, change_request)
        if response is not None:
            return response
    except REFUSALS as exc:
        if isinstance(exc, PermissionDenied) and not exc.args:
            raise
        config = change_request.config if change_request.is_single else None
        text = refusal(
            request,
            exc,
            namespace=config.namespace.slug if config else "",
            config=config.key if config else "",
        )
        if isinstance(exc, InvalidValue):
            # The schema changed since the draft was saved: say what to fix, then let them edit.
            text += " Edit your draft so it fits the config's schema."
        messages.error(request, text)
        if isinstance(exc, (Conflict, RuleViolation, ValidationError)):
            return _refused(request, change_request, action)
    return redirect(change_request)


def _refused(request, change_request, action):
    """Back to the page, with what was typed still in the form it was typed into."""
    typed = {name: request.POST.get(name, "") for name in TYPED_FIELDS}
    if not any(value.strip() for value in typed.values()):
        return redirect(change_request)
    change_request.refresh_from_db()
    typed["action"] = action
    return _detail_page(request, change_request, typed=typed)


def _change_of(request, change_request) -> Change:
    """The change `?change=<id>` names (the first when none is named), or 404. A set may hold
    one config in several environments, so a config alone does not name a change: the former
    `?config=<id>` is still followed where that config is in the set once."""
    wanted, by = request.GET.get("change", ""), "pk"
    if not wanted:
        wanted, by = request.GET.get("config", ""), "config_id"
    if not wanted:
        return change_request.change
    found = [c for c in change_request.change_list if str(getattr(c, by)) == wanted]
    if len(found) == 1:
        return found[0]
    if found:
        raise Http404("That config is in this change request in several environments.")
    raise Http404("That change is not part of this change request.")


def _value_form_page(request, change_request, *, rebase: bool, adding: Config | None = None):
    """Edit one config's value in the change request (or, `adding`, a config's value to add to
    it); with `rebase`, merge a one-config change request onto its config's newest version."""
    if request.user.pk != change_request.author_id:
        raise PermissionDenied("Only the author can change this change request.")
    if adding is not None:
        env = None  # a config added from this page is added in the default environment
        config, base = adding, newest_version(adding)
        initial_value = base.value if base else None
        initial_overrides = base.overrides if base else []
    else:
        change = _change_of(request, change_request)
        # Edited in its own environment: the value replaces this change's, not a new one's.
        env = change.env
        config, base, initial_value = change.config, change.base_version, change.value
        initial_overrides = change.overrides
    newest = newest_version(config, env)
    form = ValueForm(
        request.POST or None,
        config=config,
        initial_value=initial_value,
        initial={"title": change_request.title, "description": change_request.description},
        # A rebase carries the overrides over by itself (services._rebased_overrides).
        initial_overrides=initial_overrides,
        with_overrides=not rebase,
    )
    if request.method == "POST" and form.is_valid():
        value = form.cleaned_data["new_value"]
        try:
            if rebase:
                services.change_request_rebase(
                    change_request=change_request, actor=request.user, values={change.line: value}
                )
                where = "still a draft" if change_request.is_draft else "back in review"
                messages.success(request, f"Rebased on version {newest.number}; it is {where}.")
            else:
                services.change_request_add(
                    change_request=change_request,
                    actor=request.user,
                    config=config,
                    value=value,
                    overrides=form.cleaned_data["new_overrides"],
                    base_version=base.number if base else None,
                    environment=env,
                    title=form.cleaned_data["title"],
                    description=form.cleaned_data["description"],
                )
                if change_request.status == Status.DRAFT:
                    messages.success(
                        request, "Draft saved. Nobody reviews it until you submit it for review."
                    )
                else:
                    messages.success(
                        request,
                        "Saved. Earlier approvals were dismissed: reviewers will see the new "
                        "value.",
                    )
            return redirect(change_request)
        except InvalidValue as exc:
            form.set_problems(exc.errors)
        except (Conflict, RuleViolation, ValidationError) as exc:
            form.add_error(None, in_words(exc))
    schema = _schema(config)
    return render(
        request,
        "reviews/edit.html",
        {
            "page_title": ("Rebase" if rebase else "Edit") + f" #{change_request.pk}",
            "cr": change_request,
            "config": config,
            "form": form,
            "rebase": rebase,
            "adding": adding is not None,
            "base": base,
            "newest": newest,
            "their_changes": sentences(base.value if base else None, newest.value, schema)
            if rebase and newest
            else [],
            "our_changes": sentences(base.value if base else None, initial_value, schema),
        },
    )


@login_required
def change_request_edit(request, pk):
    change_request = selectors.for_change_request(user=request.user, pk=pk)
    if change_request.schema_change is not None:
        return schema_pages.schema_change_edit(request, change_request)
    return _value_form_page(request, change_request, rebase=False)


@login_required
def schema_change_value(request, pk, config_pk):
    """One config's value in a schema change, fixed by its author."""
    change_request = selectors.for_change_request(user=request.user, pk=pk)
    if change_request.schema_change is None:
        raise Http404("This change request changes no schema.")
    return schema_pages.schema_change_value(request, change_request, config_pk)


@login_required
def change_request_add(request, pk):
    """Add another config to the change request: its value, edited in its own form."""
    change_request = selectors.for_change_request(user=request.user, pk=pk)
    config = config_selectors.editable_config(
        request.user, request.GET.get("config") or request.POST.get("config", "")
    )
    return _value_form_page(request, change_request, rebase=False, adding=config)


@login_required
def change_request_rebase(request, pk):
    change_request = selectors.for_change_request(user=request.user, pk=pk)
    if not change_request.allows("rebase"):
        messages.info(request, "This change request does not need a rebase.")
        return redirect(change_request)
    if change_request.is_single or request.GET.get("change") or request.GET.get("config"):
        return _value_form_page(request, change_request, rebase=True)
    # A set is re-based in one step where each change carries over onto what was published
    # since; a config changed in the same places is merged by hand in its own form (?change=).
    if request.method == "POST":
        try:
            services.change_request_rebase(change_request=change_request, actor=request.user)
        except REFUSALS as exc:
            messages.error(request, in_words(exc))
        else:
            where = "still a draft" if change_request.is_draft else "back in review"
            messages.success(request, f"Rebased every change on its newest version; it is {where}.")
        return redirect(change_request)
    return _detail_page(request, change_request)


def _page(request, items, param: str = "page"):
    return page_of(request, items, per_page=25, param=param)


def _keyset_page(request, change_requests, param: str = "cursor"):
    """25 change requests of a list, cut by keyset (common.keyset): the oldest page of 50,000
    costs what the first does."""
    return page_from(request, change_requests, per_page=25, param=param)


# Approved and not yet published: out of the review queue, still to be done.
READY = "Approved, ready to publish"


@login_required
def dashboard(request):
    return render(
        request,
        "reviews/dashboard.html",
        {
            "page_title": "Dashboard",
            "ready_heading": READY,
            "role": access.highest_role(request.user),
            "waiting": selectors.waiting_for(request.user)[:10],
            "ready": selectors.ready_to_publish(request.user)[:10],
            "requested": selectors.changes_i_requested(request.user)[:10],
            "mine": selectors.authored_by(request.user, open_only=True)[:10],
        },
    )


@login_required
def inbox(request):
    return render(
        request,
        "reviews/list.html",
        {
            "page_title": "My reviews",
            "sections": [
                (
                    "Waiting for my review",
                    _keyset_page(request, selectors.waiting_for(request.user)),
                    "No change requests waiting for you.",
                ),
                (
                    READY,
                    _keyset_page(request, selectors.ready_to_publish(request.user), "ready"),
                    "Nothing approved is waiting to be published.",
                ),
                (
                    "Changes I requested",
                    _keyset_page(request, selectors.changes_i_requested(request.user), "requested"),
                    "You have not asked for changes on any open change request.",
                ),
            ],
        },
    )


@login_required
def my_changes(request):
    return render(
        request,
        "reviews/list.html",
        {
            "page_title": "My changes",
            "sections": [
                (
                    READY,
                    _keyset_page(
                        request,
                        selectors.ready_to_publish(request.user, authored_only=True),
                        "ready",
                    ),
                    "None of your changes is approved and waiting to be published.",
                ),
                (
                    "My change requests",
                    _keyset_page(request, selectors.authored_by(request.user)),
                    "You have not proposed any change yet. "
                    "Open a config and choose “Edit this config”.",
                ),
            ],
        },
    )

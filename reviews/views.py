"""Console pages for change requests: the page itself, its actions, the inbox and dashboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from configs import access
from configs.errors import Conflict, InvalidValue, RuleViolation
from configs.forms import ValueForm
from configs.models import Role
from configs.services import newest_version
from reviews import selectors, services
from reviews.diff import pretty_lines, sentences
from reviews.models import ChangeRequest

Status = ChangeRequest.Status


def _schema(change_request):
    config = change_request.config
    return config.schema.body if config.schema_id else None


def _actions(user, change_request, gate) -> dict[str, bool]:
    """The actions this person may take now; the page offers only these (services still check)."""
    namespace = change_request.config.namespace
    is_author = user.pk == change_request.author_id
    is_reviewer = access.has_role(user, namespace, Role.REVIEWER)
    open_ = change_request.is_open
    reviewable = change_request.status in (
        Status.IN_REVIEW,
        Status.APPROVED,
        Status.CHANGES_REQUESTED,
    )
    draft = change_request.status == Status.DRAFT
    may_publish = services.can_publish(user, change_request)
    return {
        "review": reviewable and is_reviewer and not is_author,
        "edit": is_author and (reviewable or draft),
        "submit": is_author and draft and access.has_role(user, namespace, Role.EDITOR),
        "withdraw": is_author and open_,
        "reject": is_reviewer and not is_author and open_ and not draft,
        "publish": reviewable and may_publish and gate.satisfied,
        "bypass": open_
        and change_request.status not in (Status.CONFLICTED, Status.DRAFT)
        and access.has_role(user, namespace, Role.ADMIN)
        and not gate.satisfied,
        "rebase": is_author and change_request.status == Status.CONFLICTED,
        "comment": True,
    }


@login_required
def change_request_detail(request, pk):
    change_request = selectors.for_change_request(user=request.user, pk=pk)
    gate = services.gate_for(change_request)
    base = change_request.base_version
    schema = _schema(change_request)
    newest = newest_version(change_request.config)
    theirs = newest if change_request.status == Status.CONFLICTED and newest != base else None
    left, right = pretty_lines(base.value if base else None, change_request.value)
    return render(
        request,
        "reviews/detail.html",
        {
            "page_title": f"#{change_request.pk} {change_request.title}",
            "cr": change_request,
            "config": change_request.config,
            "gate": gate,
            "changes": sentences(base.value if base else None, change_request.value, schema),
            "left": left,
            "right": right,
            "theirs": theirs,
            "their_changes": sentences(base.value if base else None, theirs.value, schema)
            if theirs
            else [],
            "reviews": change_request.reviews.select_related("reviewer"),
            "comments": change_request.comments.select_related("author"),
            "can": _actions(request.user, change_request, gate),
            "next_number": (newest.number + 1) if newest else 1,
        },
    )


def _effective_at(request) -> datetime | None:
    """The requested publish time: a datetime-local field and the browser's offset (minutes)."""
    raw = request.POST.get("effective_at", "").strip()
    if not raw:
        return None
    try:
        naive = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationError("Enter the publish time as a date and time.") from None
    if naive.tzinfo:
        return naive
    offset = request.POST.get("tz_offset", "")
    digits = offset.removeprefix("-")
    try:
        if digits.isascii() and digits.isdigit() and int(digits) <= 24 * 60:
            # JavaScript's getTimezoneOffset: minutes to add to local time to get UTC.
            return (naive + timedelta(minutes=int(offset))).replace(tzinfo=UTC)
        return timezone.make_aware(naive)
    except OverflowError:  # a time at the very end (or start) of the calendar
        raise ValidationError("Enter a publish time between now and the year 9999.") from None


@login_required
@require_POST
def change_request_action(request, pk, action):
    change_request = selectors.for_change_request(user=request.user, pk=pk)
    comment = request.POST.get("comment", "")
    # The revision the reviewer read: a verdict on a proposal that changed since is refused.
    seen = request.POST.get("revision", "")
    seen_revision = int(seen) if seen.isascii() and seen.isdigit() and len(seen) < 10 else None
    try:
        if action == "approve":
            services.change_request_approve(
                change_request=change_request,
                reviewer=request.user,
                comment=comment,
                seen_revision=seen_revision,
            )
            messages.success(request, "You approved this change.")
        elif action == "request-changes":
            services.change_request_request_changes(
                change_request=change_request,
                reviewer=request.user,
                comment=comment,
                seen_revision=seen_revision,
            )
            messages.success(request, "You asked for changes; publishing waits for your approval.")
        elif action == "submit":
            services.change_request_submit(change_request=change_request, actor=request.user)
            messages.success(request, "Your change was submitted for review.")
        elif action == "comment":
            services.change_request_comment(
                change_request=change_request, actor=request.user, body=comment
            )
        elif action == "withdraw":
            services.change_request_withdraw(
                change_request=change_request, actor=request.user, reason=comment
            )
            messages.success(request, "You withdrew this change request.")
        elif action == "reject":
            services.change_request_reject(
                change_request=change_request, actor=request.user, reason=comment
            )
            messages.success(request, "You rejected this change request.")
        elif action in ("publish", "bypass"):
            version = services.change_request_publish(
                change_request=change_request,
                actor=request.user,
                effective_at=_effective_at(request),
                bypass_reason=request.POST.get("bypass_reason", "") if action == "bypass" else None,
            )
            when = "now" if version.effective_at <= version.published_at else "on schedule"
            messages.success(
                request, f"Published version {version.number}; it takes effect {when}."
            )
            return redirect(change_request.config)
        else:
            raise Http404("No such action.")
    except (Conflict, RuleViolation) as exc:
        messages.error(request, str(exc))
    except InvalidValue as exc:
        # The schema changed since the draft was saved: say what to fix, then let them edit.
        problems = "; ".join(
            f"{p['message']} ({p['path']})" if p.get("path") else p["message"] for p in exc.errors
        )
        messages.error(request, f"{exc} Edit your draft so it fits the config's schema: {problems}")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied as exc:
        if not str(exc):
            raise
        messages.error(request, str(exc))
    return redirect(change_request)


def _value_form_page(request, change_request, *, rebase: bool):
    config = change_request.config
    if request.user.pk != change_request.author_id:
        raise PermissionDenied("Only the author can change this change request.")
    newest = newest_version(config)
    form = ValueForm(
        request.POST or None,
        config=config,
        initial_value=change_request.value,
        initial={"title": change_request.title, "description": change_request.description},
    )
    if request.method == "POST" and form.is_valid():
        value = form.cleaned_data["new_value"]
        try:
            if rebase:
                services.change_request_rebase(
                    change_request=change_request, actor=request.user, value=value
                )
                messages.success(
                    request, f"Rebased on version {newest.number}; it is back in review."
                )
            else:
                services.change_request_edit(
                    change_request=change_request,
                    actor=request.user,
                    value=value,
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
        except (RuleViolation, ValidationError) as exc:
            form.add_error(None, exc.messages[0] if hasattr(exc, "messages") else str(exc))
    base = change_request.base_version
    schema = _schema(change_request)
    return render(
        request,
        "reviews/edit.html",
        {
            "page_title": ("Rebase" if rebase else "Edit") + f" #{change_request.pk}",
            "cr": change_request,
            "config": config,
            "form": form,
            "rebase": rebase,
            "base": base,
            "newest": newest,
            "their_changes": sentences(base.value if base else None, newest.value, schema)
            if rebase and newest
            else [],
            "our_changes": sentences(base.value if base else None, change_request.value, schema),
        },
    )


@login_required
def change_request_edit(request, pk):
    return _value_form_page(
        request, selectors.for_change_request(user=request.user, pk=pk), rebase=False
    )


@login_required
def change_request_rebase(request, pk):
    change_request = selectors.for_change_request(user=request.user, pk=pk)
    if change_request.status != Status.CONFLICTED:
        messages.info(request, "This change request does not need a rebase.")
        return redirect(change_request)
    return _value_form_page(request, change_request, rebase=True)


def _page(request, items):
    return Paginator(items, 25).get_page(request.GET.get("page"))


@login_required
def dashboard(request):
    return render(
        request,
        "reviews/dashboard.html",
        {
            "page_title": "Dashboard",
            "waiting": selectors.waiting_for(request.user)[:10],
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
                    _page(request, selectors.waiting_for(request.user)),
                    "No change requests waiting for you.",
                ),
                (
                    "Changes I requested",
                    selectors.changes_i_requested(request.user),
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
                    "My change requests",
                    _page(request, selectors.authored_by(request.user)),
                    "You have not proposed any change yet. "
                    "Open a config and choose “Edit this config”.",
                ),
            ],
        },
    )

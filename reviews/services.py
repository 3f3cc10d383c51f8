"""The review gate. Every change to a change request is one function here, used by the console,
the API and the management commands alike: it checks the rule, writes in one transaction,
records the audit event and sends notifications only after commit."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit.services import record
from common.after_commit import after_commit
from common.errors import Conflict, InvalidValue, RuleViolation
from configs import access
from configs.diff import first_changes
from configs.models import Config, Role, Version, canonical_json
from configs.selectors import newest_version, value_errors
from configs.services import version_publish
from reviews import notifications
from reviews.gate import can_publish, gate_for
from reviews.models import ChangeRequest, Review

Status = ChangeRequest.Status


def _lock(change_request: ChangeRequest) -> ChangeRequest:
    # Every transition re-reads the row under a lock, so two transitions never interleave.
    return (
        ChangeRequest.objects.select_for_update(of=("self",))
        .select_related("config__namespace")
        .get(pk=change_request.pk)
    )


def _ensure_allowed(change_request: ChangeRequest, action: str, doing: str) -> None:
    """Refuse `action` unless the action table lets it start from the change's state."""
    if change_request.allows(action):
        return
    by_author = action in ("edit", "submit")
    if change_request.status == Status.DRAFT or (
        change_request.status == Status.CONFLICTED_DRAFT and not by_author
    ):
        raise RuleViolation(
            f"Change request #{change_request.pk} is a draft: its author has not submitted "
            f"it for review yet, so it cannot be {doing}."
        )
    if change_request.status in (Status.CONFLICTED, Status.CONFLICTED_DRAFT):
        newest = newest_version(change_request.config)
        base = change_request.base_version
        raise Conflict(
            f"{change_request.config} is now at version {newest.number if newest else None}; "
            f"this change was based on version {base.number if base else None}. "
            f"Its author must rebase it before it can be {doing}."
        )
    raise RuleViolation(
        f"Change request #{change_request.pk} is "
        f"{change_request.get_status_display().lower()}; it cannot be {doing}."
    )


def _refresh_status(change_request: ChangeRequest) -> None:
    """Move an open change request between in review / approved / changes requested."""
    if change_request.status not in ChangeRequest.IN_REVIEW_STATES:
        return
    change_request.status = gate_for(change_request).review_status


# An audit event describes this many changes at most and counts the rest, so a proposal that
# adds a quarter of a million list items neither takes seconds to submit nor fills the log.
AUDITED_CHANGES = 1000


def _audited_diff(before, after) -> dict:
    changes, total = first_changes(before, after, limit=AUDITED_CHANGES)
    return {"diff": changes, **({"changes_in_all": total} if total > len(changes) else {})}


def _audit(action: str, change_request: ChangeRequest, actor, reason: str = "", **details):
    config = change_request.config
    return record(
        action,
        actor=actor,
        target=change_request,
        namespace=config.namespace.slug,
        config=config.key,
        reason=reason,
        details={"change_request": change_request.pk, **details},
    )


def _save(change_request: ChangeRequest, actor, reason: str = "") -> None:
    # django-simple-history reads these two attributes when it writes the history row.
    change_request._history_user = actor  # type: ignore[attr-defined]
    change_request._change_reason = reason[:1000] or None  # type: ignore[attr-defined]
    change_request.save()


def _check_value(config: Config, value) -> None:
    errors = value_errors(config=config, value=value)
    if errors:
        raise InvalidValue(errors)


def _ensure_changes_something(base: Version | None, value) -> None:
    """Refuse a proposal equal to the version it is based on: there would be nothing to review."""
    if base is not None and base.value_json == canonical_json(value):
        raise ValidationError(
            f"Nothing would change: the value is the same as version {base.number}. "
            "Edit the value, then propose it."
        )


def _require_text(text: str | None, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError(f"{what} is required.")
    return text


def _title(title: str | None) -> str:
    """A change request's title: required, and one line (it heads emails and lists)."""
    title = _require_text(title, "A title saying why")
    if "\n" in title or "\r" in title:
        raise ValidationError("A title is one line: put the details in the description.")
    return title


@transaction.atomic
def change_request_open(
    *,
    config: Config,
    author,
    value,
    title: str,
    description: str = "",
    base_version: int | None,
    publish: bool = False,
    draft: bool = False,
    effective_at: datetime | None = None,
) -> ChangeRequest:
    """Propose `value` for `config`, based on version `base_version`, and ask for review.

    With `publish`, also publish it at once when the gate allows (a namespace that needs no
    approvals); either both happen or neither. With `draft`, keep it as the author's draft:
    nobody is asked to review it until `change_request_submit`.
    """
    if draft and publish:
        raise ValueError("A draft cannot be published at once: submit it for review first.")
    access.ensure_role(author, config.namespace, Role.EDITOR)
    title = _title(title)
    _check_value(config, value)
    newest = newest_version(config)
    newest_number = newest.number if newest else None
    if base_version != newest_number:
        raise Conflict(
            f"{config} is at version {newest_number}, not {base_version}: "
            "reload it and make your change on the newest version."
        )
    _ensure_changes_something(newest, value)
    change_request = ChangeRequest(
        config=config,
        author=author,
        base_version=newest,
        value=value,
        title=title,
        description=description,
        status=Status.DRAFT if draft else Status.IN_REVIEW,
    )
    _save(change_request, author, title)
    base_value = newest.value if newest else None
    _audit(
        "change_request.opened",
        change_request,
        author,
        reason=title,
        base_version=newest_number,
        **_audited_diff(base_value, value),
        **({"draft": True} if draft else {}),
    )
    if draft:
        return change_request
    _refresh_status(change_request)
    change_request.save(update_fields=["status"])
    if publish:
        change_request_publish(
            change_request=change_request, actor=author, effective_at=effective_at
        )
        change_request.refresh_from_db()
    else:
        pk = change_request.pk
        after_commit(
            lambda: notifications.review_requested(pk),
            what=f'E-mail "review_requested" of change request {pk}',
        )
    return change_request


@transaction.atomic
def change_request_edit(
    *,
    change_request: ChangeRequest,
    actor,
    value,
    title: str | None = None,
    description: str | None = None,
) -> ChangeRequest:
    """The author's new proposal. Every earlier approval is dismissed: it was for another value.

    A draft stays a draft: only `change_request_submit` sends it for review."""
    change_request = _lock(change_request)
    if actor.pk != change_request.author_id:
        raise PermissionDenied("Only the author can edit a change request.")
    # Roles are read again at every step: an author demoted since opening it may not edit.
    access.ensure_role(actor, change_request.config.namespace, Role.EDITOR)
    _ensure_allowed(change_request, "edit", "edited")
    _check_value(change_request.config, value)
    _ensure_changes_something(change_request.base_version, value)
    before = change_request.value
    dismissed = change_request.reviews.filter(
        dismissed_at__isnull=True, verdict=Review.Verdict.APPROVE
    ).update(dismissed_at=timezone.now())
    change_request.value = value
    change_request.revision += 1
    if title is not None:
        change_request.title = _title(title)
    if description is not None:
        change_request.description = description
    _refresh_status(change_request)
    _save(change_request, actor, "edited")
    _audit(
        "change_request.edited",
        change_request,
        actor,
        revision=change_request.revision,
        dismissed_approvals=dismissed,
        **_audited_diff(before, value),
    )
    return change_request


@transaction.atomic
def change_request_submit(*, change_request: ChangeRequest, actor) -> ChangeRequest:
    """The author sends their draft for review; the namespace's reviewers are asked."""
    change_request = _lock(change_request)
    if actor.pk != change_request.author_id:
        raise PermissionDenied("Only the author can submit a draft for review.")
    access.ensure_role(actor, change_request.config.namespace, Role.EDITOR)
    _ensure_allowed(change_request, "submit", "submitted for review")
    # The schema may have changed since the draft was saved.
    _check_value(change_request.config, change_request.value)
    change_request.status = Status.IN_REVIEW
    _refresh_status(change_request)
    _save(change_request, actor, "submitted for review")
    _audit(
        "change_request.submitted",
        change_request,
        actor,
        reason=change_request.title,
        revision=change_request.revision,
    )
    pk = change_request.pk
    after_commit(
        lambda: notifications.review_requested(pk),
        what=f'E-mail "review_requested" of change request {pk}',
    )
    return change_request


_VERDICT_ACTIONS: dict[str, str] = {
    Review.Verdict.APPROVE: "change_request.approved",
    Review.Verdict.REQUEST_CHANGES: "change_request.changes_requested",
}
_VERDICT_TABLE_ACTIONS: dict[str, str] = {
    Review.Verdict.APPROVE: "approve",
    Review.Verdict.REQUEST_CHANGES: "request_changes",
}


def _verdict(change_request, reviewer, verdict: str, comment: str, seen_revision: int | None):
    """Record a reviewer's verdict on the value now proposed, audit it, tell the author."""
    change_request = _lock(change_request)
    access.ensure_role(reviewer, change_request.config.namespace, Role.REVIEWER)
    if reviewer.pk == change_request.author_id:
        raise PermissionDenied("Authors cannot review their own change.")
    if seen_revision is not None and seen_revision != change_request.revision:
        raise Conflict(
            "The proposal changed since you opened it; read the new value, then review again."
        )
    _ensure_allowed(change_request, _VERDICT_TABLE_ACTIONS[verdict], "reviewed")
    # The reviewer's latest verdict replaces their earlier one.
    change_request.reviews.filter(reviewer=reviewer, dismissed_at__isnull=True).update(
        dismissed_at=timezone.now()
    )
    review = Review.objects.create(
        change_request=change_request,
        reviewer=reviewer,
        verdict=verdict,
        value_hash=change_request.value_hash,
        revision=change_request.revision,
        comment=comment,
    )
    _refresh_status(change_request)
    change_request.save(update_fields=["status", "updated_at"])
    _audit(
        _VERDICT_ACTIONS[verdict],
        change_request,
        reviewer,
        reason=comment,
        revision=review.revision,
        value_hash=review.value_hash,
    )
    pk, review_pk = change_request.pk, review.pk
    after_commit(
        lambda: notifications.reviewed(pk, review_pk),
        what=f'E-mail "reviewed" of change request {pk}',
    )
    return review


@transaction.atomic
def change_request_approve(
    *, change_request: ChangeRequest, reviewer, comment: str = "", seen_revision: int | None = None
) -> Review:
    """Approve the exact value now proposed; with `seen_revision`, only if the reviewer saw it."""
    return _verdict(change_request, reviewer, Review.Verdict.APPROVE, comment, seen_revision)


@transaction.atomic
def change_request_request_changes(
    *, change_request: ChangeRequest, reviewer, comment: str, seen_revision: int | None = None
) -> Review:
    """Block publishing until this reviewer approves; with `seen_revision`, only if the
    reviewer saw the proposal as it is now."""
    comment = _require_text(comment, "A comment saying what to change")
    return _verdict(
        change_request, reviewer, Review.Verdict.REQUEST_CHANGES, comment, seen_revision
    )


@transaction.atomic
def change_request_comment(*, change_request: ChangeRequest, actor, body: str):
    access.ensure_role(actor, change_request.config.namespace, Role.VIEWER)
    body = _require_text(body, "A comment")
    comment = change_request.comments.create(author=actor, body=body)
    _audit("change_request.commented", change_request, actor, reason=body)
    return comment


@transaction.atomic
def change_request_withdraw(
    *, change_request: ChangeRequest, actor, reason: str = ""
) -> ChangeRequest:
    change_request = _lock(change_request)
    if actor.pk != change_request.author_id:
        raise PermissionDenied("Only the author can withdraw a change request.")
    _ensure_allowed(change_request, "withdraw", "withdrawn")
    change_request.status = Status.WITHDRAWN
    _save(change_request, actor, reason or "withdrawn")
    _audit("change_request.withdrawn", change_request, actor, reason=reason)
    return change_request


@transaction.atomic
def change_request_reject(*, change_request: ChangeRequest, actor, reason: str) -> ChangeRequest:
    change_request = _lock(change_request)
    access.ensure_role(actor, change_request.config.namespace, Role.REVIEWER)
    if actor.pk == change_request.author_id:
        raise PermissionDenied("Withdraw your own change request instead of rejecting it.")
    reason = _require_text(reason, "A reason for rejecting")
    _ensure_allowed(change_request, "reject", "rejected")
    change_request.status = Status.REJECTED
    _save(change_request, actor, reason)
    _audit("change_request.rejected", change_request, actor, reason=reason)
    pk = change_request.pk
    after_commit(
        lambda: notifications.rejected(pk), what=f'E-mail "rejected" of change request {pk}'
    )
    return change_request


@transaction.atomic
def change_request_rebase(*, change_request: ChangeRequest, actor, value) -> ChangeRequest:
    """Base a conflicted change on the config's newest version, with the author's merged value."""
    change_request = _lock(change_request)
    if actor.pk != change_request.author_id:
        raise PermissionDenied("Only the author can rebase a change request.")
    access.ensure_role(actor, change_request.config.namespace, Role.EDITOR)
    _ensure_allowed(change_request, "rebase", "rebased")
    _check_value(change_request.config, value)
    newest = newest_version(change_request.config)
    _ensure_changes_something(newest, value)
    change_request.reviews.filter(dismissed_at__isnull=True, verdict=Review.Verdict.APPROVE).update(
        dismissed_at=timezone.now()
    )
    before_base = change_request.base_version.number if change_request.base_version else None
    change_request.base_version = newest
    change_request.value = value
    change_request.revision += 1
    # A rebased draft stays a draft: only its author's submit sends it for review.
    draft = change_request.status == Status.CONFLICTED_DRAFT
    change_request.status = Status.DRAFT if draft else Status.IN_REVIEW
    _refresh_status(change_request)
    _save(change_request, actor, "rebased")
    _audit(
        "change_request.rebased",
        change_request,
        actor,
        from_version=before_base,
        to_version=newest.number if newest else None,
    )
    if not draft:
        pk = change_request.pk
        after_commit(
            lambda: notifications.review_requested(pk),
            what=f'E-mail "review_requested" of change request {pk}',
        )
    return change_request


def _mark_conflicted(change_request: ChangeRequest, actor, why: str) -> None:
    # A draft stays its author's alone: it becomes a conflicted draft, and nobody is emailed.
    draft = change_request.is_draft
    change_request.status = Status.CONFLICTED_DRAFT if draft else Status.CONFLICTED
    _save(change_request, actor, "conflicted")
    _audit("change_request.conflicted", change_request, actor, reason=why)
    if not draft:
        pk = change_request.pk
        after_commit(
            lambda: notifications.conflicted(pk), what=f'E-mail "conflicted" of change request {pk}'
        )


def overtaken(change_requests: QuerySet[ChangeRequest], actor, why: str) -> None:
    """Mark open `change_requests` conflicted: a version published past their base means they
    can no longer be published as they are. Call it inside the publishing transaction, with
    their configs locked. Locked re-reads: an edit of one of them in flight commits first and
    is kept."""
    others = (
        change_requests.select_for_update(of=("self",))
        .select_related("config__namespace")
        .filter(status__in=ChangeRequest.OPEN)
        .exclude(status__in=(Status.CONFLICTED, Status.CONFLICTED_DRAFT))
    )
    for other in others:
        _mark_conflicted(other, actor, why)


def change_request_publish(
    *,
    change_request: ChangeRequest,
    actor,
    effective_at: datetime | None = None,
    bypass_reason: str | None = None,
) -> Version:
    """Publish the proposed value as the config's next version, now or at `effective_at`.

    Checks, inside one transaction with the config row locked, that the gate is satisfied (or
    an admin bypasses it with a reason) and that the base is still the newest version; if not,
    the change request is marked conflicted (that is kept) and Conflict is raised.
    """
    conflict = None
    with transaction.atomic():
        # Lock order everywhere: the config first, then change requests. Publishing marks the
        # config's other open change requests conflicted, so it must hold the config before any.
        Config.objects.select_for_update().filter(pk=change_request.config_id).first()
        change_request = _lock(change_request)
        namespace = change_request.config.namespace
        access.ensure_visible(actor, namespace)
        bypass = bypass_reason is not None
        if bypass:
            access.ensure_role(
                actor, namespace, Role.ADMIN, "publish without the required approvals"
            )
            bypass_reason = _require_text(bypass_reason, "A reason for the bypass")
        _ensure_allowed(change_request, "bypass" if bypass else "publish", "published")
        gate = gate_for(change_request)
        note = ""
        if bypass and gate.satisfied:
            # Nothing is missing, so nothing is bypassed: history must not show a bypass that
            # did not happen. The admin's reason still goes into the published event.
            bypass, note, bypass_reason = False, bypass_reason or "", None
        if not can_publish(actor, change_request) and not bypass:
            raise PermissionDenied(f"You need the reviewer role in {namespace.slug} to publish.")
        if not bypass and not gate.satisfied:
            raise RuleViolation("Cannot publish yet: it needs " + "; ".join(gate.missing) + ".")
        base = change_request.base_version.number if change_request.base_version else None
        try:
            version = version_publish(
                config=change_request.config,
                value=change_request.value,
                base_number=base,
                actor=actor,
                reason=change_request.title,
                effective_at=effective_at,
                bypass_reason=bypass_reason or "",
            )
        except Conflict as exc:
            conflict = exc
            _mark_conflicted(change_request, actor, exc.for_people())
        else:
            change_request.status = Status.PUBLISHED
            change_request.published_version = version
            _save(change_request, actor, "published")
            _audit(
                "change_request.published",
                change_request,
                actor,
                reason=change_request.title,
                version=version.number,
                effective_at=version.effective_at.isoformat(),
                approved_by=[u.username for u in gate.approvers],
                bypass=bypass,
                **({"note": note} if note else {}),
            )
            if bypass:
                _audit(
                    "version.bypass",
                    change_request,
                    actor,
                    reason=bypass_reason or "",
                    version=version.number,
                    missing=gate.missing,
                )
            overtaken(
                change_request.config.change_requests.exclude(pk=change_request.pk),
                actor,
                f"Version {version.number} was published.",
            )
            pk, vpk = change_request.pk, version.pk
            after_commit(
                lambda: notifications.published(pk, vpk),
                what=f'E-mail "published" of change request {pk}',
            )
    if conflict:
        raise conflict
    return version


@transaction.atomic
def version_restore(*, version: Version, actor, reason: str) -> ChangeRequest:
    """Propose `version`'s value again, as a change request on the newest version.

    History is never rewritten: the restore is reviewed and published like any other change
    and becomes a new version. `reason` (required) says why, for the reviewers and the audit
    log. Refuses a cancelled version (it never took effect, so there is nothing to go back
    to), a version whose value is already the live (or newest) one, and, through
    `change_request_open`, a value the config's schema no longer accepts.
    """
    config = Config.objects.select_related("namespace", "schema").get(pk=version.config_id)
    access.ensure_role(actor, config.namespace, Role.EDITOR, "restore a version")
    reason = _require_text(reason, "A reason for restoring this version")
    version = config.versions.get(pk=version.pk)
    if version.cancelled_at:
        raise RuleViolation(
            f"Version {version.number} was cancelled before it took effect, so there is no "
            "earlier state to go back to. To propose its value again, edit the config."
        )
    newest = newest_version(config)
    live = config.versions.live_at(timezone.now()).first()
    if live and live.pk == version.pk:
        if newest is not None and newest.pk != version.pk:
            raise RuleViolation(
                f"Version {version.number} is live now; to keep it, cancel scheduled version "
                f"{newest.number} instead."
            )
        raise RuleViolation(
            f"Version {version.number} is already live: there is nothing to restore."
        )
    if newest and newest.value_json == version.value_json:
        raise RuleViolation(
            f"Version {version.number} has the same value as version {newest.number}, the newest "
            "one: there is nothing to restore."
        )
    change_request = change_request_open(
        config=config,
        author=actor,
        value=version.value,
        title=f"Restore version {version.number}",
        description=reason,
        base_version=newest.number if newest else None,
    )
    record(
        "version.restored",
        actor=actor,
        target=version,
        namespace=config.namespace.slug,
        config=config.key,
        reason=reason,
        details={
            "version": version.number,
            "change_request": change_request.pk,
            "base_version": newest.number if newest else None,
        },
    )
    return change_request

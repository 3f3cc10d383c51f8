"""The states of a change request and what each allows: written once, read by the services'
guards and by the pages that decide which actions to offer."""

from __future__ import annotations

from django.db import models


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    CONFLICTED = "conflicted", "Conflicted"
    # A draft whose base another change moved past: still the author's alone, to rebase.
    CONFLICTED_DRAFT = "conflicted_draft", "Conflicted draft"
    PUBLISHED = "published", "Published"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


# "In review": submitted, not yet published, rejected or withdrawn, and on the newest base.
# The one definition; queues, counts, guards and the table below all use it.
IN_REVIEW_STATES = (Status.IN_REVIEW, Status.APPROVED, Status.CHANGES_REQUESTED)
# In review and not yet approved: what still waits in reviewers' queues.
AWAITING_APPROVAL = (Status.IN_REVIEW, Status.CHANGES_REQUESTED)
DRAFTS = (Status.DRAFT, Status.CONFLICTED_DRAFT)
OPEN = (*DRAFTS, *IN_REVIEW_STATES, Status.CONFLICTED)

# What each action may start from: the services' guards and the console's offered actions
# both read this table, and nothing else says which state allows what.
ACTIONS: dict[str, frozenset[str]] = {
    "edit": frozenset({Status.DRAFT, *IN_REVIEW_STATES}),
    "submit": frozenset({Status.DRAFT}),
    "approve": frozenset(IN_REVIEW_STATES),
    "request_changes": frozenset(IN_REVIEW_STATES),
    "comment": frozenset(Status),
    "withdraw": frozenset(OPEN),
    "reject": frozenset({*IN_REVIEW_STATES, Status.CONFLICTED}),
    "publish": frozenset(IN_REVIEW_STATES),
    "bypass": frozenset(IN_REVIEW_STATES),
    "rebase": frozenset({Status.CONFLICTED, Status.CONFLICTED_DRAFT}),
}


class Verdict(models.TextChoices):
    APPROVE = "approve", "Approved"
    REQUEST_CHANGES = "request_changes", "Requested changes"

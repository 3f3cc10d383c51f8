"""Reads about change requests for the console pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, F, Max, OuterRef, Prefetch, Q, QuerySet
from django.db.models.expressions import Combinable
from django.http import Http404

from configs import access, environments
from configs.environments import Env
from configs.models import Config, Role, Schema, Version
from configs.selectors import versions_of
from reviews.gate import approvals_of_proposal
from reviews.models import Change, ChangeRequest, Review


def with_changes(change_requests: QuerySet[ChangeRequest]) -> QuerySet[ChangeRequest]:
    """`change_requests` with the changes people made (a schema's change, config changes; not
    the values a schema change migrates, thousands of them), their configs and namespaces, in
    one more query, without the values (a list shows what each changes, not how)."""
    return change_requests.prefetch_related(
        Prefetch(
            "changes",
            queryset=Change.objects.filter(Q(kind=Change.Kind.SCHEMA) | Q(migrated=False))
            .select_related("config__namespace", "schema")
            .defer("value", "body", "schema__body"),
        )
    )


def _config_changes() -> QuerySet[Change]:
    return Change.objects.filter(change_request=OuterRef("pk"), config__isnull=False)


def _schema_users() -> QuerySet[Config]:
    """The configs using the schema of the change request's schema change."""
    return Config.objects.filter(schema__changes__change_request=OuterRef("pk"))


def outside(namespace_ids) -> Q:
    """Change requests touching a namespace outside `namespace_ids` (reviews/models.py
    `touched_configs`, as a condition on many change requests at once)."""
    return Q(Exists(_config_changes().exclude(config__namespace_id__in=namespace_ids))) | Q(
        ~Exists(_config_changes()),
        Exists(_schema_users().exclude(namespace_id__in=namespace_ids)),
    )


def touching_none() -> Q:
    """Change requests touching no namespace: a change of a schema nobody uses (admins
    anywhere see and review those)."""
    return Q(~Exists(_config_changes()), ~Exists(_schema_users()))


def _within(user, namespace_ids) -> Q:
    """Touching only `namespace_ids`; touching none, for admins anywhere."""
    within = ~outside(namespace_ids)
    if not access.is_admin_somewhere(user):
        within &= ~touching_none()
    return within


def _visible(user):
    """Change requests all of whose configs `user` may see: a set that touches a namespace
    they have no role in would show its configs' names and values."""
    return with_changes(
        ChangeRequest.objects.filter(_within(user, access.visible_namespace_ids(user)))
        .select_related("author")
        .defer("description")
    )


def open_for_schema(schema: Schema, *, user) -> list[ChangeRequest]:
    """The schema's open change requests that `user` may see, newest first, with their
    authors."""
    return list(
        _visible(user)
        .filter(changes__schema=schema, status__in=ChangeRequest.OPEN)
        .order_by("-updated_at", "-id")
    )


def _in_environment(environment: Env | None) -> Q:
    """Changes in `environment` (default: the default one), and a new config's first value,
    which is for every environment."""
    return Q(changes__environment_id=environments.id_of(environment)) | Q(
        changes__environment__isnull=True
    )


def open_for_config(config: Config, *, user, environment: Env | None = None) -> QuerySet:
    """The config's open change requests in `environment` (default: the default one) that
    `user` may see (none touching a namespace they cannot), most recently updated first,
    without their values (a page lists titles; a busy config has thousands)."""
    return (
        ChangeRequest.objects.filter(
            Q(changes__config=config) & _in_environment(environment),
            status__in=ChangeRequest.OPEN,
        )
        .exclude(outside(access.visible_namespace_ids(user)))
        .select_related("author")
        .defer("description")
        .order_by("-updated_at", "-id")
    )


def attach_open_counts(configs) -> None:
    """Set `open_count` (changes waiting for review, drafts not counted) on each config of a
    page, in one query."""
    counts = dict(
        Change.objects.filter(
            config__in=[c.pk for c in configs], change_request__status__in=ChangeRequest.OPEN
        )
        .exclude(change_request__status__in=ChangeRequest.DRAFTS)
        .values_list("config")
        .annotate(n=Count("change_request"))
    )
    for config in configs:
        config.open_count = counts.get(config.pk, 0)


def approvers_of(version: Version) -> list[str]:
    """Who approved the exact value that became `version` (empty for bypasses and direct ones)."""
    return approvers_for_versions([version])[version.pk]


def approvers_for_versions(versions) -> dict[int, list[str]]:
    """{version id: usernames of who approved it}, for many versions in a fixed number of queries.

    The gate's count as it stood when the version was published: standing approvals of the
    exact value that was published, never the author's (a reviewer who has since left still
    approved it). Versions published without a change
    request, or with no approval, map to an empty list.
    """
    ids = [getattr(version, "pk", version) for version in versions]
    approvers: dict[int, list[str]] = {pk: [] for pk in ids}
    if not ids:
        return approvers
    changes = Change.objects.filter(published_version__in=ids).prefetch_related(
        Prefetch("change_request__reviews", queryset=Review.objects.select_related("reviewer")),
    )
    for change in changes.select_related("change_request").defer(
        "value", "change_request__description"
    ):
        version_id = change.published_version_id
        assert version_id is not None  # the query asks for published changes only
        approvers[version_id] = sorted(
            review.reviewer.username for review in approvals_of_proposal(change.change_request)
        )
    return approvers


def version_history(config: Config, environment: Env | None = None) -> QuerySet:
    """Every version of `config` in `environment` (default: the default one), newest first,
    with its publisher and its change request.

    Without the values: a page of fifty large values would be read only to be thrown away."""
    return (
        versions_of(config, environment)
        .select_related("published_by", "cancelled_by", "change__change_request__author")
        .defer("value", "value_json")
        .order_by("-number")
    )


def attach_history(versions, *, user) -> None:
    """Set `published_from` (the change request, or None where there was none or it touches a
    namespace `user` cannot see), `proposed_by` and `approved_by` on each version of a page
    from `version_history`, in a fixed number of queries."""
    approvers = approvers_for_versions(versions)
    linked = [v.change.change_request_id for v in versions if getattr(v, "change", None)]
    hidden = set(
        ChangeRequest.objects.filter(pk__in=linked)
        .filter(outside(access.visible_namespace_ids(user)))
        .values_list("pk", flat=True)
        if linked
        else ()
    )
    for version in versions:
        # A version published without a change request (a config's first value) was proposed
        # by whoever published it.
        change = getattr(version, "change", None)
        change_request = change.change_request if change else None
        version.published_from = (
            change_request if change and change.change_request_id not in hidden else None
        )
        version.proposed_by = change_request.author if change_request else version.published_by
        version.approved_by = approvers[version.pk]


@dataclass
class Contributor:
    """One person's part in a config's history."""

    username: str
    proposed: int = 0
    last_proposed: datetime | None = None
    approved: int = 0
    last_approved: datetime | None = None
    published: int = 0
    last_published: datetime | None = None

    @property
    def last_seen(self) -> datetime:
        return max(t for t in (self.last_proposed, self.last_approved, self.last_published) if t)


# The contributors table covers the newest versions only: counting a history of 100,000 versions
# on every view of the config page would cost more than the rest of the page.
CONTRIBUTORS_WINDOW = 1000


def contributors(config: Config, window: int | None = None) -> list[Contributor]:
    """Who proposed changes to `config`, approved published ones (as the history shows them) and
    published versions, within its newest `window` versions (and the change requests opened
    since the first of them), with counts and last times, most recently active first; four
    queries whatever the length of the history."""
    people: dict[str, Contributor] = {}

    def person(username: str) -> Contributor:
        return people.setdefault(username, Contributor(username=username))

    window = CONTRIBUTORS_WINDOW if window is None else window
    newest = versions_of(config).order_by("-number").values_list("number", flat=True).first() or 0
    cutoff = max(0, newest - window)
    window_versions = versions_of(config).filter(number__gt=cutoff).values("id")
    changes = ChangeRequest.objects.filter(changes__config=config)
    if cutoff:
        start = versions_of(config).filter(number=cutoff + 1).values("published_at")
        changes = changes.filter(created_at__gte=start)
    proposed = (
        changes.values("author__username")
        .annotate(n=Count("pk"), last=Max("created_at"))
        .order_by()
    )
    for proposal in proposed:
        entry = person(proposal["author__username"])
        entry.proposed, entry.last_proposed = proposal["n"], proposal["last"]
    # The rule of `approvers_for_versions` (the gate's): an approval counts when it still stood,
    # for the exact value, on a change that was published. Approvals dismissed by an edit, or
    # given to changes later withdrawn or rejected, approved nothing that happened.
    approved = (
        Review.objects.filter(
            # Driven from the window's versions, so it reads only their change requests.
            change_request__changes__published_version__in=window_versions,
            verdict=Review.Verdict.APPROVE,
            dismissed_at__isnull=True,
            proposal_hash=F("change_request__proposal_hash"),
        )
        .exclude(reviewer=F("change_request__author"))
        .values("reviewer__username")
        .annotate(n=Count("change_request", distinct=True), last=Max("created_at"))
        .order_by()
    )
    for approval in approved:
        entry = person(approval["reviewer__username"])
        entry.approved, entry.last_approved = approval["n"], approval["last"]
    published = (
        versions_of(config)
        .filter(number__gt=cutoff)
        .values("published_by__username")
        .annotate(n=Count("pk"), last=Max("published_at"))
        .order_by()
    )
    for row in published:
        entry = person(row["published_by__username"])
        entry.published, entry.last_published = row["n"], row["last"]
    return sorted(people.values(), key=lambda c: (c.last_seen, c.username), reverse=True)


def for_change_request(*, user, pk: int) -> ChangeRequest:
    """A change request `user` may see: in a namespace they have a role in, or their own (an
    author who lost their role can still read and withdraw what they proposed)."""
    try:
        return (
            ChangeRequest.objects.filter(
                _within(user, access.visible_namespace_ids(user)) | Q(author=user)
            )
            .select_related("author")
            .get(pk=pk)
        )
    except ChangeRequest.DoesNotExist:
        raise Http404("No such change request.") from None


def waiting_for(user):
    """Open change requests `user` may review and has not yet approved as they stand."""
    reviewer_namespaces = [
        ns for ns, role in access.roles_of(user).items() if role in (Role.REVIEWER, Role.ADMIN)
    ]
    if not reviewer_namespaces:
        return ChangeRequest.objects.none()
    return (
        _visible(user)
        .filter(_within(user, reviewer_namespaces), status__in=ChangeRequest.AWAITING_APPROVAL)
        .exclude(author=user)
        # One review must meet all three conditions: an approval by this person that still
        # stands. (Separate conditions on the relation could each match a different review.)
        .exclude(
            Exists(
                Review.objects.filter(
                    change_request=OuterRef("pk"),
                    reviewer=user,
                    dismissed_at__isnull=True,
                    verdict=Review.Verdict.APPROVE,
                )
            )
        )
        .order_by("created_at", "id")  # id last: the console pages by keyset
    )


def ready_to_publish(user, *, authored_only: bool = False):
    """Approved change requests not yet published that `user` may publish (a reviewer of every
    namespace they touch) or wrote, approved longest ago first: an approval takes a change out
    of the review queue, and this keeps it in sight until it is published."""
    reviewer_namespaces = [
        ns for ns, role in access.roles_of(user).items() if role in (Role.REVIEWER, Role.ADMIN)
    ]
    whose: Q | Combinable = Q(author=user)
    if reviewer_namespaces and not authored_only:
        whose = Q(author=user) | _within(user, reviewer_namespaces)
    return (
        _visible(user)
        .filter(whose, status=ChangeRequest.Status.APPROVED)
        .order_by("updated_at", "id")
    )


def changes_i_requested(user):
    """Open change requests on which `user`'s request for changes still stands, newest first.

    A subquery rather than a join: a join needs DISTINCT, which would sort every row with its
    JSON value."""
    standing = Review.objects.filter(
        change_request=OuterRef("pk"),
        reviewer=user,
        dismissed_at__isnull=True,
        verdict=Review.Verdict.REQUEST_CHANGES,
    )
    return (
        _visible(user)
        .filter(Exists(standing), status__in=ChangeRequest.OPEN)
        .order_by("-updated_at", "-id")
    )


def authored_by(user, *, open_only: bool = False):
    changes = _visible(user).filter(author=user)
    if open_only:
        changes = changes.filter(status__in=ChangeRequest.OPEN)
    return changes.order_by("-updated_at", "-id")  # id last: the console pages by keyset


def joinable(user, config: Config, environment: Env | None = None) -> list[ChangeRequest]:
    """`user`'s own open change requests that a change to `config` in `environment` could join
    (they may still be edited and do not change it there yet), newest first; at most 20."""
    touching = Change.objects.filter(config=config).filter(
        Q(environment_id=environments.id_of(environment)) | Q(environment__isnull=True)
    )
    return list(
        authored_by(user, open_only=True)
        .filter(status__in=ChangeRequest.ACTIONS["edit"])
        .exclude(pk__in=touching.values("change_request_id"))[:20]
    )

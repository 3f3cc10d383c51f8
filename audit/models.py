"""The audit log: one append-only row per action, stored as data and rendered only for display."""

from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Upper
from django.utils import timezone

# Every action the log may hold; `record` refuses any other name.
ACTIONS = {
    "namespace.created": "created namespace",
    "namespace.policy_changed": "changed the review policy",
    "membership.changed": "changed a member's role",
    "schema.created": "created schema",
    "schema.changed": "changed schema",
    "config.created": "created config",
    "config.changed": "changed config details",
    "environment.added": "added an environment",
    "environment.changed": "renamed an environment",
    "environment.moved": "moved an environment in promotion order",
    "change_request.opened": "opened a change request",
    "change_request.edited": "edited a change request",
    "change_request.submitted": "submitted a change request for review",
    "change_request.approved": "approved a change request",
    "change_request.changes_requested": "requested changes",
    "change_request.commented": "commented",
    "change_request.withdrawn": "withdrew a change request",
    "change_request.rejected": "rejected a change request",
    "change_request.conflicted": "change request became conflicted",
    "change_request.rebased": "rebased a change request",
    "change_request.published": "published a change request",
    "schema_change.opened": "proposed a schema change",
    "schema_change.edited": "edited a schema change",
    "schema_change.submitted": "submitted a schema change for review",
    "schema_change.approved": "approved a schema change",
    "schema_change.changes_requested": "requested changes to a schema change",
    "schema_change.withdrawn": "withdrew a schema change",
    "schema_change.conflicted": "schema change became conflicted",
    "schema_change.rebased": "rebased a schema change",
    "schema_change.published": "published a schema change",
    "schema_change.bypass": "bypassed review of a schema change",
    "version.bypass": "published without the required approvals",
    "version.cancelled": "cancelled a scheduled version",
    "version.restored": "proposed restoring a version",
    "token.created": "created an API token",
    "token.revoked": "revoked an API token",
    "webhook.created": "added a webhook",
    "webhook.removed": "removed a webhook",
    "auth.login": "logged in",
    "auth.login_failed": "failed to log in",
    "auth.locked_out": "was locked out after failed logins",
    "auth.refused_while_locked": "kept trying to log in while locked out",
    "access.denied": "was denied an action",
    "person.signed_up": "signed in for the first time",
    "person.provisioned": "provisioned a person",
    "person.changed": "changed a person's details",
    "person.deactivated": "deactivated a person",
    "person.reactivated": "reactivated a person",
    "person.removed": "removed a person",
    "group.provisioned": "provisioned a group",
    "group.changed": "changed a group",
    "group.removed": "removed a group",
    "group_role.set": "mapped a group to a role",
    "group_role.removed": "removed a group's role",
    "membership.mapped": "got a role from their groups",
    "scim_token.created": "created a SCIM token",
    "scim_token.revoked": "revoked a SCIM token",
}


class AuditEvent(models.Model):
    # Set by `record` (not auto_now_add) so the value sealed into the hash is the one stored.
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Names are copied so the record stays readable whatever later happens to the rows.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64)
    namespace = models.CharField(max_length=100, blank=True)
    config = models.CharField(max_length=100, blank=True)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=300, blank=True)
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    # The tamper-evident chain (audit/chain.py): set once, when the event is sealed just after
    # its transaction commits; `seq` is the event's place in the chain.
    seq = models.PositiveBigIntegerField(null=True, blank=True, unique=True, editable=False)
    prev_hash = models.CharField(max_length=64, blank=True, editable=False)
    hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["-at", "-id"]
        # Each filter of the log, in the log's order (newest first), so that a page of a
        # million events reads only its own rows.
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_time_idx"),
            models.Index(fields=["namespace", "-at", "-id"], name="audit_namespace_idx"),
            models.Index(fields=["namespace", "config", "-at"], name="audit_config_idx"),
            models.Index(fields=["action", "-at", "-id"], name="audit_action_idx"),
            # The actor filter matches usernames without regard to case (iexact: UPPER(…)).
            models.Index(
                Upper("actor_name"), F("at").desc(), F("id").desc(), name="audit_actor_idx"
            ),
        ]

    def __str__(self) -> str:
        actor = self.actor_name or "system"
        return f"{self.at:%Y-%m-%d %H:%M} {actor} {self.action} {self.target_repr}"

    @property
    def action_label(self) -> str:
        return ACTIONS.get(self.action, self.action)

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are append-only.")


class EventReach(models.Model):
    """The admins of `namespace` see `event` too: a schema or token event concerns every
    namespace whose configs use the schema, or that the token reaches, not just one."""

    event = models.ForeignKey(AuditEvent, on_delete=models.PROTECT, related_name="reach")
    namespace = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "namespace"], name="one_reach_per_namespace")
        ]
        indexes = [models.Index(fields=["namespace", "event"], name="audit_reach_idx")]

    def __str__(self) -> str:
        return f"{self.namespace}: {self.event_id}"


class SignInLock(models.Model):
    """A sign-in lock-out (django-axes) as the audit log sees it: one `auth.locked_out` event
    when it starts, and the attempts refused while it holds counted here rather than written
    one event each (they need no account, so anyone could grow the log without limit)."""

    username = models.CharField(max_length=150, blank=True)
    ip = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    refused = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["username", "-started_at"], name="audit_lock_user_idx"),
            models.Index(fields=["ip", "-started_at"], name="audit_lock_ip_idx"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.username or '?'} from {self.ip or '?'} since {self.started_at:%Y-%m-%d %H:%M}"
        )

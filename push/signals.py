"""Where the feed hears about changes: saves of the models that change what a read returns.

Hooked to the models rather than to each service, so that every path that publishes or cancels
a version (the review gate, schema change requests, config creation, import) and every path
that changes who may read (tokens, memberships, users) is covered from this one place. Versions
inserted together (`configs.services.versions_publish`) send no `post_save`; they are heard
through `configs.signals.versions_published` instead.
Webhooks hear about change requests' actions (opened, approved, …) the same way, from the
audit events those actions write.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_delete, post_save

from audit.models import AuditEvent
from configs.models import ApiToken, Membership, Version
from configs.signals import versions_published


def _version_saved(sender, instance: Version, created: bool, update_fields=None, **kwargs):
    from push.feed import version_cancelled, version_published

    if created:
        version_published(instance)
    elif update_fields and "cancelled_at" in update_fields and instance.cancelled_at:
        version_cancelled(instance)


def _versions_published(sender, versions: list[Version], **kwargs):
    """Versions published together (a schema change's): one event each, written together."""
    from push import feed

    feed.versions_published(versions)


def _access_changed(sender, update_fields=None, **kwargs):
    from push.feed import access_changed

    if update_fields and set(update_fields) <= {"last_login", "last_used_at"}:
        return  # a login or a use changes nobody's access
    if kwargs.get("action", "post_").startswith("post_"):
        access_changed()


def _audit_recorded(sender, instance, created: bool, **kwargs):
    """Change requests' actions reach webhooks from their audit events: every action writes
    exactly one, in its own transaction, so a delivery exists exactly when the action does."""
    from push.deliveries import enqueue_for_change_request

    if created:
        enqueue_for_change_request(instance)


def connect() -> None:
    post_save.connect(_audit_recorded, sender=AuditEvent, dispatch_uid="webhooks-audit")
    post_save.connect(_version_saved, sender=Version, dispatch_uid="feed-version")
    versions_published.connect(_versions_published, sender=Version, dispatch_uid="feed-versions")
    for model in (ApiToken, Membership, get_user_model()):
        post_save.connect(_access_changed, sender=model, dispatch_uid=f"feed-save-{model}")
        post_delete.connect(_access_changed, sender=model, dispatch_uid=f"feed-delete-{model}")
    m2m_changed.connect(
        _access_changed, sender=ApiToken.namespaces.through, dispatch_uid="feed-token-scope"
    )

"""Sessions kept per person, and the end of access when a person is deactivated, however that
happens: over SCIM, in the console, in /admin/ or from a shell. A receiver rather than a call in
each place, because /admin/'s user form saves the user itself."""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from simple_history.models import HistoricalRecords

from identity import services

User = get_user_model()


@receiver(user_logged_in, dispatch_uid="identity.session_remembered")
def session_remembered(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is not None:
        services.session_remember(user=user, session_key=session.session_key)


@receiver(user_logged_out, dispatch_uid="identity.session_forgotten")
def session_forgotten(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is not None:
        services.session_forget(session_key=session.session_key)


@receiver(pre_save, sender=User, dispatch_uid="identity.was_active")
def remember_was_active(sender, instance, update_fields=None, **kwargs):
    if update_fields is not None and "is_active" not in update_fields:
        return
    if instance.pk is not None:
        instance._was_active = (
            sender.objects.filter(pk=instance.pk).values_list("is_active", flat=True).first()
        )


def _acting_person():
    """Who deactivated, when a page did it (simple-history keeps the request for its rows)."""
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if getattr(user, "is_authenticated", False) else None


@receiver(post_save, sender=User, dispatch_uid="identity.access_ended")
def access_ended_on_deactivation(sender, instance, created, **kwargs):
    was_active = getattr(instance, "_was_active", None)
    instance._was_active = instance.is_active
    if created or not was_active or instance.is_active:
        return
    actor = getattr(instance, "_deactivated_by", None) or _acting_person()
    via = getattr(instance, "_deactivated_via", None) or ("console" if actor else "a script")
    services.person_access_end(user=instance, actor=actor, via=via)

"""Logins and failed logins, from Django's auth signals."""

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from audit.services import client_ip, record


@receiver(user_logged_in, dispatch_uid="audit.login")
def login_recorded(sender, request, user, **kwargs):
    record("auth.login", actor=user, target=user, details={"ip": client_ip(request)})


@receiver(user_login_failed, dispatch_uid="audit.login_failed")
def failed_login_recorded(sender, credentials, request=None, **kwargs):
    # Only the username: Django masks the password in `credentials`, and we never store it.
    User = get_user_model()
    username = str(credentials.get(User.USERNAME_FIELD, "") or "")[:150]
    account = User.objects.filter(**{User.USERNAME_FIELD: username}).first() if username else None
    record(
        "auth.login_failed",
        actor=None,
        target=account,
        details={"username": username, "ip": client_ip(request)},
    )


@receiver(user_locked_out, dispatch_uid="audit.locked_out")
def locked_out_recorded(sender, request, username, ip_address, **kwargs):
    User = get_user_model()
    username = str(username or "")[:150]
    account = User.objects.filter(**{User.USERNAME_FIELD: username}).first() if username else None
    record(
        "auth.locked_out",
        actor=None,
        target=account,
        details={"username": username, "ip": ip_address or client_ip(request)},
    )

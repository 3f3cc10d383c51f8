"""Logins and failed logins, from Django's auth signals; refusals a page or the API answered
itself, from the library's `access_refused`.

A sign-in refused because its username or address is locked out writes no event of its own:
the lock's one `auth.locked_out` event stands for it, its count goes on the lock
(`SignInLock.refused`), and the 1st, 10th, 100th, … refused attempt of a lock is written as
`auth.refused_while_locked` with the count so far, so the log says how many were refused while
holding a bounded number of rows however many guesses arrive.
"""

import datetime
import logging

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import transaction
from django.db.models import F, Q
from django.dispatch import receiver
from django.utils import timezone

from audit.models import SignInLock
from audit.services import client_ip, record, record_denied
from common.signals import access_refused
from common.signin import REFUSED_WHILE_LOCKED

logger = logging.getLogger(__name__)


def _refused_while_locked(request) -> bool:
    return bool(getattr(request, REFUSED_WHILE_LOCKED, False))


def _account(username: str):
    User = get_user_model()
    return User.objects.filter(**{User.USERNAME_FIELD: username}).first() if username else None


@receiver(user_logged_in, dispatch_uid="audit.login")
def login_recorded(sender, request, user, **kwargs):
    details = {"ip": client_ip(request)}
    if getattr(user, "backend", "") == "identity.oidc.ProviderBackend":
        details["with"] = settings.OIDC_PROVIDER_NAME  # signed in through the identity provider
    record("auth.login", actor=user, target=user, details=details)


@receiver(user_login_failed, dispatch_uid="audit.login_failed")
def failed_login_recorded(sender, credentials, request=None, **kwargs):
    if _refused_while_locked(request):
        return  # counted on the lock instead (locked_out_recorded)
    # Only the username: Django masks the password in `credentials`, and we never store it.
    User = get_user_model()
    username = str(credentials.get(User.USERNAME_FIELD, "") or "")[:150]
    record(
        "auth.login_failed",
        actor=None,
        target=_account(username),
        details={"username": username, "ip": client_ip(request)},
    )


def _is_milestone(count: int) -> bool:
    """1, 10, 100, 1000, …: a bounded number of events, each with the count so far."""
    while count % 10 == 0 and count > 1:
        count //= 10
    return count == 1


@receiver(user_locked_out, dispatch_uid="audit.locked_out")
def locked_out_recorded(sender, request, username, ip_address, **kwargs):
    username = str(username or "")[:150]
    ip = str(ip_address or client_ip(request))[:64]
    now = timezone.now()
    # axes locks for AXES_COOLOFF_TIME (hours) after the failure that locked.
    since = now - datetime.timedelta(hours=float(settings.AXES_COOLOFF_TIME))
    with transaction.atomic():
        lock = (
            SignInLock.objects.select_for_update()
            .filter(Q(username=username) | Q(ip=ip), started_at__gte=since)
            .order_by("-started_at")
            .first()
            if _refused_while_locked(request)
            else None
        )
        if lock is None:
            # The lock starts (or started before anything here counted it): its one event.
            lock = SignInLock.objects.create(username=username, ip=ip, started_at=now)
            record(
                "auth.locked_out",
                actor=None,
                target=_account(username),
                details={"username": username, "ip": ip},
            )
            if not _refused_while_locked(request):
                return
        SignInLock.objects.filter(pk=lock.pk).update(refused=F("refused") + 1)
        lock.refresh_from_db(fields=["refused"])
        if _is_milestone(lock.refused):
            logger.warning(
                "Sign-in refused while locked out: %s from %s, %d attempt(s) refused since %s",
                username or "(no username)",
                ip or "(no address)",
                lock.refused,
                lock.started_at.isoformat(timespec="seconds"),
            )
            record(
                "auth.refused_while_locked",
                actor=None,
                target=_account(username),
                details={
                    "username": username,
                    "ip": ip,
                    "refused": lock.refused,
                    "locked_since": lock.started_at.isoformat(timespec="seconds"),
                },
            )


@receiver(access_refused, dispatch_uid="audit.access_refused")
def refusal_recorded(sender, request, exc, namespace="", config="", **kwargs):
    record_denied(request, exc, namespace=namespace, config=config)

"""Domain errors in words for people and as an HTTP status: the one translator, asked by the
console pages, the admin, the management commands, the watch stream and the API's handler
(common.api.exception_handler). Our own errors say it themselves
(common.errors.DomainError); this adds Django's and DRF's, which services and the API raise."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from rest_framework.exceptions import APIException

from common.errors import DomainError
from common.signals import access_refused

# What a service raises when it refuses; anything else is a bug and should surface.
REFUSALS = (PermissionDenied, ValidationError, DomainError)


def by_field(exc: Exception) -> list[tuple[str | None, str]]:
    """What a person should read about a refusal, as (form field or None, sentence) pairs."""
    if isinstance(exc, DomainError):
        return [(None, exc.headline())] + [(None, line) for line in exc.lines()]
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        return [
            (None if name == "__all__" else name, message)
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
    if isinstance(exc, ValidationError):
        return [(None, message) for message in exc.messages]
    if isinstance(exc, APIException):
        return [(None, _api_detail(exc.detail))]
    if isinstance(exc, Http404):
        return [(None, _first(exc) or "Not found.")]
    if isinstance(exc, PermissionDenied):
        return [(None, _first(exc) or "You may not do this.")]
    return [(None, _first(exc) or "This was refused.")]


def in_words(exc: Exception) -> str:
    """A refusal as one paragraph: 'The value has 2 problems: at /a: …; at /b: ….'"""
    if isinstance(exc, DomainError):
        return exc.for_people()
    return " ".join(f"{name}: {text}" if name else text for name, text in by_field(exc))


def status_of(exc: Exception) -> int:
    """The HTTP status a refusal is answered with."""
    if isinstance(exc, DomainError):
        return exc.status
    if isinstance(exc, APIException):
        return exc.status_code
    if isinstance(exc, Http404):
        return 404
    if isinstance(exc, PermissionDenied):
        return 403
    return 400  # ValidationError


def refusal(request: HttpRequest, exc: Exception, *, namespace: str = "", config: str = "") -> str:
    """`in_words(exc)` for a console page; a refused permission is audited as the API does."""
    if isinstance(exc, PermissionDenied):
        access_refused.send(refusal, request=request, exc=exc, namespace=namespace, config=config)
    return in_words(exc)


def _first(exc: Exception) -> str:
    return str(exc.args[0]) if exc.args and exc.args[0] else ""


def _api_detail(detail) -> str:
    if isinstance(detail, dict):
        return " ".join(_api_detail(v) for v in detail.values())
    if isinstance(detail, list):
        return " ".join(_api_detail(v) for v in detail)
    return f"{detail}"

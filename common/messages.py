"""Domain errors in words for people: the one translator used by console pages, the admin and
management commands (the API has its own, in JSON: common.api.exception_handler)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest

from common.errors import Conflict, InvalidValue, RuleViolation, SchemaInUse
from common.signals import access_refused

# What a service raises when it refuses; anything else is a bug and should surface.
REFUSALS = (PermissionDenied, ValidationError, Conflict, RuleViolation, InvalidValue, SchemaInUse)


def problem_lines(errors: list[dict[str, str]], prefix: str = "") -> list[str]:
    """Value problems `[{path, message}]` as lines: 'at /companies/0/timezone: …'."""
    return [
        prefix + (f"at {error['path']}: " if error.get("path") else "") + error["message"]
        for error in errors
    ]


def by_field(exc: Exception) -> list[tuple[str | None, str]]:
    """What a person should read about a refusal, as (form field or None, sentence) pairs."""
    if isinstance(exc, InvalidValue):
        return [(None, str(exc))] + [(None, line) for line in problem_lines(exc.errors)]
    if isinstance(exc, SchemaInUse):
        return [(None, str(exc))] + [
            (None, line)
            for version, errors in sorted(exc.problems.items())
            for line in problem_lines(errors, f"{version} ")
        ]
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        return [
            (None if name == "__all__" else name, message)
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
    if isinstance(exc, ValidationError):
        return [(None, message) for message in exc.messages]
    return [(None, str(exc) or "You may not do this.")]


def in_words(exc: Exception) -> str:
    """A refusal as one paragraph: 'The value has 2 problems: at /a: …; at /b: ….'"""
    pairs = by_field(exc)
    if isinstance(exc, (InvalidValue, SchemaInUse)):
        head, details = pairs[0][1].rstrip("."), [text for _, text in pairs[1:]]
        text = f"{head}: {'; '.join(details)}" if details else head
        return text if text.endswith((".", "?", "!")) else text + "."
    return " ".join(f"{name}: {text}" if name else text for name, text in pairs)


def refusal(request: HttpRequest, exc: Exception, *, namespace: str = "", config: str = "") -> str:
    """`in_words(exc)` for a console page; a refused permission is audited as the API does."""
    if isinstance(exc, PermissionDenied):
        access_refused.send(refusal, request=request, exc=exc, namespace=namespace, config=config)
    return in_words(exc)

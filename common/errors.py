"""Domain errors: each says, on its own class, the HTTP status the API answers and what a person
reads (as Zulip's `JsonableError` does). The API's handler, the console pages, the admin, the
commands and the watch stream all ask the error (common.messages) rather than printing it."""

from __future__ import annotations

from typing import Any


def problem_lines(errors: list[dict[str, str]], prefix: str = "") -> list[str]:
    """Value problems `[{path, message}]` as lines: 'at /companies/0/timezone: …'."""
    return [
        prefix
        + (f"{error['config']} " if error.get("config") else "")
        + (f"at {error['path']}: " if error.get("path") else "")
        + error["message"]
        for error in errors
    ]


def _sentence(head: str, lines: list[str]) -> str:
    head = head.rstrip(".")
    text = f"{head}: {'; '.join(lines)}" if lines else head
    return text if text.endswith((".", "?", "!")) else text + "."


class DomainError(Exception):
    """A refusal a person reads. `status`: what the API answers; `for_people()`: the words
    every page, command and answer shows; `lines()`: its details, one a line (a page may list
    them); `api_fields()`: what the API adds beside `detail` as data."""

    status = 400

    def headline(self) -> str:
        return str(self.args[0]) if self.args else ""

    def lines(self) -> list[str]:
        return []

    def for_people(self) -> str:
        return _sentence(self.headline(), self.lines()) if self.lines() else self.headline()

    def api_fields(self) -> dict[str, Any]:
        return {}


class InvalidValue(DomainError):
    """A value that does not satisfy its config's schema; `errors` are [{path, message}]."""

    status = 400

    def __init__(self, errors: list[dict[str, str]]):
        self.errors = errors
        count = len(errors)
        super().__init__(f"The value has {count} problem{'s' if count != 1 else ''}.")

    def lines(self) -> list[str]:
        return problem_lines(self.errors)

    def api_fields(self) -> dict[str, Any]:
        return {"errors": self.errors}


class ValueTooLarge(InvalidValue):
    """A value larger, serialized, than CONFIG_MAX_VALUE_BYTES (the API answers 413)."""

    status = 413

    def __init__(self, size: int, limit: int):
        self.size, self.limit = size, limit
        super().__init__(
            [
                {
                    "path": "",
                    "message": f"The value is {size:,} bytes as JSON; a config value may be at "
                    f"most {limit:,} bytes (CONFIG_MAX_VALUE_BYTES). Split it into several "
                    "configs, or keep large data elsewhere and refer to it.",
                }
            ]
        )
        Exception.__init__(self, self.errors[0]["message"])

    def lines(self) -> list[str]:
        return []  # the one problem is the headline


class Conflict(DomainError):
    """The config moved on since the change was based on it, or two changes collided."""

    status = 409


class RuleViolation(DomainError):
    """A request the review rules refuse (too few approvals, effective time going backwards…)."""

    status = 409


class SchemaInUse(DomainError):
    """A schema change that would make live values invalid; `problems` maps config → errors."""

    status = 409

    def __init__(self, problems: dict[str, list[dict[str, str]]]):
        self.problems = problems
        names = ", ".join(sorted(problems))
        super().__init__(f"This change would make the live value of {names} invalid.")

    def lines(self) -> list[str]:
        return [
            line
            for version, errors in sorted(self.problems.items())
            for line in problem_lines(errors, f"{version} ")
        ]

    def api_fields(self) -> dict[str, Any]:
        return {"problems": self.problems}


class BadAddress(DomainError):
    """A request no page or endpoint can handle (common.middleware)."""

    status = 400


class DatabaseUnavailable(DomainError):
    """The database is down or not answering in time: try again shortly (common.faults)."""

    status = 503

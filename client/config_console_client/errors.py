"""What can go wrong when reading a config, as exceptions a pipeline can catch."""

from __future__ import annotations


class ConfigConsoleError(Exception):
    """Anything the client cannot turn into a value; `status` is the HTTP status, if any."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


class ConfigNotFound(ConfigConsoleError, LookupError):
    """The server says there is no such config (or version), or the token cannot read it."""


class MissingOverride(ConfigNotFound):
    """An offline client was asked for a config it has no override for."""


class AuthenticationError(ConfigConsoleError):
    """The server refused the token (missing, wrong, expired or revoked).

    Never answered from a cached copy: a bad token is a mistake to fix, not an outage to ride out.
    """


class ServerUnreachable(ConfigConsoleError):
    """The server could not answer (down, timed out, 5xx, throttled) and no copy was known."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ):
        super().__init__(message, status=status)
        self.retry_after = retry_after


class ServerUnreachableWarning(UserWarning):
    """A value was served from the last-known-good copy because the server could not answer."""


class PreviewUnavailable(ConfigConsoleError):
    """A config set to be read as a preview cannot be: its change request is closed (published,
    rejected or withdrawn), unknown, of another config, or someone else's draft.

    Never answered by `default=` or the live value: a run meant to try a proposal must not
    silently try something else."""


class PreviewWarning(UserWarning):
    """The client reads some configs as previews: proposals, not published values."""


class ProposalRefused(ConfigConsoleError):
    """The server refused a proposed change request: `errors` lists each problem as the server
    gives it (`{change, path, message}` for a value, naming its config), and nothing was
    stored."""

    def __init__(self, message: str, *, status: int | None = None, errors: list | None = None):
        super().__init__(message, status=status)
        self.errors = errors or []


class ContextRefused(ConfigConsoleError, ValueError):
    """A context the config's overrides cannot be evaluated for: not a mapping, or without the
    targetingKey a split needs. `code` is OFREP's (INVALID_CONTEXT, TARGETING_KEY_MISSING)."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code

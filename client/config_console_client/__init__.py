"""Read Config Console configs from pipelines, notebooks and tests.

from config_console_client import ConfigClient

configs = ConfigClient()  # $CONFIG_CONSOLE_URL and $CONFIG_CONSOLE_TOKEN
timezones = configs.get("data-pipelines", "company-timezones")
"""

from ._version import __version__
from ._watch import Watch
from .client import MISSING, ClientStats, ConfigClient
from .errors import (
    AuthenticationError,
    ConfigConsoleError,
    ConfigNotFound,
    ContextRefused,
    MissingOverride,
    PreviewUnavailable,
    PreviewWarning,
    ProposalRefused,
    ServerUnreachable,
    ServerUnreachableWarning,
)
from .evaluation import Evaluation, EvaluationError, evaluate

__all__ = [
    "MISSING",
    "AuthenticationError",
    "ClientStats",
    "ConfigClient",
    "ConfigConsoleError",
    "ConfigNotFound",
    "ContextRefused",
    "Evaluation",
    "EvaluationError",
    "MissingOverride",
    "PreviewUnavailable",
    "PreviewWarning",
    "ProposalRefused",
    "ServerUnreachable",
    "ServerUnreachableWarning",
    "Watch",
    "__version__",
    "evaluate",
]

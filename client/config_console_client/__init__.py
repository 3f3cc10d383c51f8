"""Read Config Console configs from pipelines, notebooks and tests.

from config_console_client import ConfigClient

configs = ConfigClient()  # $CONFIG_CONSOLE_URL and $CONFIG_CONSOLE_TOKEN
timezones = configs.get("data-pipelines", "company-timezones")
"""

__version__ = "0.1.0"

from ._watch import Watch  # noqa: E402
from .client import MISSING, ClientStats, ConfigClient  # noqa: E402
from .errors import (  # noqa: E402
    AuthenticationError,
    ConfigConsoleError,
    ConfigNotFound,
    MissingOverride,
    PreviewUnavailable,
    PreviewWarning,
    ServerUnreachable,
    ServerUnreachableWarning,
)

__all__ = [
    "MISSING",
    "AuthenticationError",
    "ClientStats",
    "ConfigClient",
    "ConfigConsoleError",
    "ConfigNotFound",
    "MissingOverride",
    "PreviewUnavailable",
    "PreviewWarning",
    "ServerUnreachable",
    "ServerUnreachableWarning",
    "Watch",
    "__version__",
]

"""What the change request page offers to try a proposal before approval, and who will get it."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from configs import consumers, selectors
from configs.consumers import Reader
from reviews.models import Change, ChangeRequest


@dataclass(frozen=True)
class TryIt:
    """The change request page's "Try it before approval" and "Read by" facts."""

    readers: list[Reader]
    url: str = ""  # the preview's address: empty when this person cannot preview it
    value_url: str = ""
    environment: str = ""
    curl: str = ""
    python: str = ""
    keeping: list[Reader] = field(default_factory=list)  # pinned to an older version
    install: str = ""  # one line that installs the Python client
    variables: str = ""  # every variable the snippets need, as shell lines
    token_url: str = ""  # the tokens page with a read token for this namespace chosen

    @property
    def getting(self) -> int:
        """How many readers get the new value on their next read."""
        return len(self.readers) - len(self.keeping)


def can_preview(user, change_request: ChangeRequest) -> bool:
    """Open change requests can be previewed; a draft only by its author (the API's rule and
    the page's)."""
    if change_request.is_draft:
        return user.pk == change_request.author_id
    return change_request.is_open


def try_it(request, change_request: ChangeRequest, change: Change) -> TryIt:
    """The snippets for trying `change` of `change_request` and its config's readers, for the
    change request's page."""
    config = change.config
    # The readers of the environment it changes (each token reads one); a new config's first
    # value is for every environment, and nobody reads it yet.
    env = change.env
    readers = consumers.consumers_of(
        config=config,
        live=selectors.live_version(config, environment=env) if env is not None else None,
        environment=env,
    )
    keeping = [reader for reader in readers if reader.pinned]
    if not can_preview(request.user, change_request):
        return TryIt(readers=readers, keeping=keeping)
    name = f"{config.namespace.slug}/{config.key}"
    query = f"?change_request={change_request.pk}"
    args = [config.namespace.slug, config.key]
    url = request.build_absolute_uri(reverse("api:config", args=args)) + query
    value_url = request.build_absolute_uri(reverse("api:config_value", args=args)) + query
    base = request.build_absolute_uri("/")
    token_name = f"Trying #{change_request.pk}"
    token_url = (
        reverse("tokens:list")
        + "?"
        + urlencode({"namespace": config.namespace.slug, "name": token_name})
        + "#create-token"
    )
    return TryIt(
        readers=readers,
        keeping=keeping,
        url=url,
        value_url=value_url,
        environment=f"CONFIG_CONSOLE_PREVIEW={name}={change_request.pk}",
        install=settings.CLIENT_INSTALL_COMMAND,
        token_url=token_url,
        variables=(
            f"export CONFIG_CONSOLE_URL={base.rstrip('/')}\n"
            "export CONFIG_CONSOLE_TOKEN=…  # your read token\n"
            f"export CONFIG_CONSOLE_PREVIEW={name}={change_request.pk}\n"
        ),
        curl=f'curl -H "Authorization: Bearer $CONFIG_CONSOLE_TOKEN" "{value_url}"',
        python=(
            "from config_console_client import ConfigClient\n\n"
            "# Reads $CONFIG_CONSOLE_URL and $CONFIG_CONSOLE_TOKEN\n"
            f'configs = ConfigClient(previews={{"{name}": {change_request.pk}}})\n'
            f'value = configs.get("{config.namespace.slug}", "{config.key}")'
            f"  # the proposal of #{change_request.pk}\n"
        ),
    )

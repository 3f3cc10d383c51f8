"""Small display helpers for the console templates."""

import json
from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils.html import format_html

from configs import environments, times

register = template.Library()


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


@register.simple_tag
def when(instant):
    """A time people can read, in the zone the page names: "Mon 30 Nov 2026, 00:00 UTC (in 3
    days)"."""
    if instant is None:
        return ""
    return format_html(
        '<time datetime="{}">{}</time> <span class="quiet">({})</span>',
        instant.isoformat(),
        times.in_words(instant),
        times.relative(instant),
    )


@register.simple_tag
def in_words(instant):
    """Only the absolute time, in words and in the page's zone."""
    if instant is None:
        return ""
    return format_html(
        '<time datetime="{}">{}</time>', instant.isoformat(), times.in_words(instant)
    )


@register.filter
def relative(instant) -> str:
    """ "in 3 days", "2 hours ago"."""
    return times.relative(instant) if instant else ""


@register.simple_tag
def zone_name() -> str:
    return times.zone_name()


@register.simple_tag
def typed_example() -> str:
    """ "2026-12-08 09:00": tomorrow morning, as an example of a time to type."""
    return times.typed_example()


@register.filter
def typed_time(instant) -> str:
    """An instant as a person would type it, in the page's zone ("2026-11-30 00:00")."""
    return times.typed(instant) if instant else ""


@register.simple_tag
def env_url(name, *args, environment=None, **query) -> str:
    """`{% url name *args %}` as seen in `environment`: with `?environment=` unless it is the
    default one (so permalinks stay as they were), and `query`'s non-empty parameters."""
    params = {}
    if environment is not None and environment.id != environments.default().id:
        params["environment"] = environment.name
    params.update({key: value for key, value in query.items() if value not in (None, "")})
    url = reverse(name, args=args)
    return f"{url}?{urlencode(params)}" if params else url


@register.filter
def env_badge(change) -> str:
    """A small badge naming the environment a change is for (a new config's first value is for
    every environment; a schema's change has none)."""
    if getattr(change, "config_id", None) is None:
        return ""
    env = change.env
    label = env.label if env is not None else "Every environment"
    return format_html('<span class="badge env" title="Environment">{}</span>', label)


@register.filter
def config_page(change) -> str:
    """The page of a change's config, in the change's environment."""
    config = change.config
    return env_url("configs:detail", config.namespace.slug, config.key, environment=change.env)

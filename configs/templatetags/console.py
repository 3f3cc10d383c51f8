"""Small display helpers for the console templates."""

import json

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil

register = template.Library()


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


@register.simple_tag
def when(instant):
    """A time people can read: absolute (in the viewer's own zone, via console.js) and relative."""
    if instant is None:
        return ""
    now = timezone.now()
    relative = (
        f"in {timeuntil(instant, now)}" if instant > now else f"{timesince(instant, now)} ago"
    )
    local = timezone.localtime(instant)
    return format_html(
        '<time datetime="{}" data-local-time title="{}">{}</time> <span class="quiet">({})</span>',
        instant.isoformat(),
        relative,
        local.strftime("%Y-%m-%d %H:%M %Z"),
        relative,
    )

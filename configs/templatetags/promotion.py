"""What a config's page offers to promote: `{% promotion_steps config as steps %}` gives, for
each environment whose live value (or overrides) the next one lacks, that difference. Read here
so templates/configs/_promote.html stays one self-contained include."""

from __future__ import annotations

from dataclasses import dataclass

from django import template

from configs import access, environments
from configs.drift import Difference, differences
from configs.environments import Env
from configs.models import Config, Role

register = template.Library()


@dataclass(frozen=True)
class Step:
    source: Env
    target: Env
    difference: Difference


@register.simple_tag(takes_context=True)
def promotion_steps(context, config: Config) -> list[Step]:
    """Each "promote from this environment to the next" that would change something, for
    people who may propose changes to `config` (nothing for the others)."""
    user = context.get("user")
    if user is None or not access.has_role(user, config.namespace, Role.EDITOR):
        return []
    every = environments.every()
    steps = []
    for source, target in zip(every, every[1:], strict=False):
        for difference in differences(
            namespace=config.namespace, source=source, target=target, keys=[config.key]
        ):
            steps.append(Step(source, target, difference))
    return steps

"""A config's live value in each environment, beside the environment before it: what a config
page shows so a person sees, in words, what promoting would change."""

from __future__ import annotations

from dataclasses import dataclass, field

from configs import environments
from configs.diff import first_changes, sentence
from configs.environments import Env
from configs.models import Config, Version, canonical_json
from configs.override_words import override_sentences

# Differences told per environment; the rest are counted (the full diff is a page away).
TOLD_AT_MOST = 5


@dataclass
class InEnvironment:
    """One environment's live version of a config, and what differs from the one before."""

    env: Env
    live: Version | None
    previous: Env | None = None
    same_as_previous: bool = False
    differences: list[str] = field(default_factory=list)
    more: int = 0


def _same(a: Version, b: Version) -> bool:
    return a.value_json == b.value_json and canonical_json(a.overrides) == canonical_json(
        b.overrides
    )


def _differences(before: Version, after: Version, schema: dict | None) -> tuple[list[str], int]:
    changes, total = first_changes(before.value, after.value, schema, limit=TOLD_AT_MOST)
    told = [sentence(change) for change in changes]
    told += override_sentences(before.value, before.overrides, after.value, after.overrides, schema)
    shown = told[:TOLD_AT_MOST]
    return shown, total - len(changes) + len(told) - len(shown)


def side_by_side(config: Config, lives: dict[int, Version]) -> list[InEnvironment]:
    """Each environment in promotion order with `config`'s live version there (`lives`, by
    environment id: selectors.live_versions) and, in words, what differs from the environment
    before it."""
    schema = config.schema.body if config.schema_id else None
    rows = []
    previous: InEnvironment | None = None
    for env in environments.every():
        row = InEnvironment(env=env, live=lives.get(env.id))
        if previous is not None:
            row.previous = previous.env
            if row.live is not None and previous.live is not None:
                if _same(previous.live, row.live):
                    row.same_as_previous = True
                else:
                    row.differences, row.more = _differences(previous.live, row.live, schema)
        rows.append(row)
        previous = row
    return rows

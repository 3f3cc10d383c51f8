"""Drift: which configs of a namespace differ between two environments, and how, in words.

A config differs when its live value or its overrides differ. The words say what promoting
would change in the second environment ("Companies: added umbrella (Europe/London)"), built by
the same diff as every other diff (configs/diff.py, configs/override_words.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Subquery
from django.utils import timezone

from configs.diff import first_changes, sentence
from configs.environments import Env
from configs.models import Config, Namespace, Version, canonical_json
from configs.override_words import override_sentences
from configs.selectors import _live

# A summary tells this many changes at most and counts the rest: a list of thousands of
# companies added in staging must not make the drift list as long as the value.
SUMMARY_CHANGES = 5


@dataclass(frozen=True)
class Difference:
    """One config whose live value (or overrides) in `source` is not its live one in
    `target`."""

    config: Config
    source: Version
    target: Version | None
    sentences: tuple[str, ...]
    more: int = 0

    @property
    def key(self) -> str:
        return self.config.key

    @property
    def summary(self) -> str:
        """What promoting it would change in the target, in words, one sentence after the
        other."""
        told = "; ".join(self.sentences) or "Only the order of its overrides differs"
        if self.more:
            told += f"; and {self.more} more change{'s' if self.more != 1 else ''}"
        return told


def _same(a: Version | None, b: Version | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.value_json == b.value_json and canonical_json(a.overrides) == canonical_json(
        b.overrides
    )


def _words(config: Config, source: Version, target: Version | None) -> tuple[list[str], int]:
    schema = config.schema.body if config.schema is not None else None
    before = target.value if target is not None else None
    changes, total = first_changes(before, source.value, schema, limit=SUMMARY_CHANGES)
    told = [sentence(change) for change in changes]
    told += override_sentences(
        before,
        target.overrides if target is not None else [],
        source.value,
        source.overrides,
        schema,
    )
    shown = told[:SUMMARY_CHANGES]
    return shown, (total - len(changes)) + (len(told) - len(shown))


def differences(
    *, namespace: Namespace, source: Env, target: Env, keys: Sequence[str] | None = None
) -> list[Difference]:
    """The configs of `namespace` (or those of `keys`) whose live value or overrides in
    `source` differ from their live ones in `target`, by key; a config with no live value in
    `source` has nothing to promote and is left out. Two queries, whatever the number of
    configs."""
    now = timezone.now()
    configs = (
        Config.objects.filter(namespace=namespace)
        .select_related("namespace", "schema")
        .annotate(
            source_id=Subquery(_live(now, source).values("id")[:1]),
            target_id=Subquery(_live(now, target).values("id")[:1]),
        )
        .filter(source_id__isnull=False)
        .order_by("key")
    )
    if keys is not None:
        configs = configs.filter(key__in=keys)
    rows = list(configs)
    versions = Version.objects.in_bulk(
        [pk for row in rows for pk in (row.source_id, row.target_id) if pk is not None]
    )
    found = []
    for row in rows:
        source_version = versions[row.source_id]
        target_version = versions.get(row.target_id)
        if _same(source_version, target_version):
            continue
        told, more = _words(row, source_version, target_version)
        found.append(Difference(row, source_version, target_version, tuple(told), more))
    return found

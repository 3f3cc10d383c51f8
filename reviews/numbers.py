"""Change request numbers: one series for every kind of change request."""

from __future__ import annotations

from django.db import models


class ChangeRequestNumber(models.Model):
    """One row per change request of either kind, config or schema: both take their ids from
    here, so an id names one change request and the same addresses (`/api/v1/change-requests/
    <id>/…`, `/changes/<id>/`) work for both. A table rather than a database sequence because
    SQLite has no sequence two tables can share."""

    class Kind(models.TextChoices):
        CONFIG = "config", "Config change"
        SCHEMA = "schema", "Schema change"

    kind = models.CharField(max_length=10, choices=Kind.choices)

    def __str__(self) -> str:
        return f"#{self.pk} ({self.get_kind_display().lower()})"


def take_number(record: models.Model, kind: str) -> None:
    """Give a new change request of either kind its id from the shared numbers."""
    if record.pk is None:
        record.pk = ChangeRequestNumber.objects.create(kind=kind).pk

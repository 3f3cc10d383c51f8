"""Signals of changes that bypass model saves.

`versions_published`: sent by `services.versions_publish` with `versions` (the new Version
rows, saved, with their ids) inside the transaction that wrote them. Versions published one at
a time are heard through `post_save` instead; both reach the change feed (push/signals.py).
"""

from django.dispatch import Signal

versions_published = Signal()

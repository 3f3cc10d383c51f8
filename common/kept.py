"""Parses kept by the bytes parsed, for the request bodies clients send again and again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class KeptByBody(Generic[T]):
    """`parse`, remembering what it answered for bodies of up to `largest` bytes, at most
    `entries` of them (then all are forgotten at once: the few bodies in use come back at once).

    For the event loop's evaluations (configs/api/hot.py): OpenFeature providers and pipelines
    send the same few contexts all day, and a strict JSON parse costs more than the rest of a warm
    evaluation. What `parse` answers is shared between callers, so they must only read it.
    The bounds bound memory: a body of `largest` bytes may parse into some twenty times as much
    (a list of empty lists), so at most about `entries` × 20 × `largest` (20 MiB by default); and
    callers keep only what a token allowed to evaluate sent. functools.lru_cache would do, but it
    keeps a bounded count of bodies of any size; this keeps none over `largest`, and costs one
    dict lookup."""

    def __init__(
        self, parse: Callable[[bytes], T], *, largest: int = 1024, entries: int = 1024
    ) -> None:
        self.parse = parse
        self.largest = largest
        self.entries = entries
        self.kept: dict[bytes, T] = {}

    def __call__(self, body: bytes) -> T:
        try:
            return self.kept[body]
        except KeyError:
            pass
        parsed = self.parse(body)
        if len(body) <= self.largest:
            if len(self.kept) >= self.entries:
                self.kept.clear()
            self.kept[body] = parsed
        return parsed

    def forget(self) -> None:
        self.kept.clear()

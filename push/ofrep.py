"""`GET /ofrep/v1/stream?ticket=…`: the OpenFeature providers' event stream (OFREP ADR-0008).

The bulk evaluation (configs/api/ofrep.py) names this address with a ticket, the token's hash
signed, since a browser's or node's EventSource sends no Authorization header. After every
publish that changes a live value in a namespace the token reads (the change feed's `live`
events: a publish, or a scheduled version reaching its time) the stream sends
`data: {"type": "refetchEvaluation", "etag": "<event id>", "lastModified": <unix seconds>}` with
the event's `id:`, as unnamed (`message`) events; the provider then asks the bulk evaluation
again. `Last-Event-ID` resumes: a publish missed while away is told at once. A comment line every
15 s keeps proxies from closing it; it ends when the token is revoked or expires, or reads no
namespace any more. Under WSGI it is refused (503) and the bulk answer names no stream.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.core import signing
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils import timezone

from configs import environments
from configs.api.lookup import token_lookup
from configs.ofrep import STREAM_SALT, readable_namespaces
from push import feed as change_feed
from push.feed import feed
from push.models import ChangeEvent
from push.watch import HEARTBEAT_EVERY, LOOK_AGAIN_EVERY, _in_thread


@dataclass
class Listener:
    key_hash: str
    namespaces: tuple[str, ...] = ()
    expires_at: datetime | None = None
    seen: set[int] = field(default_factory=set)
    environment_id: int = 0  # the token's environment: only its publishes change answers

    def still_allowed(self) -> bool:
        """Whether the token is still usable and reads a namespace; refreshes which (asks the
        database)."""
        now = timezone.now()
        token = token_lookup(self.key_hash, None, None, now)
        if (
            token is None
            or not token.user_is_active
            or token.revoked_at is not None
            or (token.expires_at is not None and token.expires_at <= now)
        ):
            return False
        self.expires_at = token.expires_at
        self.environment_id = environments.id_of(environments.by_id(token.environment_id))
        self.namespaces = readable_namespaces(
            token_id=token.id, user_id=token.user_id, superuser=token.user_is_superuser
        )
        return bool(self.namespaces)


def _refused(status: int, details: str) -> JsonResponse:
    return JsonResponse({"errorDetails": details}, status=status)


def _refetch(event_id: int, effective_at: str | None) -> bytes:
    data = {"type": "refetchEvaluation", "etag": str(event_id)}
    if effective_at:
        instant = datetime.fromisoformat(effective_at.replace("Z", "+00:00"))
        data["lastModified"] = int(instant.timestamp())  # type: ignore[assignment]
    return f"id: {event_id}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def ofrep_stream(request: HttpRequest) -> HttpResponse:
    """The stream described above."""
    if request.method != "GET":
        return _refused(405, "Open the stream with GET.")
    if not isinstance(request, ASGIRequest):
        return _refused(503, "Event streams need the ASGI server (see the README); poll instead.")
    try:
        key_hash = signing.Signer(salt=STREAM_SALT).unsign(request.GET.get("ticket", ""))
    except signing.BadSignature:
        return _refused(
            401, "The stream's ticket is not valid: take the address a bulk evaluation names."
        )
    listener = Listener(key_hash=key_hash)
    if not await _in_thread(listener.still_allowed):
        return _refused(401, "The token of this stream is no longer valid, or reads nothing.")
    resume = request.META.get("HTTP_LAST_EVENT_ID", "").strip()
    last_id = int(resume) if resume.isascii() and resume.isdigit() else None
    response = StreamingHttpResponse(_stream(listener, last_id), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


ofrep_stream.csrf_exempt = True  # type: ignore[attr-defined]


def _live_events_after(
    last_id: int, namespaces: tuple[str, ...], environment_id: int
) -> list[dict]:
    events = ChangeEvent.objects.filter(
        change_feed.in_environment(environment_id),
        namespace__in=namespaces,
        id__gt=last_id,
        kind=ChangeEvent.Kind.LIVE,
    ).order_by("id")
    return [event.message() for event in events[:500]]


async def _stream(listener: Listener, last_id: int | None):
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[dict] = asyncio.Queue()

    def hear(message: dict) -> None:
        if message.get("kind") == "access" or (
            message.get("namespace") in listener.namespaces
            and message.get("environment_id") == listener.environment_id
        ):
            loop.call_soon_threadsafe(inbox.put_nowait, message)

    feed.ensure_started()
    feed.subscribe(hear)  # listen first, then read what is there: nothing falls between
    try:
        epoch = feed.epoch
        if last_id is None:
            last_id = await _in_thread(change_feed.latest_id)
        yield b"retry: 1000\n\n"

        async def catch_up():
            nonlocal last_id
            events = await _in_thread(
                _live_events_after, last_id, listener.namespaces, listener.environment_id
            )
            if events:
                last_id = events[-1]["id"]
                yield _refetch(last_id, events[-1].get("effective_at"))

        async for chunk in catch_up():
            yield chunk
        written = time.monotonic()
        while True:
            wait = HEARTBEAT_EVERY - (time.monotonic() - written)
            if not feed.ordered:
                wait = min(wait, LOOK_AGAIN_EVERY)
            if listener.expires_at is not None:
                wait = min(wait, (listener.expires_at - timezone.now()).total_seconds())
            try:
                message = await asyncio.wait_for(inbox.get(), max(wait, 0.0))
            except TimeoutError:
                message = None
            if listener.expires_at is not None and listener.expires_at <= timezone.now():
                return
            if message is not None and message.get("kind") == "access":
                if not await _in_thread(listener.still_allowed):
                    return
                continue
            trusted = feed.ordered and feed.epoch == epoch
            if message is not None and trusted:
                if message["id"] > last_id and message.get("kind") == ChangeEvent.Kind.LIVE:
                    last_id = message["id"]
                    written = time.monotonic()
                    yield _refetch(last_id, message.get("effective_at"))
                continue
            if not trusted:
                # Polling, or the listener (re)connected: events, a revoke among them, may have
                # been missed. The table says what was published; the token is asked again.
                if feed.epoch != epoch and not await _in_thread(listener.still_allowed):
                    return
                epoch = feed.epoch
                async for chunk in catch_up():
                    written = time.monotonic()
                    yield chunk
            if time.monotonic() - written >= HEARTBEAT_EVERY:
                if not feed.ordered and not await _in_thread(listener.still_allowed):
                    return
                written = time.monotonic()
                yield b": still here\n\n"
    finally:
        feed.unsubscribe(hear)

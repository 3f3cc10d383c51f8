"""`GET /api/v1/namespaces/<ns>/watch/`: a namespace's changes as a server-sent event stream.

Each event is one `ChangeEvent` of one environment's (`?environment=<name>`, or the token's, as
every read: configs/api/access.py), its data naming it: `event: live` when a config's live
version changes, `event: scheduled` when a future version is published or cancelled, with its
id, so `Last-Event-ID` resumes with nothing missed. A comment line every 15 seconds keeps
proxies from closing it. The stream ends when its token is revoked or expires, or its person
loses the namespace.

A stream is an async view: an ASGI server (uvicorn) holds thousands of them open for the cost
of a coroutine each. Under WSGI a never-ending response would hold a worker forever, so there
the view refuses (503), and clients fall back to polling.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import datetime

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.utils import timezone
from rest_framework.exceptions import (
    APIException,
    AuthenticationFailed,
    MethodNotAllowed,
    NotAuthenticated,
    NotFound,
    ParseError,
)

from common.messages import in_words, status_of
from common.postgresql.base import forget_no_answer
from configs import access
from configs.api.access import ENVIRONMENT, environment_to_read
from configs.api.authentication import may_read, token_row
from configs.models import Namespace
from push import feed as change_feed
from push.feed import feed

HEARTBEAT_EVERY = 15.0
# Where events arrive by polling (no NOTIFY), the stream looks at the table this often.
LOOK_AGAIN_EVERY = 1.0
NO_NAMESPACE = "No such namespace, or no access to it."


@dataclass
class Watcher:
    """Who holds the stream: a token (by its secret) or a signed-in person."""

    namespace: str
    secret: str | None
    user_id: int | None
    expires_at: datetime | None = None
    environment_id: int = 0  # the environment whose events it hears

    def still_allowed(self) -> bool:
        """Whether the token or person may still read the namespace (asks the database)."""
        now = timezone.now()
        if self.secret is not None:
            try:
                token = token_row(self.secret, self.namespace, None, now)
            except AuthenticationFailed:
                return False
            self.expires_at = token.expires_at
            return may_read(token)
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.filter(pk=self.user_id, is_active=True).first()
        namespace = Namespace.objects.filter(slug=self.namespace).first()
        if user is None or namespace is None:
            return False
        access.forget_roles(user)
        return access.role_in(user, namespace) is not None


async def _in_thread(function, *args):
    """Run database work off the event loop, on a shared pool of threads (not a thread per
    stream); each call gives its connection back to the process's connection pool when done, so
    idle threads hold none. Each call is its own question to the database: a timeout met by
    another stream's call on the same thread does not refuse it (see common.postgresql)."""

    def call():
        forget_no_answer()
        close_old_connections()
        try:
            return function(*args)
        finally:
            close_old_connections()

    return await sync_to_async(call, thread_sensitive=False)()


class NeedsASGI(APIException):
    status_code = 503
    default_detail = "Watch streams need the ASGI server (see the README); poll with ETags instead."


def _refused(exc: Exception) -> JsonResponse:
    """The stream's refusal in the API's words and status (asked of the error, as the API's
    handler does)."""
    status = status_of(exc)
    response = JsonResponse({"detail": in_words(exc)}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = "Bearer"
    return response


_UNSAID = ("id", "kind", "namespace", "version_id", "environment_id")  # the servers' own


def _format(message: dict) -> bytes:
    data = {k: v for k, v in message.items() if k not in _UNSAID}
    body = json.dumps(data, separators=(",", ":"))
    return f"id: {message['id']}\nevent: {message['kind']}\ndata: {body}\n\n".encode()


async def _authenticate(request, namespace: str) -> Watcher | JsonResponse:
    watcher = await _identify(request, namespace)
    if isinstance(watcher, JsonResponse):
        return watcher
    token_environment_id = watcher.environment_id or None

    def environment():
        asked = request.GET.get(ENVIRONMENT)
        return environment_to_read(asked, token_environment_id, token=watcher.secret is not None)

    try:
        watcher.environment_id = (await _in_thread(environment)).id
    except Http404 as exc:
        return _refused(exc)
    return watcher


async def _identify(request, namespace: str) -> Watcher | JsonResponse:
    """Who holds the stream (a token's Watcher holds its environment's id, 0 for none)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            return _refused(NotAuthenticated("The Authorization header must be 'Bearer <token>'."))
        watcher = Watcher(namespace=namespace, secret=secret.strip(), user_id=None)
        try:
            token = await _in_thread(token_row, watcher.secret, namespace, None, timezone.now())
        except AuthenticationFailed as exc:
            return _refused(exc)
        if not may_read(token):
            return _refused(NotFound(NO_NAMESPACE))
        watcher.expires_at = token.expires_at
        watcher.environment_id = token.environment_id or 0
        return watcher
    user = await request.auser()
    if not user.is_authenticated:
        return _refused(NotAuthenticated())
    watcher = Watcher(namespace=namespace, secret=None, user_id=user.pk)
    if not await _in_thread(watcher.still_allowed):
        return _refused(NotFound(NO_NAMESPACE))
    return watcher


async def namespace_watch(request, namespace: str):
    """Follow a namespace's changes (see the module's docstring)."""
    if request.method != "GET":
        return _refused(MethodNotAllowed(request.method))
    if not isinstance(request, ASGIRequest):
        return _refused(
            NeedsASGI(
                "Watch streams need the ASGI server (see the README); poll with ETags instead."
            )
        )
    watcher = await _authenticate(request, namespace)
    # A signed-in person's session was read on the request's own thread, which would keep that
    # connection for as long as the stream stays open: give it back to the pool now.
    await sync_to_async(close_old_connections)()
    if isinstance(watcher, JsonResponse):
        return watcher
    resume = request.META.get("HTTP_LAST_EVENT_ID", "").strip()
    if resume and not (resume.isascii() and resume.isdigit()):
        return _refused(
            ParseError(f"Last-Event-ID must be an event id (a whole number), not {resume!r}.")
        )
    response = StreamingHttpResponse(
        _stream(watcher, int(resume) if resume else None), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # proxies must pass each event on at once
    return response


namespace_watch.csrf_exempt = True


async def _stream(watcher: Watcher, last_id: int | None):
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[dict] = asyncio.Queue()

    def hear(message: dict) -> None:
        if message.get("kind") == "access" or (
            message.get("namespace") == watcher.namespace
            and message.get("environment_id") == watcher.environment_id
        ):
            loop.call_soon_threadsafe(inbox.put_nowait, message)

    feed.ensure_started()
    # Listen first, then read what is already there: nothing falls between the two.
    feed.subscribe(hear)
    try:
        epoch = feed.epoch
        if last_id is None:
            last_id = await _in_thread(change_feed.latest_id)
        yield b"retry: 1000\n\n"

        async def catch_up():
            nonlocal last_id
            for message in await _in_thread(
                change_feed.events_after, last_id, watcher.namespace, watcher.environment_id
            ):
                last_id = message["id"]
                yield _format(message)

        async for chunk in catch_up():
            yield chunk
        written = time.monotonic()
        while True:
            wait = HEARTBEAT_EVERY - (time.monotonic() - written)
            if not feed.ordered:
                wait = min(wait, LOOK_AGAIN_EVERY)
            if watcher.expires_at is not None:
                wait = min(wait, (watcher.expires_at - timezone.now()).total_seconds())
            try:
                message = await asyncio.wait_for(inbox.get(), max(wait, 0.0))
            except TimeoutError:
                message = None
            if watcher.expires_at is not None and watcher.expires_at <= timezone.now():
                return
            if message is not None and message.get("kind") == "access":
                if not await _in_thread(watcher.still_allowed):
                    return
                continue
            trusted = feed.ordered and feed.epoch == epoch
            if message is not None and trusted:
                if message["id"] > last_id:
                    last_id = message["id"]
                    written = time.monotonic()
                    yield _format(message)
                continue
            if not trusted:
                # Polling, or the listener reconnected (events may have been missed): the
                # table says what happened.
                epoch = feed.epoch
                async for chunk in catch_up():
                    written = time.monotonic()
                    yield chunk
            if time.monotonic() - written >= HEARTBEAT_EVERY:
                # Without NOTIFY a revoke elsewhere is not heard: look for it now and then.
                if not feed.ordered and not await _in_thread(watcher.still_allowed):
                    return
                written = time.monotonic()
                yield b": still here\n\n"
    finally:
        feed.unsubscribe(hear)

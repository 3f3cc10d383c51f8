"""The token read pipelines make all day, answered in the event loop, before Django.

Under ASGI every sync view, and each middleware around it, runs through a thread hop
(`sync_to_async`): the deployment read at a quarter of the rate sync workers reach (issue 25).
This ASGI layer (configconsole/asgi.py puts it in front of Django) answers a warm read itself,
from this process's memory only, with no thread, no query and no wait:

- `GET /api/v1/configs/<namespace>/<key>/` and `…/value/`, no query string but the token's own
  `?environment=<name>`, a bearer token;
- the token, its scope, its person's role and the config's live version from push.memory,
  which the change feed keeps current and which is used only while the feed is known to be
  healthy (so a publish is seen as soon as the feed delivers it, and a database that is down or
  hung makes every read go to Django, which answers 503 with Retry-After);
- the version's prepared bytes from this process (configs/api/reads.py); a matching
  If-None-Match is a 304 without them;
- the read noted for "Read by" (configs/consumers.py) as Django's view notes it.

A namespace's bundle, `GET /api/v1/namespaces/<namespace>/bundle/`, is answered the same way:
the namespace's live versions and the bundle's ETag from push.memory (forgotten at any change of
one of its configs), the whole bundle's bytes from this process (configs/api/reads.py), each of
its configs noted as read.

The same holds for OpenFeature's single evaluation, `POST /ofrep/v1/evaluate/flags/<key>`
(configs/api/ofrep.py): the body is read here, and a warm flag whose answer needs no pattern
match (`matches` may take up to its timeout, which would stall every request of the loop) is
answered from memory with the bytes Django would send; anything else reaches Django with the
body replayed. And for a config's evaluation, `POST /api/v1/configs/<namespace>/<key>/evaluate/`
(configs/api/evaluate.py), with no query string but the token's own `?environment=`: a plain
JSON body (evaluate.plain_context) for a warm config whose overrides run no `matches` pattern,
with the token checks and "Read by" of a warm read.

Anything else, and anything not yet in memory, goes to Django unchanged: its hot view
(`with_hot_path`) answers and remembers, and the next read is answered here. Reads are limited
(API_READ_RATE) by Django's path only, so with a read limit set every read goes there. A token's
last use, due once a minute, is written by the recorder's thread, as "Read by" is.

The headers are Django's own: the first time Django answers a hot read for a host and scheme,
this layer keeps the headers its middleware sent (security policies, caching) and answers later
reads with the same, changing only the ETag. So a host Django would refuse, or a plain-HTTP
request it would redirect, never gets an answer here.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from configs import consumers, ofrep
from configs.api import evaluate, reads
from configs.api.access import only_environment, reads_own_environment
from configs.api.authentication import may_read, use_is_due
from configs.api.lookup import TokenRow
from configs.services import token_hash
from push.memory import memory

# Django's `slug` path converter, and the two addresses of configconsole/api_urls.py.
READ = re.compile(r"/api/v1/configs/([-a-zA-Z0-9_]+)/([-a-zA-Z0-9_]+)/(value/)?")
BUNDLE = re.compile(r"/api/v1/namespaces/([-a-zA-Z0-9_]+)/bundle/")
FLAG = re.compile(r"/ofrep/v1/evaluate/flags/([^/]+)")
EVALUATE = re.compile(r"/api/v1/configs/([-a-zA-Z0-9_]+)/([-a-zA-Z0-9_]+)/evaluate/")
BODY_LIMIT = 64 * 1024  # a larger evaluation request goes to Django, which limits bodies
_SKIPPED_HEADERS = {b"etag", b"content-length"}
_LOOKED_AT = {
    b"authorization",
    b"host",
    b"x-forwarded-proto",
    b"if-none-match",
    b"content-type",
    b"content-length",
}
_LEARNED_LIMIT = 64  # (host, scheme, proxy header) combinations; only those Django served

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


def _warm_token(
    secret: str, namespace: str, key: str, environment: str, now: datetime
) -> TokenRow | None:
    """The token, when memory alone says it may read the config's live version in the
    environment `environment` asks ("" for its own); its use noted when due (_use_noted)."""
    if settings.API_READ_RATE or not settings.READS_FROM_MEMORY or not memory.usable():
        return None
    key_hash = token_hash(secret)
    token = memory.recall(key_hash, namespace, key, now)
    if token is None or not may_read(token) or token.live_version_id is None:
        return None
    if not reads_own_environment(environment, token.environment_id):
        return None
    return token if _use_noted(key_hash, token, now) else None


def _use_noted(key_hash: str, token: TokenRow, now: datetime) -> bool:
    """Once a LAST_USED_PRECISION a token's last use is due. It is noted here at once, so the
    reads after it are answered here too, and written by the recorder's thread
    (configs/consumers.py). Sent to Django instead, the reads that came while it wrote queued
    on its one thread: every minute, every worker's reads stalled up to 270 ms (issue 25).
    False when no recorder writes it (CONSUMER_FLUSH_SECONDS=0): Django answers and writes it."""
    if not use_is_due(token, now):
        return True
    if not consumers.written_in_background():
        return False
    memory.used_at(key_hash, now)
    consumers.note_use(token.id, now)
    return True


def memory_answer(
    secret: str,
    namespace: str,
    key: str,
    if_none_match: str | None,
    bare: bool,
    environment: str = "",
) -> tuple[int, str, bytes] | None:
    """(status, ETag, body) from memory alone, or None when Django must answer. `environment`:
    the name the request asked for ("" when none)."""
    now = timezone.now()
    token = _warm_token(secret, namespace, key, environment, now)
    if token is None:
        return None
    version_id = token.live_version_id
    etag = reads.etag_for(version_id)
    if if_none_match and reads.etag_header_matches(if_none_match, etag):
        answer = (304, etag, b"")
    else:
        prepared = reads.prepared_here(version_id)
        if prepared is None:
            return None
        answer = (200, etag, prepared.value if bare else prepared.document)
    consumers.note(token.id, namespace, key, version_id, now)
    return answer


def memory_bundle(
    secret: str, namespace: str, if_none_match: str | None, environment: str = ""
) -> tuple[int, str, bytes] | None:
    """A namespace's bundle as (status, ETag, body) from memory alone, or None when Django must
    answer: the namespace's live versions (push.memory) and the whole bundle's bytes this
    process keeps (configs/api/reads.py), for the ETag those versions give."""
    if settings.API_READ_RATE or not settings.READS_FROM_MEMORY or not memory.usable():
        return None
    now = timezone.now()
    key_hash = token_hash(secret)
    kept = memory.recall_bundle(key_hash, namespace, now)
    if kept is None:
        return None
    token, live = kept
    if not may_read(token) or not reads_own_environment(environment, token.environment_id):
        return None
    if not _use_noted(key_hash, token, now):
        return None
    if if_none_match and reads.etag_header_matches(if_none_match, live.etag):
        answer = (304, live.etag, b"")
    else:
        body = reads.bundle_here(namespace, live.environment, live.etag)
        if body is None:
            return None
        answer = (200, live.etag, body)
    consumers.note_live(token.id, namespace, live.live, live.etag, now)
    return answer


def memory_evaluation(secret: str, flag_key: str, body: bytes) -> bytes | None:
    """The OFREP answer to a single evaluation from memory alone, or None when Django must
    answer (errors included: they are Django's to say)."""
    if settings.API_READ_RATE or not settings.READS_FROM_MEMORY or not memory.usable():
        return None
    now = timezone.now()
    key_hash = token_hash(secret)
    kept = memory.recall_namespaces(key_hash, now)
    if kept is None:
        return None
    reader, namespaces = kept
    if not _use_noted(key_hash, reader, now):
        return None
    try:
        context = ofrep.parse_context(body)
        namespace, key = ofrep.resolve(flag_key, namespaces)
    except ofrep.FlagError:
        return None
    token = memory.recall(key_hash, namespace, key, now)
    if token is None or not may_read(token) or token.live_version_id is None:
        return None
    flag = ofrep.kept_flag(token.live_version_id)
    if flag is None or ofrep.matches_patterns(flag):
        return None
    try:
        answer = ofrep.evaluate(flag, flag_key, context)
    except ofrep.FlagError:
        return None
    consumers.note(token.id, namespace, key, flag.version_id, now)
    return answer


def memory_config_evaluation(
    secret: str, namespace: str, key: str, environment: str, request: evaluate.Plain
) -> bytes | None:
    """The answer to a config's evaluation asked by `request` from memory alone, or None when
    Django must answer (errors included)."""
    now = timezone.now()
    token = _warm_token(secret, namespace, key, environment, now)
    if token is None:
        return None
    # Parsed (and its parse kept) only for a token that may read the config: nobody else fills
    # the kept contexts.
    context = evaluate.plain_context(*request)
    if context is None:
        return None
    prepared = reads.prepared_here(token.live_version_id)
    if prepared is None:
        return None
    answer = evaluate.answer_without_patterns(key, prepared, context)
    if answer is None:
        return None
    consumers.note(token.id, namespace, key, token.live_version_id, now)
    return answer


def _request_headers(scope: Scope) -> dict[bytes, bytes] | None:
    """The headers this layer looks at, by name; None when one of them comes twice (Django
    joins repeated headers into one value: it says what it makes of that)."""
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in _LOOKED_AT:
            if name in found:
                return None
            found[name] = value
    return found


async def _whole_body(receive: Receive) -> tuple[bytes | None, list[dict]]:
    """The request's body (None when too large or the client left) and the messages read."""
    messages: list[dict] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None, messages
        size += len(message.get("body", b""))
        if size > BODY_LIMIT:
            return None, messages
        if not message.get("more_body", False):
            if len(messages) == 1:  # the whole body in one message, as small bodies come
                return message.get("body", b""), messages
            return b"".join(m.get("body", b"") for m in messages), messages


def _replaying(messages: list[dict], receive: Receive) -> Receive:
    """`receive`, giving the messages already read first."""

    async def replay() -> dict:
        if messages:
            return messages.pop(0)
        return await receive()

    return replay


class HotReads:
    """The ASGI layer described above, around Django's ASGI application."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]):
        self.app = app
        # (status, bare, host, scheme, X-Forwarded-Proto) -> the headers Django sent.
        self.headers: dict[tuple, list[tuple[bytes, bytes]]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            return await self._evaluation(scope, receive, send)
        if scope["type"] != "http" or scope["method"] != "GET" or scope.get("root_path"):
            return await self.app(scope, receive, send)
        asked = only_environment(scope.get("query_string", b"").decode("latin-1"))
        if asked is None:
            return await self.app(scope, receive, send)
        match = READ.fullmatch(scope["path"])
        bundle = BUNDLE.fullmatch(scope["path"]) if match is None else None
        if match is None and bundle is None:
            return await self.app(scope, receive, send)
        headers = _request_headers(scope)
        authorization = headers.get(b"authorization", b"") if headers is not None else b""
        if headers is None or not authorization.startswith(b"Bearer "):
            return await self.app(scope, receive, send)
        host, proto = headers.get(b"host"), headers.get(b"x-forwarded-proto")
        if_none_match = headers.get(b"if-none-match")
        try:
            secret = authorization[7:].decode("ascii")
            tag = if_none_match.decode("latin-1") if if_none_match is not None else None
        except UnicodeDecodeError:
            return await self.app(scope, receive, send)
        if match is not None:
            namespace, key, bare = match.group(1), match.group(2), bool(match.group(3))
            where: tuple = (bare, host, scope.get("scheme"), proto)
            answer = memory_answer(secret, namespace, key, tag, bare, asked)
        else:
            assert bundle is not None
            where = ("bundle", host, scope.get("scheme"), proto)
            answer = memory_bundle(secret, bundle.group(1), tag, asked)
        if answer is not None:
            status, etag, body = answer
            headers = self.headers.get((status, *where))
            if headers is not None:
                await send(
                    {
                        "type": "http.response.start",
                        "status": status,
                        "headers": [
                            *headers,
                            (b"ETag", etag.encode()),
                            (b"Content-Length", str(len(body)).encode()),  # 0 on a 304, as Django
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, self._learning(scope, send, where))

    async def _evaluation(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A warm single OFREP evaluation or config evaluation from memory; anything else to
        Django, the body replayed."""
        flag = FLAG.fullmatch(scope["path"])
        config = EVALUATE.fullmatch(scope["path"]) if flag is None else None
        query = scope.get("query_string", b"").decode("latin-1")
        # OFREP takes no query string; an evaluation only the token's own environment.
        asked = (None if query else "") if config is None else only_environment(query)
        if (flag is None and config is None) or asked is None or scope.get("root_path"):
            return await self.app(scope, receive, send)
        headers = _request_headers(scope)
        authorization = headers.get(b"authorization", b"") if headers is not None else b""
        if headers is None or not authorization.startswith(b"Bearer "):
            return await self.app(scope, receive, send)
        body, messages = await _whole_body(receive)
        receive = _replaying(messages, receive)
        where = (
            "ofrep" if flag is not None else "evaluate",
            headers.get(b"host"),
            scope.get("scheme"),
            headers.get(b"x-forwarded-proto"),
        )
        learned = self.headers.get((200, *where))
        answer = None
        if body is not None and learned is not None:
            try:
                secret = authorization[7:].decode("ascii")
            except UnicodeDecodeError:
                return await self.app(scope, receive, send)
            if flag is not None:
                answer = memory_evaluation(secret, flag.group(1), body)
            else:
                request = (
                    headers.get(b"content-type", b"").decode("latin-1"),
                    headers.get(b"content-length", b"").decode("latin-1"),
                    body,
                )
                namespace, key = config.group(1), config.group(2)
                answer = memory_config_evaluation(secret, namespace, key, asked, request)
        if answer is None:
            return await self.app(scope, receive, self._learning(scope, send, where))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*learned, (b"Content-Length", str(len(answer)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    def _learning(self, scope: Scope, send: Send, where: tuple) -> Send:
        """`send`, keeping the headers of a hot read Django answered (see the module's doc)."""

        async def learning_send(message: dict) -> None:
            if (
                message["type"] == "http.response.start"
                and scope.get(reads.ANSWERED_HOT)
                and message["status"] in (200, 304)
                and len(self.headers) < _LEARNED_LIMIT
            ):
                headers = [
                    (name, value)
                    for name, value in message["headers"]
                    if name.lower() not in _SKIPPED_HEADERS
                ]
                if not any(name.lower() == b"set-cookie" for name, _value in headers):
                    self.headers[(message["status"], *where)] = headers
            await send(message)

        return learning_send

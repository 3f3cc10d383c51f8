"""Every row of the HTTP API contract (Reads and Writes), over real HTTP, against a running
server: bench/run calls it behind gunicorn on PostgreSQL (see bench/README.md).

    python bench/contract.py http://127.0.0.1:PORT

It needs the bench environment (DJANGO_SETTINGS_MODULE=bench.settings, DATABASE_URL, ...) and a
database prepared by bench/prepare.py: the setup step opens Django only to create the tokens it
uses (write tokens for alice, bob and carol in data-pipelines, read tokens for alice). Everything
else goes over HTTP with urllib. It publishes new versions of data-pipelines/company-timezones,
so it runs after the load rounds. Prints one PASS/FAIL line per row, the request and response of
each failure (never a token), and exits 1 if any row fails."""

from __future__ import annotations

import copy
import json
import os
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

NS = "data-pipelines"
KEY = "company-timezones"
CONFIG = f"/api/v1/configs/{NS}/{KEY}/"
VALUE = CONFIG + "value/"
VERSIONS = CONFIG + "versions/"
PROPOSE = CONFIG + "change-requests/"
BUNDLE = f"/api/v1/namespaces/{NS}/bundle/"
AUDIT = "/api/v1/audit/"

DOC_FIELDS = {
    "namespace",
    "key",
    "version",
    "value",
    "effective_at",
    "published_at",
    "published_by",
    "schema",
    "schema_version",
}
VERSION_FIELDS = {
    "version",
    "effective_at",
    "published_at",
    "published_by",
    "approved_by",
    "bypass_reason",
    "change_request",
}
AUDIT_FIELDS = {"at", "actor", "action", "namespace", "config", "target", "reason", "details"}
CR_FIELDS = {"id", "status", "value", "base_version", "author", "approvals"}
PAGE_FIELDS = {"count", "next", "previous", "results"}
OVERSIZED = 3 * 1024 * 1024  # over DJANGO_MAX_BODY_BYTES, 2 MiB unless set


# --- setup: the tokens, through the services (the only use of Django here) ----------------------


def make_tokens() -> dict[str, str]:
    """{name: secret}; the secrets stay in this process and are never printed."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    warnings.filterwarnings("ignore", message="No directory at")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from configs import services
    from configs.models import Namespace

    users = get_user_model().objects
    pipelines = Namespace.objects.get(slug=NS)
    bench = Namespace.objects.get(slug="bench")

    def token(username, namespaces, write):
        user = users.get(username=username)
        _token, secret = services.token_create(
            user=user,
            name=f"bench contract ({'write' if write else 'read'})",
            namespaces=namespaces,
            write=write,
            actor=user,
        )
        return secret

    return {
        "read": token("alice", [pipelines], False),
        "elsewhere": token("alice", [bench], False),  # alice's, but not for data-pipelines
        "alice": token("alice", [pipelines], True),
        "bob": token("bob", [pipelines], True),
        "carol": token("carol", [pipelines], True),
    }


# --- HTTP ------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a redirect is an answer of its own here


_opener = urllib.request.build_opener(_NoRedirect)


@dataclass
class Answer:
    method: str
    path: str
    sent: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    @property
    def content_type(self) -> str:
        return (self.header("Content-Type") or "").split(";")[0].strip()

    def json(self):
        return json.loads(self.body)

    def describe(self) -> str:
        body = self.body.decode("utf-8", "replace")
        if len(body) > 600:
            body = body[:600] + f"… ({len(self.body)} bytes)"
        sent = f" {self.sent}" if self.sent else ""
        headers = {k: v for k, v in self.headers.items() if k.lower() in {"content-type", "etag"}}
        return (
            f"request: {self.method} {self.path}{sent}\nresponse: {self.status} {headers} {body!r}"
        )


class Server:
    def __init__(self, base: str, tokens: dict[str, str]):
        self.base = base.rstrip("/")
        self.tokens = tokens

    def call(
        self,
        method: str,
        path: str,
        *,
        who: str | None = "read",
        body=None,
        raw: bytes | None = None,
        params: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        if params:
            path = path + "?" + urllib.parse.urlencode(params)
        sent_headers = dict(headers or {})
        data = None
        sent = ""
        if raw is not None:
            data = raw
            sent = f"<{len(raw)} bytes: {raw[:60]!r}{'…' if len(raw) > 60 else ''}>"
        elif body is not None:
            data = json.dumps(body).encode("utf-8")
            sent = data.decode("utf-8")
            if len(sent) > 300:
                sent = sent[:300] + "…"
        if data is not None:
            sent_headers.setdefault("Content-Type", "application/json")
        if who is not None:
            sent_headers["Authorization"] = f"Bearer {self.tokens[who]}"
        shown = f"[{who} token] " if who else "[no token] "
        shown += " ".join(f"{k}: {v}" for k, v in (headers or {}).items())
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers=sent_headers
        )
        try:
            with _opener.open(request, timeout=30) as response:
                answer = Answer(method, path, shown + sent, response.status, dict(response.headers))
                answer.body = response.read()
        except urllib.error.HTTPError as error:
            answer = Answer(method, path, shown + sent, error.code, dict(error.headers))
            answer.body = error.read()
        return answer


# --- checking --------------------------------------------------------------------------------


class Contract:
    def __init__(self):
        self.passed: list[str] = []
        self.failed: list[str] = []
        self.errors_checked = 0
        self.error_types: list[str] = []

    def row(self, name: str, answer: Answer | None, *conditions: tuple[bool, str]) -> bool:
        """One contract row: PASS when every (condition, what) holds."""
        broken = [what for ok, what in conditions if not ok]
        if answer is not None and answer.status >= 400:
            self.note_error(answer)
        if broken:
            self.failed.append(name)
            print(f"FAIL  {name}")
            for what in broken:
                print(f"        expected: {what}")
            if answer is not None:
                print("        " + answer.describe().replace("\n", "\n        "))
            return False
        self.passed.append(name)
        print(f"PASS  {name}")
        return True

    def crash(self, section: str, exc: BaseException) -> None:
        self.failed.append(f"{section}: stopped by {exc!r}")
        print(f"FAIL  {section}: the check stopped on {exc!r}")
        print("        " + traceback.format_exc().strip().replace("\n", "\n        "))

    def note_error(self, answer: Answer) -> None:
        self.errors_checked += 1
        if answer.content_type != "application/json":
            self.error_types.append(
                f"{answer.method} {answer.path} → {answer.status} {answer.content_type!r}"
            )


def jbody(answer: Answer):
    try:
        return answer.json()
    except ValueError:
        return None


def is_json_detail(answer: Answer) -> bool:
    body = jbody(answer)
    return (
        answer.content_type == "application/json"
        and isinstance(body, dict)
        and bool(body.get("detail"))
    )


def json_error(answer: Answer, status: int) -> list[tuple[bool, str]]:
    return [
        (answer.status == status, f"status {status}"),
        (is_json_detail(answer), 'a JSON body {"detail": …} with Content-Type application/json'),
    ]


def opened_id(answer: Answer, which: str) -> int:
    """The id of a change request the following rows need; without it they cannot run."""
    pk = (jbody(answer) or {}).get("id") if answer.status == 201 else None
    if not isinstance(pk, int):
        raise RuntimeError(f"could not open change request {which} ({answer.status})")
    return pk


def with_company(value: dict, company_id: str, zone: str = "UTC") -> dict:
    value = copy.deepcopy(value)
    value["companies"].append({"company_id": company_id, "timezone": zone})
    return value


def parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- the rows --------------------------------------------------------------------------------


def reads(api: Server, c: Contract) -> dict:
    """The read rows, on the live version as bench/prepare.py left it. Returns the facts."""
    doc = api.call("GET", CONFIG)
    body = jbody(doc) or {}
    etag = doc.header("ETag")
    c.row(
        "GET config: {namespace, key, version, value, effective_at, published_at, "
        "published_by, schema, schema_version} with an ETag",
        doc,
        (doc.status == 200, "status 200"),
        (doc.content_type == "application/json", "Content-Type application/json"),
        (set(body) == DOC_FIELDS, f"exactly the fields {sorted(DOC_FIELDS)}"),
        (body.get("namespace") == NS and body.get("key") == KEY, f"namespace {NS}, key {KEY}"),
        (isinstance(body.get("version"), int), "an integer version"),
        (bool(etag), "an ETag header"),
    )
    live = body.get("version")

    value = api.call("GET", VALUE)
    c.row(
        "GET config/value/: the bare value, same ETag",
        value,
        (value.status == 200, "status 200"),
        (jbody(value) == body.get("value"), "the document's value, bare"),
        (value.header("ETag") == etag, f"the document's ETag {etag}"),
    )

    bundle = api.call("GET", BUNDLE)
    bundle_body = jbody(bundle) or {}
    entries = bundle_body.get("configs") or {}
    entry = entries.get(KEY) or {}
    bundle_etag = bundle.header("ETag")
    c.row(
        "GET namespace bundle: {namespace, configs: {key: {version, value, effective_at}}}, "
        "one ETag",
        bundle,
        (bundle.status == 200, "status 200"),
        (set(bundle_body) == {"namespace", "configs"}, "exactly {namespace, configs}"),
        (bundle_body.get("namespace") == NS, f"namespace {NS}"),
        (
            bool(entries)
            and all(set(e) == {"version", "value", "effective_at"} for e in entries.values()),
            "each config as {version, value, effective_at}",
        ),
        (entry.get("version") == live and entry.get("value") == body.get("value"), "the live"),
        (bool(bundle_etag), "an ETag header"),
    )

    for name, path, tag in [("config", CONFIG, etag), ("value", VALUE, etag)] + [
        ("bundle", BUNDLE, bundle_etag)
    ]:
        again = api.call("GET", path, headers={"If-None-Match": tag or '"none"'})
        c.row(
            f"GET {name} with If-None-Match: its ETag → 304, no body",
            again,
            (again.status == 304, "status 304"),
            (again.body == b"", "no body"),
            (again.header("ETag") == tag, "the same ETag"),
        )

    pinned = api.call("GET", CONFIG, params={"version": live})
    c.row(
        "GET config ?version=N: that version",
        pinned,
        (pinned.status == 200, "status 200"),
        ((jbody(pinned) or {}).get("version") == live, f"version {live}"),
        ((jbody(pinned) or {}).get("value") == body.get("value"), "its value"),
    )
    unknown = api.call("GET", CONFIG, params={"version": 9999})
    c.row("GET config ?version=unknown → 404 JSON", unknown, *json_error(unknown, 404))

    now = datetime.now(UTC).isoformat()
    at = api.call("GET", CONFIG, params={"at": now})
    c.row(
        "GET config ?at=<now>: the version in effect",
        at,
        (at.status == 200, "status 200"),
        ((jbody(at) or {}).get("version") == live, f"version {live}"),
    )
    bad_at = api.call("GET", CONFIG, params={"at": "yesterday"})
    c.row("GET config ?at=<unparsable> → 400 JSON", bad_at, *json_error(bad_at, 400))
    before = api.call("GET", CONFIG, params={"at": "2001-01-01T00:00:00Z"})
    c.row("GET config ?at=<before the first version> → 404 JSON", before, *json_error(before, 404))

    versions = api.call("GET", VERSIONS)
    page = jbody(versions) or {}
    results = page.get("results") or []
    numbers = [item.get("version") for item in results]
    c.row(
        "GET versions/: {count, next, previous, results}, newest first, each {version, "
        "effective_at, published_at, published_by, approved_by, bypass_reason, change_request}",
        versions,
        (versions.status == 200, "status 200"),
        (set(page) == PAGE_FIELDS, f"exactly {sorted(PAGE_FIELDS)}"),
        (page.get("count") == len(results) > 0, "count = the results on one page"),
        (numbers == sorted(numbers, reverse=True) and numbers[:1] == [live], "newest first"),
        (all(set(item) == VERSION_FIELDS for item in results), f"each {sorted(VERSION_FIELDS)}"),
        (all(isinstance(item.get("approved_by"), list) for item in results), "approved_by list"),
    )
    if len(results) >= 1:
        paged = api.call("GET", VERSIONS, params={"page_size": 1})
        paged_body = jbody(paged) or {}
        c.row(
            "GET versions/?page_size=1: paginated with a next link when there is more",
            paged,
            (paged.status == 200, "status 200"),
            (len(paged_body.get("results") or []) == 1, "one result"),
            (
                (paged_body.get("next") is not None) == (len(results) > 1)
                and paged_body.get("previous") is None,
                "next only when there is more; no previous on page 1",
            ),
        )

    audit = api.call("GET", AUDIT)
    audit_body = jbody(audit) or {}
    events = audit_body.get("results") or []
    stamps = [event.get("at") or "" for event in events]
    c.row(
        "GET audit/: {count, next, previous, results}, newest first, each {at, actor, action, "
        "namespace, config, target, reason, details}",
        audit,
        (audit.status == 200, "status 200"),
        (set(audit_body) == PAGE_FIELDS, f"exactly {sorted(PAGE_FIELDS)}"),
        (bool(events), "some events (the demo's)"),
        (all(set(event) == AUDIT_FIELDS for event in events), f"each {sorted(AUDIT_FIELDS)}"),
        (
            [parse_instant(s) for s in stamps] == sorted(map(parse_instant, stamps), reverse=True),
            "newest first",
        ),
        ({event.get("namespace") for event in events} <= {NS, ""}, "only the token's namespace"),
    )
    bad_since = api.call("GET", AUDIT, params={"since": "last tuesday"})
    c.row("GET audit/?since=<unparsable> → 400 JSON", bad_since, *json_error(bad_since, 400))

    for what, who, headers in [
        ("no token", None, {}),
        ("bad token", None, {"Authorization": "Bearer cc_not-a-real-token"}),
        ("malformed Authorization", None, {"Authorization": "Token x"}),
    ]:
        for path in (CONFIG, VALUE, BUNDLE, VERSIONS, AUDIT):
            answer = api.call("GET", path, who=who, headers=headers)
            c.row(f"GET {path} with {what} → 401 JSON {{detail}}", answer, *json_error(answer, 401))

    facts_value = body.get("value")
    for path in (CONFIG, VALUE, BUNDLE, VERSIONS, CONFIG + "?version=1"):
        answer = api.call("GET", path, who="elsewhere")
        leaked = any(
            company["company_id"].encode() in answer.body
            for company in (facts_value or {}).get("companies", [])
        )
        c.row(
            f"GET {path} with a token not scoped to {NS} → 404 JSON, nothing leaked",
            answer,
            *json_error(answer, 404),
            (not leaked, "no trace of the config's value in the body"),
        )
    scoped = api.call("GET", AUDIT, who="elsewhere", params={"namespace": NS})
    c.row(
        f"GET audit/?namespace={NS} with a token not scoped to it: no events",
        scoped,
        (scoped.status == 200, "status 200"),
        ((jbody(scoped) or {}).get("count") == 0, "count 0"),
    )
    for path in (
        f"/api/v1/configs/{NS}/no-such-config/",
        f"/api/v1/configs/{NS}/no-such-config/value/",
        f"/api/v1/configs/{NS}/no-such-config/versions/",
        "/api/v1/configs/no-such-namespace/company-timezones/",
        "/api/v1/namespaces/no-such-namespace/bundle/",
    ):
        answer = api.call("GET", path)
        c.row(f"GET {path} (unknown) → 404 JSON", answer, *json_error(answer, 404))

    return {"live": live, "etag": etag, "bundle_etag": bundle_etag, "value": body.get("value")}


def writes(api: Server, c: Contract, facts: dict) -> dict:
    base = facts["live"]
    value = facts["value"]

    def cr(pk, action=""):
        return f"/api/v1/change-requests/{pk}/" + (f"{action}/" if action else "")

    def propose(company, who="alice", base_version=None, new_value=None):
        return api.call(
            "POST",
            PROPOSE,
            who=who,
            body={
                "value": new_value if new_value is not None else with_company(value, company),
                "base_version": base if base_version is None else base_version,
                "title": f"Contract check: add {company}",
                "description": "bench/contract.py",
            },
        )

    # propose: invalid value, stale base, then a good one
    index = len(value["companies"])
    invalid = propose("mars", new_value=with_company(value, "mars", "Mars/Olympus"))
    errors = (jbody(invalid) or {}).get("errors") or []
    c.row(
        'POST change-requests/ with an invalid value → 400 {"errors": [{path, message}]}',
        invalid,
        (invalid.status == 400, "status 400"),
        (invalid.content_type == "application/json", "Content-Type application/json"),
        (
            [e.get("path") for e in errors] == [f"/companies/{index}/timezone"],
            f"one error at /companies/{index}/timezone",
        ),
        (all(e.get("message") for e in errors), "each with a message"),
    )
    stale = propose("stale", base_version=base - 1 if base > 1 else base + 7)
    c.row(
        "POST change-requests/ with base_version not the newest → 409 JSON",
        stale,
        *json_error(stale, 409),
    )
    read_only = propose("readonly", who="read")
    c.row(
        "POST change-requests/ with a read token → 403 JSON", read_only, *json_error(read_only, 403)
    )

    opened = propose("contract-a")
    a = jbody(opened) or {}
    c.row(
        "POST change-requests/ {value, base_version, title, description} → 201, in review",
        opened,
        (opened.status == 201, "status 201"),
        (CR_FIELDS <= set(a), f"at least {sorted(CR_FIELDS)}"),
        (a.get("status") == "in_review", "status in_review"),
        (a.get("author") == "alice", "author alice"),
        (a.get("base_version") == base, f"base_version {base}"),
        (a.get("approvals") == [], "no approvals yet"),
        (a.get("value") == with_company(value, "contract-a"), "the proposed value"),
    )
    a_id = opened_id(opened, "A")

    approved = api.call("POST", cr(a_id, "approve"), who="bob", body={"comment": "ok"})
    c.row(
        "POST approve by a reviewer (bob) → 200, his approval",
        approved,
        (approved.status == 200, "status 200"),
        ((jbody(approved) or {}).get("approvals") == ["bob"], "approvals ['bob']"),
        ((jbody(approved) or {}).get("status") == "approved", "status approved"),
    )
    edited_value = with_company(value, "contract-a", "Europe/London")
    edited = api.call("PATCH", cr(a_id), who="alice", body={"value": edited_value})
    c.row(
        "PATCH change request {value} by its author → new value, approvals dismissed",
        edited,
        (edited.status == 200, "status 200"),
        ((jbody(edited) or {}).get("value") == edited_value, "the new value"),
        ((jbody(edited) or {}).get("approvals") == [], "approvals []"),
        ((jbody(edited) or {}).get("status") == "in_review", "back in review"),
    )
    not_author = api.call("PATCH", cr(a_id), who="bob", body={"value": value})
    c.row(
        "PATCH change request by someone else → 403 JSON", not_author, *json_error(not_author, 403)
    )
    own = api.call("POST", cr(a_id, "approve"), who="alice", body={})
    c.row("POST approve by the author → 403 JSON", own, *json_error(own, 403))

    blocked_by = api.call(
        "POST", cr(a_id, "request-changes"), who="bob", body={"comment": "Use Europe/Berlin"}
    )
    c.row(
        "POST request-changes {comment} by a reviewer → 200, changes requested",
        blocked_by,
        (blocked_by.status == 200, "status 200"),
        ((jbody(blocked_by) or {}).get("status") == "changes_requested", "changes_requested"),
    )
    carol_ok = api.call("POST", cr(a_id, "approve"), who="carol", body={"comment": "fine"})
    c.row(
        "POST approve by carol (admin) → 200",
        carol_ok,
        (carol_ok.status == 200, "status 200"),
        ((jbody(carol_ok) or {}).get("approvals") == ["carol"], "approvals ['carol']"),
    )
    blocked = api.call("POST", cr(a_id, "publish"), who="carol", body={})
    c.row(
        "POST publish while a reviewer's request for changes stands → 409 JSON "
        "(enough approvals otherwise)",
        blocked,
        *json_error(blocked, 409),
        ("bob" in ((jbody(blocked) or {}).get("detail") or ""), "names bob"),
    )

    shown = api.call("GET", cr(a_id), who="read")
    a_body = jbody(shown) or {}
    reviews = {(r.get("reviewer"), r.get("verdict")) for r in a_body.get("reviews") or []}
    c.row(
        "GET change-requests/<id>/ → the change request with reviews and comments",
        shown,
        (shown.status == 200, "status 200"),
        (CR_FIELDS <= set(a_body), f"at least {sorted(CR_FIELDS)}"),
        (isinstance(a_body.get("comments"), list), "a comments list"),
        (
            {("bob", "approve"), ("bob", "request_changes"), ("carol", "approve")} <= reviews,
            "reviews: bob approve (dismissed), bob request_changes, carol approve",
        ),
    )
    missing = api.call("GET", cr(99999999), who="read")
    c.row("GET change-requests/<unknown id>/ → 404 JSON", missing, *json_error(missing, 404))
    hidden = api.call("GET", cr(a_id), who="elsewhere")
    c.row(
        f"GET change-requests/<id>/ with a token not scoped to {NS} → 404 JSON",
        hidden,
        *json_error(hidden, 404),
    )

    # B: too few approvals (and later: base moved)
    b_open = propose("contract-b")
    c.row(
        "POST change-requests/ (a second one, B) → 201",
        b_open,
        (b_open.status == 201, "status 201"),
    )
    b_id = opened_id(b_open, "B")
    few = api.call("POST", cr(b_id, "publish"), who="bob", body={})
    c.row(
        "POST publish with too few approvals and no bypass_reason → 409 JSON",
        few,
        *json_error(few, 409),
    )

    # A: bob approves, which lifts his request for changes; publish → the new version
    bob_ok = api.call("POST", cr(a_id, "approve"), who="bob", body={"comment": "now fine"})
    c.row(
        "POST approve by bob after his request for changes → 200, approved",
        bob_ok,
        (bob_ok.status == 200, "status 200"),
        ((jbody(bob_ok) or {}).get("status") == "approved", "status approved"),
        (set((jbody(bob_ok) or {}).get("approvals") or []) == {"bob", "carol"}, "bob and carol"),
    )
    published = api.call("POST", cr(a_id, "publish"), who="bob", body={})
    v = jbody(published) or {}
    c.row(
        "POST publish after approval → 200 with the new version",
        published,
        (published.status == 200, "status 200"),
        (set(v) == VERSION_FIELDS, f"a version: {sorted(VERSION_FIELDS)}"),
        (v.get("version") == base + 1, f"version {base + 1}"),
        (v.get("published_by") == "bob", "published_by bob"),
        (set(v.get("approved_by") or []) == {"bob", "carol"}, "approved_by bob, carol"),
        (v.get("change_request") == a_id, f"change_request {a_id}"),
        (v.get("bypass_reason") == "", "no bypass_reason"),
    )
    first_publish = v

    now_live = api.call("GET", CONFIG, headers={"If-None-Match": facts["etag"] or '"x"'})
    now_body = jbody(now_live) or {}
    new_etag = now_live.header("ETag")
    c.row(
        "GET config right after publishing (If-None-Match: the old ETag) → 200, the new "
        "version, a new ETag",
        now_live,
        (now_live.status == 200, "status 200, not 304"),
        (now_body.get("version") == base + 1, f"version {base + 1}"),
        (now_body.get("value") == edited_value, "the published value"),
        (bool(new_etag) and new_etag != facts["etag"], "a new ETag"),
    )
    bare = api.call("GET", VALUE)
    c.row(
        "GET value/ right after publishing → the new value, the new ETag",
        bare,
        (bare.status == 200, "status 200"),
        (jbody(bare) == edited_value, "the published value"),
        (bare.header("ETag") == new_etag, "the document's new ETag"),
    )
    bundle = api.call("GET", BUNDLE, headers={"If-None-Match": facts["bundle_etag"] or '"x"'})
    entry = ((jbody(bundle) or {}).get("configs") or {}).get(KEY) or {}
    c.row(
        "GET bundle right after publishing (If-None-Match: the old ETag) → 200, new version, "
        "new ETag",
        bundle,
        (bundle.status == 200, "status 200, not 304"),
        (entry.get("version") == base + 1, f"version {base + 1}"),
        (bundle.header("ETag") not in (None, facts["bundle_etag"]), "a new ETag"),
    )

    # B again: its base moved
    api.call("POST", cr(b_id, "approve"), who="bob", body={})
    moved = api.call("POST", cr(b_id, "publish"), who="bob", body={})
    c.row("POST publish when the base moved → 409 JSON", moved, *json_error(moved, 409))
    b_now = api.call("GET", cr(b_id), who="read")
    c.row(
        "GET change request whose base moved → status conflicted",
        b_now,
        (b_now.status == 200, "status 200"),
        ((jbody(b_now) or {}).get("status") == "conflicted", "status conflicted"),
    )

    # C: bypasses
    c_open = propose(
        "contract-c", base_version=base + 1, new_value=with_company(edited_value, "contract-c")
    )
    c.row(
        "POST change-requests/ (C, on the new version) → 201",
        c_open,
        (c_open.status == 201, "status 201"),
    )
    c_id = opened_id(c_open, "C")
    no_right = api.call("POST", cr(c_id, "publish"), who="bob", body={"bypass_reason": "Urgent"})
    c.row(
        "POST publish with bypass_reason by bob (no bypass right) → 403 JSON",
        no_right,
        *json_error(no_right, 403),
    )
    blank = api.call("POST", cr(c_id, "publish"), who="carol", body={"bypass_reason": "   "})
    c.row("POST publish with a blank bypass_reason → 400 JSON", blank, *json_error(blank, 400))
    bypassed = api.call(
        "POST", cr(c_id, "publish"), who="carol", body={"bypass_reason": "Contract check"}
    )
    bv = jbody(bypassed) or {}
    c.row(
        "POST publish with bypass_reason by carol (admin) → 200, the new version, recorded",
        bypassed,
        (bypassed.status == 200, "status 200"),
        (bv.get("version") == base + 2, f"version {base + 2}"),
        (bv.get("bypass_reason") == "Contract check", "bypass_reason recorded"),
        (bv.get("approved_by") == [], "approved_by []"),
        (bv.get("published_by") == "carol", "published_by carol"),
    )

    # D: withdraw
    d_open = propose("contract-d", base_version=base + 2, new_value=edited_value)
    c.row(
        "POST change-requests/ (D, on the newest version) → 201",
        d_open,
        (d_open.status == 201, "status 201"),
    )
    d_id = opened_id(d_open, "D")
    other = api.call("POST", cr(d_id, "withdraw"), who="bob", body={})
    c.row("POST withdraw by someone else → 403 JSON", other, *json_error(other, 403))
    gone = api.call("POST", cr(d_id, "withdraw"), who="alice", body={})
    c.row(
        "POST withdraw by the author → 200, withdrawn",
        gone,
        (gone.status == 200, "status 200"),
        ((jbody(gone) or {}).get("status") == "withdrawn", "status withdrawn"),
    )
    twice = api.call("POST", cr(d_id, "withdraw"), who="alice", body={})
    c.row("POST withdraw twice → 409 JSON", twice, *json_error(twice, 409))

    return {"first_publish": first_publish, "bypass": bv, "published_value": edited_value}


def history(api: Server, c: Contract, facts: dict, done: dict) -> None:
    """Reads that need the versions the writes published."""
    base = facts["live"]
    second = done["first_publish"]

    old = api.call("GET", CONFIG, params={"version": base})
    c.row(
        "GET config ?version=N of an older version → that version, unchanged",
        old,
        (old.status == 200, "status 200"),
        ((jbody(old) or {}).get("version") == base, f"version {base}"),
        ((jbody(old) or {}).get("value") == facts["value"], "its own value"),
    )
    old_value = api.call("GET", VALUE, params={"version": base})
    c.row(
        "GET value/?version=N → that version's bare value",
        old_value,
        (old_value.status == 200, "status 200"),
        (jbody(old_value) == facts["value"], "its value"),
    )
    effective = parse_instant(second["effective_at"])
    just_before = api.call(
        "GET", CONFIG, params={"at": (effective - timedelta(microseconds=1)).isoformat()}
    )
    at_once = api.call("GET", CONFIG, params={"at": effective.isoformat()})
    c.row(
        "GET config ?at=<instant> → the version in effect then (just before / at a publish)",
        at_once,
        (just_before.status == 200 and at_once.status == 200, "status 200 for both"),
        ((jbody(just_before) or {}).get("version") == base, f"version {base} just before"),
        ((jbody(at_once) or {}).get("version") == base + 1, f"version {base + 1} at it"),
    )

    versions = api.call("GET", VERSIONS)
    results = (jbody(versions) or {}).get("results") or []
    top = {item.get("version"): item for item in results}
    c.row(
        "GET versions/ after the writes: newest first, with who approved and why bypassed",
        versions,
        (versions.status == 200, "status 200"),
        ([item.get("version") for item in results][:3] == [base + 2, base + 1, base], "order"),
        (set((top.get(base + 1) or {}).get("approved_by") or []) == {"bob", "carol"}, "approved"),
        ((top.get(base + 2) or {}).get("bypass_reason") == "Contract check", "bypass_reason"),
        (isinstance((top.get(base + 1) or {}).get("change_request"), int), "change_request id"),
    )

    filtered = api.call(
        "GET",
        AUDIT,
        params={
            "namespace": NS,
            "config": KEY,
            "actor": "bob",
            "action": "change_request.approved",
            "since": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
            "until": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        },
    )
    events = (jbody(filtered) or {}).get("results") or []
    c.row(
        "GET audit/?namespace=&config=&actor=&action=&since=&until= → only matching events",
        filtered,
        (filtered.status == 200, "status 200"),
        (len(events) >= 2, "bob's approvals of this run (at least 2)"),
        (
            all(
                e.get("actor") == "bob"
                and e.get("action") == "change_request.approved"
                and e.get("namespace") == NS
                and e.get("config") == KEY
                for e in events
            ),
            "every event bob's change_request.approved on this config",
        ),
    )
    family = api.call("GET", AUDIT, params={"config": f"{NS}/{KEY}", "action": "change_request"})
    actions = [e.get("action") for e in (jbody(family) or {}).get("results") or []]
    c.row(
        "GET audit/?config=ns/key&action=<family> → newest first, this run's publish on top",
        family,
        (family.status == 200, "status 200"),
        (bool(actions) and all(a.startswith("change_request.") for a in actions), "family"),
        ("change_request.published" in actions, "the publish is there"),
        (actions[:1] == ["change_request.withdrawn"], "the withdrawal (the last act) first"),
    )
    past = api.call("GET", AUDIT, params={"since": "2001-01-01", "until": "2001-12-31"})
    c.row(
        "GET audit/?since=&until= of a year with nothing → count 0",
        past,
        (past.status == 200, "status 200"),
        ((jbody(past) or {}).get("count") == 0, "count 0"),
    )


def edge(api: Server, c: Contract, base: int) -> None:
    envelope = '{"value": %s, "base_version": ' + str(base) + ', "title": "edge"}'
    cases = [
        ("NaN in the body", (envelope % "NaN").encode()),
        ("Infinity in the body", (envelope % "Infinity").encode()),
        ("a huge number", (envelope % "1e999").encode()),
        ("duplicate keys", b'{"value": {}, "value": {}, "base_version": 1, "title": "t"}'),
        ("deep nesting (70)", (envelope % ("[" * 70 + "]" * 70)).encode()),
        ("very deep nesting (100000)", (envelope % ("[" * 100_000 + "]" * 100_000)).encode()),
        ("a body that is not JSON", b"this is not json"),
        ("truncated JSON", b'{"value": '),
        ("bytes that are not UTF-8", b"\xff\xfe not utf-8"),
    ]
    for what, raw in cases:
        answer = api.call("POST", PROPOSE, who="alice", raw=raw)
        c.row(f"POST change-requests/ with {what} → 400 JSON", answer, *json_error(answer, 400))
    # Valid JSON but not an object: a validation error (DRF's shape), still a JSON 400.
    array = api.call("POST", PROPOSE, who="alice", raw=b"[1, 2]")
    c.row(
        "POST change-requests/ with a JSON array, not an object → 400 JSON",
        array,
        (array.status == 400, "status 400"),
        (array.content_type == "application/json" and jbody(array) is not None, "a JSON body"),
    )
    oversized = b'{"value": "' + b"x" * OVERSIZED + b'", "base_version": 1, "title": "t"}'
    try:
        big = api.call("POST", PROPOSE, who="alice", raw=oversized)
        c.row(
            f"POST change-requests/ with a {len(oversized) // 1024} KiB body (over "
            "DJANGO_MAX_BODY_BYTES, 2 MiB) → 413 JSON",
            big,
            *json_error(big, 413),
        )
    except OSError as exc:  # the server closed the connection before answering
        c.failed.append("oversized body")
        print(f"FAIL  POST change-requests/ with a 3 MiB body → no answer: {exc!r}")
    form = api.call(
        "POST",
        PROPOSE,
        who="alice",
        raw=b"value=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    c.row("POST change-requests/ form-encoded → 415 JSON", form, *json_error(form, 415))
    wrong = api.call("DELETE", CONFIG)
    c.row("DELETE config (wrong method) → 405 JSON", wrong, *json_error(wrong, 405))
    for path in ("/api/v1/nothing-here/", "/api/v1/configs/", "/api/v1/change-requests/x/"):
        answer = api.call("GET", path)
        c.row(
            f"GET {path} (no such address under /api/) → 404 JSON", answer, *json_error(answer, 404)
        )
    slashless = api.call("GET", "/api/nope")
    c.row(
        "GET /api/nope (no such address, no slash) → 404 JSON (or a redirect to one)",
        slashless,
        (slashless.status in (301, 404), "status 404 (or 301)"),
        (slashless.status != 404 or is_json_detail(slashless), "a JSON {detail} 404"),
    )
    if slashless.status == 301:
        location = slashless.header("Location") or ""
        followed = api.call("GET", urllib.parse.urlsplit(location).path or "/api/nope/")
        c.row(
            "GET /api/nope/ (after the redirect) → 404 JSON", followed, *json_error(followed, 404)
        )


def previews_and_consumers(api: Server, c: Contract) -> None:
    """The preview rows (?change_request=) and the consumers row, on a fresh proposal."""
    live = api.call("GET", CONFIG)
    live_body = jbody(live) or {}
    base = live_body.get("version")
    opened = api.call(
        "POST",
        PROPOSE,
        who="alice",
        body={
            "value": with_company(live_body.get("value") or {"companies": []}, "preview"),
            "base_version": base,
            "title": "Contract check: a preview",
        },
    )
    pk = opened_id(opened, "for the preview")
    header = f"change-request={pk}"
    preview = api.call("GET", CONFIG, params={"change_request": pk})
    body = jbody(preview) or {}
    about = body.get("change_request") or {}
    c.row(
        "GET config ?change_request=<id>: the same shape, version null, change_request "
        "{id, status, base_version, title}, Config-Preview header, its own ETag",
        preview,
        (preview.status == 200, "status 200"),
        (set(body) == set(live_body) | {"change_request"}, "the live fields + change_request"),
        (body.get("version") is None, "version null"),
        (set(about) == {"id", "status", "base_version", "title"}, "change_request's fields"),
        (about.get("id") == pk and about.get("base_version") == base, "this change request"),
        (preview.header("Config-Preview") == header, f"Config-Preview: {header}"),
        (bool(preview.header("ETag")) and preview.header("ETag") != live.header("ETag"), "ETag"),
    )
    etag = preview.header("ETag") or ""
    again = api.call("GET", CONFIG, params={"change_request": pk}, headers={"If-None-Match": etag})
    c.row("GET config ?change_request= with its ETag → 304", again, (again.status == 304, "304"))
    value = api.call("GET", VALUE, params={"change_request": pk})
    bundle = api.call("GET", BUNDLE, params={"change_request": pk})
    entry = ((jbody(bundle) or {}).get("configs") or {}).get(KEY) or {}
    c.row(
        "GET value/ and the bundle ?change_request=: the proposal (applied over the bundle)",
        bundle,
        (value.status == 200 and jbody(value) == body.get("value"), "value/ is the proposal"),
        (bundle.status == 200 and entry.get("value") == body.get("value"), "bundle entry"),
        (entry.get("version") is None, "the bundle entry's version is null"),
    )
    after = api.call("GET", CONFIG)
    c.row(
        "GET config right after a preview → the live value and its own ETag",
        after,
        (jbody(after) == live_body, "the live document"),
        (after.header("ETag") == live.header("ETag"), "the live ETag"),
    )
    withdrawn = api.call("POST", f"/api/v1/change-requests/{pk}/withdraw/", who="alice", body={})
    closed = api.call("GET", CONFIG, params={"change_request": pk})
    c.row(
        "GET config ?change_request= of a closed change request → 404 JSON",
        closed,
        (withdrawn.status == 200, "the withdraw worked"),
        *json_error(closed, 404),
    )
    outside = api.call("GET", CONFIG, who="elsewhere", params={"change_request": pk})
    c.row("GET preview with a token of another namespace → 404", outside, *json_error(outside, 404))

    # Reads are written in batches every CONSUMER_FLUSH_SECONDS (10 s by default).
    consumers: list = []
    answer = None
    for _ in range(30):
        answer = api.call("GET", CONFIG + "consumers/")
        consumers = jbody(answer) or []
        if answer.status != 200 or consumers:
            break
        time.sleep(1)
    c.row(
        "GET consumers/ → [{token, owner, last_read_at, last_version}], the read token included",
        answer,
        (answer is not None and answer.status == 200, "status 200"),
        (
            isinstance(consumers, list)
            and all(
                set(item) == {"token", "owner", "last_read_at", "last_version"}
                for item in consumers
            ),
            "a list of {token, owner, last_read_at, last_version}",
        ),
        (any(item.get("owner") == "alice" for item in consumers), "alice's read token in it"),
    )


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    tokens = make_tokens()
    print(
        "contract: tokens made for this check (alice read, alice read outside data-pipelines, "
        "write for alice, bob and carol); checking every row over HTTP"
    )
    api = Server(sys.argv[1], tokens)
    c = Contract()

    def section(title: str, run):
        print(f"--- {title}")
        try:
            return run()
        except Exception as exc:  # noqa: BLE001 - a broken row must not hide the others
            c.crash(title, exc)
            return None

    def skipped(title: str, because: str) -> None:
        print(f"--- {title}")
        c.failed.append(f"{title}: skipped ({because})")
        print(f"FAIL  {title}: skipped, {because}")

    facts = section("Reads", lambda: reads(api, c))
    done = None
    if facts is None:
        skipped("Writes", "the reads before them stopped")
    else:
        done = section("Writes", lambda: writes(api, c, facts))
    if done is None:
        skipped("Reads after the writes", "the writes before them stopped")
    else:
        section("Reads after the writes", lambda: history(api, c, facts, done))
    section("The API's edge", lambda: edge(api, c, (facts or {}).get("live") or 1))
    section("Previews and consumers", lambda: previews_and_consumers(api, c))

    c.row(
        f"every error response ({c.errors_checked} of them) has Content-Type application/json",
        None,
        *[(False, f"JSON, not: {problem}") for problem in c.error_types],
    )
    total = len(c.passed) + len(c.failed)
    print()
    if c.failed:
        print(f"CONTRACT: {len(c.failed)} of {total} rows FAIL behind gunicorn on PostgreSQL:")
        for name in c.failed:
            print(f"  - {name}")
        return 1
    print(f"CONTRACT: all {total} rows hold behind gunicorn on PostgreSQL")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make bench-data SIZE=S|M|L`: a PostgreSQL database of the size the console must stay fast at.

Drops and recreates the database `BENCH_DATA_DATABASE` (default `configconsole_benchdata`) on
`BENCH_DATABASE_URL_BASE`, migrates it, seeds the demo, then adds people, namespaces, configs,
versions, change requests in every state with their reviews and comments, and a sealed audit
chain that `verify_audit` accepts. The rows are written with COPY in a few large batches:
creating them one by one through the services would take hours at L.

The shape is realistic where the pages feel it: one hot config holds a tenth of all versions,
two namespaces hold most configs (the bundles the read path must cache together), one schema
is used by most configs, and bob, a reviewer everywhere, has thousands of change requests
waiting for him. Every value passes its config's schema (a sample is checked with the same
validator the services use).

Writes bench/.state/benchdata.json: the size and the names bench/pages.py measures.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import random
import secrets
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import django
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.filterwarnings("ignore", message="No directory at")

# configs, versions, audit events, change requests
SIZES = {
    "S": (100, 1_000, 1_000, 200),
    "M": (1_000, 10_000, 10_000, 2_000),
    "L": (10_000, 1_000_000, 1_000_000, 50_000),
}
STATE_DIR = Path(os.environ.get("BENCH_STATE_DIR") or Path(__file__).with_name(".state"))
PASSWORD = "bench-2026"
TIMEZONES = [
    "UTC",
    "America/Los_Angeles",
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
]
FLAGS_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Feature flag",
    "type": "object",
    "properties": {
        "enabled": {"type": "boolean", "title": "Enabled"},
        "rollout": {"type": "integer", "title": "Rollout (%)", "minimum": 0, "maximum": 100},
        "owner": {"type": "string", "title": "Owning team", "maxLength": 64},
    },
    "required": ["enabled", "rollout"],
    "additionalProperties": False,
}
# Status of a change request: its share of all change requests.
CR_STATES = [
    ("published", 0.60),
    ("in_review", 0.10),
    ("approved", 0.05),
    ("changes_requested", 0.05),
    ("conflicted", 0.03),
    ("rejected", 0.05),
    ("withdrawn", 0.07),
    ("draft", 0.05),
]
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
US = 1_000_000


def when(us: int) -> datetime.datetime:
    return EPOCH + datetime.timedelta(microseconds=us)


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def timezones_value(rng: random.Random, n: int) -> dict:
    return {
        "companies": [
            {"company_id": f"company-{n}-{j}", "timezone": rng.choice(TIMEZONES)}
            for j in range(1 + n % 3)
        ]
    }


def flags_value(rng: random.Random, n: int) -> dict:
    return {"enabled": n % 2 == 0, "rollout": n % 101, "owner": f"team-{n % 13}"}


def free_value(rng: random.Random, n: int) -> dict:
    return {"fields": [f"field_{n % 97}", f"legacy_{n % 31}"], "since": 2000 + n % 25}


def create_database(base: str, name: str) -> None:
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


class Generator:
    def __init__(self, size: str, seed: int = 14) -> None:
        self.size = size
        self.n_configs, self.n_versions, self.n_events, self.n_crs = SIZES[size]
        self.rng = random.Random(seed)
        self.now_us = int(time.time() * US)
        self.start_us = self.now_us - 400 * 86400 * US

    # -- helpers over the raw connection --------------------------------------------------
    def next_id(self, table: str) -> int:
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT COALESCE(max(id), 0) + 1 FROM {table}")
            return cur.fetchone()[0]

    def copy(self, table: str, columns: list[str], rows) -> int:
        count = 0
        with self.conn.cursor() as cur:
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        return count

    def step(self, what: str) -> None:
        now = time.monotonic()
        print(f"  {now - self.t0:6.1f}s  {what}", flush=True)

    # -- the run ---------------------------------------------------------------------------
    def run(self) -> dict:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.hashers import make_password
        from django.core.management import call_command
        from django.db import connection

        from configs.models import Membership, Namespace, Role, Schema, SchemaVersion
        from configs.services import schema_create
        from configs.validation import validate_value

        self.t0 = time.monotonic()
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo", stdout=io.StringIO())
        self.step("migrated, demo seeded")

        users = get_user_model()
        people = {u.username: u for u in users.objects.filter(username__in=["alice", "bob"])}
        people.update({u.username: u for u in users.objects.filter(username__in=["carol", "dave"])})
        password = make_password(PASSWORD)
        n_people = 40
        users.objects.bulk_create(
            users(username=f"person{i:03d}", email=f"person{i:03d}@example.com", password=password)
            for i in range(n_people)
        )
        generated = list(users.objects.filter(username__startswith="person").order_by("username"))
        editors = [people["alice"]] * 8 + generated[:20] + [people["bob"]]
        reviewers = [people["bob"]] * 4 + [people["carol"]] + generated[20:]
        self.user_names = {u.pk: u.username for u in [*people.values(), *generated]}

        n_namespaces = max(4, self.n_configs // 1000)
        # Two big namespaces (40% and 30% of the configs), the rest shared by the others.
        shares = [0.4, 0.3] + [0.3 / (n_namespaces - 2)] * (n_namespaces - 2)
        namespaces = Namespace.objects.bulk_create(
            Namespace(slug=f"bench-{i:02d}", name=f"Bench {i:02d}", required_approvals=1)
            for i in range(n_namespaces)
        )
        memberships = []
        for ns in namespaces:
            for name, role in [
                ("alice", Role.EDITOR),
                ("bob", Role.REVIEWER),
                ("carol", Role.ADMIN),
                ("dave", Role.VIEWER),
            ]:
                memberships.append(Membership(namespace=ns, user=people[name], role=role))
            for i, person in enumerate(generated):
                memberships.append(
                    Membership(
                        namespace=ns,
                        user=person,
                        role=Role.EDITOR if i < 20 else Role.REVIEWER,
                    )
                )
        Membership.objects.bulk_create(memberships)
        timezones_schema = Schema.objects.get(name="company-timezones")
        flags_schema = schema_create(name="feature-flag", body=FLAGS_SCHEMA, actor=people["carol"])
        # Each config version names the schema version it was checked against: the newest.
        self.schema_versions = {
            schema_id: version_id
            for schema_id, version_id in SchemaVersion.objects.order_by("number").values_list(
                "schema_id", "pk"
            )
        }
        kinds = [
            (timezones_schema, timezones_value, 0.80),
            (flags_schema, flags_value, 0.15),
            (None, free_value, 0.05),
        ]
        self.step(f"{n_people} people, {n_namespaces} namespaces")

        self.conn = connection.connection  # Django's psycopg connection: COPY needs it raw
        connection.set_autocommit(True)

        # -- configs ----------------------------------------------------------------------
        config_id0 = self.next_id("configs_config")
        configs = []  # (id, namespace slug, key, schema or None, value function)
        bounds = []
        acc = 0.0
        for share in shares:
            acc += share
            bounds.append(round(acc * self.n_configs))
        kind_bounds = []
        acc = 0.0
        for kind in kinds:
            acc += kind[2]
            kind_bounds.append(acc)
        ns_index = 0
        for i in range(self.n_configs):
            while i >= bounds[ns_index]:
                ns_index += 1
            ns = namespaces[ns_index]
            frac = (i * 7919 % self.n_configs) / self.n_configs
            kind = next(k for k, b in zip(kinds, kind_bounds, strict=True) if frac < b)
            if i == 0:
                kind = kinds[0]  # the hot config has the big schema
            key = "hot-config" if i == 0 else f"config-{i:05d}"
            configs.append((config_id0 + i, ns, key, kind[0], kind[1]))
        created_us = self.start_us - 86400 * US
        self.copy(
            "configs_config",
            ["id", "namespace_id", "key", "name", "description", "schema_id", "created_at"],
            (
                (
                    cid,
                    ns.pk,
                    key,
                    key.replace("-", " ").capitalize(),
                    f"Generated config {key} for the scale benchmarks.",
                    schema.pk if schema else None,
                    when(created_us + n),
                )
                for n, (cid, ns, key, schema, _) in enumerate(configs)
            ),
        )
        owners = [p.pk for p in reviewers]
        self.copy(
            "configs_config_owners",
            ["config_id", "user_id"],
            ((cid, owners[n % len(owners)]) for n, (cid, *_rest) in enumerate(configs)),
        )
        self.step(f"{len(configs)} configs")

        # -- versions ---------------------------------------------------------------------
        # How many versions each config has: the hot one a tenth, the others share the rest.
        hot = self.n_versions // 10
        rest = self.n_versions - hot
        per = [hot] + [rest // (self.n_configs - 1)] * (self.n_configs - 1)
        for n in range(rest - sum(per[1:])):
            per[1 + n] += 1
        version_id0 = self.next_id("configs_version")
        # Per config: (first version id, count); versions of a config have consecutive ids.
        self.config_versions = []
        self.version_at = []  # published_at in µs, by version id - version_id0
        span = self.now_us - 86400 * US - self.start_us
        vid = version_id0
        for _config, count in zip(configs, per, strict=True):
            self.config_versions.append((vid, count))
            offset = self.rng.randrange(0, max(1, span // (count + 1)))
            step_us = (span - offset) // count
            for n in range(count):
                self.version_at.append(self.start_us + offset + n * step_us)
            vid += count
        # A few configs have a scheduled version still to come.
        scheduled = set(range(1, self.n_configs, 97))
        checked = 0

        def version_rows():
            nonlocal checked
            publishers = [p.pk for p in reviewers]
            for index, (cid, _ns, key, schema, fn) in enumerate(configs):
                first, count = self.config_versions[index]
                for n in range(count):
                    vid = first + n
                    value = fn(self.rng, vid)
                    if checked < 200:
                        errors = validate_value(value, schema.body if schema else None)
                        if errors:
                            raise SystemExit(f"generated value fails its schema: {errors}")
                        checked += 1
                    at = when(self.version_at[vid - version_id0])
                    effective = at
                    if n == count - 1 and index in scheduled:
                        effective = when(self.now_us + 7 * 86400 * US)
                    text = canonical(value)
                    yield (
                        vid,
                        cid,
                        n + 1,
                        text,
                        text,
                        effective,
                        at,
                        publishers[vid % len(publishers)],
                        f"Update {key}",
                        "",
                        schema.pk if schema else None,
                        self.schema_versions[schema.pk] if schema else None,
                    )

        self.copy(
            "configs_version",
            [
                "id",
                "config_id",
                "number",
                "value",
                "value_json",
                "effective_at",
                "published_at",
                "published_by_id",
                "reason",
                "bypass_reason",
                "schema_id",
                "schema_version_id",
            ],
            version_rows(),
        )
        self.version_id0 = version_id0
        self.step(f"{self.n_versions} versions")

        # -- change requests, reviews, comments -------------------------------------------
        events = self.change_requests(configs, editors, reviewers)
        self.step(f"{self.n_crs} change requests with reviews and comments")

        # -- audit events -----------------------------------------------------------------
        self.audit(configs, events)
        self.step(f"{self.n_events} audit events, sealed")

        with self.conn.cursor() as cur:
            for table in [
                "auth_user",
                "configs_namespace",
                "configs_membership",
                "configs_config",
                "configs_config_owners",
                "configs_version",
                "reviews_changerequest",
                "reviews_review",
                "reviews_comment",
                "audit_auditevent",
            ]:
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            cur.execute("VACUUM ANALYZE")
        self.step("sequences set, analyzed")
        hot_ns, hot_key = configs[0][1].slug, configs[0][2]
        return {
            "size": self.size,
            "configs": self.n_configs,
            "versions": self.n_versions,
            "audit_events": self.n_events,
            "change_requests": self.n_crs,
            "hot_config": f"{hot_ns}/{hot_key}",
            "big_namespaces": [namespaces[0].slug, namespaces[1].slug],
            "small_namespace": namespaces[-1].slug,
            "big_schema": "company-timezones",
            "password": PASSWORD,
        }

    def change_requests(self, configs, editors, reviewers) -> list[tuple]:
        """Write the change requests and their reviews; returns their audit events as
        (at µs, action, actor id, config index, change request id, details)."""
        rng = self.rng
        cr_id0 = self.next_id("reviews_changerequest")
        review_id = self.next_id("reviews_review")
        comment_id = self.next_id("reviews_comment")
        states = []
        for status, share in CR_STATES:
            states += [status] * round(share * self.n_crs)
        states = (states + ["in_review"] * self.n_crs)[: self.n_crs]
        rng.shuffle(states)
        used_versions: set[int] = set()
        from reviews.models import changes_hash

        crs, changes, reviews, comments, events = [], [], [], [], []
        hour = 3600 * US
        for n, status in enumerate(states):
            cr_id = cr_id0 + n
            # Every tenth change request is on the hot config, the others spread over all.
            index = 0 if n % 10 == 0 else rng.randrange(len(configs))
            cid, _ns, key, _schema, fn = configs[index]
            first, count = self.config_versions[index]
            author = editors[n % len(editors)]
            reviewer = next(r for r in reviewers[n % len(reviewers) :] + reviewers if r != author)
            published_version = None
            if status == "published" and count > 1:
                vid = first + 1 + rng.randrange(count - 1)
                if vid in used_versions:
                    vid = next(
                        (v for v in range(first + 1, first + count) if v not in used_versions),
                        None,
                    )
                if vid is None:
                    status = "withdrawn"
                else:
                    used_versions.add(vid)
                    published_version = vid
            elif status == "published":
                status = "withdrawn"
            if published_version:
                base = published_version - 1
                updated = self.version_at[published_version - self.version_id0]
                created = updated - 2 * hour
            else:
                newest = first + count - 1
                base = newest
                if status == "conflicted" and count > 1:
                    base = first + rng.randrange(count - 1)
                created = self.now_us - rng.randrange(1, 60 * 24) * hour
                updated = created + hour
            value = fn(rng, cr_id + 7)
            text = canonical(value)
            title = f"Change {key} ({n})"
            crs.append(
                (
                    cr_id,
                    author.pk,
                    title,
                    "Generated for the scale benchmarks.",
                    changes_hash(
                        [SimpleNamespace(config_id=cid, base_version_id=base, value=value)]
                    ),
                    1,
                    status,
                    when(created),
                    when(updated),
                )
            )
            changes.append((cr_id, "config", cid, base, text, published_version))
            events.append((created, "change_request.opened", author.pk, index, cr_id, {}))
            verdict = {
                "published": "approve",
                "approved": "approve",
                "changes_requested": "request_changes",
                "conflicted": "approve",
                "rejected": "request_changes",
            }.get(status)
            if verdict:
                at = created + hour // 2
                reviews.append(
                    (
                        review_id,
                        cr_id,
                        reviewer.pk,
                        verdict,
                        crs[-1][4],
                        1,
                        "Looks right." if verdict == "approve" else "Please check the values.",
                        when(at),
                        None,
                    )
                )
                review_id += 1
                action = (
                    "change_request.approved"
                    if verdict == "approve"
                    else "change_request.changes_requested"
                )
                events.append((at, action, reviewer.pk, index, cr_id, {}))
            if n % 5 == 0:
                at = created + hour // 4
                comments.append(
                    (comment_id, cr_id, reviewer.pk, "Which teams does this affect?", when(at))
                )
                comment_id += 1
                events.append((at, "change_request.commented", reviewer.pk, index, cr_id, {}))
            final = {
                "published": "change_request.published",
                "rejected": "change_request.rejected",
                "withdrawn": "change_request.withdrawn",
                "conflicted": "change_request.conflicted",
            }.get(status)
            if final:
                actor = author.pk if status == "withdrawn" else reviewer.pk
                details = {}
                if published_version:
                    details = {"version": published_version - first + 1}
                events.append((updated, final, actor, index, cr_id, details))
        self.copy(
            "reviews_changerequest",
            [
                "id",
                "author_id",
                "title",
                "description",
                "proposal_hash",
                "revision",
                "status",
                "created_at",
                "updated_at",
            ],
            crs,
        )
        self.copy(
            "reviews_change",
            [
                "change_request_id",
                "kind",
                "config_id",
                "base_version_id",
                "value",
                "published_version_id",
            ],
            changes,
        )
        self.copy(
            "reviews_review",
            [
                "id",
                "change_request_id",
                "reviewer_id",
                "verdict",
                "proposal_hash",
                "revision",
                "comment",
                "created_at",
                "dismissed_at",
            ],
            reviews,
        )
        self.copy(
            "reviews_comment",
            ["id", "change_request_id", "author_id", "body", "created_at"],
            comments,
        )
        self.published_by_cr = used_versions
        return events

    def audit(self, configs, cr_events) -> None:
        """Write the audit log as one sealed chain, continuing the demo's."""
        from audit.chain import event_hash

        created_us = self.start_us - 86400 * US
        events: list[tuple] = [
            (created_us + n, "config.created", 0, n, 0, {}) for n in range(len(configs))
        ]
        events += cr_events
        # Versions published without a change request fill the log up to its size.
        room = max(0, self.n_events - len(events))
        unlinked = len(self.version_at) - len(self.published_by_cr)
        stride = max(1, unlinked // room) if room else 0
        if room:
            vid0 = self.version_id0
            added = 0
            n = 0
            for index, (first, count) in enumerate(self.config_versions):
                for vid in range(first, first + count):
                    if vid in self.published_by_cr:
                        continue
                    n += 1
                    if n % stride == 0 and added < room:
                        at = self.version_at[vid - vid0]
                        events.append(
                            (at, "version.published", 0, index, vid, {"version": vid - first + 1})
                        )
                        added += 1
            for n in range(room - added):
                events.append((self.now_us - n * US, "auth.login", 0, -1, 0, {}))
        events.sort(key=lambda e: e[0])

        with self.conn.cursor() as cur:
            cur.execute("SELECT COALESCE(max(id), 0), COALESCE(max(seq), 0) FROM audit_auditevent")
            last_id, last_seq = cur.fetchone()
            cur.execute("SELECT hash FROM audit_auditevent WHERE seq = %s", [last_seq])
            row = cur.fetchone()
        prev_hash = row[0] if row else ""
        bob = next(pk for pk, name in self.user_names.items() if name == "bob")
        state = {"prev": prev_hash}

        def rows():
            for n, (at_us, action, actor, index, target, details) in enumerate(events):
                if actor == 0:
                    actor = bob
                if index >= 0:
                    cid, ns, key, schema, _fn = configs[index]
                    namespace, config = ns.slug, key
                else:
                    namespace = config = ""
                if action == "config.created":
                    target_type, target_id, target_repr = "configs.config", str(cid), f"{ns}/{key}"
                    details = {"schema": schema.name if schema else None}
                elif action == "version.published":
                    # Shown as its own action only in the generated log: the services record a
                    # publish on its change request; here most versions have none.
                    action = "change_request.published"
                    target_type, target_id = "configs.version", str(target)
                    target_repr = f"{ns}/{key} v{details['version']}"
                elif action == "auth.login":
                    target_type, target_id, target_repr = "", "", ""
                else:
                    target_type, target_id = "reviews.changerequest", str(target)
                    target_repr = f"#{target} Change {key}"
                    details = {"change_request": target, **details}
                event = SimpleNamespace(
                    pk=last_id + 1 + n,
                    seq=last_seq + 1 + n,
                    at=when(at_us),
                    actor_id=actor,
                    actor_name=self.user_names[actor],
                    action=action,
                    namespace=namespace,
                    config=config,
                    target_type=target_type,
                    target_id=target_id,
                    target_repr=target_repr,
                    reason="",
                    details=details,
                )
                digest = event_hash(event, state["prev"])
                yield (
                    event.pk,
                    event.at,
                    actor,
                    event.actor_name,
                    action,
                    namespace,
                    config,
                    target_type,
                    target_id,
                    target_repr,
                    "",
                    json.dumps(details),
                    event.seq,
                    state["prev"],
                    digest,
                )
                state["prev"] = digest

        self.copy(
            "audit_auditevent",
            [
                "id",
                "at",
                "actor_id",
                "actor_name",
                "action",
                "namespace",
                "config",
                "target_type",
                "target_id",
                "target_repr",
                "reason",
                "details",
                "seq",
                "prev_hash",
                "hash",
            ],
            rows(),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="S")
    parser.add_argument("--no-verify", action="store_true", help="skip verify_audit at the end")
    args = parser.parse_args()
    base = os.environ.get("BENCH_DATABASE_URL_BASE", "postgres://postgres@127.0.0.1:5432")
    name = os.environ.get("BENCH_DATA_DATABASE", "configconsole_benchdata")
    create_database(base, name)
    os.environ["DATABASE_URL"] = f"{base}/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "configconsole.settings")
    os.environ.setdefault("EMAIL_URL", "locmem://")
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    # COPY of a million rows is one statement: no request-sized time limit on it.
    os.environ["DATABASE_STATEMENT_TIMEOUT"] = "0"
    django.setup()

    print(f"Generating size {args.size} into {name} …", flush=True)
    generator = Generator(args.size)
    state = generator.run()
    state["database"] = name
    STATE_DIR.mkdir(exist_ok=True)
    (STATE_DIR / "benchdata.json").write_text(json.dumps(state, indent=2) + "\n")
    if not args.no_verify:
        from django.core.management import call_command

        call_command("verify_audit")
        generator.step("verify_audit accepts the chain")
    print(f"Done: {json.dumps(state)}")


if __name__ == "__main__":
    main()

"""`make bench` (f) and (g): how fast a publish reaches another app server, and what open
watch streams cost.

(f) Publishes sales-ops/custom-metrics 100 times through the API of the first server
(gunicorn). For each, it times from the commit (a bare LISTEN straight to PostgreSQL hears the
notification, which is sent at commit) until a watcher on the second server (uvicorn, ASGI)
receives the `live` event, and until a token read looping on the second server first returns
the new version (one machine, one clock). p50 and p99 of each; target p99 < 100 ms. The same is
printed from the moment the publish transaction wrote its feed event (earlier: the rest of the
transaction runs before the commit).

(g) Opens BENCH_STREAMS (1,000) watch streams on the second server, reports its resident memory
per stream, and the token read's rate there (wrk) with and without them: medians of BENCH_ROUNDS
interleaved rounds; target: they cost under 10% of the rate.

Usage: bench/propagation.py <first server> <second server> <pid of the second server>
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import django

HERE = Path(__file__).resolve().parent
STATE_DIR = Path(os.environ.get("BENCH_STATE_DIR") or HERE / ".state")
PUBLISHES = int(os.environ.get("BENCH_PUBLISHES", "100"))
STREAMS = int(os.environ.get("BENCH_STREAMS", "1000"))
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
ROUNDS = max(1, int(os.environ.get("BENCH_ROUNDS", "3")))
STREAMS_COST = 0.10  # open streams may cost at most this share of the read rate (issue 25)
CONFIG = "/api/v1/configs/sales-ops/custom-metrics/"


def tokens() -> tuple[str, str]:
    """A write token for carol (admin of sales-ops, which needs no approval) and a read token."""
    django.setup()
    from django.contrib.auth import get_user_model

    from configs.models import Namespace
    from configs.services import token_create

    users = get_user_model().objects
    sales = [Namespace.objects.get(slug="sales-ops")]
    _, write = token_create(
        user=users.get(username="carol"), name="bench publish", namespaces=sales, write=True
    )
    _, read = token_create(user=users.get(username="alice"), name="bench watch", namespaces=sales)
    return write, read


def call(base: str, path: str, secret: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        method="POST" if body is not None else "GET",
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


class Watcher(threading.Thread):
    """Follows the second server's stream and notes when each version's `live` event came."""

    def __init__(self, base: str, secret: str):
        super().__init__(daemon=True)
        request = urllib.request.Request(
            base + "/api/v1/namespaces/sales-ops/watch/",
            headers={"Authorization": f"Bearer {secret}"},
        )
        self.response = urllib.request.urlopen(request, timeout=60)
        self.arrived: dict[int, float] = {}

    def run(self) -> None:
        event = None
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "live":
                    self.arrived[json.loads(line[6:])["version"]] = time.time()
        except (OSError, AttributeError, ValueError):
            return  # closed at the end of the run


class Committed(threading.Thread):
    """A bare LISTEN on the feed's channel, straight to PostgreSQL: when each version's
    notification was delivered, which is its commit (a transaction's NOTIFY is sent at commit,
    or never). From then on the publish exists for anyone who asks the database."""

    def __init__(self, url: str):
        import psycopg

        super().__init__(daemon=True)
        self.connection = psycopg.connect(url, autocommit=True)
        self.connection.execute("LISTEN config_console_feed")
        self.heard: dict[int, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for notice in self.connection.notifies(timeout=0.2):
                now = time.time()
                message = json.loads(notice.payload)
                if message.get("kind") == "live" and message.get("key") == "custom-metrics":
                    self.heard.setdefault(message["version"], now)
        self.connection.close()


class Reader(threading.Thread):
    """Reads the config on the second server in a loop, noting when each version first shows."""

    def __init__(self, base: str, secret: str):
        super().__init__(daemon=True)
        self.base, self.secret = base, secret
        self.first_seen: dict[int, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            version = call(self.base, CONFIG, self.secret)["version"]
            self.first_seen.setdefault(version, time.time())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def committed_at(versions: list[int]) -> dict[int, float]:
    """When each version's `live` event was written, in its publish transaction (a little
    before the commit, so the figures below are, if anything, too high)."""
    from push.models import ChangeEvent

    events = ChangeEvent.objects.filter(
        kind="live", namespace="sales-ops", key="custom-metrics", number__in=versions
    )
    return {event.number: event.at.timestamp() for event in events}


def propagation(first: str, second: str, write: str, read: str) -> list[str]:
    committed = Committed(os.environ["DATABASE_URL"])
    committed.start()
    watcher = Watcher(second, read)
    watcher.start()
    document = call(second, CONFIG, read)
    value, version = document["value"], document["version"]
    reader = Reader(second, read)
    reader.start()
    publish_took, versions = [], []
    for i in range(PUBLISHES):
        value["metrics"].append({"name": f"bench_{i:03d}", "kind": "count", "event": f"e{i}"})
        change = call(
            first,
            CONFIG + "change-requests/",
            write,
            {"value": value, "base_version": version, "title": f"bench {i}"},
        )
        started = time.perf_counter()
        version = call(first, f"/api/v1/change-requests/{change['id']}/publish/", write, {})[
            "version"
        ]
        publish_took.append(time.perf_counter() - started)
        versions.append(version)
        deadline = time.perf_counter() + 10
        while (version not in watcher.arrived or version not in reader.first_seen) and (
            time.perf_counter() < deadline
        ):
            time.sleep(0.001)
    reader.stop.set()
    committed.stop.set()
    watcher.response.close()
    at = committed_at(versions)
    missing = float("inf")
    to_watcher = [watcher.arrived.get(v, missing) - at[v] for v in versions]
    to_read = [reader.first_seen.get(v, missing) - at[v] for v in versions]
    commit = committed.heard
    from_commit_watcher = [watcher.arrived.get(v, missing) - commit.get(v, 0) for v in versions]
    from_commit_read = [reader.first_seen.get(v, missing) - commit.get(v, 0) for v in versions]
    write_to_commit = [commit.get(v, missing) - at[v] for v in versions]

    def line(what: str, values: list[float]) -> str:
        ms = [value * 1000 for value in values]
        return (
            f"  {what:<46} p50 {percentile(ms, 0.5):7.1f} ms   p99 {percentile(ms, 0.99):7.1f} ms"
            f"   max {max(ms):7.1f} ms"
        )

    p99 = max(percentile(from_commit_watcher, 0.99), percentile(from_commit_read, 0.99)) * 1000
    return [
        f"(f) propagation over {PUBLISHES} publishes through the first server, from the commit "
        "(PostgreSQL delivering its notification to a bare listener):",
        line("a watcher on the second server hears `live`", from_commit_watcher),
        line("a token read on the second server returns it", from_commit_read),
        f"  target p99 < 100 ms: {'PASS' if p99 < 100 else 'FAIL'} ({p99:.1f} ms)",
        "  the same from the moment the publish transaction wrote its event (before the rest of",
        "  the transaction: audit, the change request's state, the commit):",
        line("a watcher on the second server hears `live`", to_watcher),
        line("a token read on the second server returns it", to_read),
        line("(of which: event written → commit)", write_to_commit),
        line("(for scale: the whole publish request)", publish_took),
    ]


def rss_kib(pid: int) -> int:
    total = 0
    for candidate in [pid, *children(pid)]:
        for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def read_rate(base: str, read: str) -> float:
    output = subprocess.run(
        [
            "wrk",
            "-t1",
            "-c8",
            f"-d{DURATION}s",
            "-H",
            f"Authorization: Bearer {read}",
            base + CONFIG,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in output.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    return 0.0


def open_streams(base: str, read: str, count: int) -> list[socket.socket]:
    host, port = base.removeprefix("http://").split(":")
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((host, int(port)), timeout=300)
        sock.sendall(
            (
                "GET /api/v1/namespaces/sales-ops/watch/ HTTP/1.1\r\n"
                f"Host: {host}\r\nAuthorization: Bearer {read}\r\n\r\n"
            ).encode()
        )
        sockets.append(sock)
    for sock in sockets:  # each has its headers and first bytes back: the stream is open
        if b"200" not in sock.recv(4096).split(b"\r\n", 1)[0]:
            raise RuntimeError("a watch stream was refused")
    return sockets


def streams_cost(second: str, pid: int, read: str) -> list[str]:
    """The token read's rate on the second server without and with STREAMS open streams, in
    ROUNDS interleaved rounds (medians: one round each way swung by more than the 10% measured on
    a shared machine), and the memory they hold (the first round's: memory freed by closing them
    is reused by the next round's)."""
    read_rate(second, read)  # warm up
    without, during, per_stream = [], [], []
    for _ in range(ROUNDS):
        without.append(read_rate(second, read))
        before = rss_kib(pid)
        sockets = open_streams(second, read, STREAMS)
        time.sleep(2)
        per_stream.append((rss_kib(pid) - before) / STREAMS)
        during.append(read_rate(second, read))
        for sock in sockets:
            sock.close()
        time.sleep(1)  # the server lets them go
    ratio = statistics.median(during) / statistics.median(without)
    verdict = "PASS" if ratio >= 1 - STREAMS_COST else "FAIL"
    return [
        f"(g) {STREAMS} open watch streams on the second server (uvicorn, one worker):",
        f"  resident memory: {per_stream[0]:.1f} KiB per stream",
        f"  token read there, medians of {ROUNDS} rounds: "
        f"{statistics.median(without):.0f} req/s without them, "
        f"{statistics.median(during):.0f} req/s with them ({ratio:.2f}×)",
        f"  rounds without: {', '.join(f'{rate:.0f}' for rate in without)}; "
        f"with: {', '.join(f'{rate:.0f}' for rate in during)}",
        f"  target: they cost under {STREAMS_COST:.0%} of the read rate: {verdict}",
    ]


def main() -> int:
    first, second, pid = sys.argv[1].rstrip("/"), sys.argv[2].rstrip("/"), int(sys.argv[3])
    write, read = tokens()
    lines = propagation(first, second, write, read)
    print("\n".join(lines))
    more = streams_cost(second, pid, read)
    print("\n".join(more))
    report = "\n".join(lines + more)
    (STATE_DIR / "push.txt").write_text(report + "\n", encoding="utf-8")
    return 0 if "PASS" in lines[-1] and "PASS" in more[-1] else 1


if __name__ == "__main__":
    sys.exit(main())

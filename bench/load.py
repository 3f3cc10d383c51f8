"""The measuring half of `make bench` (bench/run starts the servers, then runs this).

Two servers on one database: the deployment (`gunicorn -c gunicorn.conf.py`, uvicorn workers) and
the same app under gunicorn's sync workers, where the ceilings are defined. Checks each case
once, warms each up, then runs wrk on every case in interleaved rounds and reports the median
requests per second of each, as ratios to a0 (ceiling0) and a1 (ceiling1), with the targets.

Usage: bench/load.py <the deployment's address> <the sync server's address>"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATE_DIR = Path(os.environ.get("BENCH_STATE_DIR") or HERE / ".state")

THREADS = int(os.environ.get("BENCH_THREADS", "1"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
DURATION = int(os.environ.get("BENCH_DURATION", "8"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "3"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))

# Under the deployment, the token read and its 304 reach these shares of the ceilings (issue 25),
# with a p99 under P99_MS at CONNECTIONS connections.
TARGETS = {"a1": 0.9, "a0": 0.8}
TARGET_CASES = ("B", "C")
P99_MS = 20.0
# OpenFeature's single evaluation (E) and the evaluate endpoint (F), under the deployment, reach
# this share of the plain token read's rate (B) (issue 24).
EVALUATION_TARGET = 0.8
EVALUATION_CASES = ("E", "F")
# The token read naming its environment (`?environment=<the token's>`, G) is answered by the same
# hot paths, so it reaches this share of the plain token read's rate (B) (issue 23).
ENVIRONMENT_TARGET = 0.9
CONTEXT = json.dumps({"context": {"targetingKey": "user-42", "company": "globex"}})


@dataclass
class Case:
    name: str
    title: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    server: str = "sync"  # "sync" (gunicorn's sync workers, WSGI) or "deployed" (gunicorn.conf.py)
    body: str | None = None  # a POST of this JSON body when set
    rates: list[float] = field(default_factory=list)
    p99s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    bytes_per_request: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return statistics.median(self.rates) if self.rates else 0.0

    @property
    def p99(self) -> float:
        return statistics.median(self.p99s) if self.p99s else 0.0


def fetch(
    url: str, headers: dict[str, str], body: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    data = body.encode() if body is not None else None
    if data is not None:
        headers = {**headers, "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wrk(base: str, case: Case, seconds: int) -> str:
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "5s"]
    command.append("--latency")
    command += ["-s", str(HERE / "statuses.lua")]
    for name, value in case.headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(base + case.path)
    env = dict(os.environ)
    if case.body is not None:
        env.update(BENCH_METHOD="POST", BENCH_BODY=case.body)
    return subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout


def p99_ms(output: str) -> float:
    found = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    if not found:
        return 0.0
    return float(found.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]


def parse(output: str, case: Case) -> tuple[float, list[str], float]:
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = []
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket and any(int(n) for n in socket.groups()):
        errors.append(socket.group(0))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors.append(non_2xx.group(0))
    statuses = re.search(r"^statuses (.*)$", output, re.M)
    counts = dict(item.split("=") for item in statuses.group(1).split()) if statuses else {}
    unexpected = {status: n for status, n in counts.items() if int(status) != case.status}
    if unexpected:
        errors.append(f"unexpected statuses {unexpected} (expected only {case.status})")
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+), ([\d.]+)(\w+) read", output)
    units = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}
    size = float(total.group(4)) * units.get(total.group(5), 1) / max(int(total.group(1)), 1)
    return rate, errors, size


def check(bases: dict[str, str], cases: dict[str, Case], body: bytes) -> list[str]:
    """One request per case before any load: the status each case is meant to measure."""
    problems = []
    for case in cases.values():
        status, headers, content = fetch(bases[case.server] + case.path, case.headers, case.body)
        if status != case.status:
            problems.append(f"({case.name}) {case.path} answered {status}, not {case.status}")
        elif case.name in {"a0", "a1", "b0", "b", "B", "g", "G"} and content != body:
            problems.append(f"({case.name}) {case.path} did not answer the config read's bytes")
        elif case.name in {"c", "C"} and content:
            problems.append(f"({case.name}) the 304 carried a body of {len(content)} bytes")
    return problems


def main() -> int:
    deployed, sync = sys.argv[1].rstrip("/"), sys.argv[2].rstrip("/")
    bases = {"deployed": deployed, "sync": sync}
    fixture = json.loads((STATE_DIR / "fixture.json").read_text(encoding="utf-8"))
    auth = {"Authorization": f"Bearer {fixture['token']}"}
    body = fixture["body"].encode("utf-8")

    cases = {
        "a0": Case("a0", "ceiling0: bare Django view, same bytes", "/bench/a0/"),
        "a1": Case("a1", "ceiling1: same + 1 prepared PG lookup", "/bench/a1/"),
    }
    status, headers, content = fetch(sync + fixture["read_path"], auth)
    api = status == 200
    if api:
        if content != body:
            print("warning: the config read's bytes changed since bench/prepare.py fetched them")
        etag = headers.get("ETag") or headers.get("Etag")
        if not etag:
            print(f"FAIL: {fixture['read_path']} answered 200 without an ETag")
            return 1
        unrecorded = fixture["read_path"].replace("/api/v1/", "/bench/unrecorded/", 1)
        read, bundle = fixture["read_path"], fixture["bundle_path"]
        revalidate = {**auth, "If-None-Match": etag}
        cases["b0"] = Case("b0", "token read, consumers not recorded", unrecorded, dict(auth))
        cases["b"] = Case("b", "token config read", read, dict(auth))
        cases["c"] = Case("c", "its 304 revalidation", read, revalidate, 304)
        cases["d"] = Case("d", "100-config bundle", bundle, dict(auth))
        cases["B"] = Case("B", "token config read", read, dict(auth), server="deployed")
        cases["C"] = Case("C", "its 304 revalidation", read, revalidate, 304, "deployed")
        cases["D"] = Case("D", "100-config bundle", bundle, dict(auth), server="deployed")
        environments = fetch(sync + "/api/v1/environments/", auth)
        if environments[0] == 200:
            # The token's environment is the default one: the last.
            named = f"{read}?environment={json.loads(environments[2])[-1]['name']}"
            cases["g"] = Case("g", "token read, ?environment= its own", named, dict(auth))
            cases["G"] = Case(
                "G", "token read, ?environment= its own", named, dict(auth), server="deployed"
            )
        else:
            print("/api/v1/environments/ is not there yet: (G) is not measured.")
        namespace, key = read.strip("/").split("/")[-2:]
        flag = f"/ofrep/v1/evaluate/flags/{namespace}.{key}"
        cases["e"] = Case("e", "OFREP single evaluation", flag, dict(auth), body=CONTEXT)
        cases["E"] = Case(
            "E", "OFREP single evaluation", flag, dict(auth), server="deployed", body=CONTEXT
        )
        evaluate = read + "evaluate/"
        if fetch(sync + evaluate, auth, CONTEXT)[0] == 200:
            cases["f"] = Case("f", "evaluate endpoint", evaluate, dict(auth), body=CONTEXT)
            cases["F"] = Case(
                "F", "evaluate endpoint", evaluate, dict(auth), server="deployed", body=CONTEXT
            )
        else:
            print(f"{evaluate} is not there yet: the evaluate endpoint (F) is not measured.")
    else:
        print(
            f"The config read {fixture['read_path']} answered {status}: the API is not there "
            "yet, measuring a0 and a1 only."
        )

    problems = check(bases, cases, body)
    if problems:
        print("FAIL before load:\n  " + "\n  ".join(problems))
        return 1
    print(
        f"checked: a0/a1 answer the config read's {len(body)} bytes"
        + (", (b0), (b), (B) too, (c), (C) 304 without a body, (d), (D) 200" if api else "")
    )

    load_before = os.getloadavg()[0]
    for case in cases.values():
        wrk(bases[case.server], case, WARMUP)
    raw = []
    for round_number in range(1, ROUNDS + 1):
        for case in cases.values():
            output = wrk(bases[case.server], case, DURATION)
            raw.append(f"### round {round_number} case {case.name}\n{output}")
            rate, errors, size = parse(output, case)
            case.rates.append(rate)
            case.p99s.append(p99_ms(output))
            case.errors += [f"round {round_number}: {error}" for error in errors]
            case.bytes_per_request.append(size)
        print(
            f"round {round_number}/{ROUNDS}: "
            + "  ".join(f"{c.name} {c.rates[-1]:.0f}" for c in cases.values())
        )
    load_after = os.getloadavg()[0]
    (STATE_DIR / "wrk.txt").write_text("\n".join(raw), encoding="utf-8")

    a0, a1 = cases["a0"].rate, cases["a1"].rate
    lines = [
        f"wrk -t{THREADS} -c{CONNECTIONS} -d{DURATION}s, {ROUNDS} interleaved rounds, median; "
        f"load average {load_before:.1f} before the warm-up, {load_after:.1f} at the end",
        "a0, a1 and lower-case cases: gunicorn's sync workers (WSGI); upper-case cases: the "
        "deployment, gunicorn -c gunicorn.conf.py",
        "",
        f"{'case':<4} {'what':<40} {'req/s':>8} {'÷a0':>6} {'÷a1':>6} {'p99 ms':>7} "
        f"{'B/resp':>7}  rounds",
    ]
    failed = []
    for case in cases.values():
        lines.append(
            f"{case.name:<4} {case.title:<40} {case.rate:>8.0f} {case.rate / a0:>6.2f} "
            f"{case.rate / a1:>6.2f} {case.p99:>7.1f} "
            f"{statistics.median(case.bytes_per_request):>7.0f}  "
            + " ".join(f"{rate:.0f}" for rate in case.rates)
        )
    errors = [f"({c.name}) {e}" for c in cases.values() for e in c.errors]
    if api:
        B, C, b, c = cases["B"], cases["C"], cases["b"], cases["c"]
        lines += [
            "",
            "| served as | ceiling0 | ceiling1 | token read | 304 | read / ceiling1 "
            "| read / ceiling0 |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| the deployment: gunicorn -c gunicorn.conf.py | {a0:,.0f} | {a1:,.0f} "
            f"| **{B.rate:,.0f}** | {C.rate:,.0f} | **{B.rate / a1:.2f}** "
            f"| **{B.rate / a0:.2f}** |",
            f"| sync workers (configconsole.wsgi) | {a0:,.0f} | {a1:,.0f} | {b.rate:,.0f} "
            f"| {c.rate:,.0f} | {b.rate / a1:.2f} | {b.rate / a0:.2f} |",
            "",
        ]
        for case in (cases[name] for name in TARGET_CASES):
            for ceiling, need in TARGETS.items():
                ratio = case.rate / cases[ceiling].rate
                ok = ratio >= need
                lines.append(
                    f"({case.name}) {case.title} under the deployment: {ratio:.2f}×{ceiling}, "
                    f"target ≥ {need:.2f}×{ceiling} {'PASS' if ok else 'FAIL'}"
                )
                if not ok:
                    failed.append(f"({case.name}) {ratio:.2f}×{ceiling} < {need:.2f}×{ceiling}")
            ok = case.p99 < P99_MS
            lines.append(
                f"({case.name}) p99 {case.p99:.1f} ms at {CONNECTIONS} connections, target "
                f"< {P99_MS:.0f} ms {'PASS' if ok else 'FAIL'}"
            )
            if not ok:
                failed.append(f"({case.name}) p99 {case.p99:.1f} ms ≥ {P99_MS:.0f} ms")
    if api:
        lines.append("")
        for name in EVALUATION_CASES:
            case = cases.get(name)
            if case is None:
                lines.append(f"({name}) not measured (not there yet)")
                continue
            ratio = case.rate / cases["B"].rate
            ok = ratio >= EVALUATION_TARGET
            lines.append(
                f"({name}) {case.title} under the deployment: {ratio:.2f}×B (the token read), "
                f"target ≥ {EVALUATION_TARGET:.2f}×B {'PASS' if ok else 'FAIL'}"
            )
            if not ok:
                failed.append(f"({name}) {ratio:.2f}×B < {EVALUATION_TARGET:.2f}×B")
    if api and "G" in cases:
        ratio = cases["G"].rate / cases["B"].rate
        ok = ratio >= ENVIRONMENT_TARGET
        on_sync = cases["g"].rate / cases["b"].rate
        lines.append(
            f"(G) token read naming its environment under the deployment: {ratio:.2f}×B (the "
            f"same read without ?environment=), target ≥ {ENVIRONMENT_TARGET:.2f}×B "
            f"{'PASS' if ok else 'FAIL'}; sync workers: (g) {on_sync:.2f}×(b)"
        )
        if not ok:
            failed.append(f"(G) {ratio:.2f}×B < {ENVIRONMENT_TARGET:.2f}×B")
    if api and cases["b0"].rate:
        lines += [
            "",
            f"Consumer recording: (b) reads at {cases['b'].rate / cases['b0'].rate:.2f}× the rate "
            "of (b0), the same read with recording switched off (sync workers).",
        ]
    lines.append("")
    if load_before > 1.0:
        lines.append(
            f"Note: the machine was busy before the run (load {load_before:.1f}): other work "
            "shares the cores, so absolute figures are low and noisy; the ratios less so."
        )
    if errors:
        lines.append("ERRORS under load:")
        lines += [f"  {error}" for error in errors]
    else:
        lines.append("No error responses or socket errors under load.")
    if not api:
        lines.append("INCOMPLETE: the API is not there yet, so the reads were not measured.")
    if failed:
        lines.append("TARGETS MISSED: " + "; ".join(failed))
    elif api:
        lines.append(
            "Targets met under the deployment: read and 304 ≥ 0.9×a1 and ≥ 0.8×a0, "
            f"p99 < {P99_MS:.0f} ms."
        )
    report = "\n".join(lines)
    print()
    print(report)
    (STATE_DIR / "results.txt").write_text(report + "\n", encoding="utf-8")
    return 1 if errors or failed or not api else 0


if __name__ == "__main__":
    sys.exit(main())

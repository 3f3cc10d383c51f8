"""Throwaway PostgreSQL and Redis servers and a gunicorn app server on them, for fault tests.

The servers are the machine's own binaries (Debian's `postgresql` and `redis-server` packages),
started on free ports of their own in temporary directories, so a test may stop, kill, restart
or freeze them without touching anything else on the machine.
"""

from __future__ import annotations

import glob
import http.cookiejar
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
POSTGRES_PORTS = range(54400, 54410)
REDIS_PORTS = range(63800, 63810)
APP_PORTS = range(8240, 8250)


def postgres_bin() -> Path | None:
    for directory in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(directory, "initdb").exists() and Path(directory, "pg_ctl").exists():
            return Path(directory)
    return None


def redis_server() -> str | None:
    return shutil.which("redis-server")


def free_port(ports: range) -> int:
    for port in ports:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"No free port in {ports.start}-{ports.stop - 1}.")


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"Nothing answered on port {port} within {timeout} s.")


class ThrowawayPostgres:
    """PostgreSQL in a temporary directory. PostgreSQL refuses to run as root, so as root (CI)
    it runs as the `postgres` user the Debian package creates."""

    def __init__(self):
        self.bin = postgres_bin()
        self.port = free_port(POSTGRES_PORTS)
        self.dir = Path(tempfile.mkdtemp(prefix="cc-faults-pg-"))
        self.data = self.dir / "data"
        self.as_user = "postgres" if os.geteuid() == 0 else None
        if self.as_user:
            account = pwd.getpwnam(self.as_user)
            os.chown(self.dir, account.pw_uid, account.pw_gid)
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-locale", "--no-sync")  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/configconsole"

    def _run(self, tool: str, *args) -> subprocess.CompletedProcess:
        command = [str(self.bin / tool), *map(str, args)]
        if self.as_user:
            command = ["runuser", "-u", self.as_user, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=60)

    def start(self) -> None:
        # fsync off is safe here: a crash test kills the server, not the machine, so the OS
        # still holds what was written. synchronous_commit stays on: off, an immediate stop loses
        # the last commits, and a test would see an approval answered 200 vanish.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} "
            "-c fsync=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", self.data, "-l", self.dir / "log", "-w", "-t", "30",
                  "-o", options, "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """`fast`: a clean shutdown; `immediate`: a crash, recovered from at the next start."""
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def processes(self) -> list[int]:
        """The postmaster and every process it started."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                children.append(int(stat.split("/")[2]))
        return [postmaster, *children]

    def freeze(self) -> None:
        for pid in self.processes():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self.processes():
            os.kill(pid, signal.SIGCONT)

    def sql(self, statement: str, database: str = "configconsole") -> list[tuple]:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database, autocommit=True
        ) as connection:
            cursor = connection.execute(statement)
            return cursor.fetchall() if cursor.description else []

    def close(self) -> None:
        try:
            self.thaw()
            self.stop("immediate")
        except (subprocess.CalledProcessError, OSError, ValueError):
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class ThrowawayRedis:
    def __init__(self):
        self.port = free_port(REDIS_PORTS)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                redis_server(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def close(self) -> None:
        self.stop()


@dataclass
class Answer:
    status: int
    headers: Message  # names in any case: uvicorn sends them in lower case
    body: bytes
    seconds: float

    def json(self):
        return json.loads(self.body)


class AppServer:
    """The deployment (gunicorn.conf.py) with production settings (debug off) on the throwaway
    servers."""

    def __init__(self, postgres: ThrowawayPostgres, redis: ThrowawayRedis, **settings: str):
        self.port = free_port(APP_PORTS)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "API_"))},
            "DJANGO_SETTINGS_MODULE": "configconsole.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_SSL_REDIRECT": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_LOG_LEVEL": "ERROR",
            "DATABASE_URL": postgres.url,
            "REDIS_URL": redis.url,
            "EMAIL_URL": "locmem://",
            **settings,
        }
        self.process: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="cc-faults-app-", suffix=".log")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=check,
        )

    def token(self, user: str, namespace: str, write: bool = False) -> str:
        args = ["create_token", "--user", user, "--namespace", namespace]
        return self.manage(*args, *(["--write"] if write else [])).stdout.strip()

    def start(self, workers: int = 2) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--timeout",
                "30",
            ],  # fmt: skip
            cwd=PROJECT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port)

    def close(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body=None,
        opener: urllib.request.OpenerDirector | None = None,
        headers: dict | None = None,
        form: dict | None = None,
    ) -> Answer:
        headers = dict(headers or {})
        data = None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        started = time.monotonic()
        try:
            with (opener or urllib.request.build_opener()).open(request, timeout=60) as response:
                return Answer(
                    response.status, response.headers, response.read(),
                    time.monotonic() - started,
                )  # fmt: skip
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.headers, error.read(), time.monotonic() - started)

    def signed_in(self, username: str, password: str) -> urllib.request.OpenerDirector:
        """An opener holding a signed-in session's cookies."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(jar), _NoRedirects()
        )
        self.request("GET", "/accounts/login/", opener=opener)
        csrf = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
        answer = self.request(
            "POST",
            "/accounts/login/",
            opener=opener,
            form={"username": username, "password": password, "csrfmiddlewaretoken": csrf},
            headers={"Referer": self.base + "/accounts/login/"},
        )
        assert answer.status == 302, answer.body[:500]
        return opener


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

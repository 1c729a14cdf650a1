"""The common harness: the product as deployed on one box (`manage.py serve` with
BENCH_WEB_PROCESSES daphne processes, default 2, + Celery workers on a real PostgreSQL and
Redis), in a bench database and Redis database of its own, plus the client side helpers every
scenario shares (token, stats, result lines, RSS sampling)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
PY = str(VENV_BIN / "python")
LOG_DIR = ROOT / ".run" / "bench"
HOST = "127.0.0.1"
MANDRILL_KEY = "bench-mandrill-key"
USERNAME = "bench"
PASSWORD = secrets.token_urlsafe(16)
# Web processes of `manage.py serve` (Django's sync views use one core per process).
WEB_PROCESSES = int(os.environ.get("BENCH_WEB_PROCESSES", "2"))
# The ASGI server, to compare: `serve` (daphne, as deployed) or uvicorn (its --workers).
ASGI_SERVER = os.environ.get("BENCH_ASGI", "daphne")
# One Fernet key for the bench's provider accounts (generated once per run).
_FERNET_KEY = None


def say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _fernet_key() -> str:
    global _FERNET_KEY
    if _FERNET_KEY is None:
        from cryptography.fernet import Fernet

        _FERNET_KEY = Fernet.generate_key().decode()
    return _FERNET_KEY


# --- services (from scripts/env.sh, which scripts/bench.sh sources)


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def database_url(name: str) -> str:
    return _with_path(os.environ["DATABASE_URL"], "/" + name)


def redis_url(db: int) -> str:
    return _with_path(os.environ["REDIS_URL"], f"/{db}")


def _admin_conninfo() -> str:
    return database_url("postgres")


def _check_loopback() -> None:
    for var in ("DATABASE_URL", "REDIS_URL"):
        host = urlsplit(os.environ[var]).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit(f"bench: {var} must point at 127.0.0.1 (it is {host})")


def database_exists(name: str) -> bool:
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        return row is not None


def database_recreate(name: str) -> None:
    assert name.startswith("mailpulse_bench"), name  # never anyone else's database
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def sql(db_name: str, query: str, params=None, *, fetch: bool = True):
    with psycopg.connect(database_url(db_name), autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if fetch and cur.description else None


def redis_flush(db: int) -> None:
    import redis

    redis.Redis.from_url(redis_url(db)).flushdb()


# --- the product


def product_env(db_name: str, redis_db: int, port: int, extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SANDBOX_"))}
    env.update(
        {
            "MAILPULSE_IGNORE_DOTENV": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url(db_name),
            "REDIS_URL": redis_url(redis_db),
            "SECRET_KEY": "bench-" + secrets.token_urlsafe(40),
            "DEBUG": "false",
            "HTTPS": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"),
            "MANDRILL_WEBHOOK_KEY": MANDRILL_KEY,
            # Every simulated dashboard is the bench user's: lift the per-user limit.
            "WS_MAX_CONNECTIONS_PER_USER": "100000",
            "PROVIDER_CREDENTIALS_KEYS": _fernet_key(),
            "SITE_URL": f"http://{HOST}:{port}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


def manage(env: dict, *args: str, check: bool = True) -> str:
    result = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800
    )
    if check and result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


@dataclass
class Product:
    """`manage.py serve` + Celery workers on free ports, their logs under .run/bench/."""

    db_name: str
    redis_db: int
    workers: int = 2
    extra_env: dict = field(default_factory=dict)
    port: int = 0
    procs: dict = field(default_factory=dict)
    token: str = ""

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.port}/ws/email/"

    @property
    def hook_url(self) -> str:
        return f"{self.base}/api/hook/mandrill/"

    @property
    def env(self) -> dict:
        return product_env(self.db_name, self.redis_db, self.port, self.extra_env)

    def prepare(self, *, fresh: bool = True) -> None:
        _check_loopback()
        self.port = self.port or free_port()
        if fresh:
            database_recreate(self.db_name)
            redis_flush(self.redis_db)
        say(f"migrating {self.db_name}")
        manage(self.env, "migrate", "--noinput", "-v", "0")
        env = {
            **self.env,
            "DJANGO_SUPERUSER_USERNAME": USERNAME,
            "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
            "DJANGO_SUPERUSER_EMAIL": "bench@example.com",
        }
        manage(env, "createsuperuser", "--noinput", check=False)
        # The password changes per run: set it (the user may exist from a cached database).
        manage(
            self.env,
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model as g; "
            f"u=g().objects.get(username={USERNAME!r}); u.set_password({PASSWORD!r}); u.save()",
        )

    def start(self) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        env = self.env
        self.procs["daphne"] = self._spawn("daphne", self._web_command(), env)
        for n in range(self.workers):
            self.procs[f"celery{n + 1}"] = self._spawn(
                f"celery{n + 1}",
                [
                    str(VENV_BIN / "celery"),
                    "-A",
                    "config",
                    "worker",
                    "--concurrency",
                    "1",
                    "-n",
                    f"bench{n + 1}@%h",
                    "--loglevel",
                    "INFO",
                    "--without-heartbeat",
                    "--without-gossip",
                    "--without-mingle",
                ],
                env,
            )
        self._wait_healthy()
        self.token = self._token()

    def _web_command(self) -> list[str]:
        where = ["--host", HOST, "--port", str(self.port)]
        if ASGI_SERVER == "uvicorn":
            quiet = ["--no-access-log", "--log-level", "warning"]
            workers = ["--workers", str(WEB_PROCESSES)]
            return [PY, "-m", "uvicorn", "config.asgi:application", *where, *workers, *quiet]
        return [PY, "manage.py", "serve", *where, "--processes", str(WEB_PROCESSES)]

    def _spawn(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        log = open(LOG_DIR / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        return subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def _wait_healthy(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.procs["daphne"].poll() is not None:
                raise RuntimeError(f"daphne exited; see {LOG_DIR}/daphne.log")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"daphne not healthy after {timeout_s}s; see {LOG_DIR}/daphne.log")

    def _token(self) -> str:
        answer = httpx.post(
            f"{self.base}/api/auth/token/",
            json={"username": USERNAME, "password": PASSWORD},
            timeout=10,
        )
        answer.raise_for_status()
        return answer.json()["token"]

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Token {self.token}"}

    def pid(self, name: str = "daphne") -> int:
        return self.procs[name].pid

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self.procs.clear()

    def __enter__(self) -> Product:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# The database and Redis db of every scenario but history (each run recreates them).
SCENARIO_DB = "mailpulse_bench"
SCENARIO_REDIS_DB = 9


def run_product(measure, options) -> list:
    """Starts the product on a fresh scenario database, runs the coroutine function
    `measure(product, options)` against it (its results returned), and stops it."""
    with Product(SCENARIO_DB, SCENARIO_REDIS_DB, workers=options.workers) as product:
        product.prepare()
        product.start()
        return asyncio.run(measure(product, options))


# --- measuring


def quantiles(values: list[float]) -> dict:
    """p50/p95/p99 (and max) of values, in the values' unit; None when there are none."""
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None, "n": 0}
    if len(values) == 1:
        v = values[0]
        return {"p50": v, "p95": v, "p99": v, "max": v, "n": 1}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "p50": round(cuts[49], 2),
        "p95": round(cuts[94], 2),
        "p99": round(cuts[98], 2),
        "max": round(max(values), 2),
        "n": len(values),
    }


def web_pids(pid: int) -> list[int]:
    """The processes serving requests: the children of `manage.py serve --processes N`, or the
    process itself when it has none."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return [pid]
    return [int(child) for child in children] or [pid]


def rss_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in kB, from /proc."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                values[key] = int(value.split()[0])
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


class RssSampler:
    """Samples the RSS of the largest web process (web_pids) every `every_s` seconds in the
    background (asyncio)."""

    def __init__(self, pid: int, every_s: float = 0.5) -> None:
        self.pid, self.every_s = pid, every_s
        self.samples: list[tuple[float, int]] = []
        self._task: asyncio.Task | None = None
        self._t0 = time.monotonic()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(OSError):
                largest = max(rss_kb(pid)[0] for pid in web_pids(self.pid))
                self.samples.append((time.monotonic() - self._t0, largest))
            await asyncio.sleep(self.every_s)

    def start(self) -> RssSampler:
        self._t0 = time.monotonic()
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def peak_mb(self) -> float:
        return round(max((kb for _, kb in self.samples), default=0) / 1024, 1)


@dataclass
class Result:
    """One result line: a scenario's (or a cell's) figures and its targets."""

    scenario: str
    case: str
    figures: dict
    targets: dict = field(default_factory=dict)  # name -> (bound text, met: bool | None)
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        return json.dumps(
            {
                "scenario": self.scenario,
                "case": self.case,
                **self.figures,
                "targets": {k: {"target": t, "met": m} for k, (t, m) in self.targets.items()},
                **({"notes": self.notes} if self.notes else {}),
            },
            default=str,
        )

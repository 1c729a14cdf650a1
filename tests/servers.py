"""Real processes for tests: throwaway Redis and PostgreSQL servers, and daphne running the
product."""

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
TCP_ESTABLISHED = "01"  # the state column of /proc/net/tcp


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout_s: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


@dataclass
class RedisServer:
    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: run the tests with `make test`")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_until(self.answers, what=f"redis on {self.port}")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if found:
        return Path(found[-1])
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("PostgreSQL is not installed: run the tests with `make test`")
    return Path(initdb).parent


@dataclass
class PostgresServer:
    """A throwaway PostgreSQL cluster of a test's own, which the test may stop and start.

    Its folder is a fresh temp folder under /tmp: PostgreSQL refuses to run as root, so as root
    its tools run as `postgres` (like scripts/stack.sh), who must be able to reach the folder.
    One database, `mailpulse`, owned by the `postgres` superuser (trust auth on loopback)."""

    port: int = field(default_factory=free_port)
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="mp-pg-")))
    database: str = "mailpulse"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def _run(self, *command: str, timeout: float = 60) -> None:
        as_root = os.geteuid() == 0
        argv = ["runuser", "-u", "postgres", "--", *command] if as_root else list(command)
        subprocess.run(
            argv, check=True, timeout=timeout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self.folder.chmod(0o700)
        self._run(
            str(_pg_bin() / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        self.start()
        self._run(
            str(_pg_bin() / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
            "-U", "postgres", self.database,
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off "
            "-c max_connections=50"
        )
        self._run(
            str(_pg_bin() / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"),
            "-w", "-t", "60", "-o", options, "start",
        )  # fmt: skip

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(_pg_bin() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def database_url_for_tests() -> str:
    """The URL of pytest-django's test database, for processes the tests start."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def child_pids(pid: int) -> list[int]:
    """The processes `pid` started (from /proc), oldest first."""
    return sorted(
        int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    )


def connections_served(pid: int, port: int) -> int:
    """Established TCP connections to `port` that process `pid` holds (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    served = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        if local_port == port and fields[3] == TCP_ESTABLISHED and fields[9] in inodes:
            served += 1
    return served


@dataclass
class DaphneServer:
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_daphne(
    port: int | None = None, processes: int = 1, fd: int | None = None, **env: str
) -> DaphneServer:
    """Run the product with `manage.py serve` (daphne) and the test settings; `env` overrides.
    On a free port, or on `port` to restart a stopped server where its clients will look for
    it; `processes` > 1 runs that many children on the one port. With `fd`, a listening socket
    of the test's on `port`, it serves there beside any other server on that socket (which
    may be the one that answers its readiness check)."""
    port = port or free_port()
    (ROOT / ".run").mkdir(exist_ok=True)
    log = Path(tempfile.mkstemp(prefix=f"daphne-{port}-", suffix=".log", dir=ROOT / ".run")[1])
    where = ["--port", str(port)] if fd is None else ["--fd", str(fd)]
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": settings.REDIS_URL,
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", *where, "--processes", str(processes)],
        cwd=ROOT,
        env=environment,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        pass_fds=() if fd is None else (fd,),
    )
    server = DaphneServer(process, port, log)

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited:\n{server.output()}")
        try:
            return httpx.get(f"{server.url}/api/hook/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, timeout_s=30, what="daphne")
    return server

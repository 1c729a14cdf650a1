"""Real Celery worker processes for tests, on the test database and the test broker."""

import itertools
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.servers import ROOT, database_url_for_tests, wait_until

_logs = itertools.count()


class CeleryWorkers:
    """Worker processes, each in its own session so the whole process group (main process
    and pool children) can be killed at once. `env` (e.g. EMAIL_URL) is added to each one's
    environment."""

    def __init__(self, **env: str) -> None:
        self.env = env
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def start(self, concurrency: int = 4) -> subprocess.Popen:
        n = len(self.processes)
        log = Path(ROOT / ".run" / f"celery-test-{os.getpid()}-{next(_logs)}.log")
        log.parent.mkdir(exist_ok=True)
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "DATABASE_URL": database_url_for_tests(),
            "REDIS_URL": settings.REDIS_URL,
            "REDIS_TEST_DB": str(settings.REDIS_TEST_DB),
            "TEST_DB_NAME": connection.settings_dict["NAME"],
            **self.env,
        }
        command = [sys.executable, "-m", "celery", "-A", "config", "worker"]
        options = ["--pool=prefork", f"--concurrency={concurrency}", "--loglevel=INFO"]
        options += ["--without-gossip", "--without-mingle", "-n", f"test{n}@%h"]
        process = subprocess.Popen(
            command + options,
            cwd=ROOT,
            env=environment,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        self.logs.append(log)
        return process

    def output(self, process: subprocess.Popen) -> str:
        return self.logs[self.processes.index(process)].read_text(errors="replace")

    def wait_ready(self, process: subprocess.Popen, timeout_s: float = 60) -> None:
        """Until the worker consumes from the broker (it logs "ready")."""

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"celery worker exited:\n{self.output(process)[-3000:]}")
            return " ready." in self.output(process)

        wait_until(ready, timeout_s, "a celery worker")

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def kill_all(self) -> None:
        for process in self.processes:
            self.kill(process)


@pytest.fixture(name="celery_workers")
def celery_workers_fixture(transactional_db):
    """Starts workers with `start(**env)`, each a CeleryWorkers; all killed after the test."""
    groups: list[CeleryWorkers] = []

    def start(**env: str) -> CeleryWorkers:
        workers = CeleryWorkers(**env)
        groups.append(workers)
        return workers

    yield start
    for workers in groups:
        workers.kill_all()

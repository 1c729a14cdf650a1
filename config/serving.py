"""How `manage.py serve` runs the ASGI server: in this process, or in N child processes that
share one listening socket. Django runs sync views on one thread per process, so one process
uses one core; more processes use more cores without a second port or a balancer."""

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from django.conf import settings

from config.asgi import application
from config.graceful_server import GracefulServer

logger = logging.getLogger(__name__)

# Connections the kernel queues for the server: dashboards reconnect together after a restart.
LISTEN_BACKLOG = 1024
SUPERVISE_POLL_S = 0.2


def listen(host: str, port: int) -> int:
    """The descriptor of a new listening IPv4 TCP socket, non-blocking as Twisted adopts it."""
    listener = socket.create_server((host, port), backlog=LISTEN_BACKLOG)
    listener.setblocking(False)
    return listener.detach()


def serve_here(fd: int, *, grace_s: float, proxy_headers: bool) -> bool:
    """Serves the product on the listening socket `fd` until SIGTERM or SIGINT, then stops
    gracefully (config/graceful_server.py). False when it could not listen."""
    server = GracefulServer(
        application=application,
        endpoints=[f"fd:fileno={fd}"],
        grace_s=grace_s,
        proxy_forwarded_address_header="X-Forwarded-For" if proxy_headers else None,
        proxy_forwarded_port_header="X-Forwarded-Port" if proxy_headers else None,
        proxy_forwarded_proto_header="X-Forwarded-Proto" if proxy_headers else None,
        verbosity=0,
    )
    server.run()
    return not server.abort_start


def serve_processes(fd: int, processes: int, child_options: list[str]) -> int:
    """Runs `processes` children of `manage.py serve --fd` on the listening socket `fd`, passes
    SIGTERM and SIGINT on to them and waits for them. When one exits by itself, the others are
    stopped too (the process manager restarts the whole). Returns the exit status."""
    command = [sys.executable, str(settings.BASE_DIR / "manage.py"), "serve", "--skip-checks"]
    command += ["--processes", "1", "--fd", str(fd), *child_options]
    children: list[subprocess.Popen] = []
    stopping = False

    def pass_on(signum: int, _frame) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, pass_on)
    # A scrape of /metrics reaches one child: the children share their metrics (config.metrics).
    metrics_dir = tempfile.mkdtemp(prefix="mailpulse-metrics-")
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    for _ in range(processes):
        if not stopping:
            children.append(subprocess.Popen(command, pass_fds=(fd,), env=environment))
    os.close(fd)  # the children hold it: once they all stop listening, connections are refused
    logger.info("server processes started", extra={"pids": [c.pid for c in children]})
    crashed = False
    while running := [child for child in children if child.poll() is None]:
        if not stopping and len(running) < len(children):
            logger.error("a server process exited; stopping the others")
            crashed = True
            pass_on(signal.SIGTERM, None)
        time.sleep(SUPERVISE_POLL_S)
    shutil.rmtree(metrics_dir, ignore_errors=True)
    # A child stopped by the signal before it could install its handler (while starting).
    stopped = {0, -signal.SIGTERM, -signal.SIGINT}
    codes = [child.returncode for child in children]
    if crashed or not set(codes) <= stopped:
        logger.error("server processes exited", extra={"exit_codes": codes})
        return 1
    return 0

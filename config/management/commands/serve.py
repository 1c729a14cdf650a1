"""`manage.py serve`: the product's ASGI server (daphne), HTTP and websockets, in production."""

import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.serving import listen, serve_here, serve_processes

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Serve HTTP and websockets with daphne in --processes processes sharing one socket "
        "(default WEB_PROCESSES). SIGTERM stops accepting, closes websockets with 1001 "
        "(going away) so dashboards reconnect at once, and exits within SHUTDOWN_GRACE_S."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="IPv4 address to listen on")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--processes", type=int, default=settings.WEB_PROCESSES)
        parser.add_argument(
            "--fd",
            type=int,
            help="serve on this inherited listening socket instead of --host and --port",
        )
        parser.add_argument(
            "--proxy-headers",
            action="store_true",
            help="take the client address and scheme from X-Forwarded-For/-Port/-Proto: "
            "only when nothing but the reverse proxy can reach this port",
        )

    def handle(self, *args, host, port, processes, fd, proxy_headers, **options):
        if processes < 1:
            raise CommandError("--processes must be at least 1.")
        if fd is None:
            try:
                fd = listen(host, port)
            except OSError as error:
                raise CommandError(f"Cannot listen on {host}:{port}: {error}") from error
            logger.info("serving", extra={"address": f"{host}:{port}", "processes": processes})
        if processes == 1:
            if not serve_here(fd, grace_s=settings.SHUTDOWN_GRACE_S, proxy_headers=proxy_headers):
                raise CommandError("The server could not listen; see the log.")
            return
        status = serve_processes(fd, processes, ["--proxy-headers"] if proxy_headers else [])
        if status:
            raise CommandError("A server process failed; see the log.")

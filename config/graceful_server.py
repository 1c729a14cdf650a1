"""daphne's Server with a graceful stop, for `manage.py serve`."""

import asyncio
import logging
import signal
import time

from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import defer, reactor

logger = logging.getLogger(__name__)

CLOSE_GOING_AWAY = 1001
POLL_S = 0.05


class GracefulServer(Server):
    """On SIGTERM or SIGINT, before daphne cancels what is still running: stop accepting
    connections (so a proxy sends new ones to another server), cancel each websocket's
    consumer (so nothing more is sent on it) and close the socket with 1001 "going away" (so
    the dashboard reconnects at once), then wait, at most `grace_s`, for the clients to
    answer the close and for HTTP requests in flight to be answered."""

    def __init__(self, *args, grace_s: float, **kwargs) -> None:
        # Our own signal handlers (run): a terminal's Ctrl-C reaches the parent of --processes
        # and its children alike, and the parent passes signals on, so one may get two.
        super().__init__(*args, signal_handlers=False, **kwargs)
        self.grace_s = grace_s
        self.ports: list = []
        self.stopping = False

    def run(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: reactor.callFromThread(self._stop_once))
        super().run()

    def _stop_once(self) -> None:
        if not self.stopping:
            self.stopping = True
            reactor.stop()

    def listen_success(self, port) -> None:
        self.ports.append(port)
        super().listen_success(port)

    def kill_all_applications(self) -> defer.Deferred:
        deadline = time.monotonic() + self.grace_s
        for port in self.ports:
            port.stopListening()
        closing = 0
        for protocol, details in list(self.connections.items()):
            if isinstance(protocol, WebSocketProtocol) and protocol.state == protocol.STATE_OPEN:
                instance = details.get("application_instance")
                if instance is not None:
                    instance.cancel()
                # sendClose refuses 1001 (it allows applications 1000 and 3000-4999 only).
                protocol.sendCloseFrame(code=CLOSE_GOING_AWAY)
                closing += 1
        logger.info("stopping", extra={"websockets_closed": closing, "grace_s": self.grace_s})
        stopped = self._until_idle(deadline)
        stopped.addCallback(self._kill_the_rest)
        return stopped

    def _kill_the_rest(self, _) -> defer.Deferred:
        """daphne's own kill_all_applications, minus its KeyError: its checker deletes the
        instance of a finished application while the connection is still closing."""
        running = [
            details["application_instance"]
            for details in self.connections.values()
            if "application_instance" in details and not details["application_instance"].done()
        ]
        for instance in running:
            instance.cancel()
        return defer.Deferred.fromFuture(asyncio.gather(*running, return_exceptions=True))

    def _busy(self) -> bool:
        for protocol, details in self.connections.items():
            if isinstance(protocol, WebSocketProtocol):
                if protocol.state == protocol.STATE_CLOSING:
                    return True
            else:
                instance = details.get("application_instance")
                if instance is not None and not instance.done():
                    return True
        return False

    def _until_idle(self, deadline: float) -> defer.Deferred:
        idle = defer.Deferred()

        def check() -> None:
            if not self._busy() or time.monotonic() >= deadline:
                idle.callback(None)
            else:
                reactor.callLater(POLL_S, check)

        check()
        return idle

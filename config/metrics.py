"""What Mailpulse counts for Prometheus, and the one-line calls that count it.

Two kinds of metric, because many web processes and Celery workers run at once:

- Process-local (prometheus_client objects in this module): what one web process itself does,
  its webhook latency, its websocket clients and frames. Prometheus scrapes every server, so
  each reports its own; dashboards sum them. The processes of one `manage.py serve
  --processes N` share a port, so a scrape reaches any one of them: they write their values to
  files in PROMETHEUS_MULTIPROC_DIR (set by the parent) and every scrape adds up all N.
- Shared (Redis): what Celery workers count, and facts of shared state. Workers are never
  scraped, so their counts are HINCRBYs added to a pipeline the code already sends (no extra
  round trip); config/metrics_collector.py reads them, with the spool, the Celery queues and
  the provider states, when /metrics is scraped. Every web process reports the same values:
  dashboards take `max`, never `sum`, of them.
"""

import functools
import time
from collections import Counter as Tally
from collections.abc import Callable, Container

from django.conf import settings
from prometheus_client import Counter, Gauge, Histogram

WEBHOOK_SECONDS = Histogram(
    "mailpulse_webhook_request_duration_seconds",
    "Time to receive one webhook request (verify, parse, store or spool), by outcome: "
    "accepted, spooled, refused (4xx) or error (unstorable data, database and Redis down).",
    ["provider", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
WEBSOCKET_CLIENTS = Gauge(
    "mailpulse_websocket_clients",
    "Dashboards connected to /ws/email/ on this server.",
    multiprocess_mode="livesum",
)
WEBSOCKET_FRAMES = Counter(
    "mailpulse_websocket_frames_total", "Live event frames sent to dashboards by this process."
)
WEBSOCKET_EVENTS_SENT = Counter(
    "mailpulse_websocket_events_sent_total", "Events sent in live frames by this process."
)
WEBSOCKET_EVENTS_DROPPED = Counter(
    "mailpulse_websocket_events_dropped_total",
    "Events left out of live frames because a frame was full (still in the counts).",
)


def ingested_key() -> str:
    """Hash of events ingested, field "<provider>|<type>". Not under the live view's keys, so
    rebuild_live leaves it alone and it only ever grows, as a Prometheus counter must."""
    return f"{settings.REDIS_KEY_PREFIX}:metrics:ingested"


def sends_key() -> str:
    """Hash of sends through provider accounts, field "<provider>|<outcome>"."""
    return f"{settings.REDIS_KEY_PREFIX}:metrics:sends"


# --- one-line calls from the instrumented code


def webhook_timed(known_providers: Container[str]) -> Callable:
    """Decorates receive_webhook(request, slug): time each call, labelled by provider (only
    known slugs: a URL must not mint label values) and outcome."""

    def decorate(receive: Callable) -> Callable:
        @functools.wraps(receive)
        def timed(request, slug):
            started = time.perf_counter()
            provider = slug if slug in known_providers else "unknown"
            try:
                outcome = receive(request, slug)
            except Exception as error:
                status = getattr(error, "status", 500)
                label = "refused" if 400 <= status < 500 else "error"
                WEBHOOK_SECONDS.labels(provider, label).observe(time.perf_counter() - started)
                raise
            label = "spooled" if outcome.spool_id else "accepted"
            WEBHOOK_SECONDS.labels(outcome.provider, label).observe(time.perf_counter() - started)
            return outcome

        return timed

    return decorate


def websocket_connected() -> None:
    WEBSOCKET_CLIENTS.inc()


def websocket_disconnected() -> None:
    WEBSOCKET_CLIENTS.dec()


def record_frame(*, events: int, dropped: int) -> None:
    WEBSOCKET_FRAMES.inc()
    WEBSOCKET_EVENTS_SENT.inc(events)
    WEBSOCKET_EVENTS_DROPPED.inc(dropped)


def count_ingested(pipe, events) -> None:
    """Add to `pipe` (the live store's pipeline) the batch's counts by provider and type."""
    for (provider, event_type), n in Tally((e.provider, e.type) for e in events).items():
        pipe.hincrby(ingested_key(), f"{provider}|{event_type}", n)


def count_send(pipe, *, provider: str, outcome: str) -> None:
    """Add to `pipe` (the provider state's pipeline) one send: sent, or the failure's verdict."""
    pipe.hincrby(sends_key(), f"{provider}|{outcome}", 1)

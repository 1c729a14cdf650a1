"""Receiving one webhook request: limits, provider detection, verification, parsing, ingest.

Answers with a WebhookOutcome or raises WebhookRefused (4xx). When PostgreSQL is unreachable
while storing, the verified and parsed events go to the Redis spool (events/spool.py) and
the outcome says `spooled`: the provider is acknowledged and a drainer stores them later.
Only when Redis fails too does the database's error propagate, so the view answers 503 and
the provider retries. (A database error before that point, e.g. Mailgun's token-reuse check
during verification, also propagates: an unverified request is never spooled.)
"""

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest
from django.utils import timezone
from redis.exceptions import RedisError

from config import metrics
from events import spool
from events.providers import ADAPTERS
from events.providers.base import ProviderAdapter, WebhookRefused, json_payload, malformed
from events.services import events_ingest

logger = logging.getLogger(__name__)


@dataclass
class WebhookOutcome:
    provider: str
    stored: int = 0
    duplicates: int = 0
    skipped: list[dict] = field(default_factory=list)
    verified: bool = True
    # Set when the events were spooled (database unreachable) instead of stored.
    spool_id: str | None = None


def _check_size(request: HttpRequest) -> None:
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    too_big = WebhookRefused(
        413, "too_large", f"The body is larger than the limit of {limit} bytes.", limit=limit
    )
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise malformed("The Content-Length header is not a number.") from None
    if declared > limit:
        raise too_big
    try:
        request.body  # noqa: B018  (reads once, bounded by DATA_UPLOAD_MAX_MEMORY_SIZE)
    except RequestDataTooBig:
        raise too_big from None


def _check_content_type(request: HttpRequest, adapter: ProviderAdapter) -> None:
    if request.content_type not in adapter.content_types:
        raise WebhookRefused(
            415,
            "unsupported_media_type",
            f"The {adapter.slug} webhook takes {' or '.join(adapter.content_types)}, "
            f"not {request.content_type or 'a body without a content type'}.",
        )


def _detect(request: HttpRequest) -> ProviderAdapter:
    payload = json_payload(request) if request.content_type == "application/json" else None
    for adapter_class in ADAPTERS.values():
        if adapter_class.detect(request, payload):
            return adapter_class()
    raise WebhookRefused(
        400,
        "unknown_provider",
        "No provider recognised this request. Post to /api/hook/<provider>/ or send one of "
        f"the formats understood: {', '.join(ADAPTERS)}.",
        providers=list(ADAPTERS),
    )


def adapter_for(slug: str | None, request: HttpRequest) -> ProviderAdapter:
    if slug is None:
        return _detect(request)
    if slug not in ADAPTERS:
        raise WebhookRefused(
            404,
            "unknown_provider",
            f"No provider is called {slug!r}. Providers: {', '.join(ADAPTERS)}.",
            providers=list(ADAPTERS),
        )
    return ADAPTERS[slug]()


def _check_batch_size(events: list) -> None:
    """One statement stores a whole batch: bounded, whatever fits in the body size limit."""
    limit = settings.WEBHOOK_MAX_EVENTS
    if len(events) > limit:
        raise WebhookRefused(
            413,
            "too_many_events",
            f"The webhook holds {len(events)} events; at most {limit} are accepted per request.",
            limit=limit,
        )


@metrics.webhook_timed(known_providers=ADAPTERS)
def receive_webhook(request: HttpRequest, slug: str | None) -> WebhookOutcome:
    received_at = timezone.now()
    _check_size(request)
    adapter = adapter_for(slug, request)
    _check_content_type(request, adapter)
    outcome = WebhookOutcome(provider=adapter.slug, verified=adapter.secret_configured())
    if adapter.is_check_request(request):
        return outcome
    adapter.verify(request)
    events, skipped = adapter.parse(request)
    _check_batch_size(events)
    request_id = getattr(request, "request_id", "-")
    try:
        result = events_ingest(
            provider=adapter.slug, events=events, request_id=request_id, received_at=received_at
        )
    except (OperationalError, InterfaceError) as database_error:
        outcome.skipped = skipped
        if events:
            outcome.spool_id = _spool(adapter.slug, events, request_id, received_at, database_error)
        return outcome
    outcome.stored, outcome.duplicates = len(result.stored), result.duplicates
    outcome.skipped = skipped + result.skipped
    return outcome


def _spool(slug, events, request_id, received_at, database_error: Exception) -> str:
    """Spool the events; when Redis fails too, raise the database's error (503)."""
    try:
        return spool.spool_append(
            provider=slug, events=events, request_id=request_id, received_at=received_at
        )
    except (RedisError, OSError):
        logger.error("webhook not spooled: Redis unavailable too", exc_info=True)
        raise database_error from None

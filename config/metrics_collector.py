"""Shared metrics, read from Redis (and the provider accounts) each time /metrics is scraped.

One Redis pipeline reads the counters Celery workers and webhooks wrote (config/metrics.py),
the webhook spool and the Celery broker queues; provider states take one query for the
accounts and one pipeline (mailer.providers.state.provider_states). When Redis or PostgreSQL
cannot answer, the scrape still succeeds with `mailpulse_shared_metrics_up 0` and the
process-local metrics.
"""

import logging

from django.db import DatabaseError
from django_redis import get_redis_connection
from kombu.transport.redis import Channel as RedisChannel
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from config import metrics
from config.celery import app as celery_app
from events import spool
from mailer.models import ProviderAccount
from mailer.providers import state

logger = logging.getLogger(__name__)

PROVIDER_STATES = (
    state.HEALTHY,
    state.OPEN,
    state.HALF_OPEN,
    state.THROTTLED,
    state.MISCONFIGURED,
    state.DISABLED,
)


def _broker_option(name: str):
    """A kombu Redis channel setting: our transport options, else kombu's default."""
    return celery_app.conf.broker_transport_options.get(name, getattr(RedisChannel, name))


def broker_queue_keys(queue: str) -> list[str]:
    """The Redis lists kombu keeps for one queue: the queue itself, and one per priority step
    above 0, used only by messages sent with a priority."""
    steps = _broker_option("priority_steps")
    return [queue] + [f"{queue}{RedisChannel.sep}{step}" for step in steps if step]


def _queues() -> dict[str, list[str]]:
    return {queue: broker_queue_keys(queue) for queue in celery_app.amqp.queues}


def _split(values: dict) -> list[tuple[list[str], float]]:
    return [(key.decode().split("|"), float(n)) for key, n in values.items()]


class SharedStateCollector(Collector):
    """Families whose values live in Redis, so every web process reports the same ones."""

    def describe(self):
        # Registering must not read Redis: name the families, without values.
        return [*self._families(), self._up(0)]

    def collect(self):
        try:
            families = self._families()
            self._fill(families)
        except (RedisError, OSError, DatabaseError):
            logger.warning("metrics: shared state unreadable", exc_info=True)
            yield self._up(0)
            return
        yield from families
        yield self._up(1)

    @staticmethod
    def _up(value: int) -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "mailpulse_shared_metrics_up",
            "1 when Redis and PostgreSQL answered the last scrape's shared-state reads.",
            value=value,
        )

    @staticmethod
    def _families() -> list:
        return [
            CounterMetricFamily(
                "mailpulse_events_ingested",
                "Events stored, by provider and type, all processes together.",
                labels=["provider", "type"],
            ),
            CounterMetricFamily(
                "mailpulse_sends",
                "Sends through provider accounts by outcome: sent, or the failure's verdict "
                "(rejected, deferred, misconfigured, throttled, outage, ambiguous).",
                labels=["provider", "outcome"],
            ),
            GaugeMetricFamily(
                "mailpulse_webhook_spool_entries",
                "Webhook requests spooled while PostgreSQL was down (spool) or that could "
                "never be stored (dead_letter).",
                labels=["stream"],
            ),
            GaugeMetricFamily(
                "mailpulse_celery_queue_length",
                "Tasks waiting in a Celery broker queue.",
                labels=["queue"],
            ),
            GaugeMetricFamily(
                "mailpulse_celery_unacked_tasks",
                "Tasks taken by workers and not yet acknowledged (running or reserved).",
            ),
            GaugeMetricFamily(
                "mailpulse_provider_state",
                "1 for the provider account's current state (circuit breaker, throttle, "
                "misconfigured, disabled), 0 for the others.",
                labels=["account", "provider", "state"],
            ),
        ]

    @staticmethod
    def _fill(families: list) -> None:
        ingested, sends, spooled, queues, unacked, providers = families
        queue_keys = _queues()
        pipe = get_redis_connection("default").pipeline(transaction=False)
        pipe.hgetall(metrics.ingested_key())
        pipe.hgetall(metrics.sends_key())
        pipe.xlen(spool.spool_key())
        pipe.xlen(spool.dead_letter_key())
        pipe.hlen(_broker_option("unacked_key"))
        for keys in queue_keys.values():
            for key in keys:
                pipe.llen(key)
        counts, sent, spool_depth, dead_depth, unacked_tasks, *lengths = pipe.execute()
        for labels, n in _split(counts):
            ingested.add_metric(labels, n)
        for labels, n in _split(sent):
            sends.add_metric(labels, n)
        spooled.add_metric(["spool"], spool_depth)
        spooled.add_metric(["dead_letter"], dead_depth)
        unacked.add_metric([], unacked_tasks)
        for queue, keys in queue_keys.items():
            queues.add_metric([queue], sum(lengths[: len(keys)]))
            lengths = lengths[len(keys) :]
        _fill_provider_states(providers)


def _fill_provider_states(family: GaugeMetricFamily) -> None:
    accounts = list(ProviderAccount.objects.order_by("pk"))
    if not accounts:
        return
    states = state.provider_states(accounts)
    for account in accounts:
        current = states[account.pk]["status"]
        for name in PROVIDER_STATES:
            family.add_metric([account.name, account.kind, name], float(current == name))

"""Mailgun: one JSON event per post, signed with HMAC-SHA256 over timestamp and token only.

The signature does not cover the body, so a token is accepted for one event only, and only
within WEBHOOK_MAX_AGE_S of its timestamp. Tokens are remembered in Redis (SET NX with an
expiry past the replay window), so a Mailgun webhook can still be verified and spooled while
PostgreSQL is down; while Redis is down, in the `WebhookNonce` table instead. A token first
seen during one outage and replayed during the other is not recognised: it is still signed
and inside the replay window, and the same event is deduplicated on ingest.
"""

import hashlib
import json
from typing import Any

from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from django.conf import settings
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from events.models import WebhookNonce
from events.providers.base import (
    ProviderAdapter,
    WebhookRefused,
    check_signature_age,
    json_payload,
    malformed,
)

# anymail's view refuses to be built without a key. It only uses the key to verify, and
# verifying only happens when MAILGUN_WEBHOOK_SIGNING_KEY is set.
_PLACEHOLDER_KEY = "unset"
_TOKEN_MAX_LENGTH = WebhookNonce._meta.get_field("token").max_length


def _is_token(value: Any) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= _TOKEN_MAX_LENGTH
        and value.isascii()
        and value.isprintable()
    )


def _canonical_hash(value: Any) -> str:
    """The same event re-serialised (key order, spacing) hashes the same."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _token_in_redis(token: str, body_hash: str) -> str:
    """The body hash the token was first used with (this one, if it is new)."""
    key = f"{settings.REDIS_KEY_PREFIX}:mailgun-token:{token}"
    expiry_s = settings.WEBHOOK_MAX_AGE_S * 2 + 60  # past the window on either side of now
    client = get_redis_connection("default")
    if client.set(key, body_hash, nx=True, ex=expiry_s):
        return body_hash
    first = client.get(key)
    return first.decode() if first is not None else body_hash


def _token_in_database(token: str, body_hash: str) -> str:
    """As _token_in_redis, in PostgreSQL; the unique constraint makes concurrent first uses
    safe (get_or_create retries the read after an IntegrityError)."""
    nonce, _ = WebhookNonce.objects.get_or_create(
        provider="mailgun", token=token, defaults={"body_hash": body_hash}
    )
    return nonce.body_hash


class Adapter(ProviderAdapter):
    slug = "mailgun"
    view_class = MailgunTrackingWebhookView
    secret_setting = "MAILGUN_WEBHOOK_SIGNING_KEY"
    secret_argument = "webhook_signing_key"

    @classmethod
    def detect(cls, request, payload) -> bool:
        return (
            isinstance(payload, dict)
            and isinstance(payload.get("signature"), dict)
            and isinstance(payload.get("event-data"), dict)
        )

    def view_kwargs(self, secret: str | None = None) -> dict[str, Any]:
        return {**super().view_kwargs(secret), "webhook_signing_key": secret or _PLACEHOLDER_KEY}

    def run_validators(self, request, secret) -> None:
        self._signature(request)
        super().run_validators(request, secret)

    def _signature(self, request) -> dict[str, Any]:
        """The signature block, checked to be one anymail can verify without crashing
        (anymail assumes a dict of ASCII strings); 400 for a body that is no JSON object."""
        payload = json_payload(request)
        if not isinstance(payload, dict):
            raise malformed("The Mailgun webhook body must be a JSON object.")
        block = payload.get("signature")
        if not (
            isinstance(block, dict)
            and _is_token(block.get("token"))
            and isinstance(block.get("timestamp"), str | int)
            and str(block["timestamp"]).isascii()
            and isinstance(block.get("signature"), str)
        ):
            raise self.refusal(
                "The Mailgun webhook has no valid signature block (token, timestamp, signature)."
            )
        return block

    def check_replay(self, request) -> None:
        block = self._signature(request)
        check_signature_age(block["timestamp"])
        self._use_token_once(block["token"], json_payload(request).get("event-data"))

    def _use_token_once(self, token: str, event_data: Any) -> None:
        body_hash = _canonical_hash(event_data)
        try:
            first_hash = _token_in_redis(token, body_hash)
        except RedisError:
            first_hash = _token_in_database(token, body_hash)
        if first_hash != body_hash:
            raise WebhookRefused(
                403,
                "token_reused",
                "This Mailgun signature token was already used for a different event.",
            )

    def normalize(self, event):
        # Store the event itself: the signature around it is transport, not event data.
        # The base class then names the event by event-data's own "event".
        event.esp_event = event.esp_event.get("event-data")
        return super().normalize(event)

    def provider_event_id(self, event) -> str:
        # anymail uses the signature token; Mailgun's own event id is event-data's "id".
        return str(event.esp_event.get("id") or "")

"""The common shape of a provider adapter: a thin layer over django-anymail's webhook view.

An adapter names its provider, recognises its requests, verifies them (anymail's validators,
plus what anymail lacks: replay windows and the like) and turns anymail's normalized events
into `NormalizedEvent`s. Everything shared (refusals, content types, conversion) lives here.
"""

import json
import logging
import time
from typing import Any, ClassVar

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import AnymailTrackingEvent
from anymail.webhooks.base import AnymailCoreWebhookView
from django.conf import settings
from django.http import HttpRequest

from events.normalized import NormalizedEvent

logger = logging.getLogger(__name__)


class WebhookRefused(Exception):
    """A webhook answered with a 4xx, or a 503 asking the provider to retry: nothing is
    stored and the body says why."""

    def __init__(self, status: int, code: str, detail: str, headers: dict | None = None, **extra):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.headers = headers or {}
        self.extra = extra


def malformed(detail: str) -> WebhookRefused:
    return WebhookRefused(400, "malformed", detail)


def secret_list(value: str) -> list[str]:
    """A signing-secret setting's secrets: comma-separated, newest first, so that during a
    rotation both the new and the old secret are accepted."""
    return [secret.strip() for secret in value.split(",") if secret.strip()]


class ProviderAdapter:
    """Base adapter. Subclasses set `slug`, `view_class` and, for signing providers,
    `secret_setting` and `secret_argument`; they override `detect` and, where anymail is not
    enough, the hooks."""

    slug: ClassVar[str]
    view_class: ClassVar[type[AnymailCoreWebhookView]]
    # Setting holding the signing secrets; None for providers authenticated by basic auth.
    secret_setting: ClassVar[str | None] = None
    # anymail's view argument that takes one signing secret.
    secret_argument: ClassVar[str | None] = None
    content_types: ClassVar[tuple[str, ...]] = ("application/json",)

    # --- configuration

    @property
    def signs(self) -> bool:
        return self.secret_setting is not None

    def signing_secrets(self) -> list[str]:
        return secret_list(getattr(settings, self.secret_setting) or "") if self.signs else []

    def secret_configured(self) -> bool:
        if self.signs:
            return bool(self.signing_secrets())
        return bool(settings.WEBHOOK_SECRET)

    def view_kwargs(self, secret: str | None = None) -> dict[str, Any]:
        """Keyword arguments for anymail's view, verifying with `secret`. Signing providers
        are authenticated by their signature alone, so the shared basic-auth secret (already a
        list anymail checks in turn) is not asked of them."""
        if self.signs:
            return {"webhook_secret": [], self.secret_argument: secret}
        return {"webhook_secret": list(settings.WEBHOOK_SECRET)}

    def view(self, secret: str | None = None, **overrides: Any) -> AnymailCoreWebhookView:
        return self.view_class(**{**self.view_kwargs(secret), **overrides})

    # --- recognising a request (for /api/hook/ without a provider in the URL)

    @classmethod
    def detect(cls, request: HttpRequest, payload: Any) -> bool:
        """Whether this request looks like one of ours; `payload` is the parsed JSON or None."""
        return False

    # --- verifying

    def verify(self, request: HttpRequest) -> None:
        """Raise WebhookRefused unless the request is authentic (or no secret is configured)."""
        if not self.secret_configured():
            return
        failure = None
        # Each configured secret in turn: a request signed with any of them is authentic.
        for secret in self.signing_secrets() or [None]:
            try:
                self.run_validators(request, secret)
                break
            except AnymailWebhookValidationFailure as error:
                failure = error
        else:
            raise self.refusal(str(failure))
        self.check_replay(request)

    def run_validators(self, request: HttpRequest, secret: str | None) -> None:
        """anymail's validators with one signing secret (None for basic-auth providers)."""
        self.view(secret).run_validators(request)

    def refusal(self, reason: str) -> WebhookRefused:
        if self.signs:
            return WebhookRefused(403, "bad_signature", reason)
        return WebhookRefused(
            401,
            "unauthorized",
            f"Missing or wrong HTTP basic auth for the {self.slug} webhook.",
            headers={"WWW-Authenticate": f'Basic realm="mailpulse {self.slug} webhook"'},
        )

    def check_replay(self, request: HttpRequest) -> None:
        """Refuse stale or replayed signatures where the provider's scheme allows it."""

    # --- parsing

    def is_check_request(self, request: HttpRequest) -> bool:
        """A provider's empty "does this URL work" post: answered 200, nothing stored."""
        return False

    def parse(self, request: HttpRequest) -> tuple[list[NormalizedEvent], list[dict]]:
        """Normalized tracking events, and the events skipped (with their index and reason)."""
        try:
            anymail_events = self.view().parse_events(request)
        except WebhookRefused:
            raise
        except Exception as error:
            logger.info("unparseable webhook", extra={"provider": self.slug}, exc_info=True)
            raise malformed(
                f"Could not parse the {self.slug} webhook: {type(error).__name__}: {error}"[:500]
            ) from None
        events, skipped = [], []
        for index, event in enumerate(anymail_events):
            if isinstance(event, AnymailTrackingEvent):
                events.append(self.normalize(event))
            else:
                skipped.append({"index": index, "reason": "inbound mail is not handled"})
        return events, skipped

    def normalize(self, event: AnymailTrackingEvent) -> NormalizedEvent:
        raw = event.esp_event
        return NormalizedEvent.build(
            type=event.event_type,
            provider_event=self.provider_event_name(raw),
            recipient=event.recipient,
            message_id=event.message_id,
            provider_event_id=self.provider_event_id(event),
            timestamp=event.timestamp,
            tags=event.tags,
            metadata=event.metadata,
            description=event.description,
            mta_response=event.mta_response,
            reject_reason=event.reject_reason,
            url=event.click_url,
            user_agent=event.user_agent,
            raw=raw if isinstance(raw, dict) else {"value": raw},
        )

    def provider_event_name(self, raw: Any) -> str:
        """The provider's own name for the event kind."""
        return str(raw.get("event", "")) if isinstance(raw, dict) else ""

    def provider_event_id(self, event: AnymailTrackingEvent) -> str:
        return event.event_id or ""


def check_signature_age(timestamp: Any) -> None:
    """Refuse a signature more than WEBHOOK_MAX_AGE_S from now, either way: anymail checks
    the signature but not its age, so a captured request could otherwise be replayed."""
    limit = settings.WEBHOOK_MAX_AGE_S
    try:
        age = time.time() - int(timestamp)
    except (TypeError, ValueError, OverflowError):
        raise WebhookRefused(
            403, "stale_signature", "The signature timestamp is not a number of seconds."
        ) from None
    if abs(age) > limit:
        when = f"{int(age)} s old" if age > 0 else f"{int(-age)} s in the future"
        raise WebhookRefused(
            403,
            "stale_signature",
            f"The signature timestamp is {when}; at most {limit} s either way is accepted.",
        )


def json_payload(request: HttpRequest) -> Any:
    """The request body as JSON, or WebhookRefused(400) saying why it is not."""
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as error:
        raise malformed(f"The body is not valid JSON: {error}") from None

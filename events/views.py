"""Pages: the live dashboard and a message's timeline. The dashboard's data arrives over the
websocket and the REST API (static/js/dashboard.js); the timeline is rendered here."""

import json
from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from events import selectors
from events.checks import open_webhook_providers
from events.models import EventType, Provider
from mailer.models import Campaign
from mailer.selectors.providers import ALERT_STATES, provider_rows, setup_notices

DASHBOARD_TYPES = (
    "sent",
    "delivered",
    "opened",
    "clicked",
    "bounced",
    "deferred",
    "complained",
    "unsubscribed",
    "rejected",
)
CAMPAIGN_CHOICES_MAX = 200
TIMELINE_MAX_EVENTS = 1000


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    providers = provider_rows()
    return render(
        request,
        "events/dashboard.html",
        {
            "counter_types": DASHBOARD_TYPES,
            "event_types": EventType.values,
            "providers": Provider.values,
            "campaigns": Campaign.objects.only("id", "name")[:CAMPAIGN_CHOICES_MAX],
            "open_webhooks": open_webhook_providers(),
            # The provider panel, kept live by `progress` frames of kind "provider".
            "provider_rows": providers,
            "provider_alerts": [r for r in providers if r["state"]["status"] in ALERT_STATES],
            "setup_notices": setup_notices(),
        },
    )


def _elapsed(delta: timedelta) -> str:
    """`+1 h 4 min`, `+2 min 3 s`, `+0 s`: how long after the message's first event."""
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"+{hours} h {minutes} min"
    return f"+{minutes} min {seconds} s" if minutes else f"+{seconds} s"


@login_required
def message_timeline(request: HttpRequest, message_id: str) -> HttpResponse:
    events = list(selectors.message_timeline(message_id=message_id)[:TIMELINE_MAX_EVENTS])
    steps = [
        {
            "event": event,
            "elapsed": _elapsed(event.timestamp - events[0].timestamp),
            "raw": json.dumps(event.raw, indent=2, sort_keys=True, ensure_ascii=False),
        }
        for event in events
    ]
    return render(
        request,
        "events/timeline.html",
        {"message_id": message_id, "steps": steps, "first": events[0] if events else None},
    )

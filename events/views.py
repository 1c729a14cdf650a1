"""Pages: the live dashboard and a message's timeline."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from events.checks import open_webhook_providers
from events.models import EventType, Provider

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


@login_required
def dashboard(request):
    return render(
        request,
        "events/dashboard.html",
        {
            "counter_types": DASHBOARD_TYPES,
            "event_types": EventType.values,
            "providers": Provider.values,
            "open_webhooks": open_webhook_providers(),
        },
    )


@login_required
def message_timeline(request, message_id: str):
    return render(request, "events/timeline.html", {"message_id": message_id})

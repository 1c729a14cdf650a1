"""Campaign pages: the list, and one campaign's live funnel (static/js/campaign.js)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from events import live_store
from mailer.models import Campaign

FUNNEL_STEPS = ("sent", "delivered", "opened", "clicked")
SIDE_COUNTS = ("bounced", "complained", "unsubscribed", "deferred", "rejected")


@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    return render(request, "mailer/campaign_list.html", {"campaigns": Campaign.objects.all()})


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    counts = live_store.campaign_counters(campaign.pk)
    return render(
        request,
        "mailer/campaign_detail.html",
        {
            "campaign": campaign,
            "funnel": [(step, counts.get(step, 0)) for step in FUNNEL_STEPS],
            "side": [(name, counts.get(name, 0)) for name in SIDE_COUNTS],
        },
    )

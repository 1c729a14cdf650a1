"""Campaign pages: the list, the editor (with preview and test send), and one campaign's live
funnel and send controls (static/js/campaign.js, static/js/campaign-send.js). Everyone signed
in reads; only staff edit, send, pause, resume and cancel (CSRF-protected POST forms)."""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from events import live_store
from mailer.campaign_forms import CampaignForm, ScheduleForm, TestSendForm
from mailer.delivery import DeliveryError
from mailer.models import Campaign
from mailer.selectors.campaigns import campaign_list as campaigns_selected
from mailer.selectors.campaigns import campaign_preview_subscribers, campaign_progress
from mailer.selectors.providers import campaign_quota
from mailer.services import campaigns as services
from mailer.services import sending

FUNNEL_STEPS = ("sent", "delivered", "opened", "clicked")
SIDE_COUNTS = ("bounced", "complained", "unsubscribed", "deferred", "rejected")
ACTIONS: dict[str, Callable[[Campaign], Campaign]] = {
    "pause": lambda campaign: sending.campaign_pause(campaign=campaign),
    "resume": lambda campaign: sending.campaign_resume(campaign=campaign),
    "cancel": lambda campaign: sending.campaign_cancel(campaign=campaign),
}


def staff_only(view: Callable) -> Callable:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied("Only staff users may change or send campaigns.")
        return view(request, *args, **kwargs)

    return wrapper


@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = list(campaigns_selected(filters={}))
    rows = [(campaign, campaign_progress(campaign=campaign)) for campaign in campaigns]
    return render(request, "mailer/campaign_list.html", {"rows": rows})


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    counts = live_store.campaign_counters(campaign.pk)
    progress = campaign_progress(campaign=campaign)
    sendable = campaign.status in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED)
    return render(
        request,
        "mailer/campaign_detail.html",
        {
            "campaign": campaign,
            # Unique messages once Mailpulse sent it; events for a campaign sent elsewhere.
            "funnel": [
                (step, (progress["funnel"] if progress["total"] else counts).get(step, 0))
                for step in FUNNEL_STEPS
            ],
            "side": [(name, counts.get(name, 0)) for name in SIDE_COUNTS],
            "progress": progress,
            "over_quota": sendable and campaign_quota(campaign)["exceeds_quota"],
            "schedule_form": ScheduleForm(initial={"scheduled_at": campaign.scheduled_at}),
        },
    )


def _save(form: CampaignForm, campaign: Campaign | None, user) -> Campaign:
    values = dict(form.cleaned_data)
    if campaign is None:
        return services.campaign_create(created_by=user, **values)
    return services.campaign_update(campaign=campaign, **values)


@staff_only
def campaign_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk) if pk else None
    form = CampaignForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        try:
            saved = _save(form, campaign, request.user)
        except services.CampaignConflict as conflict:
            messages.error(request, str(conflict))
            return redirect("campaign-detail", pk=campaign.pk)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Saved “{saved.name}”.")
            return redirect("campaign-edit", pk=saved.pk)
    context = {"form": form, "campaign": campaign, "test_form": TestSendForm()}
    if campaign is not None:
        context["preview_subscribers"] = campaign_preview_subscribers(campaign=campaign)
    return render(request, "mailer/campaign_edit.html", context, status=400 if form.errors else 200)


@require_POST
@staff_only
def campaign_action(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    """Send, schedule, pause, resume or cancel; a refusal is shown as a message."""
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        if verb == "send":
            quota = campaign_quota(campaign)
            if quota["exceeds_quota"] and request.POST.get("over_quota") != "confirmed":
                raise ValidationError(
                    f"This campaign costs {quota['cost']} messages but the providers have "
                    f"{quota['quota_left']} left today: tick “send beyond today's quota” to "
                    "send anyway."
                )
            sending.campaign_start_send(campaign=campaign, requested_by=request.user)
        elif verb == "schedule":
            form = ScheduleForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form.errors["scheduled_at"])
            services.campaign_schedule(
                campaign=campaign, scheduled_at=form.cleaned_data["scheduled_at"]
            )
        elif verb in ACTIONS:
            ACTIONS[verb](campaign)
        else:
            raise Http404("No such action.")
    except services.CampaignConflict as conflict:
        messages.error(request, str(conflict))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("campaign-detail", pk=pk)


@require_POST
@staff_only
def campaign_test_send(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    form = TestSendForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("campaign-edit", pk=pk)
    try:
        services.campaign_send_test(campaign=campaign, **form.cleaned_data)
    except (DeliveryError, ValidationError) as error:
        messages.error(request, f"The test was not sent: {error}")
    else:
        messages.success(request, f"Test sent to {form.cleaned_data['email']}.")
    return redirect("campaign-edit", pk=pk)

"""Reading provider accounts with their live state (mailer.providers.state, kept in Redis by
the router), their last health check (mailer.provider_health) and their quotas; and what a
campaign would cost to send now. Nothing here reads or returns credentials."""

import logging

from django.conf import settings
from django.db.models import QuerySet

from mailer.models import Campaign, Message, ProviderAccount
from mailer.selectors.audience import campaign_recipients

logger = logging.getLogger(__name__)

# Shown when the router's state cannot be read (e.g. Redis down): the page still renders.
UNKNOWN_STATE = {
    "status": "unknown",
    "reason": "state not available",
    "until": None,
    "sent_today": None,
    "quota_left": None,
    "error_rate": None,
    "latency_ms": None,
}
# Router states worth a banner on the dashboard: someone has to act, or sends are failing.
ALERT_STATES = ("misconfigured", "open")


def provider_list() -> QuerySet[ProviderAccount]:
    """Every account, in sending order (priority, then id); credentials are not loaded."""
    return ProviderAccount.objects.defer("encrypted_credentials").order_by("priority", "id")


def provider_states_for(accounts) -> dict[int, dict]:
    """The router's state of each account, by id; UNKNOWN_STATE where it cannot be read."""
    accounts = list(accounts)
    if not accounts:
        return {}
    from mailer.providers.state import provider_states

    try:
        states = provider_states(accounts)
    except Exception:  # Redis down: pages and API still answer, without live state
        logger.warning("provider states unavailable", exc_info=True)
        states = {}
    return {account.pk: {**UNKNOWN_STATE, **states.get(account.pk, {})} for account in accounts}


def provider_health_for(accounts) -> dict[int, dict]:
    """The last health check of each account, by id ({} where none ran yet)."""
    from mailer.provider_health import health_get_many

    return health_get_many([account.pk for account in accounts])


def provider_rows(accounts=None) -> list[dict]:
    """Accounts with their state and health, for pages: [{account, state, health}]."""
    accounts = list(provider_list() if accounts is None else accounts)
    states = provider_states_for(accounts)
    health = provider_health_for(accounts)
    return [
        {"account": account, "state": states[account.pk], "health": health.get(account.pk, {})}
        for account in accounts
    ]


def quota_left_total() -> int | None:
    """Messages the enabled providers may still send today in all; None when unlimited."""
    from mailer.providers.router import quota_left_total as router_quota_left_total

    return router_quota_left_total()


def campaign_cost(campaign: Campaign) -> int:
    """Messages sending the campaign now would take: its recipients when not sent yet, its
    queued messages when paused, nothing otherwise."""
    if campaign.status in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
        return campaign_recipients(campaign).count()
    if campaign.status in (Campaign.Status.SENDING, Campaign.Status.PAUSED):
        return Message.objects.filter(campaign=campaign, status=Message.Status.QUEUED).count()
    return 0


def email_backend_name() -> str:
    """A short name of Django's EMAIL_BACKEND (from EMAIL_URL): "smtp", "console", …"""
    backend = settings.EMAIL_BACKEND
    parts = backend.split(".")
    if len(parts) >= 2 and parts[-1] == "EmailBackend":
        return parts[-2]
    return backend


def setup_notices(campaign: Campaign | None = None) -> list[str]:
    """Plain sentences about what is not configured: no provider, no From address."""
    notices = []
    accounts = ProviderAccount.objects.all()
    if not accounts.exists():
        notices.append(
            f"No provider configured: mail goes through EMAIL_URL ({email_backend_name()})."
        )
    elif not accounts.filter(enabled=True).exists():
        notices.append(
            "No provider enabled: every provider account is disabled, so nothing can be sent "
            "through them."
        )
    if not settings.DEFAULT_FROM_EMAIL:
        if campaign is not None:
            if not campaign.from_email:
                notices.append(
                    "No From address configured: DEFAULT_FROM_EMAIL is not set and this "
                    "campaign has no from_email."
                )
        else:
            unsent = Campaign.objects.filter(
                status__in=(Campaign.Status.DRAFT, Campaign.Status.SCHEDULED), from_email=""
            ).count()
            detail = (
                f" and {unsent} unsent campaign{'s' if unsent != 1 else ''} "
                f"{'have' if unsent != 1 else 'has'} no from_email"
                if unsent
                else ": give each campaign a from_email"
            )
            notices.append(f"No From address configured: DEFAULT_FROM_EMAIL is not set{detail}.")
    return notices


def campaign_quota(campaign: Campaign) -> dict:
    """What sending the campaign now would cost against the quota left (CampaignCost)."""
    cost = campaign_cost(campaign)
    quota_left = quota_left_total()
    rows = provider_rows(provider_list().filter(enabled=True))
    return {
        "cost": cost,
        "quota_left": quota_left,
        "exceeds_quota": quota_left is not None and cost > quota_left,
        "providers": [
            {
                "id": row["account"].pk,
                "name": row["account"].name,
                "status": row["state"]["status"],
                "quota_left": row["state"]["quota_left"],
            }
            for row in rows
        ],
        "notices": setup_notices(campaign),
    }

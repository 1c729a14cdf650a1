"""Health of each provider account, checked every minute (mailer.provider_health_tasks): the
provider's public status page where it has one, plus our own recent error rate and latency
(mailer.providers.state). The result is kept in Redis (the cache) and a change is pushed to
every dashboard as a `progress` frame of kind "provider".

Status pages: STATUS_PAGES below maps a kind to its Statuspage.io JSON
(`/api/v2/status.json`: {"status": {"indicator": "none|minor|major|critical", ...}}). Override
or add URLs with the PROVIDER_STATUS_PAGES setting ({kind: url}, "" to skip a kind). A page
that cannot be fetched (no internet, timeout, bad JSON) is reported as "status page
unreachable": it says nothing about the provider itself.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import requests
from django.conf import settings
from django.core.cache import cache

from events.progress import publish_progress
from mailer.models import ProviderAccount

logger = logging.getLogger(__name__)

STATUS_PAGES: dict[str, str] = {
    "mailgun": "https://status.mailgun.com/api/v2/status.json",
    "sendgrid": "https://status.sendgrid.com/api/v2/status.json",
    "sparkpost": "https://status.sparkpost.com/api/v2/status.json",
    "postmark": "https://status.postmarkapp.com/api/v2/status.json",
    "brevo": "https://status.brevo.com/api/v2/status.json",
    "mailjet": "https://status.mailjet.com/api/v2/status.json",
    "resend": "https://resend-status.com/api/v2/status.json",
    # mandrill (status.mailchimp.com), amazon_ses (AWS Health), smtp and sandbox: no
    # Statuspage.io JSON; only our own error rate and latency count.
}
HEALTH_KEY = "provider-health:{}"
# Longer than a few missed checks, so a stopped beat shows as "not checked" soon enough.
HEALTH_TTL_S = 15 * 60
# Our own error rate above which a provider is "degraded".
ERROR_RATE_DEGRADED = 0.2
# Statuspage indicator -> what it means for us.
INDICATORS = {"none": "operational", "minor": "minor", "major": "major", "critical": "critical"}


def status_page_urls() -> dict[str, str]:
    """STATUS_PAGES with the PROVIDER_STATUS_PAGES setting's overrides ("" drops a kind)."""
    urls = {**STATUS_PAGES, **settings.PROVIDER_STATUS_PAGES}
    return {kind: url for kind, url in urls.items() if url}


def status_page_fetch(url: str, timeout: float | None = None) -> dict:
    """{"status_page": "operational"|"minor"|"major"|"critical"|"unreachable", "detail"}."""
    timeout = timeout or settings.PROVIDER_STATUS_TIMEOUT_S
    try:
        if not url.startswith(("https://", "http://")):
            raise ValueError("not an http(s) URL")
        response = requests.get(url, timeout=timeout, headers={"Accept": "application/json"})
        response.raise_for_status()
        body = response.json()
        status = body.get("status") or {}
        indicator = INDICATORS.get(status.get("indicator"), "unknown")
        return {"status_page": indicator, "detail": str(status.get("description") or "")[:200]}
    except Exception as error:  # offline, timeout, HTTP error, not JSON: not the provider's fault
        logger.info("status page unreachable", extra={"url": url, "error": type(error).__name__})
        return {"status_page": "unreachable", "detail": "status page unreachable"}


def health_assess(state: dict, page: dict | None) -> str:
    """One word for the panel: ok, degraded, down, misconfigured, disabled or unknown."""
    status = state.get("status")
    if status in ("disabled", "misconfigured"):
        return status
    if status == "open" or (page and page.get("status_page") in ("major", "critical")):
        return "down"
    error_rate = state.get("error_rate") or 0
    if (
        status in ("half_open", "throttled")
        or error_rate > ERROR_RATE_DEGRADED
        or (page and page.get("status_page") == "minor")
    ):
        return "degraded"
    if status == "healthy":
        return "ok"
    return "unknown"


def health_get_many(account_ids: list[int]) -> dict[int, dict]:
    if not account_ids:
        return {}
    try:
        found = cache.get_many([HEALTH_KEY.format(pk) for pk in account_ids])
    except Exception:
        logger.warning("provider health unavailable", exc_info=True)
        return {}
    return {
        pk: found[HEALTH_KEY.format(pk)] for pk in account_ids if HEALTH_KEY.format(pk) in found
    }


def _signature(health: dict) -> tuple:
    # quota_left too: the panel's remaining quota moves live (at most once a check).
    keys = ("health", "status", "status_page", "quota_left")
    return tuple(health.get(key) for key in keys)


def providers_check_health() -> dict[int, dict]:
    """Check every account once (each status page fetched once, in parallel); store the
    results and publish those that changed. Returns the results by account id."""
    from mailer.selectors.providers import provider_list, provider_states_for

    accounts = list(provider_list())
    states = provider_states_for(accounts)
    urls = status_page_urls()
    wanted = sorted({urls[a.kind] for a in accounts if a.enabled and a.kind in urls})
    pages: dict[str, dict] = {}
    if wanted:
        with ThreadPoolExecutor(max_workers=min(8, len(wanted))) as pool:
            pages = dict(zip(wanted, pool.map(status_page_fetch, wanted), strict=True))
    previous = health_get_many([a.pk for a in accounts])
    now = datetime.now(UTC).isoformat()
    results = {}
    for account in accounts:
        state = states[account.pk]
        page = pages.get(urls.get(account.kind, "")) if account.enabled else None
        health = {
            "health": health_assess(state, page),
            "status": state.get("status"),
            "reason": state.get("reason"),
            "error_rate": state.get("error_rate"),
            "latency_ms": state.get("latency_ms"),
            "quota_left": state.get("quota_left"),
            "status_page": page["status_page"] if page else None,
            "status_page_detail": page["detail"] if page else "",
            "checked_at": now,
        }
        results[account.pk] = health
        if _signature(health) != _signature(previous.get(account.pk, {})):
            logger.info(
                "provider health changed",
                extra={"account": account.pk, "kind": account.kind, "health": health["health"]},
            )
            publish_progress(kind="provider", object_id=account.pk, name=account.name, **health)
    try:
        cache.set_many({HEALTH_KEY.format(pk): h for pk, h in results.items()}, HEALTH_TTL_S)
    except Exception:
        logger.warning("provider health not stored", exc_info=True)
    return results


def health_forget(account: ProviderAccount) -> None:
    cache.delete(HEALTH_KEY.format(account.pk))

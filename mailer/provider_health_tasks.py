"""Celery task of provider health (named in settings: CELERY_IMPORTS, CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from mailer.provider_health import providers_check_health


@shared_task(name="mailer.provider_health_tasks.check_provider_health", ignore_result=True)
def check_provider_health() -> dict:
    """Every minute (beat): each account's status page, error rate and latency; changes are
    pushed to dashboards."""
    results = providers_check_health()
    return {str(pk): health["health"] for pk, health in results.items()}

"""Celery tasks of the provider router (named in settings: CELERY_IMPORTS).

Breakers and throttles change state by sending, and by time alone: a cool-down or a throttle
window ends with nobody sending. `announce_provider_states` publishes those changes; run it
from beat every few seconds to keep health panels current between campaigns.
"""

from celery import shared_task

from mailer.providers.router import enabled_accounts
from mailer.providers.state import provider_states_announce


@shared_task(name="mailer.provider_tasks.announce_provider_states")
def announce_provider_states() -> int:
    accounts = enabled_accounts()
    provider_states_announce(accounts)
    return len(accounts)

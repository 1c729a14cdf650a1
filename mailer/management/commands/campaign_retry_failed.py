"""`manage.py campaign_retry_failed <campaign id>`: queue the failed messages again."""

from mailer.management.requeue_command import RequeueCommand
from mailer.services.resending import campaign_retry_failed


class Command(RequeueCommand):
    help = (
        "Queue again a campaign's failed messages that no provider accepted (transient errors "
        "that used up their attempts, a template error since fixed, a refusal at send time), "
        "through the normal exactly-once send path: running it twice or while workers send "
        "sends no one twice. Messages a provider accepted are never sent again, even if it later "
        "reported them failed, rejected, bounced or complained; nor suppressed or unsubscribed "
        "addresses. A sent campaign is sending again until they are done; a paused one sends "
        "them when resumed."
    )

    def requeue(self, campaign, options):
        return campaign_retry_failed(campaign=campaign)

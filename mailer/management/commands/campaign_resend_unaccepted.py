"""`manage.py campaign_resend_unaccepted <campaign id> --provider <account id or kind>`."""

from mailer.management.requeue_command import RequeueCommand
from mailer.services.resending import campaign_resend_unaccepted


class Command(RequeueCommand):
    help = (
        "Re-send, through the other enabled provider accounts, a campaign's messages that one "
        "provider was given and never accepted (it refused them or did not answer: no provider "
        "message id, not sent), whether they failed or wait for another try. Never to anyone a "
        "provider accepted, nor to suppressed or unsubscribed addresses; running it twice or "
        "while workers send sends no one twice. Not for a paused campaign (resume it first)."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--provider",
            required=True,
            help="the provider account id, or a kind (then all accounts of that kind)",
        )

    def requeue(self, campaign, options):
        return campaign_resend_unaccepted(campaign=campaign, provider=options["provider"])

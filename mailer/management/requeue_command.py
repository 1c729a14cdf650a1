"""What the operator commands that send a campaign's messages again share: the campaign
argument, a request id of their own (it follows the chunk tasks into the workers' logs), the
service's refusals as command errors, and one summary line."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.request_log import new_request_id, request_id_bound
from mailer.models import Campaign
from mailer.services.campaigns import CampaignConflict
from mailer.services.resending import Requeued


class RequeueCommand(BaseCommand):
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaign", type=int, help="the campaign's id")

    def requeue(self, campaign: Campaign, options: dict) -> Requeued:
        raise NotImplementedError

    def handle(self, *args, **options) -> None:
        campaign = Campaign.objects.filter(pk=options["campaign"]).first()
        if campaign is None:
            raise CommandError(f"No campaign has the id {options['campaign']}.")
        with request_id_bound(new_request_id()) as request_id:
            try:
                result = self.requeue(campaign, options)
            except (CampaignConflict, ValidationError) as error:
                message = " ".join(getattr(error, "messages", [str(error)]))
                raise CommandError(message) from None
        count = len(result.message_ids)
        avoided = (
            f", not through provider accounts {', '.join(map(str, result.exclude_accounts))}"
            if result.exclude_accounts and count
            else ""
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Campaign {campaign.pk} ({result.campaign.status}): {count} message"
                f"{'' if count == 1 else 's'} queued again{avoided}; request id {request_id}."
            )
        )

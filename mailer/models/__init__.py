"""The mailer's models, one module per area: audience, campaigns, messages, imports."""

from mailer.models.audience import ListMembership, MailingList, Segment, Subscriber, Suppression
from mailer.models.campaigns import Campaign
from mailer.models.imports import SubscriberImport
from mailer.models.messages import Message
from mailer.models.providers import ProviderAccount

__all__ = [
    "Campaign",
    "ListMembership",
    "MailingList",
    "Message",
    "ProviderAccount",
    "Segment",
    "Subscriber",
    "SubscriberImport",
    "Suppression",
]

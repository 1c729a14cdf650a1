"""Small factories for the audience: rows go through the services, as in production."""

import itertools

from rest_framework.test import APIClient

from mailer.models import MailingList, Segment, Subscriber
from mailer.services.audience import mailing_list_save, segment_save, subscriber_create

_serial = itertools.count()


def subscriber(**fields) -> Subscriber:
    n = next(_serial)
    return subscriber_create(**{"email": f"person{n}@example.com", **fields})


def mailing_list(name: str | None = None, members=()) -> MailingList:
    created = mailing_list_save(name=name or f"List {next(_serial)}")
    created.subscribers.add(*members)
    return created


def segment(rules: dict, name: str | None = None) -> Segment:
    return segment_save(name=name or f"Segment {next(_serial)}", rules=rules)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client

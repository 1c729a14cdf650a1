"""Small factories for campaigns and large audiences (rows through the services, except the
bulk audience, which is inserted directly to stay fast)."""

import itertools

from mailer.models import Campaign, ListMembership, MailingList, Subscriber
from mailer.services.campaigns import campaign_create

_serial = itertools.count()

HTML = (
    "<html><body><h1>Hello {{ first_name }}</h1>"
    '<p>Read <a href="https://example.com/news">the news</a>.</p>'
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>'
)


def campaign(lists=(), segments=(), created_by=None, **fields) -> Campaign:
    n = next(_serial)
    values = {
        "name": f"Campaign {n}",
        "subject": "News for {{ first_name }}",
        "html_content": HTML,
        "from_email": "news@example.com",
        "from_name": "Example News",
        **fields,
    }
    return campaign_create(created_by=created_by, lists=lists, segments=segments, **values)


def audience(size: int, name: str | None = None) -> MailingList:
    """A list of `size` active subscribers, inserted in bulk."""
    n = next(_serial)
    mailing_list = MailingList.objects.create(name=name or f"Bulk list {n}")
    subscribers = Subscriber.objects.bulk_create(
        Subscriber(email=f"bulk{n}-{i}@example.com", first_name=f"Reader{i}") for i in range(size)
    )
    ListMembership.objects.bulk_create(
        ListMembership(subscriber=s, mailing_list=mailing_list) for s in subscribers
    )
    return mailing_list

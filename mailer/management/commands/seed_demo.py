"""`manage.py seed_demo`: what a new installation needs to show the whole loop at once.

Idempotent: a sandbox provider account when there is no provider account at all, a "Demo" list
of DEMO_SIZE subscribers and a draft demo campaign to it; what exists is left as it is.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse

from events.simulator import samples
from mailer.models import Campaign, MailingList, ProviderAccount, Subscriber
from mailer.sandbox.timeline import HARD_BOUNCE_DOMAIN
from mailer.services.audience import list_members_add, mailing_list_save, subscriber_create
from mailer.services.campaigns import campaign_create

ACCOUNT_NAME = "Sandbox"
ACCOUNT_CREDENTIALS = {
    "mode": "up",
    "flaky_percent": 0,
    "latency_ms": 80,
    "webhook_format": "mandrill",
}
LIST_NAME = "Demo"
DEMO_SIZE = 50
CAMPAIGN_NAME = "Demo: welcome to Mailpulse"
DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")
PLANS = ("free", "free", "pro", "team")
CITIES = ("Lisbon", "Oslo", "Montréal", "Nairobi", "Osaka", "Porto Alegre", "Tallinn")

HTML = """<html>
<body style="margin:0;background:#f4f5f7;font-family:-apple-system,Segoe UI,Roboto,sans-serif">
  <table role="presentation" width="100%" cellpadding="0" cellspacing="0">
    <tr><td align="center" style="padding:32px 16px">
      <table role="presentation" width="560" cellpadding="0" cellspacing="0"
             style="background:#ffffff;border-radius:8px;padding:32px">
        <tr><td>
          <h1 style="margin:0 0 16px;color:#1f2937;font-size:24px">
            Hello {{ first_name|default:"there" }},
          </h1>
          <p style="color:#374151;line-height:1.6">
            Autumn is here, and so is our season sale: 30&nbsp;% off everything in the shop
            until Sunday{% if attributes.city %}, with free delivery to
            {{ attributes.city }}{% endif %}.
          </p>
          {% if attributes.plan == "pro" or attributes.plan == "team" %}
          <p style="color:#374151;line-height:1.6">
            As a {{ attributes.plan }} member you get early access: the sale is already open
            for you.
          </p>
          {% endif %}
          <p style="text-align:center;margin:28px 0">
            <a href="https://shop.example/sale"
               style="background:#4f46e5;color:#ffffff;padding:12px 24px;border-radius:6px;
                      text-decoration:none;font-weight:600">Shop the sale</a>
          </p>
          <p style="color:#374151;line-height:1.6">
            Or see <a href="https://shop.example/new?utm_campaign=arrivals">what is new</a>
            this week.
          </p>
          <p style="color:#9ca3af;font-size:12px;margin-top:32px">
            You receive this because {{ email }} is on our list.
            <a href="{{ unsubscribe_url }}" style="color:#9ca3af">Unsubscribe</a>.
          </p>
        </td></tr>
      </table>
    </td></tr>
  </table>
</body>
</html>
"""


def demo_people(size: int = DEMO_SIZE) -> list[dict]:
    """The same `size` people every time: distinct names at example domains, and the last
    one at the sandbox's always-bouncing domain, so every demo send shows a bounce."""
    people = []
    for n in range(size):
        first = samples.FIRST_NAMES[n % len(samples.FIRST_NAMES)]
        last = samples.LAST_NAMES[(n * 7 + n // len(samples.FIRST_NAMES)) % len(samples.LAST_NAMES)]
        domain = HARD_BOUNCE_DOMAIN if n == size - 1 else DOMAINS[n % len(DOMAINS)]
        people.append(
            {
                "email": f"{first}.{last}@{domain}",
                "first_name": first.title(),
                "last_name": "-".join(part.title() for part in last.split("-")),
                "attributes": {"plan": PLANS[n % len(PLANS)], "city": CITIES[n % len(CITIES)]},
            }
        )
    return people


class Command(BaseCommand):
    help = (
        "Create demo data once: a sandbox provider account (only when no provider account "
        "exists), a 'Demo' list of subscribers and a draft demo campaign. Safe to run again."
    )

    def handle(self, *args, **options) -> None:
        try:
            with transaction.atomic():
                self.seed_account()
                demo_list = self.seed_list()
                campaign = self.seed_campaign(demo_list)
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        url = settings.SITE_URL.rstrip("/") + reverse("campaign-detail", args=[campaign.pk])
        self.stdout.write(f"seed_demo: the demo campaign is at {url}")

    def say(self, text: str) -> None:
        self.stdout.write(f"seed_demo: {text}")

    def seed_account(self) -> None:
        if ProviderAccount.objects.exists():
            names = ", ".join(str(a) for a in ProviderAccount.objects.all()[:5])
            self.say(f"provider accounts exist ({names}): no sandbox account added")
            return
        account = ProviderAccount(
            name=ACCOUNT_NAME, kind=ProviderAccount.Kind.SANDBOX, priority=100, enabled=True
        )
        account.credentials = ACCOUNT_CREDENTIALS
        account.save()
        self.say(
            f"created the provider account {account} (mode up; webhooks in Mandrill's format "
            "to this server's /api/hook/)"
        )

    def seed_list(self) -> MailingList:
        demo_list = MailingList.objects.filter(name=LIST_NAME).first()
        if demo_list is None:
            demo_list = mailing_list_save(
                name=LIST_NAME, description="Demo subscribers made by seed_demo."
            )
            self.say(f"created the list {LIST_NAME!r}")
        people = demo_people()
        existing = {
            email.lower(): pk
            for pk, email in Subscriber.objects.filter(
                email__in=[p["email"] for p in people]
            ).values_list("pk", "email")
        }
        created = 0
        for person in people:
            if person["email"].lower() in existing:
                continue
            try:
                subscriber = subscriber_create(**person)
            except ValidationError:  # taken meanwhile, in another case
                continue
            existing[person["email"].lower()] = subscriber.pk
            created += 1
        added = list_members_add(mailing_list=demo_list, subscriber_ids=existing.values())
        self.say(
            f"{created} demo subscribers created, {added} added to {LIST_NAME!r} "
            f"({demo_list.subscribers.count()} in it; @{HARD_BOUNCE_DOMAIN} always bounces)"
        )
        return demo_list

    def seed_campaign(self, demo_list: MailingList) -> Campaign:
        campaign = Campaign.objects.filter(name=CAMPAIGN_NAME).order_by("pk").first()
        if campaign is not None:
            self.say(f"the demo campaign exists ({campaign.status})")
            return campaign
        owner = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
        campaign = campaign_create(
            created_by=owner,
            lists=[demo_list],
            name=CAMPAIGN_NAME,
            subject="{{ first_name|default:'Hello' }}, our autumn sale starts now",
            preview_text="30 % off everything until Sunday.",
            html_content=HTML,
            from_name="Shop Example",
            from_email="news@shop.example",
            reply_to="hello@shop.example",
        )
        self.say(f"created the draft campaign {CAMPAIGN_NAME!r}: open it and press Send")
        return campaign

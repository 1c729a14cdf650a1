"""Realistic provider webhook traffic for demos and load (`manage.py simulate_events`).

`traffic` makes provider-neutral events (a pool of recipients, messages that go
sent → delivered → opened → clicked in order); one module per provider turns them into that
provider's webhook and signs it; `runner` posts them at a steady rate. Adding a provider is
adding one module with a `ProviderFormat` subclass and one line in FORMATS.
"""

from events.simulator.base import ProviderFormat
from events.simulator.brevo import BrevoFormat
from events.simulator.mailgun import MailgunFormat
from events.simulator.mailjet import MailjetFormat
from events.simulator.mandrill import MandrillFormat
from events.simulator.postmark import PostmarkFormat
from events.simulator.resend import ResendFormat
from events.simulator.sendgrid import SendGridFormat
from events.simulator.sparkpost import SparkPostFormat

# Not amazon_ses: the server checks SNS signatures against a certificate it fetches, so the
# simulator would have to sign with a key of its own and serve its certificate meanwhile.
FORMATS: dict[str, type[ProviderFormat]] = {
    provider.slug: provider
    for provider in (
        BrevoFormat,
        MailgunFormat,
        MailjetFormat,
        MandrillFormat,
        PostmarkFormat,
        ResendFormat,
        SendGridFormat,
        SparkPostFormat,
    )
}

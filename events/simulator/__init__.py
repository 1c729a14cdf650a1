"""Realistic provider webhook traffic for demos and load (`manage.py simulate_events`).

`traffic` makes provider-neutral events (a pool of recipients, messages that go
sent → delivered → opened → clicked in order); one module per provider turns them into that
provider's webhook and signs it; `runner` posts them at a steady rate. Adding a provider is
adding one module with a `ProviderFormat` subclass and one line in FORMATS.
"""

from events.simulator.base import ProviderFormat
from events.simulator.mandrill import MandrillFormat

FORMATS: dict[str, type[ProviderFormat]] = {
    MandrillFormat.slug: MandrillFormat,
}

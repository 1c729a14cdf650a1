import pytest

from mailer.models import Suppression
from tests.events.factories import ingest

pytestmark = pytest.mark.django_db(transaction=True)


def test_complaint_from_a_malformed_address_is_stored_but_not_suppressed():
    stored = ingest(types=["complained"], recipient="not-an-address")

    assert len(stored) == 1
    assert not Suppression.objects.exists()

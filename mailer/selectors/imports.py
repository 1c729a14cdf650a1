"""Reads of CSV imports that stay cheap while a page polls: the file's bytes (up to
IMPORT_MAX_BYTES) are not loaded, only their first SAMPLE_BYTES for the header."""

from django.db.models import BinaryField, F, Func, QuerySet

from mailer.models import SubscriberImport
from mailer.services.csv_reading import SAMPLE_BYTES, csv_header


def import_list() -> QuerySet[SubscriberImport]:
    head = Func(F("content"), 1, SAMPLE_BYTES, function="substring", output_field=BinaryField())
    return SubscriberImport.objects.defer("content").annotate(content_head=head)


def import_columns(*, subscriber_import: SubscriberImport) -> list[str]:
    """The CSV's header columns."""
    head = getattr(subscriber_import, "content_head", None)
    if head is None:
        head = import_list().values_list("content_head", flat=True).get(pk=subscriber_import.pk)
    return csv_header(bytes(head))

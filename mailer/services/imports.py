"""CSV imports of subscribers: accept a file (import_create), choose its column mapping and
queue it (import_start), process it in batches in a worker (import_run).

Dedupe is case-insensitive: an address already known is updated (names, attributes) and added
to the target list, never duplicated; an address seen earlier in the same file is skipped.
"""

import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from events.progress import publish_progress
from mailer.models import ListMembership, MailingList, Subscriber, SubscriberImport, Suppression
from mailer.selectors.imports import import_columns
from mailer.services.audience import SUPPRESSION_STATUS, email_clean
from mailer.services.csv_reading import (
    MAPPED_FIELDS,
    CsvFile,
    CsvUnreadable,
    csv_open,
    mapping_guess,
)

logger = logging.getLogger(__name__)

BATCH_ROWS = 2000
PROGRESS_INTERVAL_S = 0.5
# Every bad row is counted; the first ones are kept with their line and reason.
ERRORS_KEPT_MAX = 10_000


class ImportTooLarge(ValueError):
    """The upload is over IMPORT_MAX_BYTES."""


def import_create(
    *,
    name: str,
    content: bytes,
    mailing_list: MailingList | None = None,
    created_by=None,
) -> SubscriberImport:
    """Keep an uploaded file for importing; refuses files too large, unreadable, or with
    more than IMPORT_MAX_ROWS rows. It waits for a mapping (import_start)."""
    if len(content) > settings.IMPORT_MAX_BYTES:
        raise ImportTooLarge(f"The file is larger than {settings.IMPORT_MAX_BYTES} bytes.")
    try:
        total = csv_open(content).row_count()
    except CsvUnreadable as error:
        raise ValidationError({"file": [str(error)]}) from error
    if total > settings.IMPORT_MAX_ROWS:
        raise ValidationError(
            {
                "file": [
                    f"The file has {total} rows; at most {settings.IMPORT_MAX_ROWS} can be "
                    "imported at once. Split it into smaller files."
                ]
            }
        )
    return SubscriberImport.objects.create(
        original_name=name[:255],
        content=content,
        mailing_list=mailing_list,
        total_rows=total,
        created_by=created_by,
    )


def _mapping_clean(mapping: dict, header: list[str]) -> dict:
    errors = {}
    clean = {"ignore": [c for c in mapping.get("ignore") or [] if c in header]}
    for our_field in MAPPED_FIELDS:
        column = mapping.get(our_field) or None
        if column is not None and column not in header:
            errors[our_field] = f"The file has no column {column!r}."
        clean[our_field] = column
    if not clean["email"]:
        errors["email"] = "Choose the column that holds the email address."
    if errors:
        raise ValidationError({"mapping": [f"{k}: {v}" for k, v in errors.items()]})
    return clean


def import_start(*, subscriber_import: SubscriberImport, mapping: dict) -> SubscriberImport:
    """Fix the mapping ({"email": column, "first_name": ..., "last_name": ..., "ignore":
    [columns]}; other columns become attributes) and queue the import after commit."""
    if subscriber_import.mapping or subscriber_import.status != SubscriberImport.Status.PENDING:
        raise ValidationError({"mapping": ["This import has already been started."]})
    subscriber_import.mapping = _mapping_clean(
        mapping, import_columns(subscriber_import=subscriber_import)
    )
    subscriber_import.save(update_fields=["mapping"])
    # Imported here: the task module imports this one.
    from mailer.import_tasks import import_run_task

    transaction.on_commit(lambda: import_run_task.delay(subscriber_import.pk))
    return subscriber_import


@transaction.atomic
def import_upload(
    *,
    name: str,
    content: bytes,
    mailing_list: MailingList | None = None,
    created_by=None,
    mapping: dict | None = None,
    start: bool = True,
) -> SubscriberImport:
    """import_create, then (with `start`) import_start with `mapping` or the guessed one; a
    refused mapping leaves nothing behind."""
    subscriber_import = import_create(
        name=name, content=content, mailing_list=mailing_list, created_by=created_by
    )
    if start:
        columns = import_columns(subscriber_import=subscriber_import)
        import_start(subscriber_import=subscriber_import, mapping=mapping or mapping_guess(columns))
    return subscriber_import


@dataclass
class _Run:
    """What one run has counted so far."""

    subscriber_import: SubscriberImport
    seen: set = field(default_factory=set)
    errors: list = field(default_factory=list)
    error_count: int = 0
    processed: int = 0
    created: int = 0
    updated: int = 0
    published_at: float = 0.0

    def error(self, line: int, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < ERRORS_KEPT_MAX:
            self.errors.append({"line": line, "reason": reason})


def _columns(csv_file: CsvFile, mapping: dict) -> tuple[dict, dict]:
    """Field -> column index for our fields, and attribute name -> column index."""
    position = {}
    for index, name in enumerate(csv_file.header):
        position.setdefault(name, index)
    fields = {f: position[mapping[f]] for f in MAPPED_FIELDS if mapping.get(f)}
    taken = {mapping.get(f) for f in MAPPED_FIELDS} | set(mapping.get("ignore") or [])
    attributes = {name: i for name, i in position.items() if name not in taken}
    return fields, attributes


def _parse(run: _Run, line: int, cells: list[str], fields: dict, attributes: dict):
    """One row as (lower email, values), or None when it is bad or a repeat (counted)."""

    def cell(index: int) -> str:
        return cells[index].strip() if index < len(cells) else ""

    email = cell(fields["email"])
    if not email:
        run.error(line, "missing email")
        return None
    try:
        email = email_clean(email)
    except ValidationError:
        run.error(line, f"not an email address: {email[:80]!r}")
        return None
    key = email.lower()
    if key in run.seen:
        return None
    run.seen.add(key)
    values = {
        "email": email,
        "first_name": cell(fields["first_name"])[:150] if "first_name" in fields else "",
        "last_name": cell(fields["last_name"])[:150] if "last_name" in fields else "",
        "attributes": {name: cell(i) for name, i in attributes.items() if cell(i)},
    }
    return key, values


def _store_batch(run: _Run, batch: dict[str, dict]) -> None:
    """Create the new addresses, update the known ones, add all to the target list."""
    existing = {
        s.lower: s
        for s in Subscriber.objects.annotate(lower=Lower("email")).filter(lower__in=list(batch))
    }
    suppressed = dict(
        Suppression.objects.annotate(lower=Lower("email"))
        .filter(lower__in=[k for k in batch if k not in existing])
        .values_list("lower", "reason")
    )
    now = timezone.now()
    changed = []
    for key, subscriber in existing.items():
        values = batch[key]
        subscriber.first_name = values["first_name"] or subscriber.first_name
        subscriber.last_name = values["last_name"] or subscriber.last_name
        subscriber.attributes = {**(subscriber.attributes or {}), **values["attributes"]}
        subscriber.updated_at = now
        changed.append(subscriber)
    Subscriber.objects.bulk_update(
        changed, ["first_name", "last_name", "attributes", "updated_at"], batch_size=BATCH_ROWS
    )
    new = Subscriber.objects.bulk_create(
        [
            Subscriber(
                **values,
                status=SUPPRESSION_STATUS.get(suppressed.get(key), Subscriber.Status.ACTIVE),
            )
            for key, values in batch.items()
            if key not in existing
        ]
    )
    mailing_list_id = run.subscriber_import.mailing_list_id
    if mailing_list_id:
        ListMembership.objects.bulk_create(
            [
                ListMembership(mailing_list_id=mailing_list_id, subscriber_id=s.pk)
                for s in [*changed, *new]
            ],
            ignore_conflicts=True,
        )
    run.created += len(new)
    run.updated += len(changed)


def _store_batch_safely(run: _Run, batch: dict[str, dict]) -> None:
    """One transaction per batch; an address inserted meanwhile by someone else makes the
    batch run again, finding it as existing."""
    for attempt in range(3):
        try:
            with transaction.atomic():
                _store_batch(run, batch)
            return
        except IntegrityError:
            if attempt == 2:
                raise


def _report(run: _Run, status: str, *, final: bool = False) -> None:
    """Save the counts; publish progress at most every PROGRESS_INTERVAL_S, and at the end."""
    subscriber_import = run.subscriber_import
    fields = {
        "status": status,
        "processed_rows": run.processed,
        "created_count": run.created,
        "updated_count": run.updated,
        "error_count": run.error_count,
    }
    if final:
        fields.update(errors=run.errors, finished_at=timezone.now())
    SubscriberImport.objects.filter(pk=subscriber_import.pk).update(**fields)
    now = time.monotonic()
    if final or now - run.published_at >= PROGRESS_INTERVAL_S:
        run.published_at = now
        publish_progress(
            kind="import",
            object_id=subscriber_import.pk,
            status=status,
            done=run.processed,
            total=subscriber_import.total_rows,
            created=run.created,
            updated=run.updated,
            errors=run.error_count,
        )


def import_run(*, import_id: int) -> SubscriberImport:
    """Process a started import from its first row (safe to run again after a crash: rows
    already stored are found as existing). A finished or unstarted import is left alone."""
    subscriber_import = SubscriberImport.objects.get(pk=import_id)
    finished = (SubscriberImport.Status.DONE, SubscriberImport.Status.FAILED)
    if subscriber_import.status in finished or not subscriber_import.mapping:
        return subscriber_import
    run = _Run(subscriber_import)
    try:
        csv_file = csv_open(bytes(subscriber_import.content))
        fields, attributes = _columns(csv_file, subscriber_import.mapping)
        _report(run, SubscriberImport.Status.RUNNING)
        batch: dict[str, dict] = {}
        for line, cells in csv_file.rows():
            run.processed += 1
            parsed = _parse(run, line, cells, fields, attributes)
            if parsed:
                batch[parsed[0]] = parsed[1]
            if run.processed % BATCH_ROWS == 0:
                _store_batch_safely(run, batch)
                batch = {}
                _report(run, SubscriberImport.Status.RUNNING)
        _store_batch_safely(run, batch)
        _report(run, SubscriberImport.Status.DONE, final=True)
    except Exception as error:
        logger.exception("import failed", extra={"import_id": import_id})
        run.errors.append({"line": None, "reason": f"The import stopped: {error}"})
        _report(run, SubscriberImport.Status.FAILED, final=True)
    subscriber_import.refresh_from_db()
    return subscriber_import

"""Celery tasks for CSV imports: thin wrappers over mailer.services.imports."""

from celery import shared_task

from mailer.services.imports import import_run


@shared_task(name="mailer.import_run", acks_late=True)
def import_run_task(import_id: int) -> None:
    """Runs one import; a worker lost mid-way redelivers it, and import_run starts over."""
    import_run(import_id=import_id)

"""The Celery app: broker and settings come from Django settings (CELERY_*); tasks carry
the request id of whatever published them (config.task_tracing)."""

import os

from celery import Celery

from config import task_tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("mailpulse")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
task_tracing.connect()

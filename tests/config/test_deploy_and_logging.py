import json
import logging
import os
import subprocess
import sys

import pytest

from config.request_log import JsonFormatter
from tests.events.signed_providers import sendgrid_key_pair
from tests.servers import ROOT

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "k" * 30 + "production-secret-with-enough-entropy-1234567",
    "ALLOWED_HOSTS": "mail.example.com",
    "WEBHOOK_SECRET": "hook:very-secret",
    "MANDRILL_WEBHOOK_KEY": "mandrill-key",
    "MAILGUN_WEBHOOK_SIGNING_KEY": "mailgun-key",
    "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": sendgrid_key_pair()[1],
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    environment.update(DJANGO_SETTINGS_MODULE="config.settings", **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_is_clean_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_fails_when_a_configured_key_cannot_be_loaded():
    env = {**PRODUCTION_ENV, "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": "not-a-key"}
    result = _manage("check", **env)

    assert result.returncode != 0
    assert "events.E001" in result.stderr + result.stdout


def test_check_warns_when_webhooks_are_open():
    env = {**PRODUCTION_ENV, "WEBHOOK_SECRET": "", "MANDRILL_WEBHOOK_KEY": ""}
    result = _manage("check", **env)

    assert "events.W001" in result.stderr + result.stdout


def test_collectstatic_works(tmp_path):
    result = _manage("collectstatic", "--noinput", STATIC_ROOT=str(tmp_path), **PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "staticfiles.json").exists()


@pytest.mark.django_db
def test_each_request_logs_one_json_line_without_query_string(client, caplog):
    caplog.set_level(logging.INFO, logger="mailpulse.request")
    client.get("/healthz?token=secret-value", HTTP_X_REQUEST_ID="req-123")

    records = [r for r in caplog.records if r.name == "mailpulse.request"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["path"] == "/healthz"
    assert line["status"] == 200
    assert line["request_id"] == "req-123"
    assert "secret-value" not in json.dumps(line)

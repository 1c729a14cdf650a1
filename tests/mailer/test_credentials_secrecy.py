"""Credentials never appear in API output, pages or logs, and a database dump holds them only
encrypted; rotate_provider_credentials re-encrypts them with the first key."""

import logging
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings

from mailer.crypto import decrypt_json
from mailer.models import ProviderAccount
from tests.mailer import factories
from tests.mailer.campaign_factories import campaign

SECRET = "sk-Zebra-Quokka-7731-do-not-leak"
SECOND_SECRET = "sk-Walrus-Heron-4410-do-not-leak"
PG_DUMP_CANDIDATES = ("/usr/lib/postgresql/15/bin/pg_dump", shutil.which("pg_dump"))


def _pg_dump() -> str | None:
    return next((p for p in PG_DUMP_CANDIDATES if p and Path(p).is_file()), None)


def _dump_database() -> str:
    settings = connection.settings_dict
    env = {**os.environ}
    if settings.get("PASSWORD"):
        env["PGPASSWORD"] = settings["PASSWORD"]
    command = [
        _pg_dump(),
        "--no-owner",
        "--host",
        settings.get("HOST") or "127.0.0.1",
        "--port",
        str(settings.get("PORT") or 5432),
        "--username",
        settings.get("USER") or "postgres",
        settings["NAME"],
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _log_text(caplog) -> str:
    """Every captured record: its message, arguments, extras and traceback."""
    return "\n".join(
        f"{record.getMessage()} {record.__dict__!r} {record.exc_text or ''}"
        for record in caplog.records
    )


@pytest.mark.django_db(transaction=True)
def test_credentials_never_leak(staff_user, caplog):
    caplog.set_level(logging.DEBUG)
    staff_user.is_superuser = True  # for the admin pages
    staff_user.save(update_fields=["is_superuser"])
    api = factories.client_for(staff_user)
    pages = Client()
    pages.force_login(staff_user)
    seen: list[str] = []

    def api_call(method: str, url: str, body=None, expect: int = 200) -> dict | list:
        response = getattr(api, method)(url, body, format="json")
        assert response.status_code == expect, response.content
        seen.append(response.content.decode())
        return response.json() if response.get("Content-Type") == "application/json" else {}

    def page(url: str) -> str:
        response = pages.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        seen.append(text)
        return text

    created = api_call(
        "post",
        "/api/providers/",
        {
            "name": "Secret keeper",
            "kind": "mailgun",
            "credentials": {"api_key": SECRET, "sender_domain": "mg.example.com"},
            "daily_quota": 500,
        },
        expect=201,
    )
    pk = created["id"]
    api_call("get", "/api/providers/")
    api_call("get", f"/api/providers/{pk}/")
    api_call("patch", f"/api/providers/{pk}/", {"priority": 7})
    api_call("put", f"/api/providers/{pk}/", {"name": "Secret keeper", "kind": "mailgun"})
    api_call("post", f"/api/providers/{pk}/clear/")
    # A refused update must not echo the secret in its error either.
    api_call(
        "patch",
        f"/api/providers/{pk}/",
        {"credentials": {"api_key": SECRET, "bogus": SECRET}},
        expect=400,
    )
    target = campaign(lists=[factories.mailing_list(members=[factories.subscriber()])])
    api_call("get", f"/api/campaigns/{target.pk}/cost/")
    api_call("get", "/api/schema/")

    page("/settings/providers/")
    edit_page = page(f"/settings/providers/{pk}/")
    assert "Leave blank to keep" in edit_page
    page("/settings/providers/new/")
    admin_page = page(f"/admin/mailer/provideraccount/{pk}/change/")
    assert "credentials_json" in admin_page
    page("/admin/mailer/provideraccount/")
    page("/")
    page(f"/campaigns/{target.pk}/")
    # A form submitted with an error is shown again: still without the secret.
    response = pages.post(
        f"/settings/providers/{pk}/",
        {"name": "", "kind": "mailgun", "priority": "1", "cred__mailgun__api_key": SECRET},
    )
    assert response.status_code == 400
    seen.append(response.content.decode())
    response = pages.post(
        f"/admin/mailer/provideraccount/{pk}/change/",
        {"name": "", "kind": "mailgun", "priority": "1", "credentials_json": f'{{"x": "{SECRET}"'},
    )
    assert response.status_code == 200
    seen.append(response.content.decode())

    # The encrypted column is filled and decrypts back; the token itself is never shown.
    account = ProviderAccount.objects.get(pk=pk)
    token = account.encrypted_credentials
    assert token and SECRET not in token
    assert decrypt_json(token)["api_key"] == SECRET
    for text in seen:
        assert SECRET not in text
        assert token not in text
    assert caplog.records, "the API and pages log (the test would prove nothing otherwise)"
    assert SECRET not in _log_text(caplog)
    assert SECRET not in caplog.text

    if _pg_dump() is None:
        pytest.skip("pg_dump is not installed: the dump assertion could not run")
    dump = _dump_database()
    assert "Secret keeper" in dump, "the dump holds the account's row"
    assert token in dump
    assert SECRET not in dump


@pytest.mark.django_db
def test_rotate_re_encrypts_every_account_with_the_first_key(settings):
    old_key = settings.PROVIDER_CREDENTIALS_KEYS[0]
    new_key = Fernet.generate_key().decode()
    first = ProviderAccount(name="one", kind="mailgun")
    first.credentials = {"api_key": SECRET}
    first.save()
    second = ProviderAccount(name="two", kind="postmark")
    second.credentials = {"server_token": SECOND_SECRET}
    second.save()
    empty = ProviderAccount.objects.create(name="three", kind="sandbox")

    with override_settings(PROVIDER_CREDENTIALS_KEYS=[new_key, old_key]):
        call_command("rotate_provider_credentials", stdout=(out := _Out()))
        assert "2 provider accounts" in out.text
    with override_settings(PROVIDER_CREDENTIALS_KEYS=[new_key]):
        assert ProviderAccount.objects.get(pk=first.pk).credentials == {"api_key": SECRET}
        assert ProviderAccount.objects.get(pk=second.pk).credentials == {
            "server_token": SECOND_SECRET
        }
        assert Fernet(new_key).decrypt(
            ProviderAccount.objects.get(pk=first.pk).encrypted_credentials.encode()
        )
    assert ProviderAccount.objects.get(pk=empty.pk).encrypted_credentials == ""


class _Out:
    def __init__(self):
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass

"""Changing provider accounts: create, update, delete, clear a misconfigured flag, and rotate
the credentials' encryption key. Credentials are validated against the kind's
`credential_fields` (mailer.providers) and stored encrypted (mailer.crypto); they are never
logged, and errors about them name fields, never values."""

import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from mailer.crypto import reencrypt
from mailer.models import ProviderAccount

logger = logging.getLogger(__name__)

ACCOUNT_FIELDS = ("name", "kind", "priority", "rate_limit_per_s", "daily_quota", "enabled")


@dataclass(frozen=True)
class CredentialField:
    name: str
    required: bool


def _provider_kind(kind: str):
    """The kind's ProviderKind (mailer.providers.base) from the kinds' registry."""
    from mailer.providers import kind_for

    return kind_for(kind)


def kind_credential_fields(kind: str) -> list[CredentialField]:
    """The credentials a kind takes (its ProviderKind's credential_fields and required)."""
    provider_kind = _provider_kind(kind)
    return [
        CredentialField(name=name, required=name in provider_kind.required)
        for name in provider_kind.credential_fields
    ]


def credentials_errors(kind: str, credentials) -> list[str]:
    """What is wrong with these credentials for the kind: unknown and missing fields."""
    if not isinstance(credentials, dict):
        return ["Credentials must be a JSON object of field names to values."]
    fields = {field.name: field for field in kind_credential_fields(kind)}
    errors = []
    unknown = sorted(set(credentials) - set(fields))
    if unknown:
        errors.append(
            f"Unknown credential field{'s' if len(unknown) > 1 else ''} for {kind}: "
            f"{', '.join(unknown)} (expected: {', '.join(fields) or 'none'})."
        )
    missing = [
        name
        for name, field in fields.items()
        if field.required and credentials.get(name) in (None, "")
    ]
    if missing:
        errors.append(
            f"Missing credential field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}."
        )
    not_text = [
        name
        for name, value in credentials.items()
        if name in fields and not isinstance(value, str | int | float | bool | None)
    ]
    if not_text:
        errors.append(f"Credential fields must be text: {', '.join(not_text)}.")
    return errors


def credentials_check(kind: str, credentials: dict) -> dict:
    """The credentials without empty optional values; ValidationError when invalid."""
    errors = credentials_errors(kind, credentials)
    if errors:
        raise ValidationError({"credentials": errors})
    return {name: value for name, value in credentials.items() if value not in (None, "")}


def _log(message: str, account: ProviderAccount, **extra) -> None:
    logger.info(message, extra={"account": account.pk, "kind": account.kind, **extra})


def _after_change(account: ProviderAccount) -> None:
    """Dashboards learn of the change (enabled, priority…) at their next health frame; the
    router's cached view of the accounts is its own business (it reads the table)."""
    from mailer.provider_health import health_forget

    transaction.on_commit(lambda: health_forget(account))


@transaction.atomic
def provider_create(*, credentials: dict, **fields) -> ProviderAccount:
    account = ProviderAccount(**{k: v for k, v in fields.items() if k in ACCOUNT_FIELDS})
    account.credentials = credentials_check(account.kind, credentials)
    account.full_clean()
    account.save()
    _log("provider account created", account)
    _after_change(account)
    return account


@transaction.atomic
def provider_update(
    *, account: ProviderAccount, credentials: dict | None = None, **fields
) -> ProviderAccount:
    """Change the account's fields; `credentials` None keeps the stored ones (they must still
    fit the kind), a dict replaces them."""
    account = ProviderAccount.objects.select_for_update().get(pk=account.pk)
    changed = sorted(
        k for k, v in fields.items() if k in ACCOUNT_FIELDS and getattr(account, k) != v
    )
    for name in changed:
        setattr(account, name, fields[name])
    if credentials is not None:
        account.credentials = credentials_check(account.kind, credentials)
        changed.append("credentials")
    elif "kind" in changed and credentials_errors(account.kind, account.credentials):
        raise ValidationError(
            {"credentials": [f"The kind changed to {account.kind}: give its credentials."]}
        )
    account.full_clean()
    account.save()
    _log("provider account updated", account, fields=changed)
    _after_change(account)
    return account


def provider_credentials_merge(account: ProviderAccount, kind: str, given: dict) -> dict:
    """Form semantics: a blank field keeps the stored value, unless the kind changes."""
    stored = account.credentials if account.pk and account.kind == kind else {}
    merged = {name: value for name, value in given.items() if value not in (None, "")}
    for name, value in stored.items():
        if name not in merged and name in given:
            merged[name] = value
    return merged


@transaction.atomic
def provider_delete(*, account: ProviderAccount) -> None:
    _log("provider account deleted", account)
    _after_change(account)
    account.delete()


def provider_clear(*, account: ProviderAccount) -> None:
    """Forget the misconfigured flag (after fixing the credentials): the router tries again."""
    from mailer.providers.state import provider_clear_misconfigured

    provider_clear_misconfigured(account.pk)
    _log("provider misconfigured flag cleared", account)
    from mailer.provider_health import health_forget

    health_forget(account)


def provider_credentials_rotate() -> int:
    """Re-encrypt every account's credentials with the first PROVIDER_CREDENTIALS_KEYS key;
    returns how many accounts were re-encrypted. Each row is locked while it changes."""
    done = 0
    ids = list(
        ProviderAccount.objects.exclude(encrypted_credentials="").values_list("pk", flat=True)
    )
    for pk in ids:
        with transaction.atomic():
            account = ProviderAccount.objects.select_for_update().filter(pk=pk).first()
            if account is None or not account.encrypted_credentials:
                continue
            ProviderAccount.objects.filter(pk=pk).update(
                encrypted_credentials=reencrypt(account.encrypted_credentials)
            )
            done += 1
    logger.info("provider credentials re-encrypted", extra={"accounts": done})
    return done

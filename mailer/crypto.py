"""Encryption at rest for provider credentials: Fernet keys from PROVIDER_CREDENTIALS_KEYS.

Rotation: put a new key first in the comma-separated list (it encrypts), keep the old ones
after it (they still decrypt), run `manage.py rotate_provider_credentials` to re-encrypt
every account with the new key, then drop the old keys.
"""

import json
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured(
            "PROVIDER_CREDENTIALS_KEYS is not set: generate one with `python -c 'from "
            "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
        )
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as error:
        raise ImproperlyConfigured(
            f"PROVIDER_CREDENTIALS_KEYS holds an invalid key: {error}"
        ) from None


def _current() -> MultiFernet:
    return _fernet(tuple(settings.PROVIDER_CREDENTIALS_KEYS))


def encrypt_json(value: dict) -> str:
    return _current().encrypt(json.dumps(value, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> dict:
    try:
        return json.loads(_current().decrypt(token.encode()))
    except InvalidToken:
        raise ImproperlyConfigured(
            "Provider credentials cannot be decrypted with PROVIDER_CREDENTIALS_KEYS: "
            "was a key removed before `manage.py rotate_provider_credentials` ran?"
        ) from None


def reencrypt(token: str) -> str:
    """The same secret encrypted with the first (current) key."""
    return _current().rotate(token.encode()).decode()

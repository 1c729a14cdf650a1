"""Test settings: the real PostgreSQL and Redis, on a Redis database number of the tests' own."""

import os
from urllib.parse import urlsplit, urlunsplit

os.environ["MAILPULSE_IGNORE_DOTENV"] = "1"
os.environ.setdefault("SECRET_KEY", "test-secret-key-that-is-long-enough-for-django-checks-0123")

from config.settings import *  # noqa: F403
from config.settings import CACHES, CHANNEL_LAYERS, DATABASES, REDIS_URL, env

REDIS_TEST_DB = env.int("REDIS_TEST_DB", default=15)


def _with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


REDIS_URL = _with_db(REDIS_URL, REDIS_TEST_DB)
# Separate suites (e.g. two checkouts) may share the servers with their own numbers and names.
REDIS_KEY_PREFIX = f"mptest{REDIS_TEST_DB}"
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DB_NAME", default="test_mailpulse")}
CACHES["default"]["LOCATION"] = REDIS_URL
CACHES["default"]["KEY_PREFIX"] = REDIS_KEY_PREFIX
CHANNEL_LAYERS["default"]["CONFIG"] = {
    "hosts": [{"address": REDIS_URL}],
    "prefix": f"{REDIS_KEY_PREFIX}:asgi",
}
CELERY_BROKER_URL = REDIS_URL

HTTPS = False
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
PROVIDER_CREDENTIALS_KEYS = ["mvKTjfZQ3Bn0Hk1cC9QJ2G4UGG8kmt7Yc6CPqlJcVm0="]

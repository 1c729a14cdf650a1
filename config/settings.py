"""Mailpulse settings: every value comes from the environment (or `.env`), read once here."""

from pathlib import Path

import environ

from config.security import DEFAULT_CSP, DEFAULT_PERMISSIONS_POLICY

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# The environment wins over .env; the tests ignore .env so a developer's file cannot change them.
if not env.bool("MAILPULSE_IGNORE_DOTENV", default=False):
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-not-secret" if DEBUG else environ.Env.NOTSET)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# HTTPS hardening is on in production (DEBUG off) unless the operator says the site is plain HTTP.
HTTPS = env.bool("HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
# The CSRF cookie stays readable by scripts (Django's default, and harmless: it is not a
# credential). The static JS reads the token from the form's hidden field today, so
# CSRF_COOKIE_HTTPONLY=true is possible; it is left off for scripts that read the cookie.
CSRF_COOKIE_HTTPONLY = env.bool("CSRF_COOKIE_HTTPONLY", default=False)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy and Permissions-Policy (config/security.py); "" leaves one out.
CONTENT_SECURITY_POLICY = env.str("CONTENT_SECURITY_POLICY", default=DEFAULT_CSP)
PERMISSIONS_POLICY = env.str("PERMISSIONS_POLICY", default=DEFAULT_PERMISSIONS_POLICY)
# The login pages refuse a username from one address after this many failures in the window.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_FAILURE_WINDOW_S = env.int("LOGIN_FAILURE_WINDOW_S", default=900)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "anymail",
    "events",
    "mailer",
    # Only for its management command `serve` (config/management/commands/), beside asgi.py.
    "config",
]

MIDDLEWARE = [
    # django-prometheus: request counts and latencies by view (first and last on purpose).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "config.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
# `manage.py serve`: processes sharing one socket (Django runs sync views on one thread per
# process, so one process uses one core), and how long SIGTERM may take: stop accepting,
# close websockets with 1001, let requests in flight finish.
WEB_PROCESSES = env.int("WEB_PROCESSES", default=1)
SHUTDOWN_GRACE_S = env.float("SHUTDOWN_GRACE_S", default=5.0)

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL")}
# PostgreSQL through django-prometheus's wrapper: query counts, durations and errors in /metrics.
DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0)
DATABASES["default"]["OPTIONS"] = {"connect_timeout": env.int("DB_CONNECT_TIMEOUT_S", default=3)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL")
REDIS_SOCKET_TIMEOUT_S = env.float("REDIS_SOCKET_TIMEOUT_S", default=2.0)
REDIS_KEY_PREFIX = env.str("REDIS_KEY_PREFIX", default="mp")

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX,
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT_S,
            "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT_S,
        },
    }
}

# Pub/sub layer: the default RedisChannelLayer drops group messages once a consumer has 100
# queued; the pub/sub layer delivered every message to 1,000 consumers when measured here.
# Ours subscribes again after a Redis outage (events/channel_layer.py).
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "events.channel_layer.OutageTolerantPubSubChannelLayer",
        "CONFIG": {"hosts": [{"address": REDIS_URL}], "prefix": f"{REDIS_KEY_PREFIX}:asgi"},
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_IMPORTS = (
    "mailer.import_tasks",
    "mailer.send_tasks",
    "mailer.provider_tasks",
    "mailer.sandbox_tasks",
    "mailer.provider_health_tasks",
    "events.spool_tasks",
    "events.retention_tasks",
    "events.live_tasks",
)
# A task a dead worker held is handed to another after this long: longer than any chunk runs.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT_S", default=900)
}
# Scheduled campaigns start from a periodic check of the database, so nothing is lost when
# beat restarts; start_due_campaigns is safe to run from several places at once.
CELERY_BEAT_SCHEDULE = {
    "start-due-campaigns": {"task": "mailer.send_tasks.start_due_campaigns", "schedule": 15.0},
    # Breakers that went half-open and throttles that ended while nothing was sending.
    "announce-provider-states": {
        "task": "mailer.provider_tasks.announce_provider_states",
        "schedule": 5.0,
    },
    # Status pages, error rate and latency of each provider; changes reach the dashboards.
    "check-provider-health": {
        "task": "mailer.provider_health_tasks.check_provider_health",
        "schedule": 60.0,
    },
    # Webhook events spooled in Redis while PostgreSQL was down (Redis needs appendonly yes).
    "drain-webhook-spool": {"task": "events.spool_tasks.drain_webhook_spool", "schedule": 5.0},
    # Event partitions ahead of time; events, dedupe keys and nonces past retention.
    "maintain-event-storage": {
        "task": "events.retention_tasks.maintain_event_storage",
        "schedule": 3600.0,
    },
    # The live view rebuilt when Redis lost it or missed a batch, dashboards open or not.
    "repair-live-view": {"task": "events.live_tasks.repair_live_view", "schedule": 10.0},
}
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Workers log through LOGGING below (JSON lines), like the web processes.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an unauthenticated request gets 401 with WWW-Authenticate.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Only views with a throttle_scope are throttled: POST /api/auth/token/ ("login"), per
    # client address, successful or not.
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.ScopedRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"login": env.str("LOGIN_THROTTLE_RATE", default="10/min")},
}
# Largest `?page_size=` of every list endpoint; above it the page size is clamped to it.
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=500)

SPECTACULAR_SETTINGS = {
    "TITLE": "Mailpulse API",
    "DESCRIPTION": (
        "Send campaign email through real providers and watch every message live.\n\n"
        "Authenticate with a session cookie or `Authorization: Token <token>` "
        "(get one from `POST /api/auth/token/`). Every error is JSON: "
        '`{"error": "<code>", "detail": "<what is wrong>"}`.\n\n'
        "Providers post delivery events to `/api/hook/` (see the webhooks tag). "
        "The live websocket `/ws/email/` (snapshot, live frames, filter, resume) is described "
        "in [the websocket protocol](/doc/websocket.md)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.api_schema.add_error_responses",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status"; give each enum its own name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "CampaignStatusEnum": "mailer.models.campaigns.Campaign.Status",
        "MessageStatusEnum": "mailer.models.messages.Message.Status",
        "SubscriberStatusEnum": "mailer.models.audience.Subscriber.Status",
        "ImportStatusEnum": "mailer.models.imports.SubscriberImport.Status",
    },
}

# Webhooks. Secrets use django-anymail's own setting names.
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=5 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = WEBHOOK_MAX_BODY_BYTES
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10000
# Most events in one webhook request (providers batch at most about a thousand); more: 413.
WEBHOOK_MAX_EVENTS = env.int("WEBHOOK_MAX_EVENTS", default=10000)
WEBHOOK_SECRET = env.list("WEBHOOK_SECRET", default=[])
MANDRILL_WEBHOOK_KEY = env.str("MANDRILL_WEBHOOK_KEY", default="")
MANDRILL_WEBHOOK_URL = env.list("MANDRILL_WEBHOOK_URL", default=[])
MAILGUN_WEBHOOK_SIGNING_KEY = env.str("MAILGUN_WEBHOOK_SIGNING_KEY", default="")
SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY = env.str(
    "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY", default=""
)
WEBHOOK_MAX_AGE_S = env.int("WEBHOOK_MAX_AGE_S", default=15 * 60)
# Events older than this are removed (whole month partitions once entirely older).
EVENT_RETENTION_DAYS = env.int("EVENT_RETENTION_DAYS", default=90)
AMAZON_SES_AUTO_CONFIRM = env.bool("AMAZON_SES_AUTO_CONFIRM", default=False)
AMAZON_SES_SNS_CERT_HOSTS = env.list("AMAZON_SES_SNS_CERT_HOSTS", default=[])
AMAZON_SES_TOPIC_ARNS = env.list("AMAZON_SES_TOPIC_ARNS", default=[])
ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET}

# Live view: how many recent events Redis keeps, and how often a dashboard gets a frame.
LIVE_STREAM_MAX_EVENTS = env.int("LIVE_STREAM_MAX_EVENTS", default=10000)
# How often each server checks Redis for its dashboards (degraded banner, rebuild when back).
LIVE_HEALTH_PROBE_INTERVAL_S = env.float("LIVE_HEALTH_PROBE_INTERVAL_S", default=2.0)
# Per websocket client: largest message, message rate (token bucket) and open connections.
WS_MAX_MESSAGE_BYTES = env.int("WS_MAX_MESSAGE_BYTES", default=4096)
WS_MESSAGES_PER_S = env.float("WS_MESSAGES_PER_S", default=5.0)
WS_MESSAGE_BURST = env.int("WS_MESSAGE_BURST", default=20)
WS_MAX_CONNECTIONS_PER_USER = env.int("WS_MAX_CONNECTIONS_PER_USER", default=50)
LIVE_SNAPSHOT_EVENTS = env.int("LIVE_SNAPSHOT_EVENTS", default=100)
WS_FRAME_INTERVAL_MS = env.int("WS_FRAME_INTERVAL_MS", default=100)
WS_MAX_EVENTS_PER_FRAME = env.int("WS_MAX_EVENTS_PER_FRAME", default=200)

# Mail out. EMAIL_URL: smtp://user:password@host:587/?tls=True, consolemail:// (development).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT_S", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Mailpulse <mailpulse@localhost>")
# The public base URL, for links in emails (unsubscribe).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# Address for mailto: List-Unsubscribe (requests to it are handled outside Mailpulse).
UNSUBSCRIBE_MAILTO = env.str("UNSUBSCRIBE_MAILTO", default="")
# Fernet keys encrypting provider credentials at rest; the first encrypts, all decrypt
# (rotation: see mailer/crypto.py).
PROVIDER_CREDENTIALS_KEYS = env.list("PROVIDER_CREDENTIALS_KEYS", default=[])
# The provider router: a breaker opens after this many outages in a row and lets one probe
# through after its cool-down; a 429 without Retry-After throttles for PROVIDER_THROTTLE_DEFAULT_S.
PROVIDER_BREAKER_FAILURES = env.int("PROVIDER_BREAKER_FAILURES", default=3)
PROVIDER_BREAKER_COOLDOWN_S = env.float("PROVIDER_BREAKER_COOLDOWN_S", default=30.0)
PROVIDER_THROTTLE_DEFAULT_S = env.float("PROVIDER_THROTTLE_DEFAULT_S", default=60.0)
PROVIDER_FAILURE_WINDOW_S = env.int("PROVIDER_FAILURE_WINDOW_S", default=300)
PROVIDER_RECENT_SENDS = env.int("PROVIDER_RECENT_SENDS", default=50)
# Health checks: public status pages per kind ({kind: url}, "" skips one) and their timeout.
PROVIDER_STATUS_PAGES = env.dict("PROVIDER_STATUS_PAGES", default={})
PROVIDER_STATUS_TIMEOUT_S = env.float("PROVIDER_STATUS_TIMEOUT_S", default=3.0)
# The sandbox provider's defaults (an account's credentials override them).
SANDBOX_MODE = env.str("SANDBOX_MODE", default="up")
SANDBOX_FLAKY_PERCENT = env.float("SANDBOX_FLAKY_PERCENT", default=10.0)
SANDBOX_LATENCY_MS = env.float("SANDBOX_LATENCY_MS", default=50.0)
SANDBOX_WEBHOOK_FORMAT = env.str("SANDBOX_WEBHOOK_FORMAT", default="mandrill")
# Where the sandbox posts its webhooks (default: SITE_URL + /api/hook/<format>/).
SANDBOX_WEBHOOK_URL = env.str("SANDBOX_WEBHOOK_URL", default="")
# Scale of the sandbox's event timeline (1.0: deliveries in seconds, opens over a minute).
SANDBOX_EVENTS_DELAY_S = env.float("SANDBOX_EVENTS_DELAY_S", default=1.0)
# Recipients per sending task.
SEND_CHUNK_SIZE = env.int("SEND_CHUNK_SIZE", default=200)
# CSV imports: largest upload and most rows.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=50 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=1_000_000)

# GET /metrics (Prometheus) answers only `Authorization: Bearer <METRICS_TOKEN>`; unset: 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "config.request_log.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Our request line replaces these; keep their errors.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        # Never the SQL log, even at LOG_LEVEL=DEBUG: its parameters hold token and session
        # keys and password hashes.
        "django.db.backends": {"level": "INFO"},
    },
}

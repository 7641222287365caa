"""Tributary settings. Every value comes from an environment variable with a development
default; see the README's table of variables."""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from project.env import (
    env_bool,
    env_float,
    env_int,
    env_int_list,
    env_list,
    env_str,
    parse_database_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

_DEV_SECRET_KEY = "dev-insecure-tributary-key-change-me"

DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", _DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == _DEV_SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off: the development default "
        "is public. Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

DATABASES = {
    "default": parse_database_url(
        env_str("DATABASE_URL", "sqlite:///db.sqlite3"), base_dir=str(BASE_DIR)
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The worker and the web server share the file: wait for locks instead of failing.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    # A file, not memory, so that worker processes started by tests share the test database;
    # one per test run, so that two runs side by side do not share one.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f"test-db-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _encryption_keys() -> list[str]:
    keys = env_list("TRIBUTARY_ENCRYPTION_KEYS", [])
    if keys:
        return keys
    if not DEBUG:
        raise ImproperlyConfigured(
            "TRIBUTARY_ENCRYPTION_KEYS must be set when DJANGO_DEBUG is off: one or more "
            "comma-separated Fernet keys, the first encrypts and all decrypt. Generate one with: "
            "python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        )
    # Development only: a key derived from the (development) secret key.
    return [base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()]


TRIBUTARY_ENCRYPTION_KEYS = _encryption_keys()
TRIBUTARY_ALLOW_PRIVATE_URLS = env_bool("TRIBUTARY_ALLOW_PRIVATE_URLS", DEBUG)
# Development tools (devtools/): the Desk simulator, the callback inbox and the demo set-up.
# Installed as apps only when on (by default with DJANGO_DEBUG; `make run` turns them on).
TRIBUTARY_DEV_TOOLS = env_bool("TRIBUTARY_DEV_TOOLS", DEBUG)
# The callback inbox (/inbox/): records and verifies the notifications it receives.
TRIBUTARY_INBOX_ENABLED = TRIBUTARY_DEV_TOOLS and env_bool("TRIBUTARY_INBOX_ENABLED", True)
TRIBUTARY_PROVIDER_TIMEOUT = env_int("TRIBUTARY_PROVIDER_TIMEOUT", 30, minimum=1)
TRIBUTARY_DELIVERY_TIMEOUT = env_int("TRIBUTARY_DELIVERY_TIMEOUT", 15, minimum=1)
# Every outbound request is bounded: the two timeouts above are each attempt's deadline for
# all of it (connect, headers and body), and an answer is read up to these many bytes (a
# callback's, up to its first 20 KB, kept with the attempt; the rest is not read).
TRIBUTARY_PROVIDER_MAX_BYTES = env_int("TRIBUTARY_PROVIDER_MAX_BYTES", 50 * 1024**2, minimum=1024)
TRIBUTARY_OAUTH_MAX_BYTES = env_int("TRIBUTARY_OAUTH_MAX_BYTES", 1024**2, minimum=1024)
# Seconds after the first failed attempt at which each retry is due (Cloud Elements: 4^x for
# x = 1..9, the last a little under 73 hours), each with ±TRIBUTARY_RETRY_JITTER.
TRIBUTARY_RETRY_SCHEDULE = env_int_list("TRIBUTARY_RETRY_SCHEDULE", [4**x for x in range(1, 10)])
TRIBUTARY_RETRY_JITTER = env_float("TRIBUTARY_RETRY_JITTER", 0.1, minimum=0.0, maximum=0.5)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "integrations",
    "events",
]
if TRIBUTARY_DEV_TOOLS:
    INSTALLED_APPS += ["devtools", "devtools.inbox"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
ASGI_APPLICATION = "project.asgi.application"

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

if TRIBUTARY_DEV_TOOLS:
    TEMPLATES[0]["OPTIONS"]["context_processors"].append("devtools.inbox.context_processors.inbox")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "/events/log/"

# Login throttling (django-axes), on the admin's and the event log's login pages: after
# TRIBUTARY_LOGIN_FAILURE_LIMIT wrong passwords for one username from one address, that
# username cannot log in from there, not even with the right password, until
# TRIBUTARY_LOGIN_COOLOFF_MINUTES have passed without another try; the page says so (429).
# A login resets the count. Per username and address: a stranger cannot lock a user out.
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last, as django-axes asks
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("TRIBUTARY_LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("TRIBUTARY_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "lockout.html"
AXES_CLIENT_IP_CALLABLE = "project.throttling.client_address"
# Failed attempts are kept (and expire with the cool-off); a log of every login is not.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False  # no banner at every start; a lockout is still logged as a warning

SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
# HTTPS only, outside debug. Behind a proxy that terminates TLS, set
# DJANGO_SECURE_PROXY_SSL_HEADER=true so Django trusts its X-Forwarded-Proto (only then: a
# client could send the header itself).
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Load balancers probe the health check over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Preloading commits the whole domain to HTTPS in browsers for good; it is the operator's
# decision (DJANGO_SECURE_HSTS_PRELOAD), so its absence is not a deployment warning.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # The Apps API (project/api_urls.py): JSON bodies only, one error shape, per-token limits.
    "DEFAULT_PARSER_CLASSES": ["project.api_parsers.BoundedJSONParser"],
    # The API's error shape (project/api_errors.py), after a 401 is counted as anonymous.
    "EXCEPTION_HANDLER": "project.throttling.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_str("TRIBUTARY_API_RATE", "1200/minute"),
        "anon": env_str("TRIBUTARY_API_ANON_RATE", "60/minute"),
    },
}
# Clients are told apart by address (the API's throttles, the login lockout): REMOTE_ADDR, or
# behind TRIBUTARY_TRUSTED_PROXIES proxies the address the nearest one put in X-Forwarded-For;
# never that header alone, in which a client could name a new address on every request.
REST_FRAMEWORK["NUM_PROXIES"] = env_int("TRIBUTARY_TRUSTED_PROXIES", 0, minimum=0)
# Request bodies over 1 MiB are refused (the API answers 413).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("TRIBUTARY_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
# Inbound webhooks (events/webhook_views.py): requests per client address and element, a DRF
# rate such as "600/minute" (empty: no limit); over it, 429 with Retry-After. Counted in the
# cache: per process with the default local-memory cache, shared with a shared cache.
TRIBUTARY_WEBHOOK_RATE = env_str("TRIBUTARY_WEBHOOK_RATE", "600/minute").strip()
_webhook_count, _, _webhook_period = TRIBUTARY_WEBHOOK_RATE.partition("/")
if TRIBUTARY_WEBHOOK_RATE and not (
    _webhook_count.isdigit()
    and int(_webhook_count) > 0
    and _webhook_period in {"s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day"}
):
    raise ImproperlyConfigured(
        f"TRIBUTARY_WEBHOOK_RATE={TRIBUTARY_WEBHOOK_RATE!r} is not a rate: use a number of "
        "requests per second, minute, hour or day, such as 600/minute (empty: no limit)."
    )

SPECTACULAR_SETTINGS = {
    "TITLE": "Tributary API",
    "DESCRIPTION": "Cloud Elements-compatible instances and events API.",
    "VERSION": "0.1.0",
    "SCHEMA_PATH_PREFIX": "/elements/api-v2",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["core.api.without_trailing_slash_routes"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.with_error_responses",
    ],
    # Swagger UI's assets from drf-spectacular-sidecar: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# django-q2: the ORM broker keeps the embedded set-up to one database. A task that runs past
# `timeout` is killed; `retry` must exceed it or a slow task would be handed out twice.
Q_CLUSTER = {
    "name": "tributary",
    "orm": "default",
    "workers": env_int("TRIBUTARY_WORKERS", 2, minimum=1),
    "timeout": env_int("TRIBUTARY_TASK_TIMEOUT", 300, minimum=10),
    "retry": env_int("TRIBUTARY_TASK_TIMEOUT", 300, minimum=10) + 120,
    "max_attempts": 3,
    "catch_up": False,
    "ack_failures": True,
    # Successful task results are not kept: each delivery's history is its DeliveryAttempts,
    # and django-q's monitor re-reads every kept result after each task (bench/deliver.py).
    "save_limit": -1,
    # How often an idle worker asks the ORM broker for work: the latency of a first delivery.
    "poll": env_float("TRIBUTARY_QUEUE_POLL", 0.2, minimum=0.01, maximum=10),
    "label": "Task queue",
}
# Redis instead of the database as the task broker, for larger installations
# (pip install 'tributary[redis]'). Schedules and results stay in the database.
TRIBUTARY_REDIS_URL = env_str("TRIBUTARY_REDIS_URL", "")
if TRIBUTARY_REDIS_URL:
    del Q_CLUSTER["orm"]
    Q_CLUSTER["redis"] = TRIBUTARY_REDIS_URL

# Events, deliveries (with their attempts) and inbound webhooks older than this are pruned
# daily, except what is undelivered or still inside a poller's overlap (events/retention.py).
TRIBUTARY_RETENTION_DAYS = env_int("TRIBUTARY_RETENTION_DAYS", 30, minimum=1)

# plain: one readable line per record; json: one JSON object per line (project/logging.py).
TRIBUTARY_LOG_FORMAT = env_str("TRIBUTARY_LOG_FORMAT", "plain").strip().lower()
if TRIBUTARY_LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(
        f"TRIBUTARY_LOG_FORMAT={TRIBUTARY_LOG_FORMAT!r} is not a log format: use plain or json."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "project.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": TRIBUTARY_LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("TRIBUTARY_LOG_LEVEL", "INFO")},
    # Their DEBUG lines carry OAuth access tokens: never below INFO, whatever the root level.
    "loggers": {
        **{name: {"level": "INFO"} for name in ("oauthlib", "requests_oauthlib")},
        # django-q2 logs every task it hands out and finishes at INFO: hundreds of lines an
        # hour that say nothing. Tributary logs each poll and delivery outcome itself.
        "django-q": {"level": env_str("TRIBUTARY_QUEUE_LOG_LEVEL", "WARNING")},
    },
}
if TRIBUTARY_LOG_FORMAT == "json":
    # Django's own loggers have plain handlers of their own: send them through ours.
    LOGGING["loggers"].update(
        {
            name: {"handlers": [], "level": "INFO", "propagate": True}
            for name in ("django", "django.server")
        }
    )

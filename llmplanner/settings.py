"""The one settings module. Everything deployment-specific comes from the environment.

Every variable read here is listed, with its default, in ``.env.example``. A bad value stops
start-up with ``ImproperlyConfigured`` naming the variable (see ``llmplanner.env``).
"""

import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from llmplanner.env import (
    env_bool,
    env_choice,
    env_database,
    env_float,
    env_int,
    env_list,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)

_secret_key = env_str("SECRET_KEY")
if _secret_key is None:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    _secret_key = "django-insecure-development-only-key-do-not-use-in-production"
SECRET_KEY = _secret_key

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("http://", "https://")):
        raise ImproperlyConfigured(
            f"CSRF_TRUSTED_ORIGINS entries must start with http:// or https://; got {_origin!r}"
        )

# Local state of the serverless setup: the SQLite file and the filesystem broker's folders.
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")) or "").resolve()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.common",
    "apps.accounts",
    "apps.runs",
    "apps.programs",
    "apps.reports",
    "apps.portfolio",
    "apps.tracking",
    "apps.api",
    "apps.webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Oversized bodies (413), JSON nested too deep (400) or not in Unicode (415) and bodies of
    # unknown length (411; chunked ones gunicorn decoded are read) before any parser runs.
    "apps.common.middleware.RequestGuardMiddleware",
    # A request failing on a locked or unreachable database answers 503 with Retry-After.
    "apps.common.middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before common: picks the language from the cookie set by the header switch,
    # else from Accept-Language. URLs carry no language prefix.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a login unless its view is marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Answers to signed-in requests: Cache-Control: private, no-store (static files never get here).
    "apps.common.middleware.PrivateCacheMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy from SECURE_CSP (below).
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "llmplanner.urls"
WSGI_APPLICATION = "llmplanner.wsgi.application"

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
                "django.template.context_processors.i18n",
                "apps.common.context_processors.background_status",
            ],
        },
    },
]

DATABASES = {
    "default": env_database("DATABASE_URL", VAR_DIR / "db.sqlite3", BASE_DIR),
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not :memory:, so a worker subprocess in the integration tests sees the test data.
    DATABASES["default"]["TEST"] = {"NAME": VAR_DIR / "test-db.sqlite3"}
    # How long a write waits for another connection's write lock before "database is locked"
    # (then a 503 with Retry-After). Writes here hold the lock for milliseconds (a request's
    # transaction, a worker storing a run's result); 5 s covers a long import or restore and a
    # queue of writers on a busy machine, yet answers a held lock within seconds, not 20.
    DATABASES["default"]["OPTIONS"]["timeout"] = 5

AUTH_USER_MODEL = "accounts.User"
# Django's ModelBackend behind the sign-in throttle, for every form (the site's and the admin's).
AUTHENTICATION_BACKENDS = ["apps.accounts.backends.ThrottledModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "portfolio:home"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# English and Simplified Chinese; the header switch stores the choice in a cookie.
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
# ISO dates in both languages (llmplanner/formats/): the charts, the API and the PDF use them too.
FORMAT_MODULE_PATH = ["llmplanner.formats"]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
# Dates follow the language (Django's locale formats). Amounts, token counts and GPU counts go
# through the filters of apps/programs/templatetags/planning.py (万/亿 in Chinese, K/M/B in
# English) rather than USE_THOUSAND_SEPARATOR, which would also group ids in attributes.

# Request size limits (Django's defaults, made explicit): no body above 2.5 MiB is read — the
# largest legitimate one is a 1 MB scenario document — and RequestGuardMiddleware answers 413
# from Content-Length, files included; at most 1000 form fields per request.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
DATA_UPLOAD_MAX_NUMBER_FILES = 10
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Generated files (PDF exports) live here and are served only by views that check access.
MEDIA_ROOT = VAR_DIR / "media"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedStaticFilesStorage"
        )
    },
}
# In development static files are served straight from static/ without collectstatic.
WHITENOISE_USE_FINDERS = DEBUG

# --- Security -----------------------------------------------------------------------------
# Served over HTTPS (directly or behind a proxy that terminates it): cookies are Secure, plain
# HTTP is redirected and browsers are told to stay on HTTPS (HSTS). `manage.py check --deploy`
# is clean with DEBUG off, SECURE_COOKIES on and a real SECRET_KEY (tests/security).
SECURE_COOKIES = env_bool("SECURE_COOKIES", False)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
if env_bool("BEHIND_HTTPS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = SECURE_COOKIES
# /healthz is probed over plain HTTP by load balancers and compose.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if SECURE_COOKIES else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# A plan is confidential: a session lasts a working day, not Django's two weeks.
SESSION_COOKIE_AGE = env_int("SESSION_HOURS", 12, minimum=1) * 3600
# Sign-in throttling (apps/accounts/throttle.py): after LOGIN_FAILURE_LIMIT failed attempts for
# one user name, or 10× that from one address, within LOGIN_LOCKOUT_MINUTES, sign-in is refused
# (429) until the window has passed since the last failure.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
# Mail (password-reset links): SMTP to EMAIL_HOST (a relay on localhost by default), on
# EMAIL_PORT (587 with EMAIL_USE_TLS, else 25), signing in when EMAIL_HOST_USER is set; in DEBUG
# without EMAIL_HOST, printed on the console. Tests swap in the in-memory backend. Django 6.1's
# MAILERS takes these as the SMTP backend's OPTIONS (the old EMAIL_* settings are refused
# beside it, hence the local names).
_email_host = env_str("EMAIL_HOST")
_email_use_tls = env_bool("EMAIL_USE_TLS", False)
_smtp_options = {
    "host": _email_host or "localhost",
    "port": env_int("EMAIL_PORT", 587 if _email_use_tls else 25, minimum=1),
    "use_tls": _email_use_tls,
    "username": env_str("EMAIL_HOST_USER", "") or "",
    "password": env_str("EMAIL_HOST_PASSWORD", "") or "",
}
MAILERS = {
    "default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if DEBUG and _email_host is None
    else {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": _smtp_options}
}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "webmaster@localhost")
# Scripts only from our own static files (htmx, plotly, figures.js: no inline script, no CDN);
# inline styles are allowed because Plotly and htmx set them at run time. The API's Swagger UI
# runs under it too (apps/api/urls.py).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# The finance API (apps/api): organization tokens or a browser session, one error envelope,
# pages of 50, filters, a request budget per token, an OpenAPI 3 schema.
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "600/min") or ""
if not re.fullmatch(r"\d+/(s|sec|m|min|h|hour|d|day)", API_RATE_LIMIT):
    raise ImproperlyConfigured("API_RATE_LIMIT must look like 600/min (per s, min, hour or day)")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.api.authentication.OrganizationTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "apps.api.permissions.TokenScope",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["apps.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": API_RATE_LIMIT},
    "DEFAULT_PAGINATION_CLASS": "apps.api.pagination.ApiPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.api.exceptions.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "llmplanner finance API",
    "DESCRIPTION": (
        "Budgets of LLM training programs for finance tooling: programs, scenarios, runs, "
        "GPU budget lines, team and data; the budget by month and category (P50/P90; "
        "JSON, CSV or XLSX). Authenticate with `Authorization: Bearer <organization token>`. "
        "Money is a decimal string with its currency code. "
        'Errors: `{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # served from our static files: no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Choice sets that share a field name with another model's get names of their own.
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "apps.runs.models.RunStatus",
        "ExportStatusEnum": "apps.reports.models.Export.Status",
        "ExportLanguageEnum": "apps.reports.models.Export.Language",
        "ExportPaperEnum": "apps.reports.models.Export.Paper",
    },
    # The default enum hook, then the refusals no view declares (413, 415, 406, 429).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.api.schema.document_refusals",
    ],
}

# Counters shared by every web process (sign-in throttling, API request budgets): files under
# VAR_DIR by default (one machine, no server); CACHE_URL=redis://host:6379/1 when web processes
# run on several machines. Give the cache a Redis database of its own, not the broker's:
# clearing a cache empties its whole database.
_cache_url = env_url("CACHE_URL", {"redis", "rediss"})
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
    if _cache_url
    else {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache"),
    }
}

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}

# --- Celery -------------------------------------------------------------------------------
# Broker: CELERY_BROKER_URL, else REDIS_URL, else a filesystem broker under VAR_DIR that needs
# no server (llmplanner.broker: kombu's transport with atomic writes).
BROKER_DIR = VAR_DIR / "broker"
_broker_url = env_url("CELERY_BROKER_URL", {"redis", "rediss", "amqp", "pyamqp", "fsatomic"})
_redis_url = env_url("REDIS_URL", {"redis", "rediss"})

CELERY_BROKER_URL = _broker_url or _redis_url or "fsatomic://localhost//"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("fsatomic"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processing"),
        "control_folder": str(BROKER_DIR / "control"),
        # kombu polls the folder; its 1 s default makes every round trip feel slow.
        "polling_interval": 0.1,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# Results live on the job's database row; Celery's result backend is not used.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 600, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 540, minimum=1)
if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_SOFT_TIME_LIMIT must be below CELERY_TASK_TIME_LIMIT")
# Acknowledge after the task ran, and put it back if the worker died mid-task, so a killed
# worker's task is delivered again. Tasks must therefore be idempotent (see apps/runs/services).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_TASK_SEND_SENT_EVENT = False
# Redis redelivers unacknowledged messages after this; it must exceed the hard time limit.
if CELERY_BROKER_URL.startswith("redis"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_TASK_TIME_LIMIT + 300,
        # An unreachable host must fail a publish (a page's request) in seconds, not hang it.
        "socket_connect_timeout": 2,
    }
CELERY_TIMEZONE = TIME_ZONE
# Fair shares (apps/runs/fairness.py): at most this many plan runs of one organization, and as
# many of its what-if chunks and PDF exports, are with the workers at once; the rest wait in order.
ORG_MAX_IN_FLIGHT = env_int("ORG_MAX_IN_FLIGHT", 2, minimum=1)
# A run (or a whole sweep) whose estimated work exceeds this is refused before it is queued
# (apps.runs.services.plan_work_estimate: trials × stages × max(1, GPUs / 16,384)).
RUN_MAX_WORK = env_int("RUN_MAX_WORK", 5_000_000, minimum=1)
# Memory of one worker pool process (its data segment, RLIMIT_DATA): a task that needs more
# fails with a readable error instead of swapping the machine; a process that has grown past
# half of it is replaced after its task.
WORKER_MAX_MEMORY_MB = env_int("WORKER_MAX_MEMORY_MB", 2048, minimum=256)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = WORKER_MAX_MEMORY_MB * 1024 // 2  # KiB, resident

# Webhooks (apps/webhooks): https:// only; http:// and localhost receivers only in DEBUG or with
# this on (a finance tool on the same machine).
WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP", False)

# /healthz waits this long for a worker to answer a ping.
HEALTHZ_PING_TIMEOUT = env_float("HEALTHZ_PING_TIMEOUT", 1.0, minimum=0.1)

"""Settings every environment shares.

The environment-specific modules import everything from here and then call
:func:`from_environment` to fill in what comes from ``FINCORE_*`` variables.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from apps.core.currencies import UnknownCurrency
from apps.core.money import Money, MoneyError
from apps.core.rates import parse_rate
from fincore.settings.environment import Environment

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = False

INSTALLED_APPS = [
    "django_prometheus",
    "apps.ops.admin_site.FincoreAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "auditlog",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "apps.core",
    "apps.events",
    "apps.ledger",
    "apps.audit",
    "apps.compliance",
    "apps.merchants",
    "apps.routing",
    "apps.payments",
    "apps.treasury",
    "apps.settlement",
    "apps.reconciliation",
    "apps.ops",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.middleware.RequestContextMiddleware",
    "apps.core.middleware.RequestFramingMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Ends staff sessions idle too long or older than their lifetime (FINCORE_ADMIN_*).
    "apps.ops.staff.middleware.StaffSessionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "fincore.urls"
WSGI_APPLICATION = "fincore.wsgi.application"

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

# Services own their transactions; a request is never one big implicit transaction.
ATOMIC_REQUESTS = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes counts failed logins before the password is checked (AXES_* under "Staff security").
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Lockout: 5 failed logins for one username from one address lock that pair for 30 minutes.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# 30 minutes from the fifth failure: attempts while locked are refused (and journaled) without
# restarting the clock, so a locked person knows when to come back.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A complete sign-in (password and second factor) clears that pair's earlier failures.
AXES_RESET_ON_SUCCESS = True
# Every failed login stays visible in the admin (Operations → Failed logins), locked or not.
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# The client address as the rest of fincore sees it (FINCORE_PROXY_HOPS), not as ipware guesses.
AXES_CLIENT_IP_CALLABLE = "apps.core.middleware.client_ip"
# The lockout page in the admin's look, with the time the lock ends.
AXES_LOCKOUT_CALLABLE = "apps.ops.staff.views.locked_out_page"
# The admin itself shows no device secrets; enrolment shows a new secret once, to its owner.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# The name authenticator apps show next to the code.
OTP_TOTP_ISSUER = "fincore"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "Asia/Bahrain"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Static files are served from the installed apps directly, so `make run` needs no
# collectstatic step; production collects them at build time (deploy/README.md).
WHITENOISE_USE_FINDERS = True

# django-prometheus would otherwise query the database while the app registry loads.
PROMETHEUS_EXPORT_MIGRATIONS = False

# Request bodies: the admin's forms take Django's default; each API endpoint has its own limit,
# which its JSON parser enforces (apps.core.api.limits: 64 KiB, a batch of transfers 31.3 MiB).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# Under /api/ a refused CSRF check is a problem like every other error (fincore.urls).
CSRF_FAILURE_VIEW = "fincore.urls.csrf_failure"
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Probes and scrapes arrive over plain HTTP from inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# --- API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.merchants.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["apps.merchants.throttling.ApiKeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["apps.core.api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.pagination.CursorPagination",
    # Lists filter in their selectors, from a validated query serializer: no filter backends.
    "DEFAULT_FILTER_BACKENDS": [],
    "DEFAULT_SCHEMA_CLASS": "apps.core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.problems.exception_handler",
    "UNAUTHENTICATED_USER": None,
    # JSON is the only representation: no ?format= (an unknown one would be a 404).
    "URL_FORMAT_OVERRIDE": None,
    "PAGE_SIZE": 50,
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "fincore API",
    "DESCRIPTION": (
        "Merchant API of fincore. Authenticate with `Authorization: Bearer <secret key>`. "
        "Amounts are integers in minor units with an ISO 4217 currency. Every POST accepts an "
        "`Idempotency-Key`. Errors are RFC 9457 problem details with a stable `code`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI from the pinned drf-spectacular-sidecar, served by whitenoise: the docs work
    # offline and no script from another host runs in a payments back office.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Capture methods come in two sets: both (cards, wallets) and automatic only (instant, wire).
    "ENUM_NAME_OVERRIDES": {
        "CaptureMethodEnum": "apps.payments.models.Payment.CaptureMethod",
        "AutomaticCaptureMethodEnum": ["automatic"],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.api.schema.add_problem_responses",
    ],
}

# Celery is configured in celery_app.py; only its broker URL comes from here (FINCORE_BROKER_URL).
CELERY_TIMEZONE = TIME_ZONE

# --- audit -----------------------------------------------------------------------------
# django-auditlog records every change made through the admin to these models (fincore's own
# admin-editable models register themselves with @auditlog.register in their models.py).
AUDITLOG_INCLUDE_TRACKING_MODELS = (
    {"model": "auth.user", "exclude_fields": ["password", "last_login"], "m2m_fields": ["groups", "user_permissions"]},
    {"model": "auth.group", "m2m_fields": ["permissions"]},
    "django_celery_beat.periodictask",
    "django_celery_beat.intervalschedule",
    "django_celery_beat.crontabschedule",
)
AUDITLOG_CID_HEADER = "X-Request-Id"
AUDITLOG_CID_GETTER = "apps.core.context.current_request_id"


def from_environment(env: Environment) -> dict[str, Any]:
    """The settings that depend on FINCORE_* variables, resolved through ``env``."""
    redis_url = env.str("FINCORE_REDIS_URL")
    proxy_hops = env.int("FINCORE_PROXY_HOPS")
    idempotency_ttl_hours = env.int("FINCORE_IDEMPOTENCY_TTL_HOURS")
    if idempotency_ttl_hours < 24:
        raise ImproperlyConfigured("FINCORE_IDEMPOTENCY_TTL_HOURS must be at least 24")
    settlement_chunk_lines = env.int("FINCORE_SETTLEMENT_CHUNK_LINES")
    if settlement_chunk_lines < 1:
        raise ImproperlyConfigured("FINCORE_SETTLEMENT_CHUNK_LINES must be at least 1")
    fx_quote_seconds = env.int("FINCORE_FX_QUOTE_SECONDS")
    if fx_quote_seconds < 1:
        raise ImproperlyConfigured("FINCORE_FX_QUOTE_SECONDS must be at least 1")
    api_rate_limit = env.str("FINCORE_API_RATE_LIMIT")
    try:
        parse_rate(api_rate_limit)
    except ValueError as error:
        # Refused at start-up, not by a 500 on every API request.
        raise ImproperlyConfigured(f"FINCORE_API_RATE_LIMIT: {error}") from None
    statement_timeout_ms = env.int("FINCORE_DB_STATEMENT_TIMEOUT_MS")
    lock_timeout_ms = env.int("FINCORE_DB_LOCK_TIMEOUT_MS")
    if statement_timeout_ms < 0 or lock_timeout_ms < 0:
        raise ImproperlyConfigured("FINCORE_DB_STATEMENT_TIMEOUT_MS and FINCORE_DB_LOCK_TIMEOUT_MS must be 0 or more")
    payment_priorities = _payment_priorities(env.str("FINCORE_PAYMENT_PRIORITIES"))
    admin_idle_minutes = env.int("FINCORE_ADMIN_IDLE_TIMEOUT_MINUTES")
    admin_session_hours = env.int("FINCORE_ADMIN_SESSION_HOURS")
    if admin_idle_minutes < 1 or admin_session_hours < 1:
        raise ImproperlyConfigured(
            "FINCORE_ADMIN_IDLE_TIMEOUT_MINUTES and FINCORE_ADMIN_SESSION_HOURS must be at least 1"
        )
    settings: dict[str, Any] = {
        "SECRET_KEY": env.str("FINCORE_SECRET_KEY"),
        "ALLOWED_HOSTS": env.list("FINCORE_ALLOWED_HOSTS"),
        "CSRF_TRUSTED_ORIGINS": env.list("FINCORE_CSRF_TRUSTED_ORIGINS"),
        "DATABASES": {
            "default": {
                **dj_database_url.parse(
                    env.str("FINCORE_DATABASE_URL"), conn_max_age=60, conn_health_checks=True
                ),
                "ATOMIC_REQUESTS": False,
                # A runaway statement or a lock wait ends with an error, not a stuck worker
                # holding a connection; 0 turns a limit off (migrations on a big table).
                "OPTIONS": {
                    "options": f"-c statement_timeout={statement_timeout_ms} -c lock_timeout={lock_timeout_ms}"
                },
            }
        },
        "CACHES": {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": redis_url,
                "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
            }
        },
        "CELERY_BROKER_URL": env.str("FINCORE_BROKER_URL"),
        "FINCORE_REDIS_URL": redis_url,
        "FINCORE_AUDIT_KEY": env.str("FINCORE_AUDIT_KEY"),
        "FINCORE_AUDIT_ANCHOR_DIR": BASE_DIR / env.str("FINCORE_AUDIT_ANCHOR_DIR"),
        "FINCORE_PROXY_HOPS": proxy_hops,
        "FINCORE_API_RATE_LIMIT": api_rate_limit,
        "FINCORE_IDEMPOTENCY_TTL": timedelta(hours=idempotency_ttl_hours),
        "FINCORE_TASK_MAX_DELIVERIES": env.int("FINCORE_TASK_MAX_DELIVERIES"),
        "FINCORE_SETTLEMENT_CHUNK_LINES": settlement_chunk_lines,
        "FINCORE_FX_QUOTE_SECONDS": fx_quote_seconds,
        "FINCORE_STATEMENT_DROP_DIR": (BASE_DIR / drop_dir) if (drop_dir := env.str("FINCORE_STATEMENT_DROP_DIR"))
        else None,
        "FINCORE_METRICS_TOKEN": env.str("FINCORE_METRICS_TOKEN"),
        "FINCORE_GOAML_REPORTING_ENTITY_ID": env.str("FINCORE_GOAML_REPORTING_ENTITY_ID"),
        "FINCORE_WEBHOOK_KEY": env.str("FINCORE_WEBHOOK_KEY"),
        "FINCORE_WEBHOOK_ALLOW_PRIVATE_NETWORKS": env.str("FINCORE_WEBHOOK_ALLOW_PRIVATE_NETWORKS") == "1",
        "FINCORE_PAYMENT_PRIORITIES": payment_priorities,
        "FINCORE_PAYOUT_APPROVAL_THRESHOLDS": _amounts_per_currency(env, "FINCORE_PAYOUT_APPROVAL_THRESHOLDS"),
        "FINCORE_INSTANT_PAYOUT_LIMITS": _amounts_per_currency(env, "FINCORE_INSTANT_PAYOUT_LIMITS"),
        "FINCORE_ADMIN_IDLE_TIMEOUT": timedelta(minutes=admin_idle_minutes),
        "FINCORE_ADMIN_SESSION_LIFETIME": timedelta(hours=admin_session_hours),
        # The cookie outlives no session: past the lifetime the browser forgets it too.
        "SESSION_COOKIE_AGE": admin_session_hours * 60 * 60,
        "LOGGING": logging_config(env.str("FINCORE_LOG_LEVEL")),
    }
    if proxy_hops:
        settings["SECURE_PROXY_SSL_HEADER"] = ("HTTP_X_FORWARDED_PROTO", "https")
    return settings


PAYMENT_METHODS = ("card", "instant", "wire", "wallet")


def _payment_priorities(raw: str) -> dict[str, int]:
    """``"instant=9,card=6,..."`` → {"instant": 9, ...}; every payment method, each 0..9."""
    priorities: dict[str, int] = {}
    for item in raw.split(","):
        method, _, priority = item.strip().partition("=")
        if method not in PAYMENT_METHODS or not priority.isascii() or not priority.isdigit() or int(priority) > 9:
            raise ImproperlyConfigured(
                f"FINCORE_PAYMENT_PRIORITIES: {item.strip()!r} is not <method>=<0-9> "
                f"for one of {', '.join(PAYMENT_METHODS)}"
            )
        priorities[method] = int(priority)
    if missing := [method for method in PAYMENT_METHODS if method not in priorities]:
        raise ImproperlyConfigured(f"FINCORE_PAYMENT_PRIORITIES: no priority for {', '.join(missing)}")
    return priorities


def _amounts_per_currency(env: Environment, variable: str) -> dict[str, int]:
    """``"BHD=10000.000,USD=25000.00"`` → {"BHD": 10000000, "USD": 2500000}: minor units, exactly."""
    amounts: dict[str, int] = {}
    for item in env.list(variable):
        currency, _, major = item.partition("=")
        try:
            amount = Money.from_major(major, currency).amount
        except (MoneyError, UnknownCurrency) as invalid:
            raise ImproperlyConfigured(
                f"{variable}: {item!r} is not <ISO 4217 currency>=<amount in major units>: {invalid}") from None
        if amount <= 0 or currency in amounts:
            raise ImproperlyConfigured(f"{variable}: {item!r}: one positive amount per currency")
        amounts[currency] = amount
    return amounts


def logging_config(level: str) -> dict[str, Any]:
    """JSON lines on stdout, each carrying the request id and task of the work that wrote it."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "apps.core.logging.ContextFilter"}},
        "formatters": {"json": {"()": "apps.core.logging.JsonFormatter"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
            # Django logs each 4xx/5xx response after the middleware returned, outside the
            # request's context (request_id null). fincore.request already logs every response
            # with its id, and a crash is logged by the exception handler inside the context.
            "django.request": {"level": "ERROR"},
            "django.server": {"level": "WARNING"},
            "amqp": {"level": "WARNING"},
            "kombu": {"level": "WARNING"},
        },
    }

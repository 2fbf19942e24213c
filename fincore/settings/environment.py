"""The ``FINCORE_*`` environment variables, in one place.

Development reads them with defaults that point at the services on localhost; production
reads them with no defaults at all, so a missing variable stops the process at start-up
instead of quietly connecting to the wrong database.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Variable:
    """One variable. Production refuses a required variable that still holds its development
    default: those defaults are public (they are in this file), so they are never secrets and
    never production's services."""

    name: str
    description: str
    development_default: str | None = None
    required_in_production: bool = False
    # Production refuses a shorter value: a short key can be guessed.
    min_length_in_production: int = 0


# The README's configuration table lists exactly these; keep the two in step.
VARIABLES: tuple[Variable, ...] = (
    Variable(
        "FINCORE_SECRET_KEY",
        "Django's secret key (sessions, CSRF, password reset tokens).",
        "development-only-secret-key-do-not-use-in-production-0123456789",
        required_in_production=True,
        min_length_in_production=32,
    ),
    Variable(
        "FINCORE_DATABASE_URL",
        "PostgreSQL, as a URL.",
        "postgres://postgres@127.0.0.1:5432/fincore",
        required_in_production=True,
    ),
    Variable(
        "FINCORE_BROKER_URL",
        "RabbitMQ, as an AMQP URL (the vhost is the path).",
        "amqp://guest:guest@127.0.0.1:5672//",
        required_in_production=True,
    ),
    Variable(
        "FINCORE_REDIS_URL",
        "Redis, for the cache, rate limits and delivery counters.",
        "redis://127.0.0.1:6379/0",
        required_in_production=True,
    ),
    Variable(
        "FINCORE_ALLOWED_HOSTS",
        "Comma-separated host names the web process answers to.",
        "localhost,127.0.0.1,[::1],testserver",
        required_in_production=True,
    ),
    Variable(
        "FINCORE_AUDIT_KEY",
        "Key of the HMAC that signs every audit journal row; keep it apart from the database.",
        "development-only-audit-key",
        required_in_production=True,
        min_length_in_production=32,
    ),
    Variable(
        "FINCORE_AUDIT_ANCHOR_DIR",
        "Directory the audit chain's head is appended to each time the journal is sealed (one file a "
        "month); put it on append-only or WORM storage, apart from the database. A relative path is "
        "relative to the project directory.",
        "var/audit-anchors",
        required_in_production=True,
    ),
    Variable(
        "FINCORE_CSRF_TRUSTED_ORIGINS",
        "Comma-separated origins (https://admin.example.com) allowed to post admin forms.",
        "",
    ),
    Variable(
        "FINCORE_PROXY_HOPS",
        "How many trusted reverse proxies sit in front of the web process (0: none). "
        "Above 0, the client IP is read from X-Forwarded-For and HTTPS from X-Forwarded-Proto.",
        "0",
    ),
    Variable(
        "FINCORE_API_RATE_LIMIT",
        "Default per-key API rate limit in DRF's format (e.g. 100/second); "
        "each merchant may have its own in the admin.",
        "100/second",
    ),
    Variable(
        "FINCORE_IDEMPOTENCY_TTL_HOURS",
        "How long an Idempotency-Key and its response are kept (at least 24).",
        "24",
    ),
    Variable(
        "FINCORE_SETTLEMENT_CHUNK_LINES",
        "Merchant lines a settlement run settles per transaction (and per ledger batch).",
        "200",
    ),
    Variable(
        "FINCORE_STATEMENT_DROP_DIR",
        "Watched folder of bank statement files (and of <nostro code>/ folders in it), imported every "
        "minute and filed under imported/ or refused/; empty: no drop folder. A relative path is relative "
        "to the project directory.",
        "",
    ),
    Variable(
        "FINCORE_TASK_MAX_DELIVERIES",
        "Deliveries of one message before it is dead-lettered (poison message bound).",
        "5",
    ),
    Variable(
        "FINCORE_DB_STATEMENT_TIMEOUT_MS",
        "PostgreSQL statement_timeout of every connection, in ms (0: none, e.g. for a long migration).",
        "60000",
    ),
    Variable(
        "FINCORE_DB_LOCK_TIMEOUT_MS",
        "PostgreSQL lock_timeout of every connection, in ms (0: none).",
        "10000",
    ),
    Variable(
        "FINCORE_ADMIN_IDLE_TIMEOUT_MINUTES",
        "Minutes without a request after which a staff user's admin session ends (at least 1).",
        "30",
    ),
    Variable(
        "FINCORE_ADMIN_SESSION_HOURS",
        "Hours after signing in at which a staff user's admin session ends, active or not (at least 1).",
        "8",
    ),
    Variable("FINCORE_LOG_LEVEL", "Level of the JSON logs (DEBUG, INFO, WARNING, ...).", "INFO"),
    Variable(
        "FINCORE_WEBHOOK_KEY",
        "Master key the webhook endpoints' signing secrets are derived from (none is stored); "
        "changing it changes every endpoint's secret.",
        "development-only-webhook-key",
        required_in_production=True,
        min_length_in_production=32,
    ),
    Variable(
        "FINCORE_WEBHOOK_ALLOW_PRIVATE_NETWORKS",
        "1 lets webhook endpoints point at loopback and private addresses (development, tests); "
        "0 refuses them, so a merchant cannot make fincore call into its own network.",
        "0",
    ),
    Variable(
        "FINCORE_PAYMENT_PRIORITIES",
        "RabbitMQ priority (0-9) of a payment's messages on the payments queue, per payment method.",
        "instant=9,wallet=8,card=6,wire=3",
    ),
    Variable(
        "FINCORE_PAYOUT_APPROVAL_THRESHOLDS",
        "Per currency, in major units, the payout amount from which a checker must approve a payout "
        "before it leaves (CURRENCY=amount,...); a currency not listed needs a checker for every payout.",
        "BHD=10000.000",
    ),
    Variable(
        "FINCORE_INSTANT_PAYOUT_LIMITS",
        "Per currency, in major units, the largest payout that goes by an instant rail connector instead of "
        "the payment file (CURRENCY=amount,...); a currency not listed always goes in the file.",
        "BHD=1000.000",
    ),
    Variable(
        "FINCORE_GOAML_REPORTING_ENTITY_ID",
        "The reporting entity id the financial intelligence unit gave the institution in goAML; every "
        "suspicious transaction report fincore exports carries it.",
        "fincore-development",
        required_in_production=True,
    ),
    Variable(
        "FINCORE_FX_QUOTE_SECONDS",
        "Seconds an FX quote may be executed for after it is given (at least 1).",
        "30",
    ),
    Variable(
        "FINCORE_METRICS_TOKEN",
        "Bearer token /metrics requires (Authorization: Bearer <token>) when set; "
        "unset, /metrics is open, so expose it to the monitoring network only.",
        "",
    ),
)

_BY_NAME = {variable.name: variable for variable in VARIABLES}


class Environment:
    """Typed access to the FINCORE_* variables of one process environment."""

    def __init__(self, environ: Mapping[str, str], *, use_defaults: bool) -> None:
        self._environ = environ
        self._use_defaults = use_defaults

    def missing(self) -> list[str]:
        """Names of the variables production requires that are unset or empty."""
        return [
            variable.name
            for variable in VARIABLES
            if variable.required_in_production and not self._environ.get(variable.name)
        ]

    def refused_in_production(self) -> list[str]:
        """Why each set variable is unfit for production: a public development default, a short key."""
        problems = []
        for variable in VARIABLES:
            value = self._environ.get(variable.name, "").strip()
            if not value:
                continue
            if variable.required_in_production and value == variable.development_default:
                problems.append(f"{variable.name} is its public development default")
            elif len(value) < variable.min_length_in_production:
                problems.append(
                    f"{variable.name} must be at least {variable.min_length_in_production} characters, "
                    f"not {len(value)}"
                )
        return problems

    def str(self, name: str) -> str:
        variable = _BY_NAME[name]
        value = self._environ.get(name)
        if value:
            return value
        if self._use_defaults and variable.development_default is not None:
            return variable.development_default
        if not variable.required_in_production and variable.development_default is not None:
            return variable.development_default
        raise ImproperlyConfigured(f"{name} is not set: {variable.description}")

    def int(self, name: str) -> int:
        raw = self.str(name)
        try:
            return int(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None

    def list(self, name: str) -> list[str]:
        return [item.strip() for item in self.str(name).split(",") if item.strip()]

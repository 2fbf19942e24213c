"""Connectors (the rails a payment can go out on), the rules that choose between them, and the
sandbox networks' own record of what was done "at the connector".

Health (success-rate windows, circuit breakers) is not here: it changes on every attempt and
lives in Redis (``apps.routing.health``).
"""

from decimal import Decimal

from auditlog.registry import auditlog
from django.contrib.postgres.fields import ArrayField
from django.db import models

from apps.core.ids import uuid7
from apps.routing.data import Method

_RATE_HELP = "A share from 0 to 1, e.g. 0.05 for 5%."


def _share(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=models.Q(**{f"{name}__gte": Decimal(0), f"{name}__lte": Decimal(1)}), name=f"%(class)s_{name}_0_1"
    )


class Connector(models.Model):
    """One connector account: a rail fincore can send payments to, with who it serves and how
    its sandbox simulator behaves."""

    class Adapter(models.TextChoices):
        CARD_ACQUIRER = "card_acquirer", "Card acquirer (sandbox)"
        INSTANT_RAIL = "instant_rail", "Instant local rail (sandbox)"
        WIRE = "wire", "SWIFT-like wire (sandbox)"
        WALLET = "wallet", "Internal wallets (sandbox)"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.SlugField(
        max_length=50, unique=True,
        help_text="The connector's name as the API shows it in a payment's attempts, e.g. acquirer_alpha.",
    )
    display_name = models.CharField(max_length=100)
    adapter = models.CharField(max_length=20, choices=Adapter.choices, help_text="Which simulator serves it.")
    method = models.CharField(max_length=10, choices=[(m.value, m.value.title()) for m in Method])
    enabled = models.BooleanField(default=True, help_text="A disabled connector is never routed to.")
    livemode = models.BooleanField(
        default=False,
        help_text="Which money it moves: live payments (a real rail, or fincore's own wallets) or test payments. "
                  "A connector serves one mode; the simulated external rails serve test payments only.",
    )
    # Eligibility.
    currencies = ArrayField(models.CharField(max_length=3), help_text="ISO 4217 codes it takes, e.g. BHD,USD.")
    countries = ArrayField(
        models.CharField(max_length=2), blank=True, default=list,
        help_text="ISO 3166 codes of the payer countries it serves; empty: any country.",
    )
    amount_limits = models.JSONField(
        default=dict, blank=True,
        help_text='Per currency, in minor units: {"BHD": {"min": 100, "max": 1000000}}; either bound may be '
                  "left out. A currency not listed has no limit.",
    )
    error_codes = models.JSONField(
        default=dict, blank=True,
        help_text='The connector\'s error codes: {"do_not_honor": "hard", "processor_unavailable": "retryable"}. '
                  "A retryable failure fails over to the next connector. Unlisted: errors are retryable, "
                  "declines are hard.",
    )
    # Circuit breaker (per connector: rails differ in volume and in how they fail).
    breaker_window_seconds = models.PositiveIntegerField(
        default=60, help_text="How far back the breaker counts attempts."
    )
    breaker_min_samples = models.PositiveIntegerField(
        default=10, help_text="Attempts needed in the window before the breaker may open."
    )
    breaker_failure_ratio = models.DecimalField(
        max_digits=5, decimal_places=4, default=Decimal("0.5000"),
        help_text="Share of technical failures (errors, timeouts) in the window that opens the breaker.",
    )
    breaker_open_seconds = models.PositiveIntegerField(
        default=30, help_text="How long an open breaker keeps the connector out before a probe (half-open)."
    )
    # Sandbox simulator.
    latency_ms = models.PositiveIntegerField(default=0, help_text="Sandbox: time each call takes.")
    decline_rate = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal(0), help_text=_RATE_HELP)
    timeout_rate = models.DecimalField(
        max_digits=5, decimal_places=4, default=Decimal(0),
        help_text=f"Sandbox: share of authorizations done at the network whose answer is lost. {_RATE_HELP}",
    )
    outage_rate = models.DecimalField(
        max_digits=5, decimal_places=4, default=Decimal(0),
        help_text=f"Sandbox: share of calls refused as unavailable (1 = a full outage). {_RATE_HELP}",
    )
    confirm_after_seconds = models.PositiveIntegerField(
        default=30, help_text="Sandbox wire: seconds until a pending transfer is confirmed."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name",)
        constraints = [
            _share("decline_rate"),
            _share("timeout_rate"),
            _share("outage_rate"),
            _share("breaker_failure_ratio"),
            models.CheckConstraint(condition=models.Q(name__regex=r"^[a-z][a-z0-9_]*$"), name="connector_name_slug"),
            models.CheckConstraint(
                condition=models.Q(method__in=[m.value for m in Method]), name="connector_method_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(adapter__in=["card_acquirer", "instant_rail", "wire", "wallet"]),
                name="connector_adapter_valid",
            ),
            models.CheckConstraint(condition=models.Q(currencies__len__gt=0), name="connector_has_currency"),
            # The card, instant and wire simulators invent their answers: they never move live money.
            models.CheckConstraint(
                condition=models.Q(livemode=False) | models.Q(adapter="wallet"), name="connector_simulators_test_only"
            ),
            # Nor does a live connector simulate failures or latency.
            models.CheckConstraint(
                condition=models.Q(livemode=False) | models.Q(
                    latency_ms=0, decline_rate=Decimal(0), timeout_rate=Decimal(0), outage_rate=Decimal(0)
                ),
                name="connector_live_simulates_nothing",
            ),
            models.CheckConstraint(condition=models.Q(breaker_min_samples__gte=1), name="connector_breaker_min_1"),
            models.CheckConstraint(
                condition=models.Q(breaker_window_seconds__gte=1) & models.Q(breaker_open_seconds__gte=1),
                name="connector_breaker_durations_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RoutingRule(models.Model):
    """One routing rule. Rules are tried by ``position``; the first whose conditions all hold
    decides. An empty condition matches anything."""

    class Strategy(models.TextChoices):
        PRIORITY = "priority", "Priority list (in the order given)"
        VOLUME_SPLIT = "volume_split", "Weighted volume split"
        SUCCESS_RATE = "success_rate", "Success-rate scoring (with exploration)"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.SlugField(max_length=50, unique=True)
    livemode = models.BooleanField(
        default=False, help_text="Live payments and test payments are routed by rules of their own mode."
    )
    position = models.PositiveIntegerField(help_text="Lower first, among the rules of its mode; the first match wins.")
    enabled = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    # Conditions.
    methods = ArrayField(models.CharField(max_length=10), blank=True, default=list, help_text="Empty: any method.")
    currencies = ArrayField(models.CharField(max_length=3), blank=True, default=list, help_text="Empty: any.")
    countries = ArrayField(models.CharField(max_length=2), blank=True, default=list, help_text="Empty: any.")
    merchant_ids = ArrayField(models.UUIDField(), blank=True, default=list, help_text="Empty: any merchant.")
    min_amount = models.BigIntegerField(
        null=True, blank=True, help_text="Minor units of the rule's one currency (amount bounds need one currency)."
    )
    max_amount = models.BigIntegerField(null=True, blank=True, help_text="Minor units, inclusive.")
    metadata = models.JSONField(
        default=dict, blank=True,
        help_text='Each key must be in the payment\'s metadata with this value: {"channel": "pos"}.',
    )
    # Output.
    strategy = models.CharField(max_length=20, choices=Strategy.choices, default=Strategy.PRIORITY)
    connectors = ArrayField(
        models.CharField(max_length=50), help_text="Connector names, e.g. acquirer_alpha,acquirer_beta."
    )
    weights = ArrayField(
        models.PositiveIntegerField(), blank=True, default=list,
        help_text="Volume split only: one weight per connector, e.g. 70,30.",
    )
    exploration_share = models.DecimalField(
        max_digits=5, decimal_places=4, default=Decimal("0.1000"),
        help_text="Success-rate scoring only: share of payments sent first to a connector other than the best one, "
                  "so a recovering connector is noticed.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("livemode", "position")
        constraints = [
            models.UniqueConstraint(
                fields=["livemode", "position"], name="routing_rule_position_per_mode",
                violation_error_message="Another rule of this mode already has this position.",
            ),
            _share("exploration_share"),
            models.CheckConstraint(condition=models.Q(connectors__len__gt=0), name="routing_rule_has_connector"),
            models.CheckConstraint(
                condition=models.Q(strategy__in=["priority", "volume_split", "success_rate"]),
                name="routing_rule_strategy_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(strategy="volume_split") | models.Q(weights__len=models.F("connectors__len")),
                name="routing_rule_split_has_weights",
            ),
            models.CheckConstraint(
                condition=models.Q(min_amount__isnull=True) | models.Q(max_amount__isnull=True)
                | models.Q(min_amount__lte=models.F("max_amount")),
                name="routing_rule_amount_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SandboxOperation(models.Model):
    """What a sandbox connector did, as its own network would remember it. Written by the
    simulators in autocommit before they answer, so an operation survives the caller's crash."""

    class Kind(models.TextChoices):
        AUTHORIZE = "authorize", "Authorize"
        CAPTURE = "capture", "Capture"
        VOID = "void", "Void"
        REFUND = "refund", "Refund"
        PAYOUT = "payout", "Payout"

    class Outcome(models.TextChoices):
        APPROVED = "approved", "Approved"
        PENDING = "pending", "Pending"
        DECLINED = "declined", "Declined"
        ERROR = "error", "Error"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    connector = models.CharField(max_length=50)
    idempotency_key = models.CharField(max_length=255)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    reference = models.CharField(max_length=64, unique=True)
    parent_reference = models.CharField(max_length=64, blank=True)
    payment_id = models.UUIDField(null=True, blank=True)
    amount = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    auto_capture = models.BooleanField(default=False, help_text="An authorization captured at once.")
    error_code = models.CharField(max_length=64, blank=True)
    confirm_at = models.DateTimeField(null=True, blank=True, help_text="A pending wire is confirmed from then on.")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(fields=["connector", "idempotency_key"], name="sandbox_operation_key_unique"),
            models.CheckConstraint(
                condition=models.Q(amount__isnull=True) | models.Q(amount__gt=0),
                name="sandbox_operation_amount_positive",
            ),
        ]
        indexes = [
            models.Index(fields=["payment_id", "created_at"], name="sandbox_op_payment_idx"),
            # Every capture and refund reads what was done on its authorization so far.
            models.Index(fields=["parent_reference", "created_at"], name="sandbox_op_parent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.connector} {self.kind} {self.reference}"


auditlog.register(Connector)
auditlog.register(RoutingRule)

"""The sandbox connectors and the default routing set-up, so a fresh database can take payments.

Both card acquirers take BHD, the other GCC currencies, USD and EUR, so failover between them
works out of the box. Edit them in the admin or with ``manage.py connector_configure``.
"""

from decimal import Decimal

from django.db import migrations

CARD_CURRENCIES = ["BHD", "SAR", "AED", "KWD", "QAR", "OMR", "USD", "EUR"]

# What the simulators answer and whether another connector may then be tried.
_AUTHORIZATION_STATE_CODES = {
    "authorization_not_found": "hard", "authorization_not_approved": "hard", "authorization_closed": "hard",
    "amount_exceeds_authorization": "hard", "amount_exceeds_captured": "hard", "currency_mismatch": "hard",
}
CARD_CODES = {
    "do_not_honor": "hard", "insufficient_funds": "hard", "invalid_token": "hard",
    "processor_unavailable": "retryable", "connector_unavailable": "retryable", **_AUTHORIZATION_STATE_CODES,
}
INSTANT_CODES = {
    "invalid_iban": "hard", "amount_exceeds_limit": "hard", "currency_not_supported": "hard", "do_not_honor": "hard",
    "connector_unavailable": "retryable", **_AUTHORIZATION_STATE_CODES,
}
OTHER_CODES = {"do_not_honor": "hard", "connector_unavailable": "retryable", **_AUTHORIZATION_STATE_CODES}

CONNECTORS = [
    dict(name="acquirer_alpha", display_name="Acquirer Alpha (sandbox card acquirer)", adapter="card_acquirer",
         method="card", currencies=CARD_CURRENCIES, error_codes=CARD_CODES, latency_ms=40),
    dict(name="acquirer_beta", display_name="Acquirer Beta (sandbox card acquirer)", adapter="card_acquirer",
         method="card", currencies=CARD_CURRENCIES, error_codes=CARD_CODES, latency_ms=60),
    dict(name="fawri_instant", display_name="Fawri+ instant transfer (sandbox)", adapter="instant_rail",
         method="instant", currencies=["BHD"], amount_limits={"BHD": {"min": 1, "max": 1_000_000}},
         error_codes=INSTANT_CODES, latency_ms=20),
    dict(name="swift_wire", display_name="SWIFT wire (sandbox)", adapter="wire", method="wire",
         currencies=[*CARD_CURRENCIES, "GBP"], error_codes=OTHER_CODES, latency_ms=100, confirm_after_seconds=30,
         breaker_min_samples=5),
    dict(name="wallet", display_name="fincore wallets", adapter="wallet", method="wallet",
         currencies=CARD_CURRENCIES, error_codes=OTHER_CODES, latency_ms=0),
]

RULES = [
    dict(name="cards", position=10, methods=["card"], strategy="success_rate",
         connectors=["acquirer_alpha", "acquirer_beta"], exploration_share=Decimal("0.1"),
         description="Cards: the acquirer with the better recent success rate first, the other as failover."),
    dict(name="instant", position=20, methods=["instant"], strategy="priority", connectors=["fawri_instant"],
         description="Instant transfers go out on Fawri+."),
    dict(name="wire", position=30, methods=["wire"], strategy="priority", connectors=["swift_wire"],
         description="Wires go out on SWIFT."),
    dict(name="wallet", position=40, methods=["wallet"], strategy="priority", connectors=["wallet"],
         description="Wallet payments move between fincore wallets."),
]


def seed(apps, schema_editor):
    Connector = apps.get_model("routing", "Connector")
    RoutingRule = apps.get_model("routing", "RoutingRule")
    for fields in CONNECTORS:
        Connector.objects.get_or_create(name=fields["name"], defaults=fields)
    for fields in RULES:
        RoutingRule.objects.get_or_create(name=fields["name"], defaults=fields)


def unseed(apps, schema_editor):
    apps.get_model("routing", "RoutingRule").objects.filter(name__in=[r["name"] for r in RULES]).delete()
    apps.get_model("routing", "Connector").objects.filter(name__in=[c["name"] for c in CONNECTORS]).delete()


class Migration(migrations.Migration):
    dependencies = [("routing", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]

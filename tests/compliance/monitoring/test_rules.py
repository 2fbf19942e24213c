"""Each kind of rule on both sides of its threshold, evaluated on movements recorded as monitoring
records them (windows read back from MonitoredEvent)."""

from datetime import timedelta

import pytest

from apps.compliance.data import ObservationKind, SubjectType
from apps.compliance.monitoring import services
from apps.compliance.monitoring.catalogue import parameters_problems
from apps.core import clock
from tests.compliance.monitoring.helpers import observation, profile, rule

pytestmark = pytest.mark.django_db

BHD = 1000


def _finds(monitoring_rule, movement) -> dict | None:
    services.observation_record(observation=movement)
    finding = services.rule_finding(monitoring_rule, movement)
    return None if finding is None else {"subject": finding.subject, **finding.figures}


def test_large_amount_alerts_from_its_threshold_on():
    merchant, large = profile(), rule("large_amount", {"amount": 6000 * BHD})
    assert _finds(large, observation(merchant, amount=6000 * BHD - 1)) is None
    found = _finds(large, observation(merchant, amount=6000 * BHD))
    assert (found["subject"].type, found["subject"].id, found["amount"]) == (
        SubjectType.MERCHANT, str(merchant.merchant_id), 6000 * BHD)


def test_a_refund_is_no_large_amount():
    assert _finds(rule("large_amount", {"amount": 10}), observation(profile(), amount=10,
                                                                     kind=ObservationKind.REFUND)) is None


@pytest.mark.parametrize("dimension, fields, subject_type", [
    ("card_fingerprint", {"card_fingerprint": "f" * 64}, SubjectType.COUNTERPARTY),
    ("wallet", {"wallet": "acc_0000000000000000000000000A"}, SubjectType.WALLET),
    ("iban", {"iban": "BH67BMAG00001299123456"}, SubjectType.COUNTERPARTY),
    ("merchant", {}, SubjectType.MERCHANT),
])
def test_velocity_counts_per_dimension_in_its_window(dimension, fields, subject_type):
    merchant, now = profile(), clock.now()
    velocity = rule("velocity", {"dimension": dimension, "measure": "count", "threshold": 3, "window_minutes": 60})
    # One outside the window, and one of another card/wallet/IBAN/merchant, do not count.
    services.observation_record(observation=observation(merchant, at=now - timedelta(minutes=61), **fields))
    other = profile() if dimension == "merchant" else merchant
    services.observation_record(observation=observation(
        other, at=now - timedelta(minutes=5), **{key: value.replace("0", "1").replace("f", "e")
                                                 for key, value in fields.items()}))
    assert _finds(velocity, observation(merchant, at=now - timedelta(minutes=2), **fields)) is None
    assert _finds(velocity, observation(merchant, at=now - timedelta(minutes=1), **fields)) is None
    found = _finds(velocity, observation(merchant, at=now, **fields))
    assert (found["subject"].type, found["measured"], found["threshold"]) == (subject_type, 3, 3)


def test_velocity_sums_and_skips_failed_payments():
    merchant, now = profile(), clock.now()
    velocity = rule("velocity", {"dimension": "merchant", "measure": "sum", "threshold": 100 * BHD,
                                 "window_minutes": 60})
    services.observation_record(observation=observation(merchant, amount=90 * BHD, at=now - timedelta(minutes=1)),
                                failed=True)
    assert _finds(velocity, observation(merchant, amount=60 * BHD, at=now - timedelta(minutes=1))) is None
    assert _finds(velocity, observation(merchant, amount=40 * BHD, at=now))["measured"] == 100 * BHD


def test_structuring_counts_amounts_just_below_the_large_amount():
    merchant, now = profile(), clock.now()
    structuring = rule("structuring", {"amount": 6000 * BHD, "below_percent": 10, "count": 3, "window_minutes": 1440})
    # 5,400 is the band's floor (10 % below 6,000); 5,399.999 and 6,000 are outside it.
    services.observation_record(observation=observation(merchant, amount=5400 * BHD - 1, at=now - timedelta(hours=3)))
    services.observation_record(observation=observation(merchant, amount=6000 * BHD, at=now - timedelta(hours=3)))
    assert _finds(structuring, observation(merchant, amount=5400 * BHD, at=now - timedelta(hours=2))) is None
    assert _finds(structuring, observation(merchant, amount=5999 * BHD, at=now - timedelta(hours=1))) is None
    found = _finds(structuring, observation(merchant, amount=5500 * BHD, at=now))
    assert (found["count"], found["band"]) == (3, [5400 * BHD, 6000 * BHD])
    assert _finds(structuring, observation(merchant, amount=6000 * BHD, at=now)) is None


def test_high_risk_geography_reads_the_seeded_fatf_lists_and_the_institutions_own():
    merchant = profile()
    geography = rule("high_risk_geography", {"min_amount": 10 * BHD, "countries": ["RU"]})
    assert _finds(geography, observation(merchant, amount=10 * BHD, country="BH")) is None
    assert _finds(geography, observation(merchant, amount=10 * BHD - 1, country="IR")) is None
    found = _finds(geography, observation(merchant, amount=10 * BHD, country="IR"))
    assert (found["list"], found["published_on"]) == ("call_for_action", "2025-10-24")
    assert _finds(geography, observation(merchant, amount=10 * BHD, country="KE"))["list"] == "increased_monitoring"
    assert _finds(geography, observation(merchant, amount=10 * BHD, country="RU"))["list"] == "institution"
    only_black = rule("high_risk_geography", {"lists": ["call_for_action"]})
    assert _finds(only_black, observation(merchant, country="KE")) is None


def test_first_large_after_onboarding_alerts_once_within_its_days():
    now = clock.now()
    new, old = profile(onboarded_days_ago=10), profile(onboarded_days_ago=31)
    first = rule("first_large_after_onboarding", {"amount": 3000 * BHD, "days": 30})
    assert _finds(first, observation(new, amount=3000 * BHD - 1, at=now - timedelta(minutes=2))) is None
    assert _finds(first, observation(new, amount=3000 * BHD, at=now - timedelta(minutes=1)))["days"] == 30
    assert _finds(first, observation(new, amount=4000 * BHD, at=now)) is None  # not the first any more
    assert _finds(first, observation(old, amount=3000 * BHD, at=now)) is None


def test_round_amounts_alert_from_the_counted_round_amount_on():
    merchant, now = profile(), clock.now()
    round_amounts = rule("round_amount", {"multiple": 1000 * BHD, "min_amount": 1000 * BHD, "count": 2,
                                          "window_minutes": 60})
    services.observation_record(observation=observation(merchant, amount=1500 * BHD, at=now - timedelta(minutes=3)))
    assert _finds(round_amounts, observation(merchant, amount=2000 * BHD, at=now - timedelta(minutes=2))) is None
    assert _finds(round_amounts, observation(merchant, amount=2001 * BHD, at=now - timedelta(minutes=1))) is None
    assert _finds(round_amounts, observation(merchant, amount=3000 * BHD, at=now))["count"] == 2


def test_refund_abuse_compares_refunds_with_payments_in_the_window():
    merchant, now = profile(), clock.now()
    abuse = rule("refund_abuse", {"ratio_percent": 30, "window_days": 30, "min_refunds": 2})
    services.observation_record(observation=observation(merchant, amount=100 * BHD, at=now - timedelta(days=2)))
    refund = ObservationKind.REFUND
    assert _finds(abuse, observation(merchant, amount=20 * BHD, kind=refund, at=now - timedelta(days=1))) is None
    assert _finds(abuse, observation(merchant, amount=9 * BHD, kind=refund, at=now - timedelta(hours=1))) is None
    found = _finds(abuse, observation(merchant, amount=1 * BHD, kind=refund, at=now))
    assert (found["refunds"], found["refunded"], found["ratio_percent"]) == (3, 30 * BHD, 30.0)


def test_the_catalogue_refuses_parameters_a_kind_does_not_take():
    assert parameters_problems("large_amount", {"BHD": {"amount": 5}}) == []
    assert parameters_problems("large_amount", {"BHD": {"amount": 0, "window": 3}}) == [
        "BHD: 'window' is not a parameter of large_amount (it takes amount).", "BHD: amount must be above zero."]
    assert parameters_problems("velocity", {"bhd": {}}) == ["'bhd' is not an ISO currency code."]

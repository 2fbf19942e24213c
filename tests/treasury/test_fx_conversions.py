"""Quotes and conversions through the services: the two transfers through the FX positions, the
rounding carry posted a whole minor unit at a time, and every refusal writing nothing."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from apps.ledger import services as ledger_services
from apps.ledger.data import AccountRole
from apps.treasury.models import FxConversion, FxQuote, FxRoundingCarry
from apps.treasury.services import fx as services
from tests.treasury.fx_helpers import funded_wallet, key_actor, nothing_written, posted, rate, role_posted

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant_id():
    return uuid.uuid4()


def test_a_conversion_posts_two_transfers_through_the_fx_positions(merchant_id):
    rate("USD", "BHD", "0.376", "0.0025")
    usd = funded_wallet(merchant_id, "USD", 15000)
    bhd = funded_wallet(merchant_id, "BHD", 0)
    actor = key_actor(merchant_id)

    quote = services.fx_quote_create(actor=actor, sell_currency="USD", buy_currency="BHD", sell_amount=10000)
    # 100.00 USD x 0.376 x 0.9975 = 37.506 BHD exactly.
    assert (quote.sell_amount, quote.buy_amount, quote.client_rate) == (10000, 37506, Decimal("0.37506"))
    assert quote.expires_at == quote.created_at + timedelta(seconds=30)
    converted = services.fx_conversion_create(actor=actor, quote_id=quote.pk, sell_account_id=usd.pk,
                                              buy_account_id=bhd.pk)

    assert converted.created
    assert (posted(usd), posted(bhd)) == (5000, 37506)
    assert role_posted(AccountRole.FX_POSITION, "USD") == 10000
    assert role_posted(AccountRole.FX_POSITION, "BHD") == -37506
    assert converted.conversion.rounding_transfer_id is None


def test_the_inverse_direction_is_priced_from_the_published_row(merchant_id):
    rate("USD", "BHD", "0.376", "0")
    quote = services.fx_quote_create(actor=key_actor(merchant_id), sell_currency="BHD", buy_currency="USD",
                                     sell_amount=100000)
    # 1 / 0.376 = 2.6595744681 (10 places): 100.000 BHD -> 265.95744681 USD -> 265.96.
    assert (quote.inverted, quote.mid_rate, quote.buy_amount) == (True, Decimal("2.6595744681"), 26596)
    assert quote.rounding_difference == Decimal("-0.255319")


def test_rounding_differences_post_one_unit_when_they_cross_a_whole_yen(merchant_id):
    rate("BHD", "JPY", "395.4", "0")  # 1.000 BHD buys 395.4 yen: 395 paid, 0.4 yen kept each time
    bhd = funded_wallet(merchant_id, "BHD", 3000)
    jpy = funded_wallet(merchant_id, "JPY", 0)
    actor = key_actor(merchant_id)
    conversions = []
    for _ in range(3):
        quote = services.fx_quote_create(actor=actor, sell_currency="BHD", buy_currency="JPY", sell_amount=1000)
        conversions.append(services.fx_conversion_create(actor=actor, quote_id=quote.pk, sell_account_id=bhd.pk,
                                                         buy_account_id=jpy.pk).conversion)

    assert [c.rounding_transfer_id is not None for c in conversions] == [False, False, True]
    assert posted(jpy) == 1185
    assert role_posted(AccountRole.ROUNDING, "JPY") == 1
    assert role_posted(AccountRole.FX_POSITION, "JPY") == -1186
    assert FxRoundingCarry.objects.get(currency="JPY", livemode=False).remainder == Decimal("0.2")


def test_a_stale_rate_quotes_nothing(merchant_id):
    rate("USD", "BHD", age_seconds=3601, max_age_seconds=3600)
    with pytest.raises(services.FxRateStale):
        services.fx_quote_create(actor=key_actor(merchant_id), sell_currency="USD", buy_currency="BHD",
                                 sell_amount=100)
    assert not FxQuote.objects.exists()


def test_an_unpublished_pair_quotes_nothing(merchant_id):
    with pytest.raises(services.FxRateNotFound):
        services.fx_quote_create(actor=key_actor(merchant_id), sell_currency="USD", buy_currency="BHD",
                                 sell_amount=100)


def test_an_expired_quote_is_refused_and_nothing_moves(merchant_id):
    rate("USD", "BHD")
    usd, bhd = funded_wallet(merchant_id, "USD", 10000), funded_wallet(merchant_id, "BHD", 0)
    actor = key_actor(merchant_id)
    quote = services.fx_quote_create(actor=actor, sell_currency="USD", buy_currency="BHD", sell_amount=10000)
    audit_before = _audit_count()
    with time_machine.travel(quote.expires_at, tick=False), pytest.raises(services.FxQuoteExpired):
        services.fx_conversion_create(actor=actor, quote_id=quote.pk, sell_account_id=usd.pk, buy_account_id=bhd.pk)
    assert nothing_written(0, audit_before)
    assert (posted(usd), posted(bhd)) == (10000, 0)


def test_insufficient_funds_is_the_ledgers_refusal_and_nothing_is_written(merchant_id):
    rate("USD", "BHD")
    usd, bhd = funded_wallet(merchant_id, "USD", 9999), funded_wallet(merchant_id, "BHD", 0)
    actor = key_actor(merchant_id)
    quote = services.fx_quote_create(actor=actor, sell_currency="USD", buy_currency="BHD", sell_amount=10000)
    audit_before = _audit_count()
    with pytest.raises(ledger_services.InsufficientFunds):
        services.fx_conversion_create(actor=actor, quote_id=quote.pk, sell_account_id=usd.pk, buy_account_id=bhd.pk)
    assert nothing_written(0, audit_before)
    assert (posted(usd), posted(bhd), role_posted(AccountRole.FX_POSITION, "BHD")) == (9999, 0, 0)


def test_another_merchants_wallet_or_quote_is_not_found(merchant_id):
    rate("USD", "BHD")
    other = uuid.uuid4()
    usd, bhd = funded_wallet(merchant_id, "USD", 10000), funded_wallet(other, "BHD", 0)
    quote = services.fx_quote_create(actor=key_actor(merchant_id), sell_currency="USD", buy_currency="BHD",
                                     sell_amount=100)
    with pytest.raises(services.FxAccountNotFound):
        services.fx_conversion_create(actor=key_actor(merchant_id), quote_id=quote.pk, sell_account_id=usd.pk,
                                      buy_account_id=bhd.pk)
    with pytest.raises(services.FxQuoteNotFound):
        services.fx_conversion_create(actor=key_actor(other), quote_id=quote.pk, sell_account_id=usd.pk,
                                      buy_account_id=bhd.pk)
    assert not FxConversion.objects.exists()


def test_a_wallet_of_the_wrong_currency_is_refused(merchant_id):
    rate("USD", "BHD")
    usd = funded_wallet(merchant_id, "USD", 10000)
    quote = services.fx_quote_create(actor=key_actor(merchant_id), sell_currency="USD", buy_currency="BHD",
                                     sell_amount=100)
    with pytest.raises(services.FxAccountCurrencyMismatch):
        services.fx_conversion_create(actor=key_actor(merchant_id), quote_id=quote.pk, sell_account_id=usd.pk,
                                      buy_account_id=funded_wallet(merchant_id, "USD", 0).pk)


def test_a_quote_is_executed_once(merchant_id):
    rate("USD", "BHD")
    usd, bhd = funded_wallet(merchant_id, "USD", 20000), funded_wallet(merchant_id, "BHD", 0)
    actor = key_actor(merchant_id)
    quote = services.fx_quote_create(actor=actor, sell_currency="USD", buy_currency="BHD", sell_amount=10000)
    first = services.fx_conversion_create(actor=actor, quote_id=quote.pk, sell_account_id=usd.pk,
                                          buy_account_id=bhd.pk)
    again = services.fx_conversion_create(actor=actor, quote_id=quote.pk, sell_account_id=usd.pk,
                                          buy_account_id=bhd.pk)
    assert (again.created, again.conversion.pk) == (False, first.conversion.pk)
    with pytest.raises(services.FxQuoteAlreadyExecuted):
        services.fx_conversion_create(actor=actor, quote_id=quote.pk, sell_account_id=usd.pk,
                                      buy_account_id=funded_wallet(merchant_id, "BHD", 0).pk)
    assert posted(usd) == 10000


def _audit_count() -> int:
    from apps.audit.models import AuditEvent

    return AuditEvent.objects.count()



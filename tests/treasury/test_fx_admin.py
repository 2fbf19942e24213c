"""FX in the admin: rates listed with their age and a stale flag, uploaded as a CSV file by treasury
(journaled; a bad file refused line by line with nothing stored), quotes and conversions read only."""

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.core import clock, ids
from apps.treasury.models import FxConversion, FxQuote, FxRate
from apps.treasury.services import fx as services
from tests.factories.staff import SUPPORT, TREASURY, signed_in_client, staff_user
from tests.treasury.fx_helpers import funded_wallet, key_actor, rate

pytestmark = pytest.mark.django_db

RATES = reverse("admin:treasury_fxrate_changelist")
UPLOAD = reverse("admin:treasury_fxrate_import")
HEADER = "base,quote,rate,spread,as_of,source,max_age_seconds\n"


def _csv(*lines: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("rates.csv", (HEADER + "".join(f"{line}\n" for line in lines)).encode(),
                              content_type="text/csv")


def _minutes_ago(minutes: int) -> str:
    return (clock.now() - timedelta(minutes=minutes)).replace(microsecond=0).isoformat()


@pytest.mark.parametrize("role", [TREASURY, SUPPORT])
def test_the_rates_list_shows_each_rates_age_and_whether_it_is_stale(role):
    rate("BHD", "USD", "2.6595744681", "0.0025", age_seconds=4 * 60, max_age_seconds=900)
    rate("BHD", "EUR", "2.43", "0.004", age_seconds=2 * 3600 + 60, max_age_seconds=3600)

    response = signed_in_client(staff_user(role)).get(RATES)

    assert response.status_code == 200
    rows = {re.search(r'field-pair"><a [^>]*>([^<]+)</a>', row).group(1): row
            for row in response.content.decode().split("<tr")[1:] if "field-pair" in row}
    assert set(rows) == {"BHD/USD", "BHD/EUR"}
    assert "4 min" in rows["BHD/USD"] and "fresh" in rows["BHD/USD"] and "STALE" not in rows["BHD/USD"]
    assert "2 h" in rows["BHD/EUR"] and "STALE" in rows["BHD/EUR"]
    assert "0.0025 (25 bp)" in rows["BHD/USD"] and "0.004 (40 bp)" in rows["BHD/EUR"]
    assert response.context["has_add_permission"] is False
    links = dict(response.context["object_tools_links"])
    assert ("Upload rates (CSV)" in links) == (role == TREASURY)


def test_a_treasury_operator_uploads_rates_and_the_import_is_journaled():
    client = signed_in_client(staff_user(TREASURY, username="noor"))

    response = client.post(UPLOAD, {"reason": "morning fixing", "rates": _csv(
        f"BHD,USD,2.6595744681,0.0025,{_minutes_ago(3)},CBB,900",
        f"BHD,EUR,2.43,0.004,{_minutes_ago(3)},CBB,")}, follow=True)

    assert response.redirect_chain[-1][0] == RATES
    assert "2 rate(s) stored from rates.csv (BHD/EUR, BHD/USD)." in [str(m) for m in response.context["messages"]]
    stored = {(r.base_currency, r.quote_currency): r for r in FxRate.objects.all()}
    assert set(stored) == {("BHD", "USD"), ("BHD", "EUR")}
    assert stored["BHD", "USD"].max_age_seconds == 900 and stored["BHD", "EUR"].max_age_seconds == 3600
    assert "noor" in stored["BHD", "USD"].imported_by
    event = AuditEvent.objects.get(action="treasury.fx_rates_imported")
    assert event.reason == "morning fixing"
    assert event.after["count"] == 2 and event.after["filename"] == "rates.csv"


def test_a_bad_file_is_refused_listing_every_bad_line_and_nothing_is_stored():
    client = signed_in_client(staff_user(TREASURY))

    response = client.post(UPLOAD, {"reason": "morning fixing", "rates": _csv(
        f"BHD,USD,2.6595744681,0.0025,{_minutes_ago(3)},CBB,900",
        f"BHD,EUR,0,0.004,{_minutes_ago(3)},CBB,",
        f"BHD,XXY,1.5,0.004,{_minutes_ago(3)},CBB,")})

    assert response.status_code == 200
    assert [(error["line"], error["reason"]) for error in response.context["refused"]] == [
        (3, "rate '0' is not above zero"), (4, "quote 'XXY' is not an ISO 4217 currency code")]
    page = response.content.decode()
    assert "2 bad lines; nothing was stored" in page
    assert "rate &#x27;0&#x27; is not above zero" in page
    assert FxRate.objects.count() == 0
    assert not AuditEvent.objects.filter(action="treasury.fx_rates_imported").exists()


def test_a_rate_already_stored_refuses_the_file():
    as_of = _minutes_ago(3)
    client = signed_in_client(staff_user(TREASURY))
    client.post(UPLOAD, {"reason": "first", "rates": _csv(f"BHD,USD,2.65,0.0025,{as_of},CBB,")})

    again = client.post(UPLOAD, {"reason": "again", "rates": _csv(f"BHD,USD,2.66,0.0025,{as_of},CBB,")})

    assert [(error["line"], error["reason"]) for error in again.context["refused"]] == [
        (2, "this pair's rate at this as_of is already stored")]
    assert list(FxRate.objects.values_list("mid_rate", flat=True)) == [Decimal("2.65")]


def test_the_upload_needs_a_reason_and_stores_nothing_without_one():
    response = signed_in_client(staff_user(TREASURY)).post(UPLOAD, {"reason": "", "rates": _csv(
        f"BHD,USD,2.65,0.0025,{_minutes_ago(3)},CBB,")})

    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    assert FxRate.objects.count() == 0


@pytest.mark.parametrize("role", [SUPPORT, "Compliance officer"])
def test_staff_without_import_fxrate_are_refused_the_upload_page(role):
    client = signed_in_client(staff_user(role))

    assert client.get(UPLOAD).status_code == 403
    assert client.post(UPLOAD, {"reason": "x", "rates": _csv(
        f"BHD,USD,2.65,0.0025,{_minutes_ago(3)},CBB,")}).status_code == 403
    assert FxRate.objects.count() == 0


def test_rates_are_never_changed_nor_deleted_in_the_admin():
    stored = rate("BHD", "USD", "2.65")
    client = signed_in_client(staff_user(superuser=True))

    assert client.get(reverse("admin:treasury_fxrate_add")).status_code == 403
    assert client.post(reverse("admin:treasury_fxrate_delete", args=[stored.pk]), {"post": "yes"}).status_code == 403
    page = client.get(reverse("admin:treasury_fxrate_change", args=[stored.pk]))
    assert page.status_code == 200 and page.context["has_change_permission"] is False


@pytest.fixture
def conversion() -> FxConversion:
    merchant_id = uuid.uuid4()
    rate("USD", "BHD", "0.376", "0.0025")
    usd = funded_wallet(merchant_id, "USD", 15_000)
    bhd = funded_wallet(merchant_id, "BHD", 0)
    actor = key_actor(merchant_id)
    quote = services.fx_quote_create(actor=actor, sell_currency="USD", buy_currency="BHD", sell_amount=10_000)
    return services.fx_conversion_create(actor=actor, quote_id=quote.pk, sell_account_id=usd.pk,
                                         buy_account_id=bhd.pk).conversion


def test_quotes_and_conversions_are_listed_and_shown_read_only_with_money_and_transfers(conversion):
    client = signed_in_client(staff_user(SUPPORT))
    quote = FxQuote.objects.get()

    quotes = client.get(reverse("admin:treasury_fxquote_changelist")).content.decode()
    assert ids.encode("fxq", quote.pk) in quotes
    assert "100.00 USD" in quotes and "37.506 BHD" in quotes  # 100.00 USD x 0.376 x 0.9975
    assert ids.encode("fxc", conversion.pk) in quotes  # executed, linking to its conversion
    quote_page = client.get(reverse("admin:treasury_fxquote_change", args=[quote.pk]))
    assert quote_page.status_code == 200 and quote_page.context["has_change_permission"] is False

    conversions = client.get(reverse("admin:treasury_fxconversion_changelist")).content.decode()
    assert "100.00 USD" in conversions and "37.506 BHD" in conversions
    page = client.get(reverse("admin:treasury_fxconversion_change", args=[conversion.pk]))
    assert page.status_code == 200 and page.context["has_change_permission"] is False
    shown = page.content.decode()
    for transfer_id in (conversion.sell_transfer_id, conversion.buy_transfer_id):
        assert reverse("admin:ledger_transfer_change", args=[transfer_id]) in shown
        assert ids.encode("tr", transfer_id) in shown
    assert reverse("admin:treasury_fxquote_change", args=[quote.pk]) in shown
    for name in ("fxquote", "fxconversion"):
        assert client.get(reverse(f"admin:treasury_{name}_add")).status_code == 403


def test_the_fx_tile_shows_each_pairs_current_rate_and_warns_while_one_is_stale():
    from apps.ops import tiles

    assert tiles.fx_rates().rates == () and tiles.fx_rates().state(clock.now()) == "ok"
    rate("BHD", "USD", "2.60", "0.0025", age_seconds=3 * 3600, max_age_seconds=900)
    rate("BHD", "USD", "2.6595744681", "0.0025", age_seconds=4 * 60, max_age_seconds=900)
    rate("BHD", "EUR", "2.431", "0.004", age_seconds=60, max_age_seconds=600)

    tile = tiles.fx_rates()

    assert [(line.pair, str(line.mid_rate), str(line.spread_bp)) for line in tile.rates] == [
        ("BHD/EUR", "2.431", "40"), ("BHD/USD", "2.6595744681", "25")]
    now = clock.now()
    assert tile.state(now) == "ok"
    assert tile.state(now + timedelta(minutes=10)) == "warning"  # BHD/EUR is then 11 min old, past its 10

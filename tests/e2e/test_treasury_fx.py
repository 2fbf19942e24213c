"""FX rates in the admin, in Chromium: a treasury operator uploads a CSV file of BHD/USD and BHD/EUR
rates (the BHD/EUR one already older than its maximum age), reads them in the list with their age
and the stale flag, and sees them on the dashboard's FX tile, which warns of the stale one. The
server runs at the real time (another process), so the file's times are built from the real time."""

from datetime import timedelta
from pathlib import Path

from django.core.cache import cache
from playwright.sync_api import expect

from apps.core import clock
from apps.ops import dashboard
from apps.treasury.models import FxRate
from tests.e2e.admin_pages import list_fits, sign_in
from tests.factories.staff import TREASURY, staff_user


def _ago(minutes: int) -> str:
    return (clock.now() - timedelta(minutes=minutes)).replace(microsecond=0).isoformat()


def test_treasury_uploads_fx_rates_and_reads_their_age(new_page, screens, tmp_path: Path):
    rates = tmp_path / "cbb-fixing.csv"
    rates.write_text("base,quote,rate,spread,as_of,source,max_age_seconds\n"
                     f"BHD,USD,2.6595744681,0.0025,{_ago(4)},CBB,900\n"
                     f"BHD,EUR,2.4310000000,0.004,{_ago(125)},Refinitiv,3600\n")
    page = new_page()
    sign_in(page, staff_user(TREASURY, username="noor"))
    expect(page.locator("#tile-fx_rates")).to_be_visible()

    page.goto("/admin/treasury/fxrate/")
    page.click("text=Upload rates (CSV)")
    page.set_input_files("#id_rates", str(rates))
    page.fill("#id_reason", "morning fixing")
    screens(page, "upload")
    page.click("input[type=submit][value='Upload the rates']")
    expect(page.locator(".messagelist")).to_contain_text("2 rate(s) stored from cbb-fixing.csv (BHD/EUR, BHD/USD).")
    assert FxRate.objects.count() == 2

    usd = page.locator("#result_list tr", has_text="BHD/USD")
    eur = page.locator("#result_list tr", has_text="BHD/EUR")
    expect(usd).to_contain_text("4 min")
    expect(usd).to_contain_text("fresh")
    expect(usd).to_contain_text("25 bp")
    expect(eur).to_contain_text("2 h")
    expect(eur.locator(".fx-stale")).to_have_text("STALE")
    screens(page, "rates")
    assert list_fits(page)

    # The tile's figures are cached for dashboard.CACHE_SECONDS (45 s): this test does not wait them out.
    cache.delete(f"ops:dashboard:v{dashboard.CACHE_VERSION}:fx_rates")
    page.goto("/admin/")
    tile = page.locator("#tile-fx_rates")
    expect(tile.locator("tr", has_text="BHD/USD")).to_contain_text("2.6595744681")
    expect(tile.locator("tr", has_text="BHD/USD")).to_contain_text("25 bp")
    expect(tile.locator("tr", has_text="BHD/EUR")).to_contain_text("STALE")
    assert "tile-warning" in tile.get_attribute("class")
    screens(page, "dashboard")

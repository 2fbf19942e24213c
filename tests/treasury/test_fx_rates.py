"""Importing FX rates: the whole file or nothing, each bad line named; the command and its journal."""

import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from apps.audit.models import AuditEvent
from apps.core import clock
from apps.treasury.models import FxRate
from apps.treasury.services import fx as services
from tests.treasury.fx_helpers import STAFF

pytestmark = pytest.mark.django_db

HEADER = "base,quote,rate,spread,as_of,source,max_age_seconds\n"


def _as_of(minutes_ago: int = 5) -> str:
    return (clock.now() - timedelta(minutes=minutes_ago)).isoformat()


def test_a_rates_file_is_stored_and_journaled():
    content = HEADER + f"USD,BHD,0.376,0.0025,{_as_of()},CBB,900\nBHD,JPY,395.4,0.004,{_as_of()},Refinitiv,\n"
    rates = services.fx_rates_import(content=content.encode(), actor=STAFF, reason="morning rates", filename="r.csv")
    stored = {(r.base_currency, r.quote_currency): (str(r.mid_rate.normalize()), str(r.spread.normalize()),
                                                     r.max_age_seconds) for r in FxRate.objects.all()}
    assert stored == {("USD", "BHD"): ("0.376", "0.0025", 900), ("BHD", "JPY"): ("395.4", "0.004", 3600)}
    event = AuditEvent.objects.get(action="treasury.fx_rates_imported")
    assert (event.reason, event.after["count"], event.object_id) == ("morning rates", 2, str(rates[0].pk))


@pytest.mark.parametrize(("row", "reason"), [
    ("USD,USD,1,0,{as_of},CBB,", "base and quote are the same currency"),
    ("USD,XYZ,1,0,{as_of},CBB,", "quote 'XYZ' is not an ISO 4217 currency code"),
    ("USD,BHD,0,0,{as_of},CBB,", "rate '0' is not above zero"),
    ("USD,BHD,-0.376,0,{as_of},CBB,", "rate '-0.376' is not above zero"),
    ("USD,BHD,abc,0,{as_of},CBB,", "rate 'abc' is not a decimal number"),
    ("USD,BHD,0.37600000001,0,{as_of},CBB,", "rate '0.37600000001' has more than 10 decimal places"),
    ("USD,BHD,0.376,1,{as_of},CBB,", "spread '1' is not a fraction from 0 to below 1 (0.0025 is 25 bp)"),
    ("USD,BHD,0.376,-0.1,{as_of},CBB,", "spread '-0.1' is not a fraction from 0 to below 1 (0.0025 is 25 bp)"),
    ("USD,BHD,0.376,0,2026-01-01 10:00,CBB,", "as_of '2026-01-01 10:00' has no UTC offset"),
    ("USD,BHD,0.376,0,yesterday,CBB,", "as_of 'yesterday' is not an ISO 8601 date and time"),
    ("USD,BHD,0.376,0,{as_of},,", "source is empty or longer than 100 characters"),
    ("USD,BHD,0.376,0,{as_of},CBB,0", "max_age_seconds '0' is not a whole number of seconds from 1"),
    ("USD,BHD,0.376,0,{as_of},CBB", "6 columns, not 7"),
])
def test_a_bad_line_refuses_the_whole_file(row, reason):
    good = f"EUR,BHD,0.41,0.003,{_as_of()},CBB,\n"
    content = HEADER + good + row.format(as_of=_as_of()) + "\n"
    audit_before = AuditEvent.objects.count()
    with pytest.raises(services.FxRatesRefused) as refused:
        services.fx_rates_import(content=content, actor=STAFF, reason="r")
    assert refused.value.extensions["errors"] == [{"line": 3, "reason": reason}]
    assert not FxRate.objects.exists()
    assert AuditEvent.objects.count() == audit_before


def test_a_future_rate_a_duplicate_line_and_a_bad_header_are_refused():
    future = (clock.now() + timedelta(hours=1)).isoformat()
    as_of = _as_of()
    content = HEADER + f"USD,BHD,0.376,0,{future},CBB,\nUSD,BHD,0.376,0,{as_of},CBB,\nUSD,BHD,0.377,0,{as_of},CBB,\n"
    with pytest.raises(services.FxRatesRefused) as refused:
        services.fx_rates_import(content=content, actor=STAFF, reason="r")
    assert refused.value.extensions["errors"] == [
        {"line": 2, "reason": f"as_of {future!r} is in the future"},
        {"line": 4, "reason": "the same pair and as_of as line 3"},
    ]
    with pytest.raises(services.FxRatesRefused) as header:
        services.fx_rates_import(content="pair,rate\nUSD/BHD,0.376\n", actor=STAFF, reason="r")
    assert header.value.extensions["errors"][0]["line"] == 1
    assert not FxRate.objects.exists()


def test_a_rate_already_stored_is_never_overwritten():
    content = HEADER + f"USD,BHD,0.376,0,{_as_of()},CBB,\n"
    services.fx_rates_import(content=content, actor=STAFF, reason="r")
    with pytest.raises(services.FxRatesRefused) as refused:
        services.fx_rates_import(content=content, actor=STAFF, reason="r")
    assert refused.value.extensions["errors"] == [
        {"line": 2, "reason": "this pair's rate at this as_of is already stored"}]
    assert FxRate.objects.count() == 1
    # Named by the file's own line, blank lines counted, as the upload page shows it.
    again = HEADER + "\n" + f"EUR,BHD,0.41,0,{_as_of()},CBB,\n" + content.removeprefix(HEADER)
    with pytest.raises(services.FxRatesRefused) as refused:
        services.fx_rates_import(content=again, actor=STAFF, reason="r")
    assert refused.value.extensions["errors"] == [
        {"line": 4, "reason": "this pair's rate at this as_of is already stored"}]
    assert FxRate.objects.count() == 1


def test_the_command_imports_and_prints_json(tmp_path, capsys):
    path = tmp_path / "rates.csv"
    path.write_text(HEADER + f"USD,BHD,0.376,0.0025,{_as_of()},CBB,\n")
    call_command("fx_rates_import", str(path), "--json")
    printed = json.loads(capsys.readouterr().out)
    assert [(r["base"], r["quote"], r["rate"], r["spread"]) for r in printed] == [
        ("USD", "BHD", "0.376", "0.0025")]
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + f"USD,BHD,0,0,{_as_of()},CBB,\n")
    with pytest.raises(CommandError, match="fx_rates_refused: 1 bad line"):
        call_command("fx_rates_import", str(bad))
    assert FxRate.objects.count() == 1

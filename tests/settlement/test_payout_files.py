"""From a settled business date to the bank and back: the run pays each merchant's available
balance out (or says why not), a pain.001 sends the releasable payouts from the currency's nostro,
and pain.002 reports make them paid, failed or returned. Built inside a travel to April 2031."""

import json
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from apps.audit.models import AuditEvent
from apps.ledger import selectors as ledger_selectors
from apps.ledger.data import AccountRef, AccountRole
from apps.merchants import services as merchants_services
from apps.payments.models import Payout
from apps.settlement import services
from apps.settlement.adapters.iso20022 import schema_validate
from apps.settlement.exceptions import NoPayoutNostro, StatusReportRefused
from apps.settlement.models import PayoutFile, SettlementLine, SettlementTerms, StatusReport
from tests.factories.merchants import MerchantFactory
from tests.factories.payouts import payout_nostro
from tests.factories.settlement import ACTOR, MONDAY, at, captured

pytestmark = pytest.mark.django_db
IBAN, BIC = "BH67BMAG00001299123456", "BMAGBHBM"


def posted(role: AccountRole, *, merchant=None, name: str = "") -> int:
    ref = AccountRef(role, "BHD", True, merchant_id=merchant.pk if merchant else None, name=name)
    return ledger_selectors.role_account_balances(ref=ref).posted


def status_report(message_id: str, original: str, statuses: dict[str, tuple[str, str | None]]) -> bytes:
    transactions = "".join(
        f"<TxInfAndSts><OrgnlEndToEndId>{end_to_end_id}</OrgnlEndToEndId><TxSts>{status}</TxSts>"
        + (f"<StsRsnInf><Rsn><Cd>{reason}</Cd></Rsn></StsRsnInf>" if reason else "") + "</TxInfAndSts>"
        for end_to_end_id, (status, reason) in statuses.items())
    return (f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">'
            f"<CstmrPmtStsRpt><GrpHdr><MsgId>{message_id}</MsgId><CreDtTm>2031-04-09T09:00:00+03:00</CreDtTm>"
            f"</GrpHdr><OrgnlGrpInfAndSts><OrgnlMsgId>{original}</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09"
            f"</OrgnlMsgNmId></OrgnlGrpInfAndSts><OrgnlPmtInfAndSts><OrgnlPmtInfId>{original}</OrgnlPmtInfId>"
            f"{transactions}</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>").encode()


@pytest.fixture
def travel():
    with time_machine.travel(at(MONDAY, 9), tick=False) as traveller:
        yield traveller


@pytest.fixture
def nostro():
    return payout_nostro()


def merchant_with_bank_account(name: str):
    merchant = MerchantFactory(legal_name=name)
    merchants_services.bank_account_set(merchant_id=merchant.pk, currency="BHD", iban=IBAN, bic=BIC,
                                        beneficiary_name=name, actor=ACTOR, reason="onboarding")
    return merchant


def test_a_settled_line_pays_the_available_balance_out_or_says_why_not(travel, nostro):
    paid, unbanked, small = (merchant_with_bank_account("Gulf Coffee W.L.L."), MerchantFactory(),
                             merchant_with_bank_account("Tiny Shop"))
    captured(paid, 100_000, at=at(MONDAY, 10), method="wire")
    captured(unbanked, 100_000, at=at(MONDAY, 10), method="wire")
    captured(small, 3_000, at=at(MONDAY, 10), method="wire")  # 2.000 net: under the 5.000 BHD minimum
    test_money = captured(paid, 50_000, at=at(MONDAY, 10), method="wire", livemode=False)
    travel.move_to(at(MONDAY, 18))
    run = services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)

    line = SettlementLine.objects.get(run=run, merchant_id=paid.pk, livemode=True)
    payout = Payout.objects.get(pk=line.payout_id)
    assert (payout.amount, payout.status, payout.settlement_reference) == (99_000, "pending",
                                                                          services.line_public_id(line))
    assert posted(AccountRole.MERCHANT_AVAILABLE, merchant=paid) == 99_000  # held, not moved yet
    notes = dict(SettlementLine.objects.filter(run=run).values_list("merchant_id", "payout_note"))
    assert notes[unbanked.pk] == "No bank account for BHD payouts"
    assert notes[small.pk] == "Available 2.000 BHD is below the payout minimum"
    assert SettlementLine.objects.get(run=run, merchant_id=test_money.merchant_id, livemode=False).payout_note == (
        "Test mode: no payout")
    # The bank account was set this morning: its payouts wait 24 hours.
    assert services.payout_file_create(currency="BHD", actor=ACTOR) is None


def test_a_payout_file_sends_the_releasable_payouts_and_status_reports_settle_them(travel, nostro):
    coffee, tailor = merchant_with_bank_account("Gulf Coffee W.L.L."), merchant_with_bank_account("Manama Tailors")
    SettlementTerms.objects.filter(merchant__isnull=True).update(payout_minimum=0)
    captured(coffee, 100_000, at=at(MONDAY, 10), method="wire")
    captured(tailor, 20_000, at=at(MONDAY, 11), method="wire")
    travel.move_to(at(MONDAY, 18))
    services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)
    travel.move_to(at(MONDAY + timedelta(days=1), 10))

    out = StringIO()
    call_command("payout_file", "--currency", "BHD", "--json", stdout=out)
    summary = json.loads(out.getvalue())
    payout_file = PayoutFile.objects.get()
    assert summary == {"file_id": services.payout_file_public_id(payout_file), "message_id": payout_file.message_id,
                       "currency": "BHD", "nostro": "nbb-bhd-01", "payouts": 2, "control_sum": 99_000 + 19_000}
    document = bytes(payout_file.document)
    schema_validate(document, "pain.001.001.09")
    assert b"<CtrlSum>118.000</CtrlSum>" in document and b"<IBAN>BH96NBOB00000099887766</IBAN>" in document
    coffee_payout, tailor_payout = (Payout.objects.get(merchant_id=m.pk) for m in (coffee, tailor))
    assert {coffee_payout.status, tailor_payout.status} == {"in_transit"}
    assert posted(AccountRole.PAYOUTS_IN_TRANSIT) == 118_000  # on its way to the merchants' banks
    # Nothing left to send.
    assert services.payout_file_create(currency="BHD", actor=ACTOR) is None

    report = status_report("NBB-STS-1", payout_file.message_id, {coffee_payout.end_to_end_id: ("ACSC", None),
                                                                 tailor_payout.end_to_end_id: ("RJCT", "AC04")})
    imported = services.status_report_import(document=report, actor=ACTOR)
    assert (imported.duplicate, imported.report.paid, imported.report.failed) == (False, 1, 1)
    coffee_payout.refresh_from_db()
    tailor_payout.refresh_from_db()
    assert (coffee_payout.status, tailor_payout.status, tailor_payout.failure_code) == ("paid", "failed", "AC04")
    assert posted(AccountRole.PAYOUTS_IN_TRANSIT) == 0
    assert posted(AccountRole.NOSTRO, name="nbb-bhd-01") == 99_000  # credited: the bank paid it out of our account
    assert posted(AccountRole.MERCHANT_AVAILABLE, merchant=tailor) == 19_000  # back on available
    # The same report again changes nothing.
    events = AuditEvent.objects.count()
    again = services.status_report_import(document=report, actor=ACTOR)
    assert again.duplicate and again.report.pk == imported.report.pk and AuditEvent.objects.count() == events
    # The bank later returns the paid payout: a rejection of a paid payout is a return.
    returned = status_report("NBB-STS-2", payout_file.message_id, {coffee_payout.end_to_end_id: ("RJCT", "AC01")})
    out = StringIO()
    path = f"{pytest.importorskip('tempfile').mkdtemp()}/returned.xml"
    with open(path, "wb") as file:
        file.write(returned)
    call_command("status_report_import", path, "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"message_id": "NBB-STS-2", "payout_file": payout_file.message_id,
                                          "duplicate": False, "paid": 0, "failed": 0, "returned": 1, "unchanged": 0}
    coffee_payout.refresh_from_db()
    assert coffee_payout.status == "returned"
    assert posted(AccountRole.MERCHANT_AVAILABLE, merchant=coffee) == 99_000


def test_a_report_for_a_file_or_payout_fincore_never_sent_is_refused_and_changes_nothing(travel, nostro):
    coffee = merchant_with_bank_account("Gulf Coffee W.L.L.")
    captured(coffee, 100_000, at=at(MONDAY, 10), method="wire")
    travel.move_to(at(MONDAY, 18))
    services.settlement_run(business_date=MONDAY, currency="BHD", actor=ACTOR)
    travel.move_to(at(MONDAY + timedelta(days=1), 10))
    payout_file = services.payout_file_create(currency="BHD", actor=ACTOR)
    with pytest.raises(StatusReportRefused, match="no payout file"):
        services.status_report_import(document=status_report("X-1", "FC-UNKNOWN", {"PO1": ("ACSC", None)}),
                                      actor=ACTOR)
    with pytest.raises(StatusReportRefused, match="POUNKNOWN"):
        services.status_report_import(
            document=status_report("X-2", payout_file.message_id, {"POUNKNOWN": ("ACSC", None)}), actor=ACTOR)
    with pytest.raises(CommandError):
        call_command("status_report_import", "/nonexistent/report.xml")
    assert not StatusReport.objects.exists()
    assert Payout.objects.get().status == "in_transit"


def test_no_payout_nostro_is_a_clear_refusal(travel):
    with pytest.raises(NoPayoutNostro, match="Nostro accounts"):
        services.payout_file_create(currency="BHD", actor=ACTOR)

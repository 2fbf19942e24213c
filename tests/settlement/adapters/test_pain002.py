"""The pain.002.001.10 reader: each hand-written report read to exact values, and every file it
must refuse refused whole, with the line and the reason, never half read."""

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from apps.settlement.adapters.pain002 import (
    PaymentInformationStatus,
    PaymentStatusReport,
    TransactionStatus,
    payment_status_report,
)
from apps.settlement.exceptions import (
    Iso20022Invalid,
    Iso20022Malformed,
    Iso20022Refused,
    Iso20022WrongMessage,
    PaymentStatusReportUnusable,
)

FIXTURES = Path(__file__).parent / "fixtures"
BAHRAIN_OFFSET = timezone(timedelta(hours=3))


def read(name: str, **options) -> PaymentStatusReport:
    return payment_status_report((FIXTURES / name).read_bytes(), **options)


def test_an_accepted_file_settled_transfer_by_transfer():
    assert read("pain002_accepted.xml") == PaymentStatusReport(
        message_id="BMAG-STS-20270315-0001",
        created_at=datetime(2027, 3, 15, 9, 30, tzinfo=BAHRAIN_OFFSET),
        original_message_id="FC-20270314-BHD-1",
        group_status="ACCP",
        transactions=(
            TransactionStatus(end_to_end_id="po_01HZXA1", status="ACSC", reason_code=None, reason_text=None),
            TransactionStatus(end_to_end_id="po_01HZXA2", status="ACSC", reason_code=None, reason_text=None),
            # No TxSts of its own: its payment information block's.
            TransactionStatus(end_to_end_id="po_01HZXA3", status="ACCP", reason_code=None, reason_text=None),
        ),
        original_message_name="pain.001.001.09",
        group_reason_code=None,
        group_reason_text=None,
        payment_informations=(
            PaymentInformationStatus(
                payment_information_id="FC-20270314-BHD-1-P", status="ACCP", reason_code=None, reason_text=None
            ),
        ),
    )


def test_rejected_transfers_carry_their_reason_codes_and_texts():
    report = read("pain002_rejected.xml")
    assert report.message_id == "BMAG-STS-20270315-0002"
    assert report.created_at == datetime(2027, 3, 15, 10, 15, 30, tzinfo=UTC)
    assert report.original_message_id == "FC-20270314-BHD-2"
    assert report.group_status == "PART"
    assert report.transactions == (
        TransactionStatus(end_to_end_id="po_01HZXB1", status="RJCT", reason_code="AC04", reason_text="Account closed"),
        TransactionStatus(
            end_to_end_id="po_01HZXB2",
            status="RJCT",
            reason_code="AM04",
            reason_text="Insufficient funds on the debtor account at the cut-off of 2027-03-15",
        ),
        TransactionStatus(end_to_end_id="po_01HZXB3", status="ACSC", reason_code=None, reason_text=None),
    )
    assert report.payment_informations == (
        PaymentInformationStatus(
            payment_information_id="FC-20270314-BHD-2-P", status="PART", reason_code=None, reason_text=None
        ),
    )
    assert (report.group_reason_code, report.group_reason_text) == (None, None)


def test_a_returned_transfer_is_a_rejection_after_settlement_in_local_time():
    report = read("pain002_returned.xml")
    assert report == PaymentStatusReport(
        message_id="BMAG-STS-20270317-0007",
        # No offset in the file: the bank's local time, Bahrain's.
        created_at=datetime(2027, 3, 17, 11, 0, tzinfo=ZoneInfo("Asia/Bahrain")),
        original_message_id="FC-20270314-BHD-1",
        group_status=None,
        transactions=(
            TransactionStatus(
                end_to_end_id="po_01HZXA2",
                status="RJCT",
                reason_code="AC06",
                reason_text="Returned by the beneficiary bank: account blocked",
            ),
        ),
        original_message_name="pain.001.001.09",
        group_reason_code=None,
        group_reason_text=None,
        payment_informations=(
            PaymentInformationStatus(
                payment_information_id="FC-20270314-BHD-1-P", status=None, reason_code=None, reason_text=None
            ),
        ),
    )
    assert report.created_at == datetime(2027, 3, 17, 8, 0, tzinfo=UTC)


def test_a_date_time_without_offset_is_read_in_the_zone_given():
    report = read("pain002_returned.xml", local_zone=UTC)
    assert report.created_at == datetime(2027, 3, 17, 11, 0, tzinfo=UTC)


def test_a_file_rejected_as_a_whole_lists_no_transaction_and_says_why():
    assert read("pain002_group_rejected.xml") == PaymentStatusReport(
        message_id="BMAG-STS-20270315-0003",
        created_at=datetime(2027, 3, 15, 7, 45, 12, 250000, tzinfo=BAHRAIN_OFFSET),
        original_message_id="FC-20270314-BHD-3",
        group_status="RJCT",
        transactions=(),
        original_message_name="pain.001.001.09",
        group_reason_code="AM10",
        group_reason_text="Control sum 1250.000 does not match the transfers",
        payment_informations=(),
    )


def test_the_report_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        read("pain002_accepted.xml").group_status = "RJCT"  # type: ignore[misc]


# --- files refused whole


@pytest.mark.parametrize(
    ("name", "refusal", "line", "reason"),
    [
        ("malformed.xml", Iso20022Malformed, 14,
         "not well-formed XML: Opening and ending tag mismatch: Document line 2 and Documnet"),
        ("wrong_message_pain001.xml", Iso20022WrongMessage, 3,
         "the file is a pain.001.001.09 message, not pain.002.001.10"),
        ("xsd_invalid.xml", Iso20022Invalid, 17,
         "/Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts/TxInfAndSts/TxSts: value length cannot be greater than 4"),
        ("xxe.xml", Iso20022Malformed, 2,
         "a document type declaration (<!DOCTYPE …>) is not allowed in an ISO 20022 file"),
        ("billion_laughs.xml", Iso20022Malformed, 2,
         "a document type declaration (<!DOCTYPE …>) is not allowed in an ISO 20022 file"),
    ],
)
def test_a_file_that_is_not_a_valid_pain002_is_refused_with_its_line_and_reason(name, refusal, line, reason):
    with pytest.raises(refusal) as refused:
        read(name)
    assert (refused.value.line, refused.value.reason) == (line, reason)
    assert refused.value.status == 422
    assert refused.value.extensions["line"] == line


def report_with(transactions: str, *, group_status: str = "") -> bytes:
    """A pain.002 whose one payment information block holds ``transactions`` (TxInfAndSts XML)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">
  <CstmrPmtStsRpt>
    <GrpHdr>
      <MsgId>BMAG-STS-20270315-0009</MsgId>
      <CreDtTm>2027-03-15T09:30:00+03:00</CreDtTm>
    </GrpHdr>
    <OrgnlGrpInfAndSts>
      <OrgnlMsgId>FC-20270314-BHD-1</OrgnlMsgId>
      <OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>{group_status}
    </OrgnlGrpInfAndSts>
    <OrgnlPmtInfAndSts>
      <OrgnlPmtInfId>FC-20270314-BHD-1-P</OrgnlPmtInfId>
{transactions}
    </OrgnlPmtInfAndSts>
  </CstmrPmtStsRpt>
</Document>
""".encode()


def test_a_transaction_without_status_takes_the_files_status():
    transaction = "<TxInfAndSts><OrgnlEndToEndId>po_1</OrgnlEndToEndId></TxInfAndSts>"
    report = payment_status_report(report_with(transaction, group_status="<GrpSts>ACSP</GrpSts>"))
    assert report.transactions == (TransactionStatus("po_1", "ACSP", None, None),)


def test_a_proprietary_reason_is_the_reason_code_when_there_is_no_iso_code():
    report = payment_status_report(
        report_with(
            "<TxInfAndSts><OrgnlEndToEndId>po_1</OrgnlEndToEndId><TxSts>RJCT</TxSts>"
            "<StsRsnInf><Rsn><Prtry>NAME-MISMATCH</Prtry></Rsn></StsRsnInf>"
            "<StsRsnInf><Rsn><Cd>BE01</Cd></Rsn><AddtlInf>Name does not match the account</AddtlInf></StsRsnInf>"
            "</TxInfAndSts>"
        )
    )
    assert report.transactions == (
        TransactionStatus("po_1", "RJCT", "NAME-MISMATCH", "Name does not match the account"),
    )


def test_indentation_inside_an_identifier_is_not_part_of_it():
    report = payment_status_report(
        report_with("<TxInfAndSts><OrgnlEndToEndId>\n  po_1\n</OrgnlEndToEndId><TxSts>ACSC</TxSts></TxInfAndSts>")
    )
    assert report.transactions == (TransactionStatus("po_1", "ACSC", None, None),)


@pytest.mark.parametrize(
    ("transactions", "line", "reason"),
    [
        (
            "<TxInfAndSts><StsId>S1</StsId><TxSts>ACSC</TxSts></TxInfAndSts>",
            14,
            "a transaction status (TxInfAndSts) has no OrgnlEndToEndId, and payouts are found by it",
        ),
        (
            "<TxInfAndSts><OrgnlEndToEndId>po_1</OrgnlEndToEndId></TxInfAndSts>",
            14,
            "end-to-end id 'po_1' has no status: no TxSts, PmtInfSts or GrpSts",
        ),
        (
            "<TxInfAndSts><OrgnlEndToEndId>po_1</OrgnlEndToEndId><TxSts>ACSC</TxSts></TxInfAndSts>\n"
            "<TxInfAndSts><OrgnlEndToEndId>po_1</OrgnlEndToEndId><TxSts>RJCT</TxSts></TxInfAndSts>",
            15,
            "end-to-end id 'po_1' has a status twice (also on line 14)",
        ),
    ],
)
def test_a_valid_report_fincore_cannot_apply_is_refused_whole(transactions, line, reason):
    with pytest.raises(PaymentStatusReportUnusable) as refused:
        payment_status_report(report_with(transactions))
    assert (refused.value.line, refused.value.reason) == (line, reason)


def test_a_creation_time_python_cannot_hold_is_refused_with_its_line():
    document = report_with("").replace(b"2027-03-15T09:30:00+03:00", b"2027-03-15T24:00:00")
    with pytest.raises(PaymentStatusReportUnusable) as refused:
        payment_status_report(document)
    assert (refused.value.line, refused.value.reason) == (6, "CreDtTm '2027-03-15T24:00:00': hour must be in 0..23")


def test_every_refusal_is_one_kind_a_caller_can_catch():
    for name in ["malformed.xml", "wrong_message_pain001.xml", "xsd_invalid.xml", "xxe.xml", "billion_laughs.xml"]:
        with pytest.raises(Iso20022Refused):
            read(name)


def test_a_report_is_bytes():
    with pytest.raises(TypeError):
        payment_status_report((FIXTURES / "pain002_accepted.xml").read_text())  # type: ignore[arg-type]

"""The pain.001.001.09 writer: a BHD file to the byte, amounts at each currency's exponent,
escaping and UTF-8, text cut to the schema, every refusal, and a hypothesis property: any
transfers give a schema-valid file whose counts and control sums are theirs."""

import dataclasses
import decimal
import hashlib
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import xmlschema
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from apps.core.currencies import LARGEST_AMOUNT
from apps.core.money import Money
from apps.settlement.adapters.iso20022 import PAIN_001, XSD_DIR, schema_validate
from apps.settlement.adapters.pain001 import (
    CreditTransfer,
    CreditTransferInitiation,
    Debtor,
    credit_transfer_initiation_xml,
)
from apps.settlement.exceptions import (
    CreditTransferFieldInvalid,
    CreditTransferFileEmpty,
    CreditTransferFileMixedCurrencies,
)

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
BAHRAIN = ZoneInfo("Asia/Bahrain")
PROPERTY = settings(max_examples=100, deadline=None)

# Read straight from the shipped file, independently of the adapter's own cached schema.
OFFICIAL_SCHEMA = xmlschema.XMLSchema10(str(XSD_DIR / "pain.001.001.09.xsd"))


def iban(country: str, bban: str) -> str:
    """A valid IBAN for ``bban``: ISO 13616's check digits computed (98 - mod 97)."""
    digits = "".join(str(int(character, 36)) for character in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


DEBTOR = Debtor(name="Fincore Payments B.S.C.", iban="BH67BMAG00001299123456", bic="BMAGBHBM")


def transfer(end_to_end_id: str = "po_01HZXA1", amount: int = 12500, currency: str = "BHD", **fields) -> CreditTransfer:
    fields = {"creditor_name": "Jasmine Cafe W.L.L.", "creditor_iban": "BH27NBOB00000299501234", **fields}
    return CreditTransfer(end_to_end_id=end_to_end_id, amount=amount, currency=currency, **fields)


def initiation(*transfers: CreditTransfer, **fields) -> CreditTransferInitiation:
    base = CreditTransferInitiation(
        message_id="FC-20270314-BHD-1",
        created_at=datetime(2027, 3, 14, 17, 5, tzinfo=BAHRAIN),
        requested_execution_date=date(2027, 3, 15),
        debtor=DEBTOR,
        payment_information_id="FC-20270314-BHD-1-P",
        transfers=transfers or (transfer(),),
    )
    return dataclasses.replace(base, **fields)


def written(*transfers: CreditTransfer, **fields) -> etree._Element:
    return etree.fromstring(credit_transfer_initiation_xml(initiation(*transfers, **fields)))


BHD_FILE = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09">
  <CstmrCdtTrfInitn>
    <GrpHdr>
      <MsgId>FC-20270314-BHD-1</MsgId>
      <CreDtTm>2027-03-14T17:05:00+03:00</CreDtTm>
      <NbOfTxs>3</NbOfTxs>
      <CtrlSum>50.750</CtrlSum>
      <InitgPty>
        <Nm>Fincore Payments B.S.C.</Nm>
      </InitgPty>
    </GrpHdr>
    <PmtInf>
      <PmtInfId>FC-20270314-BHD-1-P</PmtInfId>
      <PmtMtd>TRF</PmtMtd>
      <BtchBookg>false</BtchBookg>
      <NbOfTxs>3</NbOfTxs>
      <CtrlSum>50.750</CtrlSum>
      <ReqdExctnDt>
        <Dt>2027-03-15</Dt>
      </ReqdExctnDt>
      <Dbtr>
        <Nm>Fincore Payments B.S.C.</Nm>
      </Dbtr>
      <DbtrAcct>
        <Id>
          <IBAN>BH67BMAG00001299123456</IBAN>
        </Id>
      </DbtrAcct>
      <DbtrAgt>
        <FinInstnId>
          <BICFI>BMAGBHBM</BICFI>
        </FinInstnId>
      </DbtrAgt>
      <ChrgBr>DEBT</ChrgBr>
      <CdtTrfTxInf>
        <PmtId>
          <EndToEndId>po_01HZXA1</EndToEndId>
        </PmtId>
        <Amt>
          <InstdAmt Ccy="BHD">12.500</InstdAmt>
        </Amt>
        <CdtrAgt>
          <FinInstnId>
            <BICFI>NBOBBHBM</BICFI>
          </FinInstnId>
        </CdtrAgt>
        <Cdtr>
          <Nm>Jasmine Cafe W.L.L.</Nm>
        </Cdtr>
        <CdtrAcct>
          <Id>
            <IBAN>BH27NBOB00000299501234</IBAN>
          </Id>
        </CdtrAcct>
        <RmtInf>
          <Ustrd>fincore settlement 2027-03-14</Ustrd>
        </RmtInf>
      </CdtTrfTxInf>
      <CdtTrfTxInf>
        <PmtId>
          <EndToEndId>po_01HZXA2</EndToEndId>
        </PmtId>
        <Amt>
          <InstdAmt Ccy="BHD">25.000</InstdAmt>
        </Amt>
        <Cdtr>
          <Nm>Pearl Diving Tours</Nm>
        </Cdtr>
        <CdtrAcct>
          <Id>
            <IBAN>BH18KFHO00012345678901</IBAN>
          </Id>
        </CdtrAcct>
      </CdtTrfTxInf>
      <CdtTrfTxInf>
        <PmtId>
          <EndToEndId>po_01HZXA3</EndToEndId>
        </PmtId>
        <Amt>
          <InstdAmt Ccy="BHD">13.250</InstdAmt>
        </Amt>
        <Cdtr>
          <Nm>Muharraq Books</Nm>
        </Cdtr>
        <CdtrAcct>
          <Id>
            <IBAN>GB82WEST12345698765432</IBAN>
          </Id>
        </CdtrAcct>
        <RmtInf>
          <Ustrd>fincore settlement 2027-03-14</Ustrd>
        </RmtInf>
      </CdtTrfTxInf>
    </PmtInf>
  </CstmrCdtTrfInitn>
</Document>
"""

BHD_TRANSFERS = (
    transfer(
        "po_01HZXA1", 12500, creditor_bic="NBOBBHBM", remittance="fincore settlement 2027-03-14"
    ),
    transfer("po_01HZXA2", 25000, creditor_name="Pearl Diving Tours", creditor_iban="BH18KFHO00012345678901"),
    transfer(
        "po_01HZXA3",
        13250,
        creditor_name="Muharraq Books",
        creditor_iban="gb82 west 1234 5698 7654 32",  # as printed: written without spaces, upper case
        remittance="fincore settlement 2027-03-14",
    ),
)


def test_a_bhd_file_is_written_to_the_byte():
    xml = credit_transfer_initiation_xml(initiation(*BHD_TRANSFERS))
    assert xml.decode("utf-8") == BHD_FILE
    assert OFFICIAL_SCHEMA.is_valid(xml.decode("utf-8"))


def test_the_same_payouts_give_the_same_bytes():
    """A re-run of a settlement writes the same file: nothing in it depends on when it is written."""
    first = credit_transfer_initiation_xml(initiation(*BHD_TRANSFERS))
    again = credit_transfer_initiation_xml(initiation(*BHD_TRANSFERS))
    assert hashlib.sha256(first).digest() == hashlib.sha256(again).digest()


def test_bhd_counts_and_control_sums_agree_in_the_header_and_the_payment_block():
    root = written(*BHD_TRANSFERS)
    for block in ("p:CstmrCdtTrfInitn/p:GrpHdr", "p:CstmrCdtTrfInitn/p:PmtInf"):
        assert root.findtext(f"{block}/p:NbOfTxs", namespaces=NS) == "3"
        assert root.findtext(f"{block}/p:CtrlSum", namespaces=NS) == "50.750"  # 12.500 + 25.000 + 13.250
    assert [amount.text for amount in root.iterfind(".//p:InstdAmt", NS)] == ["12.500", "25.000", "13.250"]


@pytest.mark.parametrize(
    ("currency", "amounts", "written_amounts", "control_sum"),
    [
        ("BHD", [12500, 1, 1000, 999], ["12.500", "0.001", "1.000", "0.999"], "14.500"),
        ("KWD", [5, 70000], ["0.005", "70.000"], "70.005"),
        ("USD", [1250, 5, 100, 99999], ["12.50", "0.05", "1.00", "999.99"], "1013.54"),
        ("JPY", [1250, 1, 1000000], ["1250", "1", "1000000"], "1001251"),
        ("CLF", [12345, 1], ["1.2345", "0.0001"], "1.2346"),
    ],
)
def test_amounts_are_written_at_the_currencys_exponent_exactly(currency, amounts, written_amounts, control_sum):
    transfers = [transfer(f"po_{index}", amount, currency) for index, amount in enumerate(amounts)]
    root = written(*transfers)
    instructed = list(root.iterfind(".//p:InstdAmt", NS))
    assert [amount.text for amount in instructed] == written_amounts
    assert {amount.get("Ccy") for amount in instructed} == {currency}
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == control_sum
    assert root.findtext("p:CstmrCdtTrfInitn/p:PmtInf/p:CtrlSum", namespaces=NS) == control_sum


def test_the_largest_amount_is_written_in_full():
    root = written(transfer(amount=LARGEST_AMOUNT))
    assert root.findtext(".//p:InstdAmt", namespaces=NS) == "999999999999.999"


def test_markup_characters_are_escaped_and_come_back_unchanged():
    name = 'Tom & Jerry <Toys> "Best" \'Ever\''
    remittance = "Invoice <42> & more: a < b > c"
    xml = credit_transfer_initiation_xml(initiation(transfer(creditor_name=name, remittance=remittance)))
    assert b"<Nm>Tom &amp; Jerry &lt;Toys&gt; \"Best\" 'Ever'</Nm>" in xml
    assert b"<Ustrd>Invoice &lt;42&gt; &amp; more: a &lt; b &gt; c</Ustrd>" in xml
    root = etree.fromstring(xml)
    assert root.findtext(".//p:Cdtr/p:Nm", namespaces=NS) == name
    assert root.findtext(".//p:Ustrd", namespaces=NS) == remittance


def test_arabic_names_are_written_as_utf8_text():
    name = "مقهى الياسمين ذ.م.م"
    remittance = "تسوية ٢٠٢٧-٠٣-١٤"
    debtor = Debtor(name="فينكور للمدفوعات", iban=DEBTOR.iban, bic=DEBTOR.bic)
    xml = credit_transfer_initiation_xml(
        initiation(transfer(creditor_name=name, remittance=remittance), debtor=debtor)
    )
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    # The characters themselves, in UTF-8: no character references.
    assert f"<Nm>{name}</Nm>".encode() in xml
    assert f"<Ustrd>{remittance}</Ustrd>".encode() in xml
    assert f"<Nm>{debtor.name}</Nm>".encode() in xml
    assert b"&#" not in xml
    assert etree.fromstring(xml).findtext(".//p:Cdtr/p:Nm", namespaces=NS) == name


def test_free_text_is_cut_to_the_schemas_140_characters():
    long_name = "Al Seef Trading " + "X" * 200
    long_remittance = "R" * 139 + "ن" + "overflow"
    root = written(transfer(creditor_name=long_name, remittance=long_remittance))
    assert root.findtext(".//p:Cdtr/p:Nm", namespaces=NS) == long_name[:140]
    assert root.findtext(".//p:Ustrd", namespaces=NS) == "R" * 139 + "ن"
    arabic = "ب" * 150
    assert written(transfer(creditor_name=arabic)).findtext(".//p:Cdtr/p:Nm", namespaces=NS) == "ب" * 140


def test_whitespace_in_free_text_becomes_single_spaces_and_a_cut_leaves_no_trailing_space():
    root = written(transfer(creditor_name="  Jasmine\t\tCafe\r\n  W.L.L. ", remittance="A" * 139 + " tail"))
    assert root.findtext(".//p:Cdtr/p:Nm", namespaces=NS) == "Jasmine Cafe W.L.L."
    assert root.findtext(".//p:Ustrd", namespaces=NS) == "A" * 139


def test_optional_creditor_bic_and_remittance_are_left_out_when_absent():
    root = written(transfer(creditor_bic=None, remittance=None), transfer("po_2", creditor_bic="", remittance="  \n "))
    for transaction in root.iterfind(".//p:CdtTrfTxInf", NS):
        assert transaction.find("p:CdtrAgt", NS) is None
        assert transaction.find("p:RmtInf", NS) is None


def test_bics_are_written_upper_case_and_eight_or_eleven_characters_long():
    root = written(transfer(creditor_bic="nbobbhbmxxx"))
    assert root.findtext(".//p:CdtrAgt/p:FinInstnId/p:BICFI", namespaces=NS) == "NBOBBHBMXXX"


@pytest.mark.parametrize(
    ("created_at", "written_at"),
    [
        (datetime(2027, 3, 14, 17, 5, 30, 987654, tzinfo=BAHRAIN), "2027-03-14T17:05:30+03:00"),
        (datetime(2027, 3, 14, 14, 5, tzinfo=UTC), "2027-03-14T14:05:00+00:00"),
        (datetime(2027, 3, 14, 9, 5, tzinfo=timezone(timedelta(hours=-5))), "2027-03-14T09:05:00-05:00"),
        # An offset with seconds (a local mean time, as zones had before standard time) has no
        # xs:dateTime form: written in UTC.
        (datetime(1910, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=3, minutes=22, seconds=20))),
         "1910-01-01T08:37:40+00:00"),
    ],
)
def test_the_creation_time_is_written_with_its_offset_to_the_second(created_at, written_at):
    assert written(created_at=created_at).findtext(".//p:GrpHdr/p:CreDtTm", namespaces=NS) == written_at


# --- refusals: no file at all


def test_an_empty_list_of_transfers_is_refused():
    with pytest.raises(CreditTransferFileEmpty):
        credit_transfer_initiation_xml(dataclasses.replace(initiation(), transfers=()))


def test_mixed_currencies_are_refused_with_the_currencies_named():
    with pytest.raises(CreditTransferFileMixedCurrencies) as refused:
        credit_transfer_initiation_xml(
            initiation(transfer("po_1", currency="BHD"), transfer("po_2", currency="USD"), transfer("po_3"))
        )
    assert refused.value.currencies == ("BHD", "USD")
    assert refused.value.detail == "The transfers are in BHD, USD; write one file per currency."


def refused_field(**fields) -> CreditTransferFieldInvalid:
    """The refusal of a file whose single transfer (transfer fields) or whose initiation
    (``initiation_`` prefixed fields) has the given fields."""
    prefix = "initiation_"
    initiation_fields = {key.removeprefix(prefix): value for key, value in fields.items() if key.startswith(prefix)}
    transfer_fields = {key: value for key, value in fields.items() if not key.startswith(prefix)}
    with pytest.raises(CreditTransferFieldInvalid) as refused:
        credit_transfer_initiation_xml(initiation(transfer(**transfer_fields), **initiation_fields))
    return refused.value


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"end_to_end_id": "E" * 36}, "transfers[0].end_to_end_id", "has 36 characters; at most 35 are allowed"),
        ({"end_to_end_id": ""}, "transfers[0].end_to_end_id", "is empty"),
        ({"end_to_end_id": "   "}, "transfers[0].end_to_end_id", "is empty"),
        ({"end_to_end_id": " po_1"}, "transfers[0].end_to_end_id", "starts or ends with a space"),
        ({"end_to_end_id": "po_1 "}, "transfers[0].end_to_end_id", "starts or ends with a space"),
        ({"end_to_end_id": "po\n1"}, "transfers[0].end_to_end_id", "contains a line break or a tab"),
        ({"end_to_end_id": "po\x001"}, "transfers[0].end_to_end_id",
         "U+0000 at position 2 is a character XML 1.0 cannot carry"),
        ({"end_to_end_id": 42}, "transfers[0].end_to_end_id", "must be text, not int"),
        ({"initiation_message_id": "M" * 36}, "message_id", "has 36 characters; at most 35 are allowed"),
        ({"initiation_payment_information_id": ""}, "payment_information_id", "is empty"),
        ({"amount": 0}, "transfers[0].amount", f"0 is not between 1 and {LARGEST_AMOUNT} minor units"),
        ({"amount": -12500}, "transfers[0].amount", f"-12500 is not between 1 and {LARGEST_AMOUNT} minor units"),
        ({"amount": LARGEST_AMOUNT + 1}, "transfers[0].amount",
         f"{LARGEST_AMOUNT + 1} is not between 1 and {LARGEST_AMOUNT} minor units"),
        ({"amount": 12.5}, "transfers[0].amount", "must be an int number of minor units, not float"),
        ({"amount": decimal.Decimal("12500")}, "transfers[0].amount",
         "must be an int number of minor units, not Decimal"),
        ({"amount": True}, "transfers[0].amount", "must be an int number of minor units, not bool"),
        ({"currency": "bhd"}, "transfers[0].currency", "'bhd' is not an ISO 4217 currency code"),
        ({"currency": "XAU"}, "transfers[0].currency", "'XAU' is not an ISO 4217 currency code"),
        ({"creditor_name": " \t\n"}, "transfers[0].creditor_name", "is empty"),
        ({"creditor_name": "Cafe\x07"}, "transfers[0].creditor_name",
         "U+0007 at position 4 is a character XML 1.0 cannot carry"),
        ({"creditor_name": "Cafe\ud800"}, "transfers[0].creditor_name",
         "U+D800 at position 4 is a character XML 1.0 cannot carry"),
        ({"remittance": "ok\ufffe"}, "transfers[0].remittance",
         "U+FFFE at position 2 is a character XML 1.0 cannot carry"),
        ({"remittance": "\x1b[31mred"}, "transfers[0].remittance",
         "U+001B at position 0 is a character XML 1.0 cannot carry"),
        ({"creditor_iban": "BH00NBOB00000299501234"}, "transfers[0].creditor_iban",
         "'BH00NBOB00000299501234' is not a valid IBAN"),
        ({"creditor_iban": "BH27NBOB0000029950123"}, "transfers[0].creditor_iban",
         "'BH27NBOB0000029950123' is not a valid IBAN"),
        ({"creditor_bic": "NBOB BH"}, "transfers[0].creditor_bic",
         "'NBOB BH' is not a BIC (8 or 11 letters and digits, ISO 9362)"),
        ({"creditor_bic": "NBOBBHBMX"}, "transfers[0].creditor_bic",
         "'NBOBBHBMX' is not a BIC (8 or 11 letters and digits, ISO 9362)"),
        ({"initiation_debtor": Debtor(name="Fincore", iban=DEBTOR.iban, bic="")}, "debtor.bic",
         "'' is not a BIC (8 or 11 letters and digits, ISO 9362)"),
        ({"initiation_debtor": Debtor(name="", iban=DEBTOR.iban, bic=DEBTOR.bic)}, "debtor.name", "is empty"),
        ({"initiation_debtor": Debtor(name="Fincore", iban="BH67", bic=DEBTOR.bic)}, "debtor.iban",
         "'BH67' is not a valid IBAN"),
        ({"initiation_created_at": datetime(2027, 3, 14, 17, 5)}, "created_at", "must be an aware datetime"),
        ({"initiation_created_at": date(2027, 3, 14)}, "created_at", "must be an aware datetime"),
        ({"initiation_requested_execution_date": datetime(2027, 3, 15, tzinfo=BAHRAIN)}, "requested_execution_date",
         "must be a date"),
    ],
)
def test_a_field_that_cannot_be_written_is_refused_by_name(fields, field, reason):
    refused = refused_field(**fields)
    assert (refused.field, refused.reason) == (field, reason)
    assert refused.extensions == {"field": field, "reason": reason}


def test_an_end_to_end_id_used_twice_is_refused():
    with pytest.raises(CreditTransferFieldInvalid) as refused:
        credit_transfer_initiation_xml(initiation(transfer("po_1"), transfer("po_2"), transfer("po_1")))
    assert refused.value.field == "transfers[2].end_to_end_id"
    assert refused.value.reason.startswith("'po_1' is also transfers[0]'s")


def test_a_control_sum_over_18_digits_is_refused():
    """1,001 of the largest payouts in BHD add up to 19 digits of fils: the schema's DecimalNumber
    holds 18, so the payouts must be split over more files."""
    transfers = [transfer(f"po_{index}", LARGEST_AMOUNT) for index in range(1001)]
    with pytest.raises(CreditTransferFieldInvalid) as refused:
        credit_transfer_initiation_xml(initiation(*transfers))
    assert refused.value.field == "transfers"
    assert refused.value.reason.startswith(f"the control sum, {1001 * LARGEST_AMOUNT} minor units, has more than 18")


def test_the_value_types_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        transfer().amount = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        initiation().message_id = "other"  # type: ignore[misc]


# --- the property: any transfers, one valid file

# Any character XML 1.0 carries (surrogates, controls and U+FFFE/U+FFFF are what it does not),
# with the line breaks, tabs and markup characters a name may bring.
XML_CHARACTERS = st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff") | st.sampled_from(
    "\t\n\r &<>\"'"
)
FREE_TEXT = st.text(XML_CHARACTERS, max_size=200)
NAMES = FREE_TEXT.filter(lambda text: text.split())
IDENTIFIER_CHARACTERS = st.characters(
    exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), exclude_characters="\ufffe\uffff"
)
IBANS = st.one_of(
    st.builds(
        iban,
        st.just("BH"),
        st.builds(str.__add__, st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=4, max_size=4),
                  st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=14, max_size=14)),
    ),
    st.builds(iban, st.just("FR"), st.text("0123456789", min_size=23, max_size=23)),
)
BICS = st.none() | st.from_regex(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?", fullmatch=True)


def transfers_in(currency: str) -> st.SearchStrategy[list[CreditTransfer]]:
    one = st.builds(
        CreditTransfer,
        end_to_end_id=st.text(IDENTIFIER_CHARACTERS, min_size=1, max_size=35),
        amount=st.integers(1, LARGEST_AMOUNT),
        currency=st.just(currency),
        creditor_name=NAMES,
        creditor_iban=IBANS,
        creditor_bic=BICS,
        remittance=st.none() | FREE_TEXT,
    )
    return st.lists(one, min_size=1, max_size=12, unique_by=lambda each: each.end_to_end_id)


def as_written(text: str) -> str:
    return " ".join(text.split())[:140].rstrip()


@PROPERTY
@given(data=st.data(), currency=st.sampled_from(["BHD", "USD", "JPY", "KWD", "CLF", "EUR"]))
def test_any_transfers_give_a_schema_valid_file_with_their_count_and_control_sum(data, currency):
    transfers = data.draw(transfers_in(currency))
    xml = credit_transfer_initiation_xml(initiation(*transfers))

    schema_validate(xml, PAIN_001)
    assert OFFICIAL_SCHEMA.is_valid(xml.decode("utf-8"))
    root = etree.fromstring(xml)
    for block in ("p:CstmrCdtTrfInitn/p:GrpHdr", "p:CstmrCdtTrfInitn/p:PmtInf"):
        assert root.findtext(f"{block}/p:NbOfTxs", namespaces=NS) == str(len(transfers))
        control_sum = root.findtext(f"{block}/p:CtrlSum", namespaces=NS)
        assert control_sum == Money(sum(each.amount for each in transfers), currency).to_major_str()
        assert Money.from_major(control_sum, currency).amount == sum(each.amount for each in transfers)

    written_transfers = list(root.iterfind(".//p:CdtTrfTxInf", NS))
    assert len(written_transfers) == len(transfers)
    for element, expected in zip(written_transfers, transfers, strict=True):
        amount = element.find("p:Amt/p:InstdAmt", NS)
        assert amount.get("Ccy") == currency
        assert amount.text == Money(expected.amount, currency).to_major_str()
        assert element.findtext("p:PmtId/p:EndToEndId", namespaces=NS) == expected.end_to_end_id
        assert element.findtext("p:Cdtr/p:Nm", namespaces=NS) == as_written(expected.creditor_name)
        assert element.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS) == expected.creditor_iban
        assert element.findtext("p:CdtrAgt/p:FinInstnId/p:BICFI", namespaces=NS) == expected.creditor_bic
        remittance = as_written(expected.remittance) if expected.remittance is not None else None
        assert element.findtext("p:RmtInf/p:Ustrd", namespaces=NS) == (remittance or None)

"""camt.053 / camt.054 reading: the public samples in ../shared/samples/camt (genkgo/camt's test
files, read in place) with their figures, files made here for the versions and currencies the
samples lack (001.05, a BHD 001.08 with three decimals, camt.054 001.02), and every refusal with
its line. Plain Python: no database."""

import hashlib
import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from lxml import etree

from apps.reconciliation.adapters.camt import VERSIONS, XSD_DIR, camt_parse, schema
from apps.reconciliation.data import Balance, StatementFormat, StatementLine, StatementRefused
from tests.reconciliation import samples


def sample(name: str) -> bytes:
    return samples.sample("camt", name)


# ---------------------------------------------------------------- the public samples


def test_v2_minimal_one_statement_with_its_balances_and_line():
    (statement,) = camt_parse(sample("camt053.v2.minimal.xml"))
    assert (statement.format, statement.version) == (StatementFormat.CAMT_053, "001.02")
    assert statement.statement_id == "253EURNL26VAYB8060476890"
    assert statement.sequence == "12312"
    assert statement.account == "NL26VAYB8060476890"
    assert statement.currency == "EUR"
    assert statement.created_at == datetime(2015, 3, 10, 18, 43, 50, tzinfo=UTC)
    assert statement.opening_balance == Balance(1815, "EUR", date(2014, 12, 30))
    # The sample's CLBD is in SEK and a debit: kept as written, in its own currency.
    assert statement.closing_balance == Balance(-2700, "SEK", date(2014, 12, 31))
    assert statement.lines == (
        StatementLine(
            amount=885, currency="EUR", booking_date=date(2014, 12, 31), value_date=date(2015, 1, 2),
            reference="4654654654654654",  # Strd/CdtrRefInf/Ref: no Ustrd
            counterparty_name="NAME NAME", counterparty_account="NL56AGDH9619008421",  # the debtor of a credit
        ),
    )


def test_v2_all_balance_types_picks_opening_and_closing_booked_and_an_other_account_id():
    (statement,) = camt_parse(sample("camt053.v2.all-balance-types.xml"))
    assert statement.statement_id == "CAMT0532015012200001"
    assert statement.sequence == "315"
    assert statement.account == "CH2801234000123456789"  # Acct/Id/Othr/Id
    assert statement.currency == "EUR"  # no Acct/Ccy: the balances'
    assert statement.opening_balance == Balance(101, "EUR", date(2015, 1, 21))  # OPBD, not PRCD 2.02
    assert statement.closing_balance == Balance(404, "EUR", date(2015, 1, 22))  # CLBD, not CLAV 5.05
    assert statement.created_at == datetime(2015, 1, 22, tzinfo=timezone(timedelta(hours=1)))
    (line,) = statement.lines
    # "8.850" EUR: a padding zero past the exponent is 8.85 exactly.
    assert (line.amount, line.currency) == (885, "EUR")
    assert line.reference == "Transaction Description"
    assert line.end_to_end_id == "000000001"
    assert (line.counterparty_name, line.counterparty_account) == ("", "")  # a credit names only its creditor


def test_v2_multi_statement_gives_one_parsed_statement_each():
    first, second = camt_parse(sample("camt053.v2.multi.statement.xml"))
    assert [first.statement_id, second.statement_id] == ["253EURNL26VAYB8060476890", "254EURNL26VAYB8060476890"]
    assert (first.sequence, second.sequence) == ("12312", "")
    assert first.closing_balance == Balance(2700, "EUR", date(2014, 12, 31))
    assert second.opening_balance == Balance(2700, "EUR", date(2014, 12, 30))
    assert second.closing_balance == Balance(2000, "EUR", date(2014, 12, 31))
    assert [line.amount for line in first.lines] == [885]
    (debit,) = second.lines
    assert debit == StatementLine(
        amount=-700, currency="EUR", booking_date=date(2014, 12, 31), value_date=date(2015, 1, 2),
        reference="Transaction Description 2", end_to_end_id="000000002",
        counterparty_name="Company Name 2", counterparty_account="NL56AGDH9619008421",  # the creditor of a debit
    )


def test_v4_takes_the_entry_amount_for_its_single_transaction_and_the_bank_reference():
    (statement,) = camt_parse(sample("camt053.v4.xml"))
    assert (statement.version, statement.statement_id, statement.account) == (
        "001.04", "253EURNL26VAYB8060476890", "NL26VAYB8060476890"
    )
    assert statement.opening_balance == Balance(1815, "EUR", date(2014, 12, 30))
    assert statement.closing_balance == Balance(-2700, "SEK", date(2014, 12, 30))
    (line,) = statement.lines
    # The detail says 0 SEK; the entry booked 8.85 EUR, which is what the account moved.
    assert (line.amount, line.currency) == (885, "EUR")
    assert line.bank_reference == "AAAASESS-FP-CN_98765/01"
    assert line.reference == "4654654654654654"
    assert line.counterparty_name == "NAME NAME"


def test_v8_reads_the_status_code_the_booking_date_time_and_parties_under_pty():
    (statement,) = camt_parse(sample("camt053.v8.xml"))
    assert (statement.version, statement.sequence, statement.currency) == ("001.08", "12312", "EUR")
    (line,) = statement.lines
    assert line == StatementLine(
        amount=885, currency="EUR", booking_date=date(2014, 12, 31), value_date=date(2015, 1, 2),
        reference="4654654654654654", end_to_end_id="MUELL/FINP/RA12345", bank_reference="AAAASESS-FP-CN_98765/01",
        counterparty_name="NAME NAME", counterparty_account="NL56AGDH9619008421",
    )


def test_camt054_v8_batch_whose_details_do_not_add_up_is_one_line_of_the_booking():
    (notification,) = camt_parse(sample("camt054.v8.xml"))
    assert (notification.format, notification.version) == (StatementFormat.CAMT_054, "001.08")
    assert notification.statement_id == "AAAASESS-FP-ACCR001"
    assert notification.account == "CH2801234000123456789"
    assert notification.currency == "SEK"  # no Acct/Ccy, no balances: the entry's
    assert (notification.opening_balance, notification.closing_balance) == (None, None)
    # A debit of 200000 SEK whose three details are CHF credits (3.1 + 3.2 + 3.2): they cannot
    # be the booking's parts, so the booking is one line with the entry's own fields.
    assert notification.lines == (
        StatementLine(
            amount=-20_000_000, currency="SEK", booking_date=date(2007, 10, 18), value_date=date(2007, 10, 18),
            bank_reference="ACSR160617103200001", description="Order",
        ),
    )


def test_the_wrong_sample_is_refused_with_its_line_and_reason():
    with pytest.raises(StatementRefused) as refused:
        camt_parse(sample("camt053.v2.wrong.xml"))
    assert refused.value.line == 3
    assert refused.value.reason == ("not valid against the camt.053.001.02 schema: Element 'BkToCstmrStmt': "
                                    "Missing child element(s). Expected is ( Stmt ).")
    assert str(refused.value) == f"line 3: {refused.value.reason}"


# ---------------------------------------------------------------- files made here


def party(role: str, name: str, iban: str, version: str) -> str:
    inner = f"<Nm>{name}</Nm>"
    # From 001.07 a related party is a choice of a party (Pty) or an agent.
    wrapped = f"<Pty>{inner}</Pty>" if version >= "001.07" else inner
    return f"<{role}>{wrapped}</{role}><{role}Acct><Id><IBAN>{iban}</IBAN></Id></{role}Acct>"


def entry(amount: str, sign: str, version: str, *, currency: str = "BHD", status: str = "BOOK",
          details: str = "", extra: str = "") -> str:
    # From 001.07 the status is a choice (Sts/Cd); before, the code itself.
    sts = f"<Sts><Cd>{status}</Cd></Sts>" if version >= "001.07" else f"<Sts>{status}</Sts>"
    return (
        f"<Ntry><Amt Ccy=\"{currency}\">{amount}</Amt><CdtDbtInd>{sign}</CdtDbtInd>{sts}"
        "<BookgDt><Dt>2026-11-29</Dt></BookgDt><ValDt><Dt>2026-11-30</Dt></ValDt>"
        f"<AcctSvcrRef>BANK-{amount}</AcctSvcrRef><BkTxCd><Prtry><Cd>NTRF</Cd></Prtry></BkTxCd>"
        f"{details}{extra}</Ntry>"
    )


def detail_amount(amount: str, sign: str, version: str) -> str:
    """A transaction detail's amount where its version's schema puts it: AmtDtls/TxAmt in 001.02,
    Amt and CdtDbtInd (required in 001.03 to 001.06) after."""
    if version == "001.02":
        return f"<AmtDtls><TxAmt><Amt Ccy=\"BHD\">{amount}</Amt></TxAmt></AmtDtls>"
    return f"<Amt Ccy=\"BHD\">{amount}</Amt><CdtDbtInd>{sign}</CdtDbtInd>"


def balance(code: str, amount: str, sign: str, day: str, currency: str = "BHD") -> str:
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"{currency}\">{amount}</Amt>"
        f"<CdtDbtInd>{sign}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>"
    )


def camt053(version: str, *, balances: str, entries: str, account: str = "<IBAN>BH67BMAG00001299123456</IBAN>",
            currency: str = "<Ccy>BHD</Ccy>") -> bytes:
    return (
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        f"<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.{version}\">\n"
        "<BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-30T06:00:00+03:00</CreDtTm></GrpHdr>\n"
        "<Stmt><Id>STMT-2026-11-29</Id><LglSeqNb>334</LglSeqNb><CreDtTm>2026-11-30T06:00:00+03:00</CreDtTm>\n"
        f"<Acct><Id>{account}</Id>{currency}</Acct>\n{balances}\n{entries}\n</Stmt></BkToCstmrStmt></Document>\n"
    ).encode()


def camt054(version: str, *, entries: str) -> bytes:
    return (
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        f"<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.{version}\">\n"
        "<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>N1</MsgId><CreDtTm>2026-11-29T10:00:00</CreDtTm></GrpHdr>\n"
        "<Ntfctn><Id>NTF-1</Id><ElctrncSeqNb>7</ElctrncSeqNb><CreDtTm>2026-11-29T10:00:00</CreDtTm>\n"
        "<Acct><Id><Othr><Id>0012991234</Id></Othr></Id></Acct>\n"
        f"{entries}\n</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>\n"
    ).encode()


def bhd_statement(version: str) -> bytes:
    payment = (
        "<NtryDtls><TxDtls><Refs><EndToEndId>pay_01M8FVRFV3</EndToEndId></Refs>"
        f"{detail_amount('12.500', 'CRDT', version)}"
        f"<RltdPties>{party('Dbtr', 'Demo Bakery W.L.L.', 'BH29BMAG1299123456BH00', version)}</RltdPties>"
        "<RmtInf><Ustrd>Invoice 2026-118</Ustrd><Ustrd>November</Ustrd></RmtInf></TxDtls></NtryDtls>"
    )
    payout = (
        "<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
        f"{detail_amount('1.000', 'DBIT', version)}"
        f"<RltdPties>{party('Cdtr', 'Alice Merchant', 'BH02CITI00001077181611', version)}</RltdPties>"
        "</TxDtls></NtryDtls>"
    )
    batch = "".join(
        "<TxDtls>"
        f"<Refs><AcctSvcrRef>B-{n}</AcctSvcrRef><EndToEndId>po_{n}</EndToEndId></Refs>"
        f"{detail_amount(amount, 'DBIT', version)}"
        f"<RltdPties>{party('Cdtr', f'Payee {n}', f'BH0{n}BMAG0000000000000{n}', version)}</RltdPties>"
        "</TxDtls>"
        for n, amount in ((1, "1.250"), (2, "2.005"))
    )
    return camt053(
        version,
        balances=balance("OPBD", "1000.000", "CRDT", "2026-11-28") + balance("CLBD", "1008.245", "CRDT", "2026-11-29"),
        entries=(
            entry("12.500", "CRDT", version, details=payment)
            + entry("1.000", "DBIT", version, details=payout, extra="<AddtlNtryInf>Payout po_9</AddtlNtryInf>")
            + entry("3.255", "DBIT", version, details=f"<NtryDtls>{batch}</NtryDtls>")
            + entry("99.999", "CRDT", version, status="PDNG")
        ),
    )


def test_bhd_v08_statement_in_fils_with_a_batch_split_per_transaction():
    (statement,) = camt_parse(bhd_statement("001.08"))
    assert (statement.version, statement.statement_id, statement.sequence) == ("001.08", "STMT-2026-11-29", "334")
    assert (statement.account, statement.currency) == ("BH67BMAG00001299123456", "BHD")
    assert statement.opening_balance == Balance(1_000_000, "BHD", date(2026, 11, 28))
    assert statement.closing_balance == Balance(1_008_245, "BHD", date(2026, 11, 29))
    assert statement.created_at == datetime(2026, 11, 30, 6, tzinfo=timezone(timedelta(hours=3)))
    common = {"currency": "BHD", "booking_date": date(2026, 11, 29), "value_date": date(2026, 11, 30)}
    assert statement.lines == (
        StatementLine(amount=12_500, reference="Invoice 2026-118 November", end_to_end_id="pay_01M8FVRFV3",
                      bank_reference="BANK-12.500", counterparty_name="Demo Bakery W.L.L.",
                      counterparty_account="BH29BMAG1299123456BH00", **common),
        StatementLine(amount=-1_000, bank_reference="BANK-1.000", counterparty_name="Alice Merchant",
                      counterparty_account="BH02CITI00001077181611", description="Payout po_9", **common),
        StatementLine(amount=-1_250, end_to_end_id="po_1", bank_reference="B-1", counterparty_name="Payee 1",
                      counterparty_account="BH01BMAG00000000000001", **common),
        StatementLine(amount=-2_005, end_to_end_id="po_2", bank_reference="B-2", counterparty_name="Payee 2",
                      counterparty_account="BH02BMAG00000000000002", **common),
    )  # the pending 99.999 is not a line
    assert sum(line.amount for line in statement.lines) == 1_008_245 - 1_000_000


@pytest.mark.parametrize("version", VERSIONS)
def test_every_camt053_version_claimed_reads_the_same_statement(version):
    (statement,) = camt_parse(bhd_statement(version))
    assert statement.version == version
    assert [line.amount for line in statement.lines] == [12_500, -1_000, -1_250, -2_005]
    assert statement.lines[0].counterparty_name == "Demo Bakery W.L.L."


def test_v05_file_reads_an_other_account_and_a_negative_closing_balance():
    content = camt053(
        "001.05",
        account="<Othr><Id>0012991234</Id></Othr>",
        balances=balance("PRCD", "5.000", "CRDT", "2026-11-28") + balance("CLAV", "2.500", "DBIT", "2026-11-29"),
        entries=entry("7.500", "DBIT", "001.05"),
    )
    (statement,) = camt_parse(content)
    assert (statement.version, statement.account) == ("001.05", "0012991234")
    assert statement.opening_balance == Balance(5_000, "BHD", date(2026, 11, 28))  # PRCD without OPBD
    assert statement.closing_balance == Balance(-2_500, "BHD", date(2026, 11, 29))  # CLAV without CLBD
    assert statement.lines == (
        StatementLine(amount=-7_500, currency="BHD", booking_date=date(2026, 11, 29), value_date=date(2026, 11, 30),
                      bank_reference="BANK-7.500"),
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_every_camt054_version_claimed_reads_a_notification(version):
    (notification,) = camt_parse(camt054(version, entries=entry("0.250", "CRDT", version)))
    assert (notification.format, notification.version) == (StatementFormat.CAMT_054, version)
    assert (notification.statement_id, notification.sequence, notification.account) == ("NTF-1", "7", "0012991234")
    assert notification.created_at == datetime(2026, 11, 29, 10)
    assert [(line.amount, line.currency) for line in notification.lines] == [(250, "BHD")]


def test_a_zero_decimal_currency_takes_whole_amounts():
    (statement,) = camt_parse(
        camt053("001.08", currency="<Ccy>JPY</Ccy>", balances=balance("CLBD", "1200", "CRDT", "2026-11-29", "JPY"),
                entries=entry("1200", "CRDT", "001.08", currency="JPY"))
    )
    assert statement.closing_balance == Balance(1200, "JPY", date(2026, 11, 29))
    assert [line.amount for line in statement.lines] == [1200]


# ---------------------------------------------------------------- refusals


SCHEMA_08 = "not valid against the camt.053.001.08 schema: "


def refusal(content: bytes) -> StatementRefused:
    with pytest.raises(StatementRefused) as refused:
        camt_parse(content)
    return refused.value


def test_four_decimals_in_bhd_are_refused_on_their_line():
    content = camt053("001.08", balances=balance("CLBD", "1.000", "CRDT", "2026-11-29"),
                      entries=entry("12.5001", "CRDT", "001.08"))
    error = refusal(content)
    assert error.line == 7
    assert error.reason.startswith("bad amount: '12.5001' has 4 fractional digits but BHD allows at most 3")


def test_padding_zeros_past_the_exponent_are_not_a_fourth_decimal():
    content = camt053("001.08", balances=balance("CLBD", "1.0000", "CRDT", "2026-11-29"),
                      entries=entry("12.5000", "CRDT", "001.08"))
    (statement,) = camt_parse(content)
    assert [line.amount for line in statement.lines] == [12_500]


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("-1.000", f"{SCHEMA_08}Element 'Amt': [facet 'minInclusive'] The value '-1.000' is less than the minimum"),
        ("1,000", f"{SCHEMA_08}Element 'Amt': '1,000' is not a valid value of the atomic type "
                  "'ActiveOrHistoricCurrencyAndAmount_SimpleType'."),
        ("1e3", f"{SCHEMA_08}Element 'Amt': '1e3' is not a valid value"),
        ("", f"{SCHEMA_08}Element 'Amt': '' is not a valid value"),
    ],
)
def test_bad_amounts_are_refused(amount, reason):
    content = camt053("001.08", balances=balance("CLBD", "1.000", "CRDT", "2026-11-29"),
                      entries=entry(amount, "CRDT", "001.08"))
    error = refusal(content)
    assert (error.line, error.reason[: len(reason)]) == (7, reason)


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        (b"not xml at all", 1, "not well-formed XML: Start tag expected, '<' not found"),
        (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.08'>\n<BkToCstmrStmt>\n</Document>", 3,
         "not well-formed XML: Opening and ending tag mismatch: BkToCstmrStmt line 2 and Document"),
        (b"<Document/>", 1, "the root element is Document, not the Document of a camt.053 or camt.054 message"),
        (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.052.001.08'/>", 1,
         "the file is a camt.052.001.08 message; fincore reads camt.053 and camt.054"),
        (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.09'/>", 1,
         "camt.053 version 001.09 is not read here (fincore reads 001.02 to 001.08)"),
        (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.01'/>", 1,
         "camt.053 version 001.01 is not read here (fincore reads 001.02 to 001.08)"),
        (b"<Stmt xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.08'/>", 1,
         "the root element is {urn:iso:std:iso:20022:tech:xsd:camt.053.001.08}Stmt, not the Document"),
    ],
)
def test_files_that_are_not_a_camt_statement_are_refused(content, line, reason):
    error = refusal(content)
    assert error.line == line
    assert error.reason.startswith(reason)


def test_a_doctype_is_refused_before_any_entity_is_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    content = (
        f'<?xml version="1.0"?>\n<!DOCTYPE Document [<!ENTITY x SYSTEM "file://{secret}">]>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>&x;</BkToCstmrStmt></Document>'
    ).encode()
    error = refusal(content)
    assert error.line == 2
    assert error.reason == "a document type declaration (<!DOCTYPE ...>) is not allowed in a camt file"
    assert "TOP SECRET" not in str(error)


@pytest.mark.parametrize(
    ("replace", "by", "line", "reason"),
    [
        ("<Id>STMT-2026-11-29</Id>", "", 4,
         f"{SCHEMA_08}Element 'LglSeqNb': This element is not expected. Expected is ( Id )."),
        ("<IBAN>BH67BMAG00001299123456</IBAN>", "<Prxy/>", 5,
         f"{SCHEMA_08}Element 'Prxy': This element is not expected. Expected is one of ( IBAN, Othr )."),
        ("<CdtDbtInd>CRDT</CdtDbtInd><Sts>", "<CdtDbtInd>CRED</CdtDbtInd><Sts>", 8,
         f"{SCHEMA_08}Element 'CdtDbtInd': [facet 'enumeration'] The value 'CRED' is not an element of the set "
         "{'CRDT', 'DBIT'}."),
        ("<Sts><Cd>BOOK</Cd></Sts>", "", 8,
         f"{SCHEMA_08}Element 'BookgDt': This element is not expected. Expected is one of ( RvslInd, Sts )."),
        ('<Amt Ccy="BHD">12.500</Amt>', '<Amt Ccy="XXX">12.500</Amt>', 8, "'XXX' is not an ISO 4217 currency code"),
        ('<Amt Ccy="BHD">12.500</Amt>', "<Amt>12.500</Amt>", 8,
         f"{SCHEMA_08}Element 'Amt': The attribute 'Ccy' is required but missing."),
        ("<Dt>2026-11-28</Dt>", "<Dt>28/11/2026</Dt>", 6,
         f"{SCHEMA_08}Element 'Dt': '28/11/2026' is not a valid value of the atomic type 'ISODate'."),
        ("<Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp>", "", 6,
         f"{SCHEMA_08}Element 'Amt': This element is not expected. Expected is ( Tp )."),
        ("<BookgDt><Dt>2026-11-29</Dt></BookgDt><ValDt><Dt>2026-11-30</Dt></ValDt>", "", 8,
         "a booked entry has neither BookgDt nor ValDt"),
    ],
)
def test_a_missing_or_malformed_element_is_refused_with_its_line(replace, by, line, reason):
    # The schema refuses most first; what it cannot see (a currency code that is not ISO 4217, an
    # entry without dates) the reading refuses.
    content = camt053(
        "001.08",
        balances=balance("OPBD", "1.000", "CRDT", "2026-11-28"),
        entries="\n" + entry("12.500", "CRDT", "001.08"),
    ).decode()
    assert replace in content
    error = refusal(content.replace(replace, by, 1).encode())
    assert (error.line, error.reason) == (line, reason)


def test_a_camt053_statement_without_balances_is_refused():
    error = refusal(camt053("001.08", balances="", entries=entry("1.000", "CRDT", "001.08")))
    assert (error.line, error.reason) == (
        7, f"{SCHEMA_08}Element 'Ntry': This element is not expected. Expected is one of ( RltdAcct, Intrst, Bal ).")


@pytest.mark.parametrize("message", ["camt.053", "camt.054"])
@pytest.mark.parametrize("version", VERSIONS)
def test_every_version_is_checked_against_its_own_schema(message, version):
    notification = camt054(version, entries=entry("0.250", "CRDT", version))
    valid = bhd_statement(version) if message == "camt.053" else notification
    assert camt_parse(valid)  # the generated file is valid against its version's XSD
    assert schema(message, version).validate(etree.fromstring(valid))
    # An element the schema does not know, on line 4: refused there, with the schema's reason.
    lines = valid.decode().split("\n")
    lines[3] = lines[3].replace("<Id>", "<Nickname>x</Nickname><Id>", 1)
    error = refusal("\n".join(lines).encode())
    assert error.line == 4
    assert error.reason == (f"not valid against the {message}.{version} schema: Element 'Nickname': This element "
                            "is not expected. Expected is ( Id ).")


def test_the_schemas_are_the_shipped_files_compiled_once():
    assert schema("camt.053", "001.08") is schema("camt.053", "001.08")
    assert sorted(path.name for path in XSD_DIR.glob("*.xsd")) == sorted(
        f"{message}.{version}.xsd" for message in ("camt.053", "camt.054") for version in VERSIONS)
    # Unmodified: each file's SHA-256 is the one its README records.
    recorded = dict(re.findall(
        r"\| `(camt\.\S+\.xsd)` \|.*\| `([0-9a-f]{64})` \|", (XSD_DIR / "README.md").read_text()))
    assert recorded == {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in XSD_DIR.glob("*.xsd")}


def test_a_str_is_not_a_file():
    with pytest.raises(TypeError, match="a statement file is bytes, not str"):
        camt_parse("<Document/>")  # type: ignore[arg-type]

"""MT940 and MT942 read into statements: the public samples in ../shared/samples/mt940 (their real
figures), files the tests write (an MT942, a BHD MT940 with three decimals, reversals), and
malformed files refused with the line and the reason."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from apps.reconciliation.adapters.swift import mt940_parse
from apps.reconciliation.data import Balance, StatementLine, StatementRefused
from tests.reconciliation import samples


# ../shared beside a clean clone (parents[2] is the repository); a worktree may sit deeper.
def sample(name: str) -> bytes:
    return samples.sample("mt940", name)


def mt(text: str) -> bytes:
    return text.strip().replace("\n", "\r\n").encode()


def test_asn_bank_a_month_of_daily_statements():
    statements = mt940_parse(sample("ASNB_mt940.txt"))

    assert len(statements) == 31
    assert [s.sequence for s in statements[:3]] == ["1/1", "2/1", "3/1"]
    assert {(s.format, s.statement_id, s.account, s.currency) for s in statements} == {
        ("mt940", "0000000000", "NL81ASNB9999999999", "EUR")}
    first, last = statements[0], statements[-1]
    assert first.opening_balance == Balance(44429, "EUR", date(2020, 1, 1))
    assert first.closing_balance == Balance(37929, "EUR", date(2020, 1, 1))
    assert last.closing_balance == Balance(50123, "EUR", date(2020, 1, 31))
    assert sum(len(s.lines) for s in statements) == 8
    assert first.lines == (StatementLine(
        amount=-6500, currency="EUR", booking_date=date(2020, 1, 1), value_date=date(2020, 1, 1),
        counterparty_name="hr gjlm paulissen", counterparty_account="NL47INGB9999999999",
        description="NL47INGB9999999999 hr gjlm paulissen\nBetaling sieraden"),)
    # every statement's lines add up from its opening to its closing balance
    for statement in statements:
        assert statement.opening_balance.amount + sum(line.amount for line in statement.lines) \
            == statement.closing_balance.amount


def test_abn_amro_final_then_intermediate_balances():
    first, second = mt940_parse(sample("jejik_abnamro.sta"))

    assert (first.statement_id, first.sequence, first.account) == ("ABN AMRO BANK NV", "19321/1", "517852257")
    assert first.opening_balance == Balance(323628, "EUR", date(2011, 5, 22))
    assert first.closing_balance == Balance(87684, "EUR", date(2011, 5, 23))
    assert len(first.lines) == 8
    assert sum(line.amount for line in first.lines) == -(900 + 1159 + 1163 + 1180 + 1345 + 1549 + 10700 + 14148)
    line = first.lines[1]  # :61:1105210523D11,59N426NONREF - a value date before its booking date
    assert (line.amount, line.value_date, line.booking_date, line.reference) == (
        -1159, date(2011, 5, 21), date(2011, 5, 23), "")
    assert line.description == "BEA   NR:XXX1234   21.05.11/12.54 DIRCKIII FIL2500 KATWIJK,PAS999"
    # :60M: and :62M: are the balances of a statement continued
    assert (second.sequence, second.opening_balance.amount, second.closing_balance.amount) == (
        "19322/1", 287684, 184975)
    assert [line.amount for line in second.lines] == [-949, -1500]


def test_ing_the_statement_level_86_is_not_read_into_the_last_line():
    (statement,) = mt940_parse(sample("jejik_ing.sta"))

    assert (statement.statement_id, statement.sequence, statement.account) == ("MPBZ", "000", "0001234567")
    assert statement.opening_balance == Balance(0, "EUR", date(2010, 7, 22))
    assert statement.closing_balance == Balance(347, "EUR", date(2010, 7, 23))
    assert [line.amount for line in statement.lines] == [-2503, -303, -111, -2000, -110, 368, 100]
    assert statement.lines[2].reference == "TMG TANGO"  # the :61: customer reference
    assert statement.lines[-1].description == (
        "0111111111 Hr S Marechal\nROSMALEN Hr S Marechal ROSMALEN\nBetaling transactiedatum: 22-07-2010")


def test_rabobank_slash_codes_give_the_counterparty_and_end_to_end_id():
    first, second = mt940_parse(sample("jejik_rabobank-iban.sta"))

    assert (first.statement_id, first.account, first.sequence) == ("940S130101", "NL71RABO0123456789", "0")
    assert (first.opening_balance.amount, first.closing_balance.amount, second.closing_balance.amount) == (
        100000, 96500, 93000)
    contra, john = first.lines
    assert (contra.amount, contra.end_to_end_id, contra.counterparty_name, contra.counterparty_account) == (
        -2500, "01-01-2013 12:00 0030000987654321", "CONTRA ACCOUNT HOLDER", "NL70ABNA0987654321")
    assert contra.reference == ""  # /REMI/ is empty and the :61: says only "EREF"
    assert (john.amount, john.reference, john.counterparty_name, john.booking_date) == (
        -1000, "Reference 201301234", "JOHN DOE", date(2013, 1, 2))


def test_cmxl_is_refused_for_its_deutsche_mark_statement():
    with pytest.raises(StatementRefused) as refused:
        mt940_parse(sample("cmxl_mt940.sta"))

    assert refused.value.line == 4  # :60F:C131016DEM84349,74
    assert refused.value.reason == "'DEM' is not an ISO 4217 currency"


def test_cmxl_structured_86_subfields():
    content = sample("cmxl_mt940.sta")
    in_euros_and_zloty = content[content.index(b":20:1234567"):]

    german, polish = mt940_parse(in_euros_and_zloty)

    assert (german.statement_id, german.sequence, german.account) == ("1234567", "5/1", "10020030/1234567")
    assert (german.opening_balance.amount, german.closing_balance.amount) == (218795, 438795)
    rent, salary = german.lines
    assert (rent.amount, rent.bank_reference, rent.reference, rent.counterparty_name, rent.counterparty_account) == (
        -80000, "55555", "Miete November", "MUELLER", "234567")
    assert (salary.amount, salary.booking_date) == (300000, date(2002, 11, 2))
    assert (polish.statement_id, polish.sequence, polish.account, polish.currency) == (
        "TELEWIZORY S.A.", "00084/001", "BPHKPLPK/320000546101", "PLN")
    assert [line.amount for line in polish.lines] == [2000000, -1000000, 4000]
    card = polish.lines[0]
    assert card.counterparty_name == "HUTA SZKLA TOPIC ULPRZEMYSLOWA 67 32-669 WROCLAW"  # ?32 and ?33
    assert card.counterparty_account == "0000777777777777"  # ?31
    assert card.bank_reference == "8327000090031789"
    assert polish.lines[1].reference.startswith("0810600076000077777777777715617INFO")


BHD_MT940 = """
{1:F01NBOBBHBMAXXX0000000000}{2:O940NBOBBHBMXXXXN}{4:
:20:STMT20261201
:25:BH67BMAG00001299123456
:28C:12/1
:60F:C261130BHD1000,000
:61:2612011201C12,500NTRFPAY-01J9Z//NBB778899
ACME TRADING
:86:/EREF/E2E-42/NAME/Acme Trading W.L.L./IBAN/BH29BMAG1299123456BH00/REMI/Invoice 77
:61:2612011201RC0,125NTRFNONREF//NBB778900
:86:Reversal of a credit
:61:2612011201RD2,000NMSCNONREF
:86:Reversal of a debit
:61:2612011201D50,005NCHGNONREF//NBB778901
:62F:C261201BHD964,370
-}
"""


def test_bhd_three_decimals_and_reversals_signed_from_the_holder_side():
    (statement,) = mt940_parse(mt(BHD_MT940))

    assert (statement.statement_id, statement.sequence, statement.account, statement.currency) == (
        "STMT20261201", "12/1", "BH67BMAG00001299123456", "BHD")
    assert statement.opening_balance == Balance(1000000, "BHD", date(2026, 11, 30))
    assert statement.closing_balance == Balance(964370, "BHD", date(2026, 12, 1))
    assert [line.amount for line in statement.lines] == [12500, -125, 2000, -50005]
    assert statement.opening_balance.amount + sum(line.amount for line in statement.lines) == 964370
    assert statement.lines[0] == StatementLine(
        amount=12500, currency="BHD", booking_date=date(2026, 12, 1), value_date=date(2026, 12, 1),
        reference="Invoice 77", end_to_end_id="E2E-42", bank_reference="NBB778899",
        counterparty_name="Acme Trading W.L.L.", counterparty_account="BH29BMAG1299123456BH00",
        description="/EREF/E2E-42/NAME/Acme Trading W.L.L./IBAN/BH29BMAG1299123456BH00/REMI/Invoice 77")
    assert statement.lines[3].description == ""


def test_more_decimals_than_the_currency_has_is_refused():
    with pytest.raises(StatementRefused) as refused:
        mt940_parse(mt(BHD_MT940.replace("D50,005NCHG", "D50,0051NCHG")))

    assert refused.value.line == 13
    assert "4 fractional digits but BHD allows at most 3" in refused.value.reason


MT942 = """
{1:F01NBOBBHBMAXXX0000000000}{2:O942NBOBBHBMXXXXN}{4:
:20:INTRA0001
:21:NONREF
:25:BH67BMAG00001299123456
:28C:7/2
:34F:BHDD0,
:34F:BHDC0,
:13D:2612011030+0300
:61:2612011201C250,000NTRFACQ-BATCH-9//NBB1
:86:/EREF/BATCH-9/NAME/Acquirer Settlement/REMI/Settlement 2026-11-30
:61:2612011201D10,000NTRFPO-77//NBB2
:90D:1BHD10,000
:90C:1BHD250,000
-}
"""


def test_mt942_has_floor_limits_a_creation_time_and_no_balances():
    (report,) = mt940_parse(mt(MT942))

    assert (report.format, report.statement_id, report.sequence, report.currency) == (
        "mt942", "INTRA0001", "7/2", "BHD")
    assert (report.opening_balance, report.closing_balance) == (None, None)
    assert report.created_at == datetime(2026, 12, 1, 10, 30, tzinfo=timezone(timedelta(hours=3)))
    assert [(line.amount, line.reference, line.bank_reference) for line in report.lines] == [
        (250000, "Settlement 2026-11-30", "NBB1"), (-10000, "PO-77", "NBB2")]
    assert report.lines[0].end_to_end_id == "BATCH-9"


def test_mt942_without_header_is_known_by_its_floor_limit_and_a_naive_time_is_bahrain_time():
    without_envelope = "\n".join(line for line in MT942.strip().splitlines()[1:-1]).replace("+0300", "")

    (report,) = mt940_parse(without_envelope.encode())

    assert report.format == "mt942"
    assert report.created_at.astimezone(UTC) == datetime(2026, 12, 1, 7, 30, tzinfo=UTC)


def test_latin_1_is_read_when_the_file_is_not_utf_8():
    content = mt(BHD_MT940.replace("Reversal of a debit", "Rückbuchung")).decode().encode("latin-1")

    (statement,) = mt940_parse(content)

    assert statement.lines[2].description == "Rückbuchung"


@pytest.mark.parametrize(("content", "line", "reason"), [
    (b"", None, "no MT940 or MT942 statement found (no :20: field)"),
    (b"hello\nworld\n", None, "no MT940 or MT942 statement found (no :20: field)"),
    (b":25:NL81ASNB9999999999\n:20:X\n", 1, "field :25: comes before any :20: transaction reference"),
    (b":20:X\n:28C:1/1\n:60F:C200101EUR1,00\n:62F:C200101EUR1,00\n", 1,
     "statement 'X' has no :25: account identification"),
    (b":20:\n:25:A\n:60F:C200101EUR1,00\n:62F:C200101EUR1,00\n", 1, "the :20: transaction reference is empty"),
    (b"\n:20:X\n:25:A\n:62F:C200101EUR1,00\n", 2, "statement 'X' has no opening balance (:60F: or :60M:)"),
    (b":20:X\n:25:A\n:60F:C200101EUR1,00\n", 1, "statement 'X' has no closing balance (:62F: or :62M:)"),
    (b":20:X\n:25:A\n:60F:C200101XYZ1,00\n:62F:C200101XYZ1,00\n", 3, "'XYZ' is not an ISO 4217 currency"),
    (b":20:X\n:25:A\n:60F:C200101EUR1,00\n:62F:C200101USD1,00\n", 4, "a balance in USD in a statement in EUR"),
    (b":20:X\n:25:A\n:60F:C200101EUR1,00\n:61:2001010101X5,00NTRFNONREF\n:62F:C200101EUR1,00\n", 4,
     "field :61: is not in the SWIFT format: '2001010101X5,00NTRFNONREF'"),
    (b":20:X\n:25:A\n:60F:C200101EUR1,00\n:61:2001010101D5,0,0NTRFNONREF\n:62F:C200101EUR1,00\n", 4,
     "field :61: has an amount that is not a number: '2001010101D5,0,0NTRFNONREF'"),
    (b":20:X\n:25:A\n:60F:C201301EUR1,00\n:62F:C200101EUR1,00\n", 3,
     "field :60F: cannot be read (month must be in 1..12): 'C201301EUR1,00'"),
    (b":20:X\n:25:A\n:60F:C200101EUR\n:62F:C200101EUR1,00\n", 3,
     "field :60F: has an amount that is not a number: 'C200101EUR'"),
    (b":20:X\n:25:A\n:60F:C200101EUR1,001\n:62F:C200101EUR1,00\n", 3,
     "amount 1.001: '1.001' has 3 fractional digits but EUR allows at most 2; round explicitly with from_decimal()"),
])
def test_malformed_files_are_refused_with_the_line_and_the_reason(content, line, reason):
    with pytest.raises(StatementRefused) as refused:
        mt940_parse(content)

    assert (refused.value.line, refused.value.reason) == (line, reason)


def test_one_bad_statement_refuses_the_whole_file():
    good = mt(BHD_MT940).decode()
    bad = good.replace("STMT20261201", "STMT20261202").replace(":25:BH67BMAG00001299123456\r\n", "")

    with pytest.raises(StatementRefused) as refused:
        mt940_parse((good + "\r\n" + bad).encode())

    assert refused.value.line == 17  # the second statement's :20:


def test_ing_cntp_gives_account_and_name_and_an_mt942_without_floor_limit_is_refused():
    ing = (b":20:P1\n:25:NL69INGB0123456789EUR\n:28C:1\n:60F:C261201EUR0,00\n:61:261201C1,00NTRFEREF//0001\n"
           b":86:/EREF/E-1/CNTP/NL08ABNA0123456789/ABNANL2A/J DOE/AMSTERDAM/REMI/USTD//Gift/\n"
           b":62F:C261201EUR1,00\n")
    (statement,) = mt940_parse(ing)
    line = statement.lines[0]
    assert (line.counterparty_account, line.counterparty_name, line.end_to_end_id, line.bank_reference) == (
        "NL08ABNA0123456789", "J DOE", "E-1", "0001")

    with pytest.raises(StatementRefused) as refused:
        mt940_parse(b"{2:O942XXXX}\n:20:I1\n:25:A\n:13D:2612011030+0300\n")
    assert (refused.value.line, refused.value.reason) == (2, "MT942 'I1' has no :34F: floor limit")

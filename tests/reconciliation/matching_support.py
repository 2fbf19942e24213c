"""Building statement lines and expectations for the matching tests, straight into the tables."""

import itertools
from datetime import date, timedelta

from apps.core import clock
from apps.core.ids import uuid7
from apps.reconciliation.models import BankStatement, BankStatementLine, Expectation, MatchingRule
from apps.treasury.models import NostroAccount

DAY = date(2031, 4, 7)
_counter = itertools.count(1)


def nostro(code: str = "nbb-bhd-01", currency: str = "BHD") -> NostroAccount:
    return NostroAccount.objects.get_or_create(
        code=code, defaults=dict(currency=currency, bank_name="National Bank", bic="NBOBBHBM",
                                 iban=f"BH{next(_counter):02d}NBOB00000000000{next(_counter):03d}"[:22],
                                 account_name="Fincore B.S.C."))[0]


def statement(nostro_code: str = "nbb-bhd-01", currency: str = "BHD", **balances) -> BankStatement:
    """A stored statement with no lines yet; ``balances`` (closing_balance=, closing_date=, ...) are
    set on creation: statements are append-only."""
    n = next(_counter)
    return BankStatement.objects.create(
        nostro_id=nostro_code, format="camt.053", statement_id=f"STMT-{n}", account="BH00", currency=currency,
        file_name=f"s{n}.xml", sha256=f"{n:064d}", content=b"", imported_at=clock.now(), imported_by="tests",
        **balances)


def lines(rows: list[dict], *, on: BankStatement | None = None) -> list[BankStatementLine]:
    """Each row: amount, and any of booking_date (DAY), reference, end_to_end_id, counterparty_name,
    description."""
    on = on or statement()
    start = on.lines.count()
    return BankStatementLine.objects.bulk_create(
        BankStatementLine(statement=on, position=start + index, currency=on.currency,
                          **{"booking_date": DAY, **row})
        for index, row in enumerate(rows, start=1))


def line(amount: int, **fields) -> BankStatementLine:
    return lines([{"amount": amount, **fields}])[0]


def expectation(amount: int, *, nostro_code: str = "nbb-bhd-01", currency: str = "BHD", source: str = "staff",
                expected_date: date = DAY, **fields) -> Expectation:
    now = clock.now()
    return Expectation.objects.create(
        nostro_id=nostro_code, currency=currency, amount=amount, expected_date=expected_date, source=source,
        source_id=f"src-{next(_counter)}", missing_after=now + timedelta(days=5), created_at=now, created_by="tests",
        **fields)


def only_rule(cardinality: str = "one_to_one", *criteria: dict, name: str = "Only") -> MatchingRule:
    """Disable every rule and add one enabled rule with these criteria."""
    MatchingRule.objects.update(enabled=False)
    now = clock.now()
    return MatchingRule.objects.create(id=uuid7(), name=name, priority=1000 + next(_counter), cardinality=cardinality,
                                       criteria=list(criteria), enabled=True, created_at=now, changed_at=now)

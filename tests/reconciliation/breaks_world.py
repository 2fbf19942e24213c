"""A BHD nostro with a statement, its lines and expectations, for the breaks and proof tests."""

from datetime import date, timedelta

from apps.core import clock
from apps.core.actors import Actor
from apps.ledger import services as ledger_services
from apps.ledger.data import AccountRef, AccountRole, TransferSpec
from apps.reconciliation.models import BankStatement, BankStatementLine, Expectation
from apps.treasury.models import NostroAccount

NOSTRO = "nbb-bhd-01"
ACTOR = Actor.system("tests.reconciliation")
_counter = iter(range(1, 10**6))


def nostro(code: str = NOSTRO) -> NostroAccount:
    return NostroAccount.objects.create(code=code, currency="BHD", bank_name="National Bank of Bahrain",
                                        bic="NBOBBHBM", iban=f"BH96NBOB0000009988776{next(_counter) % 10}",
                                        account_name="Fincore B.S.C.")


def statement(*amounts: int, closing_balance: int | None = None, closing_date: date | None = None,
              code: str = NOSTRO) -> BankStatement:
    """A camt.053 for ``code`` with one line per amount (booked on the closing date)."""
    number = next(_counter)
    day = closing_date or clock.now().date()
    found = BankStatement.objects.create(
        nostro_id=code, format="camt.053", version="001.08", statement_id=f"STMT-{number}", sequence=str(number),
        account="BH96NBOB00000099887766", currency="BHD", opening_balance=0, opening_date=day,
        closing_balance=closing_balance, closing_date=day if closing_balance is not None else None,
        file_name=f"s{number}.xml", sha256=f"{number:064d}", content=b"<Document/>", imported_at=clock.now(),
        imported_by="tests")
    for position, amount in enumerate(amounts, start=1):
        BankStatementLine.objects.create(statement=found, position=position, amount=amount, currency="BHD",
                                         booking_date=day, reference=f"REF-{number}-{position}")
    return found


def expectation(amount: int, *, state: str = "unreconciled", code: str = NOSTRO,
                expected_date: date | None = None) -> Expectation:
    now = clock.now()
    return Expectation.objects.create(
        nostro_id=code, currency="BHD", amount=amount, expected_date=expected_date or now.date(), source="staff",
        source_id=f"staff-{next(_counter)}", state=state, missing_after=now - timedelta(hours=1), created_at=now,
        created_by="tests")


def nostro_ref(code: str = NOSTRO) -> AccountRef:
    return AccountRef(AccountRole.NOSTRO, "BHD", True, name=code)


def suspense_ref() -> AccountRef:
    return AccountRef(AccountRole.SUSPENSE, "BHD", True)


def money_arrived(amount: int, code: str = NOSTRO) -> None:
    """The books record ``amount`` fils arriving at the nostro (from suspense, as a settlement would)."""
    ledger_services.transfer_create(spec=TransferSpec(
        client_id=f"tests:arrived:{next(_counter)}", debit_account_ref=nostro_ref(code),
        credit_account_ref=suspense_ref(), amount=amount, currency="BHD", livemode=True, code="tests"))

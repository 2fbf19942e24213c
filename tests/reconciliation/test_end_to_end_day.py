"""A day of the back office end to end, on the real stack: payments captured, settled and paid out
from the nostro, the bank's camt.053 for that nostro imported by `manage.py statement_import` in a
process of its own, matched, broken and proven by a reconciliation worker (the import's outbox
message through RabbitMQ), and the two breaks worked by a treasury operator and a supervisor until
the books equal the bank.

The day is the business date of the real now (its captures are made now); the back office's
morning after it closes (settlement run, payout file, the bank's status report, the statement) is
lived inside a time travel at least 25 hours ahead, so the merchants' bank accounts are old enough
to be paid. The captures
come from the live acquirer `sandbox_acquirer` through the settlement factory: the sandbox's card
simulators take test money only, and only live money is settled and paid out.

What the bank shows is made from what fincore sent, as the bank would book it: the acquirer's
settlement of the day's captures (one credit under the batch id it prints), Gulf Coffee's payout,
and a 2.500 BHD account fee nobody expected. Manama Tailors' payout is missing from it.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from apps.compliance import services as approvals
from apps.compliance.models import ApprovalRequest
from apps.core import clock
from apps.core.actors import Actor
from apps.ledger import selectors as ledger_selectors
from apps.ledger.data import AccountRef, AccountRole
from apps.merchants import services as merchants_services
from apps.payments.models import Payout
from apps.reconciliation.models import BalanceProof, BankStatement, Break, Expectation, Match
from apps.reconciliation.services import breaks as break_work
from apps.reconciliation.services.expectations import connector_settlements_expect, expectations_mark_missing
from apps.reconciliation.services.proof import balance_prove, nostro_ledger_balance, statement_end
from apps.settlement import selectors as settlement_selectors
from apps.settlement import services as settlement_services
from apps.settlement.models import SettlementTerms
from tests.factories.merchants import MerchantFactory
from tests.factories.payouts import payout_nostro
from tests.factories.settlement import ACTOR, CONNECTOR, captured
from tests.factories.staff import SUPERVISOR, TREASURY, staff_user, totp_code
from tests.settlement.test_payout_files import status_report
from tests.support.roles import roles_restore
from tests.support.seeds import matching_rules_restore, settlement_seeds_restore
from tests.support.workers import purge_all_queues, run_django_process, running_worker, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

NOSTRO_IBAN = "BH96NBOB00000099887766"  # the payout nostro's (tests.factories.payouts)
MERCHANT_IBAN, MERCHANT_BIC = "BH67BMAG00001299123456", "BMAGBHBM"
FEE = 2_500  # the bank's account fee, 2.500 BHD, that nothing expected


@pytest.fixture(autouse=True)
def migrated_rows(idle_sessions_ended_at_exit) -> None:
    """The roles, the BHD calendar, the default fee plan and the default matching rules the
    migrations made, put back after an earlier transactional test emptied the tables."""
    roles_restore()
    settlement_seeds_restore()
    matching_rules_restore()


def merchant(name: str):
    found = MerchantFactory(legal_name=name)
    merchants_services.bank_account_set(merchant_id=found.pk, currency="BHD", iban=MERCHANT_IBAN, bic=MERCHANT_BIC,
                                        beneficiary_name=name, actor=ACTOR, reason="onboarding")
    return found


def amount(minor: int) -> str:
    return f"{Decimal(abs(minor)) / 1000:.3f}"


def camt053(*, statement_id: str, opening: tuple[int, date], closing: tuple[int, date],
            entries: list[tuple[int, date, str, str, str]]) -> bytes:
    """The bank's end-of-day statement (camt.053.001.08) for the nostro. Each entry: signed amount
    in fils, booking date, end-to-end id, remittance, counterparty."""
    def balance(code: str, value: int, day: date) -> str:
        return (f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"BHD\">{amount(value)}</Amt>"
                f"<CdtDbtInd>{'CRDT' if value >= 0 else 'DBIT'}</CdtDbtInd><Dt><Dt>{day.isoformat()}</Dt></Dt></Bal>")

    def entry(index: int, value: int, day: date, end_to_end_id: str, remittance: str, party: str) -> str:
        role = "Dbtr" if value > 0 else "Cdtr"
        return (
            f"<Ntry><Amt Ccy=\"BHD\">{amount(value)}</Amt><CdtDbtInd>{'CRDT' if value > 0 else 'DBIT'}</CdtDbtInd>"
            f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{day.isoformat()}</Dt></BookgDt>"
            f"<ValDt><Dt>{day.isoformat()}</Dt></ValDt><AcctSvcrRef>NBB-{index}</AcctSvcrRef>"
            "<BkTxCd><Prtry><Cd>NTRF</Cd></Prtry></BkTxCd><NtryDtls><TxDtls>"
            f"<Refs><EndToEndId>{end_to_end_id or 'NOTPROVIDED'}</EndToEndId></Refs>"
            f"<RltdPties><{role}><Pty><Nm>{party}</Nm></Pty></{role}></RltdPties>"
            f"<RmtInf><Ustrd>{remittance}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
        )

    created = clock.now().isoformat(timespec="seconds")
    return (
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\"><BkToCstmrStmt>"
        f"<GrpHdr><MsgId>{statement_id}-MSG</MsgId><CreDtTm>{created}</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{statement_id}</Id><ElctrncSeqNb>1</ElctrncSeqNb><CreDtTm>{created}</CreDtTm>"
        f"<Acct><Id><IBAN>{NOSTRO_IBAN}</IBAN></Id><Ccy>BHD</Ccy></Acct>"
        f"{balance('OPBD', *opening)}{balance('CLBD', *closing)}"
        + "".join(entry(index, *row) for index, row in enumerate(entries, start=1))
        + "</Stmt></BkToCstmrStmt></Document>\n"
    ).encode()


def nostro_books(at: datetime) -> int:
    return nostro_ledger_balance(nostro_code="nbb-bhd-01", currency="BHD", as_of=at)


def test_a_day_captured_settled_paid_out_and_reconciled_until_the_books_equal_the_bank(tmp_path):
    purge_all_queues()
    payout_nostro()
    SettlementTerms.objects.filter(merchant__isnull=True).update(payout_minimum=0)
    coffee, tailors = merchant("Gulf Coffee W.L.L."), merchant("Manama Tailors")
    now = clock.now()
    day = settlement_selectors.business_date(currency="BHD", at=now)
    captured(coffee, 100_000, at=now)  # 100.000 BHD
    captured(coffee, 40_000, at=now)
    captured(tailors, 20_000, at=now)
    operator, supervisor = staff_user(TREASURY), staff_user(SUPERVISOR)

    # The morning after the day closes, and at least 25 hours on (a bank account waits 24 hours).
    morning = max(now + timedelta(hours=25),
                  settlement_selectors.cutoff_at(currency="BHD", business_date=day) + timedelta(hours=16))
    with running_worker("reconciliation"), time_machine.travel(morning, tick=True):
        # The next morning: the day is settled and paid out from the nostro; the bank accepts both.
        settlement_services.settlement_run(business_date=day, currency="BHD", actor=ACTOR)
        payout_file = settlement_services.payout_file_create(currency="BHD", actor=ACTOR)
        coffee_payout, tailors_payout = (Payout.objects.get(merchant_id=m.pk) for m in (coffee, tailors))
        settlement_services.status_report_import(document=status_report(
            "NBB-STS-1", payout_file.message_id,
            {coffee_payout.end_to_end_id: ("ACSC", None), tailors_payout.end_to_end_id: ("ACSC", None)}), actor=ACTOR)
        coffee_payout.refresh_from_db()
        tailors_payout.refresh_from_db()
        assert (coffee_payout.status, tailors_payout.status) == ("paid", "paid")

        # What reconciliation now expects: both payouts (from payments' events, by the worker) and
        # the acquirer's settlement of the day (the hourly task).
        wait_until(lambda: Expectation.objects.filter(source="payout").count() == 2, timeout=60,
                   message="both payouts expected")
        connector_settlements_expect(now=clock.now())
        [settlement] = Expectation.objects.filter(source="connector_settlement")
        assert (settlement.amount, settlement.metadata["connector"]) == (160_000, CONNECTOR)
        coffee_expected = Expectation.objects.get(source="payout", source_id=str(coffee_payout.pk))
        tailors_expected = Expectation.objects.get(source="payout", source_id=str(tailors_payout.pk))

        # The bank's statement: the settlement in, Gulf Coffee's payout out, a fee; no Manama Tailors.
        opening_day = settlement.expected_date - timedelta(days=1)
        closing_day = max(settlement.expected_date, coffee_expected.expected_date)
        closing = 160_000 - coffee_payout.amount - FEE
        document = camt053(statement_id=f"NBB-{closing_day:%Y%m%d}", opening=(0, opening_day),
                           closing=(closing, closing_day), entries=[
                               (160_000, settlement.expected_date, "", settlement.reference, "Sandbox Acquirer"),
                               (-coffee_payout.amount, coffee_expected.expected_date, coffee_payout.end_to_end_id,
                                coffee_expected.reference, "Gulf Coffee W.L.L."),
                               (-FEE, closing_day, "", "Account maintenance fee", "National Bank of Bahrain"),
                           ])
        path = tmp_path / "nbb-statement.xml"
        path.write_bytes(document)
        imported = run_django_process(
            f"from django.core.management import call_command\ncall_command('statement_import', {str(path)!r}, "
            "'--json')", timeout=120)
        assert imported.returncode == 0, imported.stderr
        statement = BankStatement.objects.get()
        assert (statement.opening_balance, statement.closing_balance) == (0, closing)

        # The worker matched it, opened a break for the fee, and proved the statement: it differs by
        # Manama Tailors' payout, which the books say left and the bank does not show.
        wait_until(lambda: BalanceProof.objects.filter(statement=statement).exists(), timeout=90,
                   message="the statement matched and proven by the reconciliation worker")
        assert Match.objects.count() == 2
        settlement.refresh_from_db()
        coffee_expected.refresh_from_db()
        assert (settlement.state, coffee_expected.state) == ("reconciled", "reconciled")
        [first_proof] = BalanceProof.objects.filter(statement=statement)
        assert (first_proof.status, first_proof.statement_balance) == ("differs", closing)
        assert abs(first_proof.difference) == abs(tailors_payout.amount - FEE)
        [fee_break] = Break.objects.filter(status="open")
        assert (fee_break.kind, fee_break.amount) == ("unmatched_line", -FEE)

        # Past its SLA, the tailors' payout is missing, and a break too.
        expectations_mark_missing(now=tailors_expected.missing_after + timedelta(seconds=1))
        break_work.breaks_sync()
        missing_break = Break.objects.get(expectation=tailors_expected)
        assert (missing_break.status, missing_break.amount) == ("open", -tailors_payout.amount)

        # The operator works both: assigns them, says what they are, and asks to clear each through
        # suspense; a supervisor approves each with a fresh code.
        actor = Actor.staff(operator)
        for found in (fee_break, missing_break):
            break_work.break_assign(break_id=found.pk, user=operator, actor=actor)
            request = approvals.approval_request_create(
                action=break_work.BREAK_ADJUST, arguments={"break_id": str(found.pk)}, user=operator,
                reason="NBB charged its monthly fee" if found == fee_break
                else "NBB has not executed the payout yet; parked in suspense until it does")
            if request.state == ApprovalRequest.State.PENDING:
                approvals.approval_request_approve(request_id=request.pk, user=supervisor,
                                                   otp_token=totp_code(supervisor, steps=int(found == missing_break)))
            request.refresh_from_db()
            assert request.state == ApprovalRequest.State.EXECUTED, request.outcome

        assert set(Break.objects.values_list("status", "resolution")) == {("resolved", "adjusted")}
        suspense = ledger_selectors.role_account_balances(ref=AccountRef(AccountRole.SUSPENSE, "BHD", True))
        assert suspense.debits_posted - suspense.credits_posted == FEE - tailors_payout.amount

        # The books now equal the bank.
        proof = balance_prove(statement_id=statement.pk, actor=actor)
        assert (proof.status, proof.ledger_balance, proof.statement_balance) == ("agreed", closing, closing)
        assert nostro_books(statement_end(statement)) == statement.closing_balance

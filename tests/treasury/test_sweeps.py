"""Sweeps between nostros: requested by a treasury operator, sent at once under the BHD policy's
10,000.000 BHD threshold or after a supervisor's approval above it; one ledger transfer and one
schema-valid pain.001 each, however often it is executed; refusals store nothing."""

import hashlib
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from lxml import etree

from apps.audit.models import AuditEvent
from apps.compliance import services as compliance_services
from apps.compliance.models import ApprovalRequest
from apps.core.actors import Actor
from apps.events.outbox.models import OutboxMessage
from apps.ledger.data import AccountRef, AccountRole
from apps.ledger.models import Transfer
from apps.settlement.adapters.iso20022 import schema_validate
from apps.treasury.models import NostroAccount, Sweep
from apps.treasury.selectors.sweeps import nostro_money_at_bank
from apps.treasury.services import sweeps
from tests.factories import ledger as ledger_factories
from tests.factories.staff import SUPERVISOR, SUPPORT, TREASURY, staff_user, totp_code

pytestmark = pytest.mark.django_db

PAIN = "{urn:iso:std:iso:20022:tech:xsd:pain.001.001.09}"
NBB_IBAN = "BH96NBOB00000099887766"
BBK_IBAN = "BH27BBKU00100000123456"


def nostro(code: str, *, currency: str = "BHD", iban: str = NBB_IBAN, bic: str = "NBOBBHBM",
           bank: str = "National Bank of Bahrain") -> NostroAccount:
    return NostroAccount.objects.create(code=code, currency=currency, bank_name=bank, bic=bic, iban=iban,
                                        account_name="Fincore B.S.C.")


def arrive(code: str, amount: int, *, currency: str = "BHD") -> None:
    """Money arrives at nostro ``code`` (as a statement would show): debit it, credit suspense."""
    outcome = ledger_factories.post_one(AccountRef(AccountRole.NOSTRO, currency, True, name=code),
                                        AccountRef(AccountRole.SUSPENSE, currency, True), amount, currency=currency,
                                        livemode=True)
    assert outcome.result == "ok", outcome


@pytest.fixture
def accounts():
    nbb = nostro("nbb-bhd-01")
    bbk = nostro("bbk-bhd-01", iban=BBK_IBAN, bic="BBKUBHBM", bank="Bank of Bahrain and Kuwait")
    arrive("nbb-bhd-01", 50_000_000)  # 50,000.000 BHD at NBB
    return nbb, bbk


def request(user, amount: int, *, source: str = "nbb-bhd-01", target: str = "bbk-bhd-01") -> Sweep:
    return sweeps.sweep_request(user=user, from_nostro=source, to_nostro=target, amount=amount,
                                execution_date=date(2027, 3, 14), reason="fund BBK for Sunday's payouts")


def sweep_transfers() -> list[Transfer]:
    return list(Transfer.objects.filter(code="sweep"))


def test_a_sweep_under_the_threshold_is_sent_at_once_with_one_transfer_and_a_valid_pain001(accounts):
    maker = staff_user(TREASURY)
    sweep = request(maker, 1_250_500)  # 1,250.500 BHD

    assert sweep.status == Sweep.Status.SENT
    [transfer] = sweep_transfers()
    assert (transfer.amount, transfer.currency, transfer.pk) == (1_250_500, "BHD", sweep.transfer_id)
    # fincore's own namespace of client ids: no merchant can take the sweep's id first.
    assert transfer.client_id == f"fincore:sweep:{sweep.pk}"
    assert nostro_money_at_bank(code="nbb-bhd-01", currency="BHD") == 50_000_000 - 1_250_500
    assert nostro_money_at_bank(code="bbk-bhd-01", currency="BHD") == 1_250_500

    document = bytes(sweep.file)
    schema_validate(document, "pain.001.001.09")
    assert sweep.file_sha256 == hashlib.sha256(document).hexdigest()
    root = etree.fromstring(document)
    assert root.findtext(f".//{PAIN}DbtrAcct/{PAIN}Id/{PAIN}IBAN") == NBB_IBAN
    assert root.findtext(f".//{PAIN}CdtrAcct/{PAIN}Id/{PAIN}IBAN") == BBK_IBAN
    assert root.findtext(f".//{PAIN}CdtrAgt/{PAIN}FinInstnId/{PAIN}BICFI") == "BBKUBHBM"
    amount = root.find(f".//{PAIN}InstdAmt")
    assert (amount.text, amount.get("Ccy")) == ("1250.500", "BHD")
    assert root.findtext(f".//{PAIN}EndToEndId") == sweep.end_to_end_id
    assert root.findtext(f".//{PAIN}ReqdExctnDt/{PAIN}Dt") == "2027-03-14"
    assert Decimal(root.findtext(f".//{PAIN}GrpHdr/{PAIN}CtrlSum")) == Decimal("1250.500")

    approval = ApprovalRequest.objects.get(pk=sweep.approval_request)
    assert (approval.state, approval.amount, approval.currency) == ("executed", 1_250_500, "BHD")
    steps = list(AuditEvent.objects.filter(object_type="treasury.sweep").order_by("id")
                 .values_list("action", flat=True))
    assert steps == ["treasury.sweep_requested", "treasury.sweep_approved", "treasury.sweep_sent"]


def test_a_sweep_above_the_threshold_waits_and_the_checkers_approval_sends_it(accounts):
    # The maker is a supervisor too: four eyes hold even for someone who may approve others' requests.
    maker, checker = staff_user(TREASURY, SUPERVISOR), staff_user(SUPERVISOR)
    sweep = request(maker, 10_000_001)  # one fil above 10,000.000 BHD

    assert sweep.status == Sweep.Status.REQUESTED
    assert (sweep.file, sweep.transfer_id) == (None, None)
    assert sweep_transfers() == []
    approval = ApprovalRequest.objects.get(pk=sweep.approval_request)
    assert approval.state == "pending"

    with pytest.raises(compliance_services.MakerCannotCheck):
        compliance_services.approval_request_approve(request_id=approval.pk, user=maker, otp_token=totp_code(maker))
    sweep.refresh_from_db()
    assert sweep.status == Sweep.Status.REQUESTED and sweep_transfers() == []

    compliance_services.approval_request_approve(request_id=approval.pk, user=checker, otp_token=totp_code(checker))
    sweep.refresh_from_db()
    approval.refresh_from_db()
    assert (approval.state, sweep.status) == ("executed", Sweep.Status.SENT)
    [transfer] = sweep_transfers()
    assert transfer.amount == 10_000_001
    schema_validate(bytes(sweep.file), "pain.001.001.09")


def test_a_rejected_sweep_is_rejected_and_an_expired_one_cancelled_with_nothing_moved(accounts):
    maker, checker = staff_user(TREASURY), staff_user(SUPERVISOR)
    rejected, expired = request(maker, 10_000_001), request(maker, 10_000_002)

    compliance_services.approval_request_reject(request_id=rejected.approval_request, user=checker,
                                                reason="Not this week: the BBK account is being closed.")
    with time_machine.travel(timedelta(hours=73)):  # past the policy's 72 hours
        assert compliance_services.approval_requests_expire() == 1

    rejected.refresh_from_db()
    expired.refresh_from_db()
    assert (rejected.status, expired.status) == (Sweep.Status.REJECTED, Sweep.Status.CANCELLED)
    assert sweep_transfers() == [] and (rejected.file, expired.file) == (None, None)
    steps = set(AuditEvent.objects.filter(object_type="treasury.sweep").values_list("action", flat=True))
    assert {"treasury.sweep_rejected", "treasury.sweep_cancelled"} <= steps


def test_exactly_the_threshold_is_sent_at_once(accounts):
    assert request(staff_user(TREASURY), 10_000_000).status == Sweep.Status.SENT


def _nothing_stored() -> None:
    assert Sweep.objects.count() == 0
    assert ApprovalRequest.objects.count() == 0
    assert sweep_transfers() == []
    assert not AuditEvent.objects.filter(action__startswith="treasury.sweep").exists()
    assert not AuditEvent.objects.filter(action__startswith="compliance.").exists()


@pytest.mark.parametrize(("amount", "source", "target", "refusal"), [
    (1_000, "nbb-bhd-01", "nbb-usd-01", sweeps.SweepCurrencyMismatch),
    (1_000, "nbb-bhd-01", "nbb-bhd-01", sweeps.SweepSameNostro),
    (0, "nbb-bhd-01", "bbk-bhd-01", sweeps.SweepAmountInvalid),
    (-5, "nbb-bhd-01", "bbk-bhd-01", sweeps.SweepAmountInvalid),
    (50_000_001, "nbb-bhd-01", "bbk-bhd-01", sweeps.SweepExceedsBalance),
    (1_000, "nbb-bhd-01", "nowhere", sweeps.SweepNostroUnknown),
])
def test_refused_sweeps_store_nothing(accounts, amount, source, target, refusal):
    nostro("nbb-usd-01", currency="USD", iban="BH22NOBO00000099887767")
    with pytest.raises(refusal):
        request(staff_user(TREASURY), amount, source=source, target=target)
    _nothing_stored()


def test_someone_without_the_permission_cannot_request_one(accounts):
    with pytest.raises(compliance_services.NotAMaker):
        request(staff_user(SUPPORT), 1_000)
    _nothing_stored()


def test_the_balance_is_read_again_when_the_checker_approves(accounts):
    maker, checker = staff_user(TREASURY), staff_user(SUPERVISOR)
    sweep = request(maker, 30_000_000)
    request(maker, 10_000_000)
    # 10,000.000 BHD left at once: 40,000.000 BHD remain, enough for either request, not for both.
    assert nostro_money_at_bank(code="nbb-bhd-01", currency="BHD") == 40_000_000
    second = request(maker, 25_000_000)
    compliance_services.approval_request_approve(request_id=sweep.approval_request, user=checker,
                                                 otp_token=totp_code(checker))
    approval = ApprovalRequest.objects.get(pk=second.approval_request)
    compliance_services.approval_request_approve(request_id=approval.pk, user=checker,
                                                 otp_token=totp_code(checker, steps=1))
    approval.refresh_from_db()
    second.refresh_from_db()
    assert approval.state == "failed" and "cannot leave it" in approval.outcome
    # Refused when run, it will not happen: the sweep says so (maker-checker's closed hook).
    assert second.status == Sweep.Status.REJECTED and second.transfer_id is None
    assert [transfer.amount for transfer in sweep_transfers()] == [10_000_000, 30_000_000]


def test_executing_twice_posts_once(accounts):
    maker, checker = staff_user(TREASURY), staff_user(SUPERVISOR)
    sweep = request(maker, 12_000_000)
    compliance_services.approval_request_approve(request_id=sweep.approval_request, user=checker,
                                                 otp_token=totp_code(checker))
    sweep.refresh_from_db()
    first_file = bytes(sweep.file)

    said = sweeps.sweep_execute(sweep_id=sweep.pk, actor=Actor.system("tests.retry"), reason="retry")

    assert said.endswith("was sent already.")
    assert len(sweep_transfers()) == 1
    sweep.refresh_from_db()
    assert bytes(sweep.file) == first_file
    assert AuditEvent.objects.filter(action="treasury.sweep_sent").count() == 1


def test_a_retry_after_a_crash_before_the_sweep_was_marked_posts_the_same_transfer_once(accounts):
    """The transfer's client id is the sweep's: had a first attempt posted and then died before the
    sweep's row said sent (its transaction rolled back), the retry still posts one transfer."""
    maker = staff_user(TREASURY)
    sweep = request(maker, 20_000_000)  # waits for a checker
    sweeps.sweep_execute(sweep_id=sweep.pk, actor=Actor.system("tests.first"), reason="first")
    Sweep.objects.filter(pk=sweep.pk).update(status="requested", file=None, file_sha256="", transfer_id=None,
                                             sent_at=None)
    sweeps.sweep_execute(sweep_id=sweep.pk, actor=Actor.system("tests.retry"), reason="retry")
    assert len(sweep_transfers()) == 1
    assert Sweep.objects.get(pk=sweep.pk).status == Sweep.Status.SENT


def test_the_database_refuses_a_sweep_to_itself_or_of_nothing(accounts):
    from django.db import IntegrityError, transaction
    base = {"currency": "BHD", "execution_date": date(2027, 3, 14), "requested_by": "tests", "reason": "tests",
            "created_at": "2027-03-14T09:00:00Z"}
    for number, fields in enumerate(({"from_nostro_id": "nbb-bhd-01", "to_nostro_id": "nbb-bhd-01", "amount": 5},
                                     {"from_nostro_id": "nbb-bhd-01", "to_nostro_id": "bbk-bhd-01", "amount": 0})):
        with pytest.raises(IntegrityError), transaction.atomic():
            Sweep.objects.create(end_to_end_id=f"SWTEST{number}", **base, **fields)


def test_sent_publishes_on_the_outbox_when_someone_listens(accounts, monkeypatch):
    from apps.events.outbox import subscriptions

    # A listener of the test's own beside the real ones (reconciliation's), all put back after.
    monkeypatch.setitem(subscriptions._subscriptions, "treasury.sweep_sent",
                        list(subscriptions.subscribers("treasury.sweep_sent")))
    subscriptions.subscribe("treasury.sweep_sent", task="tests.sweep_sent", queue="default")
    sweep = request(staff_user(TREASURY), 1_000)
    [message] = OutboxMessage.objects.filter(task_name="tests.sweep_sent")
    event = message.kwargs["event"]
    assert event["type"] == "treasury.sweep_sent"
    assert event["data"]["end_to_end_id"] == sweep.end_to_end_id and event["data"]["amount"] == 1_000

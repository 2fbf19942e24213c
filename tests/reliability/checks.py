"""What the chaos run asserts once the stream is over, read from the run's own database (Django's
ORM on the chaos settings; import this module only after ``django.setup()``).

- every acknowledged payment reaches a final status (succeeded, failed, canceled,
  requires_capture) within FINAL_WITHIN of the stream's end, and so does every other payment
  of the merchant (those whose client gave up);
- one payment per Idempotency-Key: every acknowledged key has exactly one payment, the one its
  answer named; no key has two; no payment has a key the clients never sent;
- every customer was charged once: the sandbox card acquirers (whose network remembers every
  operation) approved exactly one authorization for each succeeded payment, and none for a
  failed one;
- every acknowledged transfer is in the ledger once, under its key, as acknowledged;
- the merchant's pending balance (``GET /api/v1/balance``) equals what its payments captured;
- ``manage.py ledger_verify`` and ``manage.py audit_verify`` pass.
"""

import io
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection
from django.db.models import Count, QuerySet, Sum

from apps.audit.models import AuditEvent
from apps.core import ids
from apps.ledger.models import Transfer
from apps.payments.models import Payment, PaymentAttempt
from apps.routing.models import SandboxOperation
from tests.reliability.stream import Stream, api_call

FINAL = (Payment.Status.SUCCEEDED, Payment.Status.FAILED, Payment.Status.CANCELED, Payment.Status.REQUIRES_CAPTURE)
FINAL_WITHIN = 180.0


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Findings:
    checks: list[Check] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, ok, detail))

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]


def _fresh_connection() -> None:
    """The harness's connection may predate a PostgreSQL restart: start the next query anew."""
    connection.close()


def _payments(merchant_id: UUID) -> QuerySet[Payment]:
    return Payment.objects.filter(merchant_id=merchant_id, livemode=False)


def wait_final(merchant_id: UUID, log: Callable[[str], None], *, within: float = FINAL_WITHIN,
               tick: Callable[[], object] = lambda: None) -> float:
    """Wait until none of the merchant's payments is processing, at most ``within`` seconds,
    calling ``tick`` every second (the supervisor's round); returns how long it took (``within``
    or more when some still are)."""
    started = time.monotonic()
    last_report = 0.0
    while True:
        try:
            _fresh_connection()
            processing = _payments(merchant_id).filter(status=Payment.Status.PROCESSING).count()
        except DatabaseError as error:
            log(f"waiting for final statuses: database unavailable ({error!r})")
            processing = -1
        waited = time.monotonic() - started
        if processing == 0:
            return waited
        if waited >= within:
            return waited
        if waited - last_report >= 15:
            last_report = waited
            log(f"waiting for final statuses: {processing} payments still processing after {waited:.0f} s")
        tick()
        time.sleep(1)


def _history(payment: Payment) -> str:
    """A payment's attempts and journal, with times (UTC): what happened to it."""
    attempts = ", ".join(
        f"#{attempt.sequence} {attempt.connector} {attempt.status}"
        f"{' ' + attempt.error_code if attempt.error_code else ''} (updated {attempt.updated_at:%H:%M:%S})"
        for attempt in payment.attempts.order_by("sequence")
    ) or "no attempt"
    objects = [str(payment.pk), *(str(pk) for pk in payment.attempts.values_list("pk", flat=True))]
    events = ", ".join(
        f"{event.action} {event.occurred_at:%H:%M:%S}"
        for event in AuditEvent.objects.filter(object_id__in=objects).order_by("id")[:12]
    )
    return (f"{ids.encode('pay', payment.pk)} (key {payment.request_idempotency_key}, created "
            f"{payment.created_at:%H:%M:%S}, updated {payment.updated_at:%H:%M:%S}): attempts {attempts}"
            f"{'; journal ' + events if events else ''}")


def check_payments(findings: Findings, merchant_id: UUID, stream: Stream, waited: float, within: float) -> None:
    acknowledged = stream.of_kind("payment")
    by_id = {ids.decode("pay", ack.public_id): ack for ack in acknowledged}
    _fresh_connection()
    payments = list(_payments(merchant_id).only("id", "status", "created_at", "updated_at",
                                                "request_idempotency_key", "failure_code", "amount_captured"))
    rows = {payment.pk: payment for payment in payments}
    statuses = Counter(payment.status for payment in payments)
    findings.figures["payments"] = len(payments)
    findings.figures["payment_statuses"] = dict(statuses)
    findings.figures["failure_codes"] = dict(Counter(p.failure_code for p in payments if p.failure_code))

    missing = [ack.public_id for payment_id, ack in by_id.items() if payment_id not in rows]
    findings.add("acknowledged payments stored", not missing,
                 f"{len(by_id) - len(missing)} of {len(by_id)} in the database"
                 + (f"; missing: {', '.join(missing[:5])}" if missing else ""))

    final = [rows[pid] for pid in by_id if pid in rows and rows[pid].status in FINAL]
    not_final = [rows[pid] for pid in by_id if pid in rows and rows[pid].status not in FINAL]
    longest, slowest = 0.0, None
    for payment in final:
        took = payment.updated_at.timestamp() - by_id[payment.pk].at
        if took > longest:
            longest, slowest = took, payment
    longest_id = ids.encode("pay", slowest.pk) if slowest else ""
    findings.figures.update(acknowledged_payments=len(by_id), final=len(final), longest_to_final_s=round(longest, 1),
                            longest_to_final_payment=longest_id, drain_s=round(waited, 1),
                            slowest_payment=_history(slowest) if slowest else "",
                            slowest_acknowledged_at=_utc(by_id[slowest.pk].at) if slowest else "")
    drained = f"all final {waited:.0f} s after it" if waited < within else "not all final by then"
    detail = (f"{len(final)} of {len(by_id)} final {within:.0f} s after the stream at the latest ({drained}); "
              f"longest acknowledgment to final {longest:.1f} s ({longest_id})")
    if not_final:
        detail += "; still processing: " + "; ".join(_history(p) for p in not_final[:5])
    findings.add("acknowledged payments final", not not_final and not missing, detail)

    unacknowledged = [p for pid, p in rows.items() if pid not in by_id]
    stuck = [p for p in unacknowledged if p.status not in FINAL]
    findings.add("every other payment final", not stuck,
                 f"{len(unacknowledged)} payments whose client gave up, {len(unacknowledged) - len(stuck)} final"
                 + ("; still processing: " + "; ".join(_history(p) for p in stuck[:5]) if stuck else ""))

    keys = Counter(payment.request_idempotency_key for payment in payments)
    doubled = {key: count for key, count in keys.items() if count > 1}
    unknown_keys = [key for key in keys if key not in stream.sent_keys]
    wrong = [ack.key for pid, ack in by_id.items() if pid in rows and rows[pid].request_idempotency_key != ack.key]
    acked_keys = {ack.key for ack in acknowledged}
    findings.figures["payments_per_key_max"] = max(keys.values(), default=0)
    findings.add(
        "one payment per Idempotency-Key", not doubled and not unknown_keys and not wrong,
        f"{len(keys)} keys, {len(payments)} payments, at most {max(keys.values(), default=0)} per key; "
        f"{len(acked_keys)} acknowledged keys each with the payment its answer named"
        + (f"; keys with several payments: {dict(list(doubled.items())[:5])}" if doubled else "")
        + (f"; payments with keys never sent: {unknown_keys[:5]}" if unknown_keys else "")
        + (f"; keys whose payment is not the one acknowledged: {wrong[:5]}" if wrong else ""),
    )


def check_charges(findings: Findings, merchant_id: UUID) -> None:
    """What the connectors did, against what the payments say."""
    _fresh_connection()
    payments = _payments(merchant_id)
    approved = Counter(dict(
        SandboxOperation.objects.filter(kind=SandboxOperation.Kind.AUTHORIZE, outcome=SandboxOperation.Outcome.APPROVED,
                                        payment_id__in=payments.values("pk"))
        .values("payment_id").annotate(count=Count("id")).values_list("payment_id", "count")
    ))
    statuses = dict(payments.values_list("pk", "status"))
    twice = [pid for pid, count in approved.items() if count > 1]
    succeeded = [pid for pid, status in statuses.items() if status == Payment.Status.SUCCEEDED]
    uncharged = [pid for pid in succeeded if not approved[pid]]
    charged_failed = [pid for pid, status in statuses.items() if status == Payment.Status.FAILED and approved[pid]]
    findings.figures["connector_approvals"] = sum(approved.values())
    findings.add(
        "customers charged once", not twice and not uncharged and not charged_failed,
        f"{sum(approved.values())} authorizations approved at the connectors for {len(succeeded)} succeeded payments"
        + (f"; approved twice: {[ids.encode('pay', pid) for pid in twice[:5]]}" if twice else "")
        + (f"; succeeded without an approval: {[ids.encode('pay', pid) for pid in uncharged[:5]]}"
           if uncharged else "")
        + (f"; failed yet approved: {[ids.encode('pay', pid) for pid in charged_failed[:5]]}"
           if charged_failed else ""),
    )


def check_transfers(findings: Findings, merchant_id: UUID, stream: Stream) -> None:
    acknowledged = stream.of_kind("transfer")
    _fresh_connection()
    transfers = list(Transfer.objects.filter(merchant_id=merchant_id, livemode=False, code="transfer")
                     .values_list("id", "client_id", "amount"))
    by_key = Counter(client_id for _, client_id, _ in transfers)
    ids_by_key = {client_id: transfer_id for transfer_id, client_id, _ in transfers}
    wrong = [ack.key for ack in acknowledged
             if by_key[ack.key] != 1 or ids_by_key.get(ack.key) != ids.decode("tr", ack.public_id)]
    doubled = [key for key, count in by_key.items() if count > 1]
    findings.figures.update(acknowledged_transfers=len(acknowledged), transfers=len(transfers))
    findings.add("acknowledged transfers once", not wrong and not doubled,
                 f"{len(acknowledged) - len(wrong)} of {len(acknowledged)} in the ledger once, as acknowledged; "
                 f"{len(transfers)} transfers in all"
                 + (f"; wrong: {wrong[:5]}" if wrong else "") + (f"; doubled: {doubled[:5]}" if doubled else ""))


def check_balance(findings: Findings, merchant_id: UUID, base_url: str, secret: str) -> None:
    _fresh_connection()
    captured = _payments(merchant_id).filter(currency="BHD").aggregate(total=Sum("amount_captured"))["total"] or 0
    status, body, _ = api_call(base_url, secret, "GET", "/api/v1/balance")
    pending = next((row["pending"] for row in body.get("balances", []) if row["currency"] == "BHD"), None) \
        if status == 200 else None
    findings.figures.update(pending_balance=pending, captured=captured)
    findings.add("pending balance = captured", pending == captured,
                 f"GET /api/v1/balance pending {_bhd(pending)} BHD, payments' amount_captured {_bhd(captured)} BHD"
                 + ("" if status == 200 else f" (GET /api/v1/balance answered {status}: {body})"))


def _utc(wall_clock: float) -> str:
    return datetime.fromtimestamp(wall_clock, UTC).strftime("%H:%M:%S")


def _bhd(fils: int | None) -> str:
    return "—" if fils is None else f"{fils / 1000:,.3f}"


def _command(name: str) -> tuple[bool, str]:
    _fresh_connection()
    output = io.StringIO()
    try:
        call_command(name, stdout=output, stderr=output)
    except CommandError as error:
        return False, str(error)
    return True, output.getvalue().strip()


def check_verifications(findings: Findings) -> None:
    for command in ("ledger_verify", "audit_verify"):
        ok, said = _command(command)
        findings.add(f"manage.py {command}", ok, said)


def crash_figures(findings: Findings, merchant_id: UUID, since: datetime) -> None:
    """How the crashes showed in the payments: attempts interrupted (a worker killed during a
    connector call), payments re-driven, attempts left in flight."""
    _fresh_connection()
    journal = {row["action"]: row["count"] for row in AuditEvent.objects.filter(
        merchant_id=str(merchant_id), occurred_at__gte=since,
        action__in=["payment.attempt_interrupted", "payment.redriven", "payment.attempt_unknown"],
    ).values("action").annotate(count=Count("id"))}
    in_flight = PaymentAttempt.objects.filter(payment__merchant_id=merchant_id,
                                              status__in=PaymentAttempt.IN_FLIGHT).count()
    # Did the connector have an interrupted attempt's request before the crash, or was it sent
    # again (with the same key) because it never arrived?
    interrupted = dict(AuditEvent.objects.filter(merchant_id=str(merchant_id), occurred_at__gte=since,
                                                 action="payment.attempt_interrupted")
                       .values_list("object_id", "occurred_at"))
    received = resent = 0
    for attempt in PaymentAttempt.objects.filter(pk__in=list(interrupted)):
        operation = SandboxOperation.objects.filter(connector=attempt.connector,
                                                    idempotency_key=attempt.idempotency_key).first()
        if operation is not None and operation.created_at <= interrupted[str(attempt.pk)]:
            received += 1
        elif operation is not None:
            resent += 1
    findings.figures.update(interrupted_received=received, interrupted_resent=resent)
    findings.figures.update(attempts_interrupted=journal.get("payment.attempt_interrupted", 0),
                            payments_redriven=journal.get("payment.redriven", 0),
                            attempts_unknown=journal.get("payment.attempt_unknown", 0),
                            attempts_in_flight=in_flight)


def verify(*, merchant_id: UUID, stream: Stream, base_url: str, secret: str, waited: float, within: float,
           since: datetime) -> Findings:
    findings = Findings()
    check_payments(findings, merchant_id, stream, waited, within)
    check_charges(findings, merchant_id)
    check_transfers(findings, merchant_id, stream)
    check_balance(findings, merchant_id, base_url, secret)
    check_verifications(findings)
    crash_figures(findings, merchant_id, since)
    findings.add("no request refused", not stream.failures,
                 f"{len(stream.failures)} requests answered with a 4xx other than 409 idempotency_key_in_use or 429"
                 + (": " + "; ".join(stream.failures[:5]) if stream.failures else ""))
    return findings


def now() -> datetime:
    return datetime.now(UTC)

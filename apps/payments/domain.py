"""Pure rules of the payments app: its state machines, what a connector's answer means for
each of them, when the janitor asks a connector again, and what a card number looks like (so
none is ever stored). No Django imports.

The state machines are tables of the transitions allowed; every service that changes a status
asks :func:`transition` first, and the database's guard triggers refuse anything that leaves a
final state. :func:`answer_verdict` is the one place that says what a connector's answer means.
"""

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from apps.routing.data import ConnectorResult, Outcome

# --- state machines --------------------------------------------------------------------------


class PaymentStatus(StrEnum):
    REQUIRES_REVIEW = "requires_review"  # held by a compliance rule before routing: an officer decides
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class AttemptStatus(StrEnum):
    PROCESSING = "processing"  # the connector is being called
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    DECLINED = "declined"
    FAILED = "failed"  # a technical error, or the connector never received the request
    UNKNOWN = "unknown"  # no answer: ask, never send blindly
    PENDING = "pending"  # a rail that confirms later
    CANCELED = "canceled"  # the authorization was voided


class OperationStatus(StrEnum):
    """A capture, a void or a refund: one request to the connector about an authorization."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class PayoutStatus(StrEnum):
    PENDING = "pending"  # made, its money held on merchant available
    IN_TRANSIT = "in_transit"  # sent to the bank (a payment file), the money in transit
    PAID = "paid"  # the bank confirmed it
    FAILED = "failed"  # refused before or after it was sent: the money is back on available
    RETURNED = "returned"  # paid, then sent back by the beneficiary's bank: back on available


_P, _A, _O, _PO = PaymentStatus, AttemptStatus, OperationStatus, PayoutStatus
_ATTEMPT_ANSWERED = frozenset({_A.AUTHORIZED, _A.CAPTURED, _A.DECLINED, _A.FAILED})

PAYMENT_TRANSITIONS: Mapping[str, frozenset[str]] = {
    # A payment a compliance rule holds waits before routing: released, it is processed; declined
    # (or not reviewed in time), it fails with nothing taken.
    _P.PROCESSING: frozenset({_P.REQUIRES_REVIEW, _P.REQUIRES_CAPTURE, _P.SUCCEEDED, _P.FAILED}),
    _P.REQUIRES_REVIEW: frozenset({_P.PROCESSING, _P.FAILED}),
    # Failed from requires_capture: the ledger refused the capture the connector made.
    _P.REQUIRES_CAPTURE: frozenset({_P.SUCCEEDED, _P.CANCELED, _P.FAILED}),
    _P.SUCCEEDED: frozenset(),
    _P.FAILED: frozenset(),
    _P.CANCELED: frozenset(),
}
ATTEMPT_TRANSITIONS: Mapping[str, frozenset[str]] = {
    _A.PROCESSING: _ATTEMPT_ANSWERED | {_A.UNKNOWN, _A.PENDING},
    _A.UNKNOWN: _ATTEMPT_ANSWERED,
    _A.PENDING: _ATTEMPT_ANSWERED,
    _A.AUTHORIZED: frozenset({_A.CAPTURED, _A.CANCELED}),
    _A.CAPTURED: frozenset(),
    _A.DECLINED: frozenset(),
    _A.FAILED: frozenset(),
    _A.CANCELED: frozenset(),
}
OPERATION_TRANSITIONS: Mapping[str, frozenset[str]] = {
    _O.PENDING: frozenset({_O.SUCCEEDED, _O.FAILED}),
    _O.SUCCEEDED: frozenset(),
    _O.FAILED: frozenset(),
}
PAYOUT_TRANSITIONS: Mapping[str, frozenset[str]] = {
    _PO.PENDING: frozenset({_PO.IN_TRANSIT, _PO.FAILED}),
    _PO.IN_TRANSIT: frozenset({_PO.PAID, _PO.FAILED}),
    _PO.PAID: frozenset({_PO.RETURNED}),
    _PO.FAILED: frozenset(),
    _PO.RETURNED: frozenset(),
}
MACHINES: Mapping[str, Mapping[str, frozenset[str]]] = {
    "payment": PAYMENT_TRANSITIONS, "attempt": ATTEMPT_TRANSITIONS, "capture": OPERATION_TRANSITIONS,
    "refund": OPERATION_TRANSITIONS, "payout": PAYOUT_TRANSITIONS,
}


class IllegalTransition(Exception):
    """A status change its state machine does not allow: a bug, never a merchant's mistake."""


def transition(machine: str, current: str, target: str) -> str:
    """``target``, if ``machine`` allows ``current -> target``; raises IllegalTransition."""
    if target not in MACHINES[machine][current]:
        raise IllegalTransition(f"a {machine} cannot go from {current} to {target}")
    return target


def is_final(machine: str, status: str) -> bool:
    return not MACHINES[machine][status]


# --- what a connector's answer means ---------------------------------------------------------


class Verdict(StrEnum):
    DONE = "done"  # the connector did it
    REFUSED = "refused"  # it did not, and said so: nothing was done
    ASK_LATER = "ask_later"  # an authorization's fate is unknown: ask the connector, never send it again blindly
    CALL_AGAIN = "call_again"  # no definite answer to a capture, void or refund: the same call, same key, later


# A capture, void or refund the connector did not answer is sent again (same idempotency key, so
# never done twice); one that gets no definite answer this many times in a row fails.
MAX_OPERATION_ERRORS = 12


def answer_verdict(machine: str, outcome: Outcome, *, calls: int = 1) -> Verdict:
    """What a connector's answer to an attempt's authorization, or to the ``calls``-th call of a
    capture, void or refund, means.

    Approved is done and declined refused, for every operation. A technical error means nothing
    happened: an attempt has failed (and may fail over), an operation on an authorization is
    called again. No answer (unknown, pending) leaves an attempt to be asked about; an operation
    is called again, until MAX_OPERATION_ERRORS calls have brought no definite answer."""
    if outcome == Outcome.APPROVED:
        return Verdict.DONE
    if outcome == Outcome.DECLINED:
        return Verdict.REFUSED
    if machine == "attempt":
        return Verdict.REFUSED if outcome == Outcome.ERROR else Verdict.ASK_LATER
    return Verdict.REFUSED if calls >= MAX_OPERATION_ERRORS else Verdict.CALL_AGAIN


# After an unknown outcome, ask the connector after 2 s, 5 s, 15 s, 1 min, 5 min, 15 min, 1 h,
# then every hour. Past REVIEW_AFTER a person is asked to find out (the janitor keeps asking).
INQUIRY_SCHEDULE = (
    timedelta(seconds=2), timedelta(seconds=5), timedelta(seconds=15), timedelta(minutes=1),
    timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1),
)
REVIEW_AFTER = timedelta(days=3)


def next_inquiry_delay(inquiries: int) -> timedelta:
    """How long to wait before the next question, after ``inquiries`` questions already asked."""
    return INQUIRY_SCHEDULE[min(inquiries, len(INQUIRY_SCHEDULE) - 1)]


class InquiryVerdict(StrEnum):
    RECORD = "record"  # the connector told the outcome: apply it as its answer
    RESEND = "resend"  # it never received the request and deduplicates by our key: send it again
    NOT_RECEIVED = "not_received"  # it never received it, for long enough: the attempt failed, nothing was taken
    ASK_AGAIN = "ask_again"  # nothing learnt: ask later


# A connector that never received a request and cannot be sent it again is believed after this
# many answers saying so, spread over at least this long (a request may reach it late).
NOT_RECEIVED_ANSWERS = 3
NOT_RECEIVED_GRACE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class InquiryState:
    """What the janitor knows of an unresolved attempt when an inquiry's answer comes."""

    not_received_answers: int  # before this answer
    age: timedelta  # since the attempt was made


def inquiry_verdict(result: ConnectorResult, state: InquiryState) -> InquiryVerdict:
    """What the janitor does with the answer to its question about an unknown or pending
    authorization: a final outcome is recorded; a request the connector never received is sent
    again where the rail deduplicates by our key, and otherwise given up as not received once
    NOT_RECEIVED_ANSWERS answers over NOT_RECEIVED_GRACE agree; anything else tells nothing."""
    if result.outcome in (Outcome.APPROVED, Outcome.DECLINED):
        return InquiryVerdict.RECORD
    if result.outcome == Outcome.UNKNOWN and result.not_received:
        if result.resend_safe:
            return InquiryVerdict.RESEND
        if state.not_received_answers + 1 >= NOT_RECEIVED_ANSWERS and state.age >= NOT_RECEIVED_GRACE:
            return InquiryVerdict.NOT_RECEIVED
    return InquiryVerdict.ASK_AGAIN


# --- card numbers, IBANs, BICs ---------------------------------------------------------------

# Where a card number may hide: 13 to 19 digits, possibly split by spaces or dashes.
_DIGIT_RUN = re.compile(r"(?<![\d])\d(?:[ -]?\d)+(?![\d])")
_BIC = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")

def luhn_valid(digits: str) -> bool:
    total = 0
    for position, character in enumerate(reversed(digits)):
        value = int(character)
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def looks_like_card_number(text: str) -> bool:
    """Whether ``text`` holds a card number: a run of 13-19 digits (spaces or dashes allowed
    between them) that starts like a card scheme's (2-6) and passes the Luhn check."""
    for match in _DIGIT_RUN.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits):
            return True
    return False


def _strings(value: Any) -> Iterator[str]:
    unvisited = [value]
    while unvisited:
        node = unvisited.pop()
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            unvisited.extend(node.keys())
            unvisited.extend(node.values())
        elif isinstance(node, list):
            unvisited.extend(node)


def contains_card_number(value: Any) -> bool:
    """Whether any string in ``value`` (a JSON document) looks like a card number."""
    return any(looks_like_card_number(text) for text in _strings(value))


def bic_valid(bic: str) -> bool:
    return bool(_BIC.match(bic))

"""Every write of the payments app; each function owns its transaction (see each module)."""

from apps.payments.services.captures import (
    capture_execute,
    capture_request,
    capture_result_record,
    payment_cancel,
    payment_capture,
)
from apps.payments.services.janitor import JanitorReport, payments_janitor
from apps.payments.services.payments import (
    payment_attempt_inquire,
    payment_attempt_inquire_now,
    payment_attempt_interrupted_mark,
    payment_attempt_record,
    payment_attempt_resolve_declined,
    payment_attempt_review_close,
    payment_create,
    payment_process,
    payment_redrive,
)
from apps.payments.services.payout_rail import (
    payout_rail_result_record,
    payout_rail_send,
    payout_route,
    payouts_route_releasable,
)
from apps.payments.services.payouts import (
    PAYOUT_RELEASE,
    payout_create,
    payout_failed,
    payout_paid,
    payout_release,
    payout_release_check,
    payout_returned,
    payouts_send,
)
from apps.payments.services.refunds import payment_refund, refund_create, refund_execute, refund_result_record

__all__ = [
    "PAYOUT_RELEASE",
    "JanitorReport",
    "capture_execute",
    "capture_request",
    "capture_result_record",
    "payment_attempt_inquire",
    "payment_attempt_inquire_now",
    "payment_attempt_interrupted_mark",
    "payment_attempt_record",
    "payment_attempt_resolve_declined",
    "payment_attempt_review_close",
    "payment_cancel",
    "payment_capture",
    "payment_create",
    "payment_process",
    "payment_redrive",
    "payment_refund",
    "payments_janitor",
    "payout_create",
    "payout_failed",
    "payout_paid",
    "payout_rail_result_record",
    "payout_rail_send",
    "payout_release",
    "payout_release_check",
    "payout_returned",
    "payout_route",
    "payouts_route_releasable",
    "payouts_send",
    "refund_create",
    "refund_execute",
    "refund_result_record",
]

"""Why the payments services refuse an operation: each a stable problem ``code``."""

from apps.core.exceptions import FincoreError


class InvalidPayment(FincoreError):
    code = "invalid_payment"
    title = "The payment's details are not valid"
    status = 400


class CardNumberRefused(FincoreError):
    """fincore never sees card numbers: send the token your card vault gave you."""

    code = "card_number_refused"
    title = "A card number was sent; send a card token instead"
    status = 400


class WalletNotFound(FincoreError):
    code = "wallet_not_found"
    title = "No such wallet of yours in this mode and currency"
    status = 422


class PaymentNotCapturable(FincoreError):
    code = "payment_not_capturable"
    title = "Only a payment in requires_capture can be captured"
    status = 409


class PaymentNotCancelable(FincoreError):
    code = "payment_not_cancelable"
    title = "Only an uncaptured payment (requires_capture) can be canceled"
    status = 409


class CaptureExceedsAuthorized(FincoreError):
    code = "capture_exceeds_authorized"
    title = "The capture is larger than the amount authorized"
    status = 422


class CaptureAlreadyRequested(FincoreError):
    """A payment is captured once (or canceled once): the first request decides."""

    code = "capture_already_requested"
    title = "A capture or cancellation of this payment is already in progress or done"
    status = 409


class CaptureDeclined(FincoreError):
    code = "capture_declined"
    title = "The connector refused the capture"
    status = 422


class CancelDeclined(FincoreError):
    code = "cancel_declined"
    title = "The connector refused to void the authorization"
    status = 422


class PaymentNotRefundable(FincoreError):
    code = "payment_not_refundable"
    title = "Only a succeeded payment can be refunded"
    status = 409


class RefundExceedsCaptured(FincoreError):
    code = "refund_exceeds_captured"
    title = "The refund is larger than what is left to refund on the payment"
    status = 422


class InsufficientBalance(FincoreError):
    """Refunds are paid from your pending balance, then your available balance."""

    code = "insufficient_balance"
    title = "Your balance is too low to pay this refund"
    status = 422


class NoConnectorAvailable(FincoreError):
    """No connector of this mode takes such a payment (method, currency, country, amount): live
    payments go only to live connectors, test payments only to the sandbox."""

    code = "no_connector_available"
    title = "No connector can take this payment"
    status = 422


# --- payouts ---------------------------------------------------------------------------------


class InvalidPayout(FincoreError):
    code = "invalid_payout"
    title = "The payout's details are not valid"
    status = 422


class NoPayoutBankAccount(FincoreError):
    """The merchant has no active bank account in the payout's currency: set one (maker-checker)."""

    code = "payout_no_bank_account"
    title = "The merchant has no bank account for payouts in this currency"
    status = 422


class PayoutExceedsAvailable(FincoreError):
    code = "payout_exceeds_available"
    title = "The payout is larger than the merchant's available balance"
    status = 422


class PayoutReferenceReused(FincoreError):
    """A settlement line is paid out once: its reference already made a payout with other details."""

    code = "payout_reference_reused"
    title = "This settlement reference already made another payout"
    status = 409


class PayoutNotFound(FincoreError):
    code = "payout_not_found"
    title = "No such payout"
    status = 404


class PayoutTransitionNotAllowed(FincoreError):
    """The payout's status does not allow this step (a repeat of a step already done is no error)."""

    code = "payout_transition_not_allowed"
    title = "The payout's status does not allow this"
    status = 409


class PayoutNotReleasable(PayoutTransitionNotAllowed):
    """Sent before its hold passed, or without the approval it needs."""

    code = "payout_not_releasable"
    title = "The payout may not leave yet"


class PayoutApprovalNotNeeded(FincoreError):
    code = "payout_approval_not_needed"
    title = "This payout needs no approval to leave"
    status = 409


class PaymentNotFound(FincoreError):
    code = "payment_not_found"
    title = "No such payment"
    status = 404


class NotHeldForReview(FincoreError):
    """Releasing or declining a payment or payout compliance does not hold (decided already)."""

    code = "not_held_for_review"
    title = "It is not held for review"
    status = 409


class MerchantPayoutsHoldConflict(FincoreError):
    """Holding the payouts of a merchant whose payouts are held, or lifting a hold there is not."""

    code = "merchant_payouts_hold_conflict"
    title = "The merchant's payouts are already held, or not held"
    status = 409

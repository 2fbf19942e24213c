"""Observations from what the apps above publish: ``data.object`` of payments' outbox events (the
API representation) with ``data.merchant_id``, and the ledger's wallet transfers.

Payments calls :func:`payment_observation` too, in ``payment_create`` (for ``payment_hold_check``),
so a payment is observed the same way when it is created and when its outcome arrives.
"""

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from apps.compliance.data import Observation, ObservationKind
from apps.core import ids

PAYMENT = "payments.payment"
REFUND = "payments.refund"
PAYOUT = "payments.payout"
TRANSFER = "ledger.transfer"

# The public id's prefix of each source, for the evidence an officer reads.
PUBLIC_PREFIXES = {PAYMENT: "pay", REFUND: "re", PAYOUT: "po", TRANSFER: "tr"}


class UnreadableEvent(ValueError):
    """An event whose object is not what monitoring expects (a programming error upstream)."""


def card_fingerprint(token: str) -> str:
    """The card as monitoring knows it: SHA-256 of the vault's token, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def _uuid(prefix: str, public_id: Any) -> str:
    value = ids.decode(prefix, public_id)
    if value is None:
        raise UnreadableEvent(f"{public_id!r} is not a {prefix}_ id")
    return str(value)


def _moment(text: Any) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError) as unreadable:
        raise UnreadableEvent(f"{text!r} is not a time") from unreadable


def payment_observation(*, obj: Mapping[str, Any], merchant_id: UUID | str) -> Observation:
    """A payment (its API representation): the card by its token's fingerprint, the payer's IBAN,
    or the customer wallet it is paid from (``acc_…``)."""
    method = obj.get("payment_method") or {}
    token = method.get("token") or ""
    return Observation(
        source=PAYMENT, source_id=_uuid("pay", obj.get("id")), kind=ObservationKind.PAYMENT,
        merchant_id=UUID(str(merchant_id)), livemode=bool(obj.get("livemode")), amount=int(obj["amount"]),
        currency=obj["currency"], occurred_at=_moment(obj.get("created")), method=obj.get("method") or "",
        country=obj.get("country") or "", wallet=method.get("account") or "",
        card_fingerprint=card_fingerprint(token) if token else "", iban=method.get("iban") or "",
        counterparty_name=method.get("name") or "",
    )


def refund_observation(*, obj: Mapping[str, Any], merchant_id: UUID | str) -> Observation:
    return Observation(
        source=REFUND, source_id=_uuid("re", obj.get("id")), kind=ObservationKind.REFUND,
        merchant_id=UUID(str(merchant_id)), livemode=bool(obj.get("livemode")), amount=int(obj["amount"]),
        currency=obj["currency"], occurred_at=_moment(obj.get("created")),
    )


def payout_observation(*, obj: Mapping[str, Any], merchant_id: UUID | str, country: str = "") -> Observation:
    """A payout to the merchant's bank account; its representation shows the IBAN's last four
    digits only, so the beneficiary is known by name."""
    bank_account = obj.get("bank_account") or {}
    return Observation(
        source=PAYOUT, source_id=_uuid("po", obj.get("id")), kind=ObservationKind.PAYOUT,
        merchant_id=UUID(str(merchant_id)), livemode=bool(obj.get("livemode")), amount=int(obj["amount"]),
        currency=obj["currency"], occurred_at=_moment(obj.get("created")), country=country,
        counterparty_name=bank_account.get("beneficiary_name") or "",
    )


def transfer_observation(*, transfer_id: UUID, merchant_id: UUID, livemode: bool, amount: int, currency: str,
                         created_at: datetime, wallet_id: UUID) -> Observation:
    """A merchant's transfer out of a customer wallet (``wallet_id``, the account paid from)."""
    return Observation(
        source=TRANSFER, source_id=str(transfer_id), kind=ObservationKind.TRANSFER, merchant_id=merchant_id,
        livemode=livemode, amount=amount, currency=currency, occurred_at=created_at, method="wallet",
        wallet=ids.encode("acc", wallet_id),
    )

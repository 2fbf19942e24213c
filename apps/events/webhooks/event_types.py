"""The catalogue of webhook event types: every type fincore emits, what it means, and the kind of
object its ``data.object`` carries (what ``GET`` on that object returns).

Plain data, read where it is needed — endpoints' subscriptions, ``GET /api/v1/event_types``, the
admin's filter and every emission are checked against it — and never registered at start-up: an
app that starts emitting a new type adds it here, in the same change.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# What an endpoint subscribes to for every type, present and future.
ALL_EVENTS = "*"


@dataclass(frozen=True)
class EventType:
    name: str
    object: str
    description: str


EVENT_TYPES: tuple[EventType, ...] = (
    EventType("payment.succeeded", "payment",
              "A payment was captured in full or in part: the money is yours (pending settlement)."),
    EventType("payment.failed", "payment",
              "A payment was declined or could not be processed; `failure.code` says why."),
    EventType("payment.requires_capture", "payment",
              "A payment with manual capture was authorized: capture or cancel it."),
    EventType("payment.requires_review", "payment",
              "A payment is held for review before it is processed: it goes on to `processing` or ends `failed` "
              "(`declined`). No reason is given."),
    EventType("payment.canceled", "payment", "An authorized payment was canceled; the authorization is released."),
    EventType("payment.captured", "payment", "A payment with manual capture was captured (in full or in part)."),
    EventType("refund.pending", "refund", "A refund was accepted; the money is reserved from your balance."),
    EventType("refund.succeeded", "refund", "A refund was paid back to the customer."),
    EventType("refund.failed", "refund", "A refund failed; the money reserved for it is back in your balance."),
    EventType("payout.created", "payout",
              "A payout of your available balance to your bank account was made (pending); the money is held for it."),
    EventType("payout.updated", "payout", "A payout changed status: `in_transit` when it was sent to the bank."),
    EventType("payout.paid", "payout", "The bank confirmed a payout: the money is on its way to your account."),
    EventType("payout.failed", "payout",
              "A payout failed (`failed`) or came back (`returned`); `failure.code` says why and the money is back "
              "in your available balance."),
)

BY_NAME: Mapping[str, EventType] = MappingProxyType({event_type.name: event_type for event_type in EVENT_TYPES})

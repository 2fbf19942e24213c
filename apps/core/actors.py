"""Who acts: a staff user in the admin, a merchant's API key, or a scheduled system job.

Every service a person can trigger takes an ``actor``; the audit journal records it.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class ActorType(StrEnum):
    STAFF = "staff"
    API_KEY = "api_key"
    SYSTEM = "system"


class _StaffUser(Protocol):
    pk: object

    def get_username(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Actor:
    type: ActorType
    id: str
    label: str
    # The merchant an API key belongs to; the scope of everything that key does.
    merchant_id: str | None = None
    # Whether an API key is a live key: test and live keys see separate data, as in Stripe.
    livemode: bool | None = None

    @classmethod
    def staff(cls, user: _StaffUser) -> "Actor":
        return cls(ActorType.STAFF, str(user.pk), user.get_username())

    @classmethod
    def api_key(cls, *, key_id: str, label: str, merchant_id: str, livemode: bool) -> "Actor":
        return cls(ActorType.API_KEY, key_id, label, merchant_id, livemode)

    @classmethod
    def system(cls, job: str) -> "Actor":
        return cls(ActorType.SYSTEM, job, job)

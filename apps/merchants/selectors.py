"""Reading merchants, keys and bank accounts. API callers always pass their own merchant id and mode."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet

from apps.merchants.models import ApiKey, BankAccount, Merchant


def api_key_mode(*, livemode: bool) -> str:
    """The mode of the keys a caller in ``livemode`` may see: test keys see test keys only."""
    return ApiKey.Mode.LIVE if livemode else ApiKey.Mode.TEST


_KEY_COLUMNS = [field.attname for field in ApiKey._meta.concrete_fields]
_MERCHANT_COLUMNS = [field.attname for field in Merchant._meta.concrete_fields]
# Every API request reads its key and merchant afresh (a revoked key or a suspended merchant is
# refused from the next request on); this query is written once rather than built by the ORM for
# each request, which cost more than the rest of the authentication. Every column is one psycopg2
# reads as the ORM would (uuid, text, timestamptz, text[]), so rows become instances as they are.
_API_KEY_BY_SECRET_HASH = "SELECT {columns} FROM {keys} k JOIN {merchants} m ON m.id = k.merchant_id " \
    "WHERE k.secret_hash = %s".format(
        columns=", ".join([f'k."{column}"' for column in _KEY_COLUMNS]
                          + [f'm."{column}"' for column in _MERCHANT_COLUMNS]),
        keys=ApiKey._meta.db_table, merchants=Merchant._meta.db_table,
    )


def api_key_by_secret_hash(secret_hash: str) -> ApiKey | None:
    """The key with this secret's hash, its merchant loaded, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(_API_KEY_BY_SECRET_HASH, [secret_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    api_key = ApiKey.from_db(connection.alias, _KEY_COLUMNS, row[:len(_KEY_COLUMNS)])
    api_key.merchant = Merchant.from_db(connection.alias, _MERCHANT_COLUMNS, row[len(_KEY_COLUMNS):])
    return api_key


def api_key_list(*, merchant_id: Any, livemode: bool) -> QuerySet[ApiKey]:
    """The merchant's keys of one mode; the other mode's keys are as if they did not exist."""
    return ApiKey.objects.filter(merchant_id=merchant_id, mode=api_key_mode(livemode=livemode))


def api_key_get(*, merchant_id: Any, livemode: bool, api_key_id: Any) -> ApiKey | None:
    return api_key_list(merchant_id=merchant_id, livemode=livemode).filter(pk=api_key_id).first()


def merchant_by_legal_name(legal_name: str) -> Merchant | None:
    return Merchant.objects.filter(legal_name=legal_name).order_by("created_at").first()


def merchant_get(merchant_id: Any) -> Merchant | None:
    """A merchant by its id (staff screens); None when there is none, or the id is malformed."""
    try:
        return Merchant.objects.filter(pk=merchant_id).first()
    except (ValueError, ValidationError):
        return None


def api_key_get_any(api_key_id: Any) -> ApiKey | None:
    """Any merchant's key by its id (staff screens); None when there is none, or the id is malformed."""
    try:
        return ApiKey.objects.select_related("merchant").filter(pk=api_key_id).first()
    except (ValueError, ValidationError):
        return None


def merchant_ids_in_currency(*, currency: str) -> list[UUID]:
    """Every merchant that may transact in ``currency``, in id order."""
    return list(Merchant.objects.filter(currencies__contains=[currency]).order_by("pk").values_list("pk", flat=True))


@dataclass(frozen=True, slots=True)
class PayoutBankAccount:
    """Where a merchant's payouts in one currency go now, as a payout records it."""

    id: UUID
    merchant_id: UUID
    currency: str
    iban: str
    bic: str
    beneficiary_name: str
    payouts_held_until: datetime  # a payout to it waits until then


def bank_account_active(*, merchant_id: Any, currency: str, lock: bool = False) -> BankAccount | None:
    """The merchant's active bank account in ``currency`` (locked with ``lock``), or None."""
    accounts = BankAccount.objects.select_for_update() if lock else BankAccount.objects
    return accounts.filter(merchant_id=merchant_id, currency=currency, status=BankAccount.Status.ACTIVE).first()


def payout_bank_account(*, merchant_id: Any, currency: str) -> PayoutBankAccount | None:
    """The account the merchant's ``currency`` payouts go to, or None when it has set none."""
    account = bank_account_active(merchant_id=merchant_id, currency=currency)
    if account is None:
        return None
    return PayoutBankAccount(
        id=account.pk, merchant_id=account.merchant_id, currency=account.currency, iban=account.iban,
        bic=account.bic, beneficiary_name=account.beneficiary_name, payouts_held_until=account.payouts_held_until,
    )

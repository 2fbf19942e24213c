"""Merchants, their API keys and the bank accounts they are paid out to: every change is journaled
with who made it and why."""

import hashlib
import secrets
import string
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from apps.audit.services import audit_record
from apps.compliance.profiles import merchant_profile_sync
from apps.core import clock, ids
from apps.core.actors import Actor
from apps.core.countries import is_country
from apps.core.currencies import is_currency
from apps.core.exceptions import FincoreError
from apps.core.rates import parse_rate
from apps.events.outbox import services as events_services
from apps.ledger import services as ledger_services
from apps.merchants import selectors
from apps.merchants.models import ApiKey, BankAccount, Merchant

SECRET_PREFIXES = {ApiKey.Mode.TEST: "fc_test_", ApiKey.Mode.LIVE: "fc_live_"}
# Letters and digits only, so a double-click selects the whole key; 43 of them carry 256 bits.
_SECRET_ALPHABET = string.ascii_letters + string.digits
_SECRET_LENGTH = 43
_LAST_USED_PRECISION = timedelta(minutes=1)
# Fields a staff user may edit in the admin; status changes go through suspend/activate.
EDITABLE_FIELDS = ("legal_name", "country", "currencies", "rate_limit")


class InvalidMerchant(FincoreError):
    code = "invalid_merchant"
    title = "The merchant's details are not valid"
    status = 400


class MerchantStatusUnchanged(FincoreError):
    code = "merchant_status_unchanged"
    title = "The merchant already has this status"
    status = 409


class InvalidBankAccount(FincoreError):
    code = "invalid_bank_account"
    title = "The bank account's details are not valid"
    status = 400


class BankAccountUnchanged(FincoreError):
    code = "bank_account_unchanged"
    title = "The merchant is already paid out to this account"
    status = 409


class ApiKeyAlreadyRevoked(FincoreError):
    code = "api_key_already_revoked"
    title = "This API key is already revoked"
    status = 409


@dataclass(frozen=True)
class IssuedApiKey:
    """A new key and its secret. The secret exists only here: show it once, never store it."""

    api_key: ApiKey
    secret: str


def hash_secret(secret: str) -> str:
    # The secret has 256 random bits, so a fast hash is enough: no dictionary can guess it.
    return hashlib.sha256(secret.encode()).hexdigest()


def _snapshot(merchant: Merchant) -> dict[str, Any]:
    return {
        "legal_name": merchant.legal_name,
        "country": merchant.country,
        "status": merchant.status,
        "currencies": list(merchant.currencies),
        "rate_limit": merchant.rate_limit,
    }


def merchant_validate(*, legal_name: str, country: str, currencies: list[str], rate_limit: str) -> None:
    """Raise InvalidMerchant naming every problem with these details."""
    problems = []
    if not legal_name.strip():
        problems.append("the legal name is empty")
    if not is_country(country):
        problems.append(f"{country!r} is not an ISO 3166 country code")
    if not currencies:
        problems.append("at least one currency is needed")
    problems += [f"{code!r} is not an ISO 4217 currency code" for code in currencies if not is_currency(code)]
    if len(set(currencies)) != len(currencies):
        problems.append("a currency is listed twice")
    if rate_limit:
        try:
            parse_rate(rate_limit)
        except ValueError as error:
            problems.append(str(error))
    if problems:
        raise InvalidMerchant("; ".join(problems))


def merchant_create(
    *, legal_name: str, country: str, currencies: list[str], actor: Actor, rate_limit: str = "", reason: str = ""
) -> Merchant:
    """Create an active merchant with its ledger accounts in each currency, and tell compliance of
    it (its profile, which screening and monitoring read) in the same transaction. Raises InvalidMerchant."""
    merchant_validate(legal_name=legal_name, country=country, currencies=currencies, rate_limit=rate_limit)
    with transaction.atomic():
        merchant = Merchant.objects.create(
            legal_name=legal_name.strip(), country=country, currencies=currencies, rate_limit=rate_limit
        )
        ledger_services.merchant_accounts_open(merchant_id=merchant.pk, currencies=currencies)
        _profile_sync(merchant)
        audit_record(
            actor=actor, action="merchant.created", object_type="merchants.merchant", object_id=str(merchant.id),
            after=_snapshot(merchant), reason=reason, merchant_id=str(merchant.id),
        )
    return merchant


def _profile_sync(merchant: Merchant) -> None:
    merchant_profile_sync(merchant_id=merchant.pk, legal_name=merchant.legal_name, country=merchant.country,
                          onboarded_at=merchant.created_at)


def merchant_update(*, merchant_id: Any, changes: dict[str, Any], actor: Actor, reason: str) -> Merchant:
    """Edit a merchant's details (not its status); a new name or country reaches compliance's profile
    of the merchant in the same transaction (it is screened again). Raises InvalidMerchant."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidMerchant(f"these fields cannot be edited: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        merchant = Merchant.objects.select_for_update().get(pk=merchant_id)
        before = _snapshot(merchant)
        proposed = {**before, **changes}
        merchant_validate(
            legal_name=proposed["legal_name"], country=proposed["country"],
            currencies=proposed["currencies"], rate_limit=proposed["rate_limit"],
        )
        for field, value in changes.items():
            setattr(merchant, field, value)
        merchant.save()
        # A currency added opens the merchant's ledger accounts in it; one removed keeps them
        # (they hold history and maybe money).
        ledger_services.merchant_accounts_open(merchant_id=merchant.pk, currencies=merchant.currencies)
        after = _snapshot(merchant)
        changed = {field for field in after if after[field] != before[field]}
        if changed & {"legal_name", "country"}:
            _profile_sync(merchant)
        if changed:
            audit_record(
                actor=actor, action="merchant.updated", object_type="merchants.merchant", object_id=str(merchant.id),
                before={f: before[f] for f in changed}, after={f: after[f] for f in changed}, reason=reason,
                merchant_id=str(merchant.id),
            )
    return merchant


def _set_status(*, merchant_id: Any, status: str, action: str, actor: Actor, reason: str) -> Merchant:
    with transaction.atomic():
        merchant = Merchant.objects.select_for_update().get(pk=merchant_id)
        if merchant.status == status:
            raise MerchantStatusUnchanged(f"{merchant} is already {status}.")
        before = merchant.status
        merchant.status = status
        merchant.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=actor, action=action, object_type="merchants.merchant", object_id=str(merchant.id),
            before={"status": before}, after={"status": status}, reason=reason, merchant_id=str(merchant.id),
        )
    return merchant


def merchant_suspend(*, merchant_id: Any, actor: Actor, reason: str) -> Merchant:
    """Stop all of the merchant's API access at once. Raises MerchantStatusUnchanged."""
    return _set_status(
        merchant_id=merchant_id, status=Merchant.Status.SUSPENDED, action="merchant.suspended", actor=actor,
        reason=reason,
    )


def merchant_activate(*, merchant_id: Any, actor: Actor, reason: str) -> Merchant:
    """Restore a suspended merchant. Raises MerchantStatusUnchanged."""
    return _set_status(
        merchant_id=merchant_id, status=Merchant.Status.ACTIVE, action="merchant.activated", actor=actor,
        reason=reason,
    )


def api_key_create(*, merchant_id: Any, name: str, mode: str, actor: Actor, reason: str = "") -> IssuedApiKey:
    """Issue a key; the secret is in the result only. Raises InvalidMerchant for a bad mode."""
    if mode not in SECRET_PREFIXES:
        raise InvalidMerchant(f"mode must be test or live, not {mode!r}")
    secret = SECRET_PREFIXES[mode] + "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(_SECRET_LENGTH))
    with transaction.atomic():
        api_key = ApiKey.objects.create(
            merchant_id=merchant_id,
            name=name.strip() or "API key",
            mode=mode,
            hint=secret[: len(SECRET_PREFIXES[mode]) + 4],
            secret_hash=hash_secret(secret),
            created_by=actor.label,
        )
        audit_record(
            actor=actor, action="api_key.created", object_type="merchants.apikey", object_id=str(api_key.id),
            after={"name": api_key.name, "mode": mode, "hint": api_key.hint}, reason=reason,
            merchant_id=str(merchant_id),
        )
    return IssuedApiKey(api_key=api_key, secret=secret)


def merchant_onboard(
    *, legal_name: str, country: str, currencies: list[str], key_mode: str, actor: Actor, reason: str = ""
) -> tuple[Merchant, IssuedApiKey]:
    """Create a merchant with its first API key: both or neither. Raises InvalidMerchant."""
    with transaction.atomic():
        merchant = merchant_create(
            legal_name=legal_name, country=country, currencies=currencies, actor=actor, reason=reason
        )
        issued = api_key_create(merchant_id=merchant.pk, name="first key", mode=key_mode, actor=actor, reason=reason)
    return merchant, issued


def api_key_revoke(
    *, api_key_id: Any, actor: Actor, reason: str, merchant_id: Any = None, livemode: bool | None = None
) -> ApiKey:
    """Revoke a key for good; requests with it are refused from now on.

    ``merchant_id`` and ``livemode`` scope the lookup when a merchant revokes its own key
    through the API: another merchant's key, or a key of the other mode (a test key revoking a
    live one), is then not found. Raises ApiKey.DoesNotExist, ApiKeyAlreadyRevoked.
    """
    if not reason.strip():
        raise InvalidMerchant("a reason is required to revoke a key")
    keys = ApiKey.objects.select_for_update()
    if merchant_id is not None:
        keys = keys.filter(merchant_id=merchant_id)
    if livemode is not None:
        keys = keys.filter(mode=selectors.api_key_mode(livemode=livemode))
    with transaction.atomic():
        api_key = keys.get(pk=api_key_id)
        if api_key.is_revoked:
            raise ApiKeyAlreadyRevoked(f"{api_key} was revoked on {api_key.revoked_at:%Y-%m-%d %H:%M} UTC.")
        api_key.revoked_at = clock.now()
        api_key.revoked_by = actor.label
        api_key.revoke_reason = reason
        api_key.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        audit_record(
            actor=actor, action="api_key.revoked", object_type="merchants.apikey", object_id=str(api_key.id),
            before={"revoked": False}, after={"revoked": True}, reason=reason, merchant_id=str(api_key.merchant_id),
        )
    return api_key


def api_key_mark_used(*, api_key: ApiKey) -> None:
    """Note that the key was just used, at most once a minute so busy keys cost no write per request."""
    now = clock.now()
    if api_key.last_used_at is None or api_key.last_used_at < now - _LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


# --- bank accounts -----------------------------------------------------------------------------

BANK_ACCOUNT_SET = "merchants.bank_account_set"
# Payouts to a new or changed account wait this long after the change is approved: if someone took
# over a merchant's access and changed the account, the merchant (or the bank) has a day to notice.
PAYOUT_HOLD = timedelta(hours=24)
BENEFICIARY_NAME_MAX_LENGTH = 140  # ISO 20022's Max140Text, the creditor's name in a pain.001


@dataclass(frozen=True)
class BankAccountChange:
    """A checked request to set a merchant's payout account in a currency: the details as they
    will be stored (IBAN compact and upper case, the BIC given or derived from the IBAN) and the
    account they replace, if any."""

    merchant: Merchant
    currency: str
    iban: str
    bic: str
    beneficiary_name: str
    replacing: BankAccount | None

    @property
    def label(self) -> str:
        return (f"{self.merchant.legal_name} ({ids.encode('mer', self.merchant.pk)}): {self.currency} payouts to "
                f"{IBAN(self.iban).formatted} ({self.bic}), {self.beneficiary_name}")


def _iban(iban: Any) -> IBAN:
    if not isinstance(iban, str) or not iban.strip():
        raise InvalidBankAccount("The IBAN is missing.")
    try:
        # The BBAN too: each country's bank code and account number format (and national check digits).
        return IBAN(iban, validate_bban=True)
    except SchwiftyException as invalid:
        raise InvalidBankAccount(f"{iban.strip()!r} is not a valid IBAN: {str(invalid).lower()}.") from invalid


def _bic(bic: Any, iban: IBAN) -> str:
    if bic is None or (isinstance(bic, str) and not bic.strip()):
        derived = iban.bic
        if derived is None:
            raise InvalidBankAccount(f"Give the BIC of the bank of {iban.formatted}: it cannot be told from the IBAN.")
        return str(derived.compact)
    if not isinstance(bic, str):
        raise InvalidBankAccount("The BIC is text, 8 or 11 characters.")
    try:
        return str(BIC(bic.strip()).compact)
    except SchwiftyException as invalid:
        raise InvalidBankAccount(f"{bic.strip()!r} is not a valid BIC: {str(invalid).lower()}.") from invalid


def bank_account_check(
    *, merchant_id: Any, currency: Any, iban: Any, bic: Any, beneficiary_name: Any, lock: bool = False
) -> BankAccountChange:
    """What setting this bank account would do, or why it may not: the merchant exists and takes
    ``currency``; the IBAN is valid for its country (length, check digits, the BBAN's format), the
    BIC valid (or, when not given, derived from the IBAN where its country's bank registry allows);
    a beneficiary name; and not the account the merchant is already paid out to. With ``lock`` the
    merchant and its active account are locked (in that order). Raises InvalidBankAccount,
    BankAccountUnchanged. Writes nothing."""
    merchant = selectors.merchant_get(merchant_id)
    if merchant is None:
        raise InvalidBankAccount(f"There is no merchant {merchant_id}.")
    if currency not in merchant.currencies:
        raise InvalidBankAccount(f"{merchant.legal_name} does not take {currency!r}: "
                                 f"its currencies are {', '.join(merchant.currencies)}.")
    checked_iban = _iban(iban)
    checked_bic = _bic(bic, checked_iban)
    name = beneficiary_name.strip() if isinstance(beneficiary_name, str) else ""
    if not name:
        raise InvalidBankAccount("The beneficiary's name is missing.")
    if len(name) > BENEFICIARY_NAME_MAX_LENGTH or not name.isprintable():
        raise InvalidBankAccount(f"The beneficiary's name is at most {BENEFICIARY_NAME_MAX_LENGTH} printable "
                                 "characters on one line.")
    if lock:
        Merchant.objects.select_for_update().get(pk=merchant.pk)
    active = selectors.bank_account_active(merchant_id=merchant.pk, currency=currency, lock=lock)
    change = BankAccountChange(merchant, currency, str(checked_iban.compact), checked_bic, name, active)
    if active is not None and (active.iban, active.bic, active.beneficiary_name) == (change.iban, change.bic, name):
        raise BankAccountUnchanged(f"{merchant.legal_name}'s {currency} payouts already go to {active}.")
    return change


def _bank_account_state(account: BankAccount) -> dict[str, Any]:
    return {"id": ids.encode("ba", account.pk), "currency": account.currency, "iban": account.iban,
            "bic": account.bic, "beneficiary_name": account.beneficiary_name, "status": account.status,
            "payouts_held_until": account.payouts_held_until.isoformat()}


def bank_account_set(
    *, merchant_id: Any, currency: str, iban: str, bic: str, beneficiary_name: str, actor: Actor, reason: str
) -> BankAccount:
    """Pay the merchant's ``currency`` payouts to this account from now on, replacing the one they
    went to (a maker-checker action: approving the request calls this as its maker, approved by its
    checker). ``bic`` may be empty where the IBAN tells it.

    Invariants: one active account per merchant and currency (a partial unique constraint; the
    merchant's row is locked, then its active account); the replaced account is kept, ``replaced``;
    payouts to the new account are held for PAYOUT_HOLD from now (``payouts_held_until``). The
    change, its journal row (the account before and after) and its outbox event
    ``merchants.bank_account_set`` commit together. Raises InvalidBankAccount, BankAccountUnchanged;
    nothing is written then.
    """
    with transaction.atomic():
        change = bank_account_check(merchant_id=merchant_id, currency=currency, iban=iban, bic=bic,
                                    beneficiary_name=beneficiary_name, lock=True)
        # Screening the beneficiary's name against sanctions lists belongs here, before anything is
        # written, once compliance screens names.
        now = clock.now()
        replaced = change.replacing
        if replaced is not None:
            replaced.status, replaced.replaced_at = BankAccount.Status.REPLACED, now
            replaced.save(update_fields=["status", "replaced_at"])
        account = BankAccount.objects.create(
            merchant=change.merchant, currency=change.currency, iban=change.iban, bic=change.bic,
            beneficiary_name=change.beneficiary_name, created_at=now, created_by=actor.label,
            payouts_held_until=now + PAYOUT_HOLD,
        )
        audit_record(
            actor=actor, action="bank_account.set", object_type="merchants.bankaccount", object_id=str(account.pk),
            before=_bank_account_state(replaced) if replaced else None, after=_bank_account_state(account),
            reason=reason, merchant_id=str(account.merchant_id),
        )
        events_services.event_publish(event_type=BANK_ACCOUNT_SET, data={
            "bank_account": ids.encode("ba", account.pk), "merchant": ids.encode("mer", account.merchant_id),
            "currency": account.currency, "iban_last4": account.iban[-4:], "bic": account.bic,
            "payouts_held_until": account.payouts_held_until.isoformat(),
            "replaced": ids.encode("ba", replaced.pk) if replaced else None,
        })
    return account

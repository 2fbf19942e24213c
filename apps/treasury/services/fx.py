"""Writes of FX: importing rates, quoting, and executing a quote as a conversion.

A conversion is two single-currency ledger transfers posted in one atomic batch:
wallet (sell currency) → FX position (sell currency), then FX position (buy currency) → wallet
(buy currency), with, when the currency's unposted rounding differences reach a whole minor unit,
a third transfer of that unit between the FX position and the rounding account. Nothing is
posted, nor any row written, unless all of it is.
"""

import csv
import io
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime

from apps.audit.services import audit_record
from apps.core import clock
from apps.core.actors import Actor
from apps.core.currencies import is_currency
from apps.core.exceptions import FincoreError
from apps.ledger import selectors as ledger_selectors
from apps.ledger import services as ledger_services
from apps.ledger.data import RESERVED_CLIENT_ID_PREFIX, AccountRef, AccountRole, TransferSpec
from apps.treasury.domain import fx as fx_math
from apps.treasury.models import FxConversion, FxQuote, FxRate, FxRoundingCarry
from apps.treasury.models.fx import DEFAULT_MAX_AGE_SECONDS, RATE_DIGITS, RATE_PLACES
from apps.treasury.selectors import fx as fx_selectors

# --- errors ----------------------------------------------------------------------------------


class FxRatesRefused(FincoreError):
    """The rates file was refused as a whole; ``errors`` lists each bad line and why. Nothing was stored."""

    code = "fx_rates_refused"
    title = "The FX rates file was refused; no rate of it was stored"
    status = 422


class FxRateNotFound(FincoreError):
    """No rate is published for the pair, in either direction."""

    code = "fx_rate_not_found"
    title = "No FX rate is published for these currencies"
    status = 422


class FxSameCurrency(FincoreError):
    """A conversion sells one currency for another; both sides here are the same."""

    code = "fx_same_currency"
    title = "The sell and buy currencies are the same"
    status = 422


class FxRateStale(FincoreError):
    """The pair's current rate is older than its maximum age; treasury must publish a new one."""

    code = "fx_rate_stale"
    title = "The FX rate is older than its maximum age"
    status = 422


class FxAmountTooSmall(FincoreError):
    """At this rate the amount converts to nothing (less than half a minor unit of the other currency)."""

    code = "fx_amount_too_small"
    title = "The amount is too small to convert"
    status = 422


class FxQuoteNotFound(FincoreError):
    """No such quote among the merchant's (in the key's mode)."""

    code = "fx_quote_not_found"
    title = "No such FX quote"
    status = 404


class FxQuoteExpired(FincoreError):
    """The quote's validity ended before it was executed; ask for a new quote."""

    code = "quote_expired"
    title = "The FX quote has expired"
    status = 422


class FxQuoteAlreadyExecuted(FincoreError):
    """The quote was executed by another conversion, between other accounts. A retry of the same
    conversion (same accounts) answers the first conversion instead."""

    code = "quote_already_executed"
    title = "The FX quote was already executed with other accounts"
    status = 409


class FxAccountNotFound(FincoreError):
    """The account is not one of the merchant's customer accounts (in the key's mode)."""

    code = "fx_account_not_found"
    title = "No such account"
    status = 404


class FxAccountCurrencyMismatch(FincoreError):
    """The account's currency is not the one the quote sells (or buys)."""

    code = "fx_account_currency_mismatch"
    title = "The account is not in the quote's currency"
    status = 422


# --- rates -----------------------------------------------------------------------------------

CSV_COLUMNS = ["base", "quote", "rate", "spread", "as_of", "source"]
CSV_OPTIONAL_COLUMNS = ["max_age_seconds"]
MAX_CSV_ROWS = 10_000
_FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class RateRow:
    base: str
    quote: str
    rate: Decimal
    spread: Decimal
    as_of: datetime
    source: str
    max_age_seconds: int
    line: int = 0  # the file's line it was read from (1 is the header)


def _decimal(text: str, name: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{name} {text!r} is not a decimal number") from None
    if not value.is_finite():
        raise ValueError(f"{name} {text!r} is not a decimal number")
    if value.as_tuple().exponent < -RATE_PLACES:
        raise ValueError(f"{name} {text!r} has more than {RATE_PLACES} decimal places")
    return value


def _rate_row(row: dict[str, str], now: datetime) -> RateRow:
    base, quote = row["base"].strip(), row["quote"].strip()
    for name, code in (("base", base), ("quote", quote)):
        if not is_currency(code):
            raise ValueError(f"{name} {code!r} is not an ISO 4217 currency code")
    if base == quote:
        raise ValueError("base and quote are the same currency")
    rate = _decimal(row["rate"].strip(), "rate")
    if rate <= 0:
        raise ValueError(f"rate {row['rate'].strip()!r} is not above zero")
    if rate.adjusted() >= RATE_DIGITS - RATE_PLACES:
        raise ValueError(f"rate {row['rate'].strip()!r} is too large")
    spread = _decimal(row["spread"].strip(), "spread")
    if not Decimal(0) <= spread < Decimal(1):
        raise ValueError(f"spread {row['spread'].strip()!r} is not a fraction from 0 to below 1 (0.0025 is 25 bp)")
    as_of = parse_datetime(row["as_of"].strip()) if row["as_of"] else None
    if as_of is None:
        raise ValueError(f"as_of {row['as_of']!r} is not an ISO 8601 date and time")
    if as_of.tzinfo is None:
        raise ValueError(f"as_of {row['as_of'].strip()!r} has no UTC offset")
    if as_of > now + _FUTURE_TOLERANCE:
        raise ValueError(f"as_of {row['as_of'].strip()!r} is in the future")
    source = row["source"].strip()
    if not source or len(source) > 100:
        raise ValueError("source is empty or longer than 100 characters")
    max_age = (row.get("max_age_seconds") or "").strip()
    if max_age and (not max_age.isascii() or not max_age.isdigit() or not 1 <= int(max_age) <= 2_147_483_647):
        raise ValueError(f"max_age_seconds {max_age!r} is not a whole number of seconds from 1")
    return RateRow(base, quote, rate, spread, as_of, source, int(max_age) if max_age else DEFAULT_MAX_AGE_SECONDS)


def fx_rates_parse(*, content: bytes | str) -> list[RateRow]:
    """The rows of a rates file ``base,quote,rate,spread,as_of,source[,max_age_seconds]`` (header
    first). Raises FxRatesRefused listing every bad line (1 is the header) and why."""
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise FxRatesRefused("The file is not UTF-8 text.", errors=[{"line": 0, "reason": "not UTF-8 text"}]) \
                from None
    reader = csv.reader(io.StringIO(content, newline=""))
    header = [column.strip().lower() for column in next(reader, [])]
    if header not in (CSV_COLUMNS, CSV_COLUMNS + CSV_OPTIONAL_COLUMNS):
        expected = ",".join(CSV_COLUMNS) + "[," + ",".join(CSV_OPTIONAL_COLUMNS) + "]"
        raise FxRatesRefused(f"Line 1: the header must be {expected}.",
                             errors=[{"line": 1, "reason": f"the header must be {expected}"}])
    now = clock.now()
    rows: list[RateRow] = []
    errors: list[dict[str, Any]] = []
    seen: dict[tuple[str, str, datetime], int] = {}
    for values in reader:
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(header):
            errors.append({"line": line, "reason": f"{len(values)} columns, not {len(header)}"})
            continue
        try:
            row = replace(_rate_row(dict(zip(header, values, strict=True)), now), line=line)
        except ValueError as bad:
            errors.append({"line": line, "reason": str(bad)})
            continue
        key = (row.base, row.quote, row.as_of)
        if key in seen:
            errors.append({"line": line, "reason": f"the same pair and as_of as line {seen[key]}"})
            continue
        seen[key] = line
        rows.append(row)
    if not rows and not errors:
        errors.append({"line": 1, "reason": "the file has no rates"})
    if len(rows) > MAX_CSV_ROWS:
        errors.append({"line": 1, "reason": f"more than {MAX_CSV_ROWS} rates"})
    if errors:
        raise FxRatesRefused(_refusal_detail(errors), errors=errors)
    return rows


def _refusal_detail(errors: list[dict[str, Any]]) -> str:
    shown = "; ".join(f"line {error['line']}: {error['reason']}" for error in errors[:10])
    more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
    return f"{len(errors)} bad line(s), nothing stored: {shown}{more}."


def fx_rates_import(*, content: bytes | str, actor: Actor, reason: str, filename: str = "") -> list[FxRate]:
    """Store every rate of a rates file, or none (FxRatesRefused, naming each bad line). A rate
    already stored (same pair and as_of) is a bad line: rates are never overwritten. Journaled
    as one ``treasury.fx_rates_imported`` event."""
    rows = fx_rates_parse(content=content)
    existing = _already_stored(rows)
    if existing:
        errors = [{"line": row.line, "reason": "this pair's rate at this as_of is already stored"}
                  for row in rows if (row.base, row.quote, row.as_of) in existing]
        raise FxRatesRefused(_refusal_detail(errors), errors=errors)
    now = clock.now()
    try:
        with transaction.atomic():
            rates = FxRate.objects.bulk_create([
                FxRate(base_currency=row.base, quote_currency=row.quote, mid_rate=row.rate, spread=row.spread,
                       source=row.source, as_of=row.as_of, max_age_seconds=row.max_age_seconds, imported_at=now,
                       imported_by=actor.label)
                for row in rows
            ])
            audit_record(
                actor=actor, action="treasury.fx_rates_imported", object_type="treasury.fxrate",
                object_id=str(rates[0].pk), reason=reason,
                after={"filename": filename, "count": len(rates),
                       "rates": [{"pair": f"{r.base_currency}/{r.quote_currency}", "rate": str(r.mid_rate),
                                  "spread": str(r.spread), "as_of": r.as_of.isoformat()} for r in rates[:100]]},
            )
    except IntegrityError:
        # A concurrent import stored one of these rates between the check and the insert.
        raise FxRatesRefused("A rate of the file was stored by another import meanwhile; nothing stored.",
                             errors=[{"line": 0, "reason": "stored by another import meanwhile"}]) from None
    return rates


def _already_stored(rows: list[RateRow]) -> set[tuple[str, str, datetime]]:
    """The rows' (base, quote, as_of) already stored: one query."""
    wanted = {(row.base, row.quote, row.as_of) for row in rows}
    stored = FxRate.objects.filter(as_of__in={row.as_of for row in rows}).values_list(
        "base_currency", "quote_currency", "as_of")
    return wanted & set(stored)


# --- quotes ----------------------------------------------------------------------------------


def fx_quote_create(*, actor: Actor, sell_currency: str, buy_currency: str, sell_amount: int | None = None,
                    buy_amount: int | None = None) -> FxQuote:
    """Price a conversion for the key's merchant: give ``sell_amount`` (what leaves the sell
    wallet) or ``buy_amount`` (what reaches the buy wallet), and the other is computed at the
    client rate, rounded once (half-even). Valid for FINCORE_FX_QUOTE_SECONDS.

    Raises FxSameCurrency, FxRateNotFound, FxRateStale (the rate is older than its max age now), FxAmountTooSmall.
    """
    if (sell_amount is None) == (buy_amount is None):
        raise ValueError("give sell_amount or buy_amount, not both")
    if sell_currency == buy_currency:
        raise FxSameCurrency(f"Both sides are {sell_currency}.")
    priced = fx_selectors.pair_rate(sell_currency=sell_currency, buy_currency=buy_currency)
    if priced is None:
        raise FxRateNotFound(f"No rate is published for {sell_currency}/{buy_currency} "
                             f"or {buy_currency}/{sell_currency}.")
    now = clock.now()
    if fx_selectors.rate_is_stale(priced.rate, now=now):
        raise FxRateStale(
            f"The {priced.rate.base_currency}/{priced.rate.quote_currency} rate is from "
            f"{priced.rate.as_of.isoformat()}, older than its maximum age of {priced.rate.max_age_seconds} s.",
            as_of=priced.rate.as_of.isoformat())
    rate = fx_math.client_rate(mid=priced.mid, spread=priced.rate.spread)
    if sell_amount is not None:
        amounts = fx_math.amounts_for_sell(sell_amount=sell_amount, sell_currency=sell_currency,
                                           buy_currency=buy_currency, rate=rate)
    else:
        amounts = fx_math.amounts_for_buy(buy_amount=buy_amount, sell_currency=sell_currency,
                                          buy_currency=buy_currency, rate=rate)
    if amounts.sell_amount <= 0 or amounts.buy_amount <= 0:
        raise FxAmountTooSmall(f"At {rate} {buy_currency} per {sell_currency} the amount converts to nothing.")
    return FxQuote.objects.create(
        merchant_id=actor.merchant_id, livemode=bool(actor.livemode), sell_currency=sell_currency,
        sell_amount=amounts.sell_amount, buy_currency=buy_currency, buy_amount=amounts.buy_amount,
        fixed_side="sell" if sell_amount is not None else "buy", rate=priced.rate, inverted=priced.inverted,
        mid_rate=priced.mid, spread=priced.rate.spread, client_rate=rate,
        rounding_currency=amounts.rounding_currency, rounding_difference=amounts.rounding_difference,
        created_at=now, expires_at=now + timedelta(seconds=settings.FINCORE_FX_QUOTE_SECONDS),
        created_by=actor.label,
    )


# --- conversions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Converted:
    conversion: FxConversion
    # False when the quote had already been executed between the same accounts: nothing new happened.
    created: bool


def _customer_account(*, actor: Actor, account_id: UUID, currency: str, side: str) -> UUID:
    account = ledger_selectors.customer_account_get(merchant_id=actor.merchant_id, livemode=bool(actor.livemode),
                                                    account_id=account_id)
    if account is None:
        raise FxAccountNotFound(f"No {side} account with that id.")
    if account.currency != currency:
        raise FxAccountCurrencyMismatch(f"The {side} account is in {account.currency}; the quote {side}s {currency}.")
    return account.pk


def _client_id(conversion_id: UUID, step: str) -> str:
    return f"{RESERVED_CLIENT_ID_PREFIX}fx:{conversion_id}:{step}"


def _ledger_refusal(refused: ledger_services.BatchRefused) -> FincoreError:
    """The refusal of the transfer that caused an atomic batch to fail (not its linked siblings)."""
    for result in refused.extensions.get("results", []):
        code = result["result"]
        if code not in ("ok", "exists", "linked_event_failed"):
            problem = FincoreError.catalogue.get(code)
            if problem is not None:
                return problem()
    return refused


def fx_conversion_create(*, actor: Actor, quote_id: UUID, sell_account_id: UUID, buy_account_id: UUID) -> Converted:
    """Execute the key's merchant's quote ``quote_id`` once: ``sell_amount`` leaves the sell
    wallet for the FX position of its currency, and ``buy_amount`` leaves the FX position of
    the other currency for the buy wallet, posted together. The quote's rounding difference is
    added to its currency's carry; a whole minor unit formed by it is posted between that FX
    position and the rounding account in the same batch. All or nothing, journaled.

    Executing an executed quote again between the same accounts answers the first conversion
    (``created`` False); between other accounts it raises FxQuoteAlreadyExecuted.

    Raises FxQuoteNotFound, FxQuoteExpired, FxAccountNotFound (another merchant's account),
    FxAccountCurrencyMismatch, InsufficientFunds (ledger; the sell wallet holds too little) or
    another ledger refusal (a frozen account).
    """
    livemode = bool(actor.livemode)
    with transaction.atomic(durable=True):
        quote = (FxQuote.objects.select_for_update().filter(merchant_id=actor.merchant_id, livemode=livemode,
                                                            pk=quote_id).first())
        if quote is None:
            raise FxQuoteNotFound("No FX quote with that id.")
        executed = FxConversion.objects.filter(quote=quote).first()
        if executed is not None:
            if (executed.sell_account_id, executed.buy_account_id) == (sell_account_id, buy_account_id):
                return Converted(executed, created=False)
            raise FxQuoteAlreadyExecuted(f"The quote was executed by conversion {executed.pk}.")
        now = clock.now()
        if now >= quote.expires_at:
            raise FxQuoteExpired(f"The quote expired at {quote.expires_at.isoformat()}.",
                                 expires_at=quote.expires_at.isoformat())
        sell_account = _customer_account(actor=actor, account_id=sell_account_id, currency=quote.sell_currency,
                                          side="sell")
        buy_account = _customer_account(actor=actor, account_id=buy_account_id, currency=quote.buy_currency,
                                        side="buy")
        conversion_id = FxConversion._meta.pk.default()
        common: dict[str, Any] = {"livemode": livemode, "code": "fx_conversion", "created_by": actor.label,
                                  "reference": f"fx quote {quote.pk}", "merchant_id": UUID(str(actor.merchant_id))}
        specs = [
            TransferSpec(client_id=_client_id(conversion_id, "sell"), debit_account_id=sell_account,
                         credit_account_ref=AccountRef(AccountRole.FX_POSITION, quote.sell_currency, livemode),
                         amount=quote.sell_amount, currency=quote.sell_currency, **common),
            TransferSpec(client_id=_client_id(conversion_id, "buy"),
                         debit_account_ref=AccountRef(AccountRole.FX_POSITION, quote.buy_currency, livemode),
                         credit_account_id=buy_account, amount=quote.buy_amount, currency=quote.buy_currency, **common),
        ]
        carry = _carry_locked(currency=quote.rounding_currency, livemode=livemode, now=now)
        added = fx_math.carry_add(remainder=carry.remainder, difference=quote.rounding_difference)
        if added.units:
            # fincore's gain (units > 0) leaves the FX position for the rounding account; a loss comes back.
            position = AccountRef(AccountRole.FX_POSITION, quote.rounding_currency, livemode)
            rounding = AccountRef(AccountRole.ROUNDING, quote.rounding_currency, livemode)
            debit, credit = (position, rounding) if added.units > 0 else (rounding, position)
            specs.append(TransferSpec(client_id=_client_id(conversion_id, "rounding"), debit_account_ref=debit,
                                      credit_account_ref=credit, amount=abs(added.units),
                                      currency=quote.rounding_currency, **{**common, "code": "fx_rounding"}))
        try:
            items = ledger_services.transfers_batch(specs=specs, atomic=True)
        except ledger_services.BatchRefused as refused:
            raise _ledger_refusal(refused) from refused
        carry.remainder = added.remainder
        carry.updated_at = now
        carry.save(update_fields=["remainder", "updated_at"])
        conversion = FxConversion.objects.create(
            id=conversion_id, quote=quote, merchant_id=quote.merchant_id, livemode=livemode,
            sell_account_id=sell_account, buy_account_id=buy_account, sell_transfer_id=items[0].transfer.pk,
            buy_transfer_id=items[1].transfer.pk, rounding_transfer_id=items[2].transfer.pk if added.units else None,
            created_at=now, created_by=actor.label,
        )
        audit_record(
            actor=actor, action="treasury.fx_conversion_created", object_type="treasury.fxconversion",
            object_id=str(conversion.pk), merchant_id=str(quote.merchant_id),
            after={"quote": str(quote.pk), "sell": {"amount": quote.sell_amount, "currency": quote.sell_currency},
                   "buy": {"amount": quote.buy_amount, "currency": quote.buy_currency},
                   "client_rate": str(quote.client_rate), "rounding_difference": str(quote.rounding_difference),
                   "rounding_units_posted": added.units},
        )
    return Converted(conversion, created=True)


def _carry_locked(*, currency: str, livemode: bool, now: datetime) -> FxRoundingCarry:
    """The currency's rounding carry, locked for the rest of the transaction (created at zero)."""
    FxRoundingCarry.objects.get_or_create(currency=currency, livemode=livemode,
                                          defaults={"remainder": Decimal(0), "updated_at": now})
    return FxRoundingCarry.objects.select_for_update().get(currency=currency, livemode=livemode)

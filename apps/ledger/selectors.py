"""Reading the ledger: accounts, balances (now or at any instant), statements, transfers, and
the proof that its invariants hold."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from dataclasses import fields as fields_of
from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from apps.core import clock
from apps.ledger.data import AccountRef, AccountRole, Owner
from apps.ledger.models import Account, Entry, Transfer, Verification, Watermark

# --- accounts and balances ---------------------------------------------------------------


def customer_accounts(*, merchant_id: Any, livemode: bool) -> QuerySet[Account]:
    """The wallets and funding accounts a merchant opened through the API, in one mode."""
    return Account.objects.filter(merchant_id=merchant_id, livemode=livemode, owner_type=Owner.CUSTOMER)


def customer_account_get(*, merchant_id: Any, livemode: bool, account_id: UUID) -> Account | None:
    return customer_accounts(merchant_id=merchant_id, livemode=livemode).filter(pk=account_id).first()


def customer_account_list(*, merchant_id: Any, livemode: bool, reference: str | None = None,
                          currency: str | None = None) -> QuerySet[Account]:
    accounts = customer_accounts(merchant_id=merchant_id, livemode=livemode)
    if reference is not None:
        accounts = accounts.filter(reference=reference)
    if currency is not None:
        accounts = accounts.filter(currency=currency)
    return accounts


def account_get(*, account_id: Any) -> Account | None:
    """Any account by its id (staff screens); None when there is none, or the id is malformed."""
    try:
        return Account.objects.filter(pk=account_id).first()
    except (ValueError, ValidationError):
        return None


def merchant_accounts(*, merchant_id: Any) -> QuerySet[Account]:
    """A merchant's own accounts (available, pending, reserve … in every currency and mode), not
    its customers' wallets: what freezing a merchant's accounts freezes."""
    return Account.objects.filter(owner_type=Owner.MERCHANT, merchant_id=merchant_id).order_by("livemode", "currency",
                                                                                              "code")


def role_account_get(*, ref: AccountRef) -> Account | None:
    """The account ``ref`` names, or None while no posting has opened it (nor the merchant's
    creation, for a merchant's account)."""
    identity = {"merchant_id": ref.merchant_id} if ref.rules.owner is Owner.MERCHANT else {"name": ref.name}
    return Account.objects.filter(
        owner_type=ref.rules.owner, code=ref.role, currency=ref.currency, livemode=ref.livemode, **identity
    ).first()


@dataclass(frozen=True)
class Balances:
    """The four counters of an account at one instant."""

    currency: str
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int

    # Read as a customer wallet (credit-normal): money held for the customer.
    @property
    def posted(self) -> int:
        return self.credits_posted - self.debits_posted

    @property
    def pending(self) -> int:
        """Holds in flight: incoming minus outgoing."""
        return self.credits_pending - self.debits_pending

    @property
    def available(self) -> int:
        """What may be spent now: posted money less outgoing holds."""
        return self.posted - self.debits_pending


def merchant_account_balances(*, merchant_id: Any, livemode: bool) -> dict[tuple[str, AccountRole], Balances]:
    """The balances now of every account the merchant has with fincore (pending, available,
    reserve), keyed by (currency, role): one query, whatever the number of currencies."""
    accounts = Account.objects.filter(merchant_id=merchant_id, owner_type=Owner.MERCHANT, livemode=livemode)
    return {(account.currency, AccountRole(account.code)): account_balances(account=account) for account in accounts}


def role_account_balances(*, ref: AccountRef) -> Balances:
    """The balances now of the account ``ref`` names; all zero while it is not opened yet (a
    posting to it opens it)."""
    account = role_account_get(ref=ref)
    return account_balances(account=account) if account else Balances(ref.currency, 0, 0, 0, 0)


def account_balances(*, account: Account, as_of: datetime | None = None) -> Balances:
    """The account's balances now, or just after the last entry at or before ``as_of``
    (one index lookup: entries carry the balances after them)."""
    if as_of is None:
        return Balances(account.currency, account.debits_pending, account.debits_posted, account.credits_pending,
                        account.credits_posted)
    entry = (
        Entry.objects.filter(account_id=account.pk, posted_at__lte=as_of)
        .order_by("-posted_at", "-id")
        .only("debits_pending", "debits_posted", "credits_pending", "credits_posted")
        .first()
    )
    if entry is None:
        return Balances(account.currency, 0, 0, 0, 0)
    return Balances(account.currency, entry.debits_pending, entry.debits_posted, entry.credits_pending,
                    entry.credits_posted)


def account_statement(
    *, account: Account, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[Entry]:
    """The account's entries in ``[since, until)``, oldest first, each with the balances after it."""
    # Explicitly ordered: Entry has no default ordering, and the balances only read as a running
    # balance in this order (the one ledger_verify checks them in).
    entries = Entry.objects.filter(account_id=account.pk).select_related("transfer").order_by("posted_at", "id")
    if since is not None:
        entries = entries.filter(posted_at__gte=since)
    if until is not None:
        entries = entries.filter(posted_at__lt=until)
    return entries


# --- transfers ---------------------------------------------------------------------------

STATUSES = ("pending", "posted", "voided", "expired")


def transfer_status(transfer: Transfer, resolution_kind: str | None) -> str:
    """posted, pending, voided or expired: a pending transfer's status is its resolution's. A
    hold past its timeout reads expired at once (it can no longer be posted or voided), before
    the expiry job has released it."""
    if transfer.kind == Transfer.Kind.PENDING:
        if resolution_kind is None and transfer.expires_at is not None and transfer.expires_at <= clock.now():
            return "expired"
        return {
            None: "pending",
            Transfer.Kind.POST_PENDING: "posted",
            Transfer.Kind.VOID_PENDING: "voided",
            Transfer.Kind.EXPIRE_PENDING: "expired",
        }[resolution_kind]
    return {
        Transfer.Kind.VOID_PENDING: "voided",
        Transfer.Kind.EXPIRE_PENDING: "expired",
    }.get(transfer.kind, "posted")


def resolutions_of(transfer_ids: list[UUID]) -> dict[UUID, Transfer]:
    """For each of these pending transfers that is resolved: its post, void or expiry."""
    return {t.pending_id: t for t in Transfer.objects.filter(pending_id__in=transfer_ids)}


def transfer_amounts(transfer_ids: list[UUID]) -> dict[UUID, int]:
    """The amount of each of these transfers (a hold's amount, whatever became of it)."""
    return dict(Transfer.objects.filter(pk__in=transfer_ids).values_list("pk", "amount"))


def reversals_of(transfer_ids: list[UUID]) -> dict[UUID, Transfer]:
    return {t.reverses_id: t for t in Transfer.objects.filter(reverses_id__in=transfer_ids)}


def merchant_transfers(*, merchant_id: Any, livemode: bool) -> QuerySet[Transfer]:
    return Transfer.objects.filter(merchant_id=merchant_id, livemode=livemode)


def merchant_transfer_get(*, merchant_id: Any, livemode: bool, transfer_id: UUID) -> Transfer | None:
    return merchant_transfers(merchant_id=merchant_id, livemode=livemode).filter(pk=transfer_id).first()


def merchant_transfer_list(
    *,
    merchant_id: Any,
    livemode: bool,
    account_id: UUID | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Transfer]:
    transfers = merchant_transfers(merchant_id=merchant_id, livemode=livemode)
    if account_id is not None:
        # Through the account's entries: indexed by account, where transfers are not.
        transfers = transfers.filter(
            pk__in=Entry.objects.filter(account_id=account_id).values("transfer_id")
        )
    if since is not None:
        transfers = transfers.filter(created_at__gte=since)
    if until is not None:
        transfers = transfers.filter(created_at__lt=until)
    if status is not None:
        resolution = Transfer.objects.filter(pending_id=OuterRef("pk"))
        timed_out = Q(expires_at__lte=clock.now())
        by_status = {
            "pending": Q(kind="pending") & ~Exists(resolution) & ~timed_out,
            "posted": Q(kind__in=["immediate", "post_pending"])
            | (Q(kind="pending") & Exists(resolution.filter(kind="post_pending"))),
            "voided": Q(kind="void_pending") | (Q(kind="pending") & Exists(resolution.filter(kind="void_pending"))),
            "expired": Q(kind="expire_pending")
            | (Q(kind="pending") & Exists(resolution.filter(kind="expire_pending")))
            | (Q(kind="pending") & ~Exists(resolution) & timed_out),
        }
        transfers = transfers.filter(by_status[status])
    return transfers


@dataclass(frozen=True)
class TransferRecord:
    """A transfer as an auditor reads it: amount in minor units of its currency, the accounts, and why."""

    id: UUID
    created_at: datetime
    effective_at: datetime
    kind: str
    debit_account_id: UUID
    credit_account_id: UUID
    amount: int
    currency: str
    code: str
    reference: str
    client_id: str
    merchant_id: UUID | None
    livemode: bool
    pending_id: UUID | None
    reverses_id: UUID | None
    created_by: str


def transfers_created_between(*, start: datetime, end: datetime) -> Iterator[TransferRecord]:
    """Every transfer created in ``start <= created_at < end``, oldest first, streamed from the
    database in chunks (a month of transfers never sits in memory)."""
    fields = [field.name for field in fields_of(TransferRecord)]
    rows = (
        Transfer.objects.filter(created_at__gte=start, created_at__lt=end)
        .order_by("created_at", "id")
        .values_list(*fields)
        .iterator(chunk_size=2000)
    )
    return (TransferRecord(*row) for row in rows)


@dataclass(frozen=True)
class WalletTransfer:
    """Money a merchant moved out of one of its customers' wallets (the ledger API), as monitoring
    reads it: ``debit_account_id`` is the wallet paid from, ``credit_account_id`` the one paid to."""

    id: UUID
    created_at: datetime
    merchant_id: UUID
    livemode: bool
    amount: int
    currency: str
    debit_account_id: UUID
    credit_account_id: UUID


def wallet_transfers_after(*, after_id: UUID, limit: int, not_created_by: Sequence[str] = ()) -> list[WalletTransfer]:
    """Merchants' transfers out of customer wallets with an id above ``after_id`` (uuid7: by
    creation), oldest first, at most ``limit``: those that moved money (immediate ones and the
    posting of a hold, not the hold itself nor a reversal), except those ``not_created_by`` names
    (an app whose movements its subscribers learn of from its own events)."""
    rows = (
        Transfer.objects.filter(
            pk__gt=after_id, merchant_id__isnull=False, reverses__isnull=True,
            kind__in=[Transfer.Kind.IMMEDIATE, Transfer.Kind.POST_PENDING],
            debit_account__owner_type=Owner.CUSTOMER,
        )
        .exclude(created_by__in=not_created_by)
        .order_by("pk")
        .values_list("id", "created_at", "merchant_id", "livemode", "amount", "currency", "debit_account_id",
                     "credit_account_id")[:limit]
    )
    return [WalletTransfer(*row) for row in rows]


def pending_transfers_due(*, now: datetime, since: datetime | None, limit: int) -> list[Transfer]:
    """Pending transfers whose timeout passed in ``[since, now]`` and not yet resolved, oldest
    deadline first. ``since`` keeps the read to recent deadlines: holds are never deleted, so
    without it every run would walk every timed hold there ever was."""
    due = Transfer.objects.filter(kind=Transfer.Kind.PENDING, expires_at__lte=now)
    if since is not None:
        due = due.filter(expires_at__gte=since)
    return list(
        due.exclude(Exists(Transfer.objects.filter(pending_id=OuterRef("pk")))).order_by("expires_at")[:limit]
    )


def watermark(name: str) -> datetime | None:
    return Watermark.objects.filter(name=name).values_list("value", flat=True).first()


def latest_verification() -> Verification | None:
    return Verification.objects.order_by("-started_at").first()


# --- invariants --------------------------------------------------------------------------

# The triggers migrations 0002 and 0004 install, by table.
TRIGGERS = (
    ("ledger_transfer", "ledger_transfer_append_only"),
    ("ledger_entry", "ledger_entry_append_only"),
    ("ledger_entry", "ledger_entries_in_pairs"),
    ("ledger_account", "ledger_account_never_deleted"),
    ("ledger_account", "ledger_account_guard"),
    ("ledger_account", "ledger_account_balanced"),
    ("ledger_account", "ledger_account_starts_at_zero"),
)

# Each check is one query returning the first violation as (description,) or nothing.
_CHECKS: tuple[tuple[str, str], ...] = (
    (
        "each currency's debits equal its credits",
        """
        SELECT format('%s (%s): debits (pending %s, posted %s) <> credits (pending %s, posted %s)', currency,
                      CASE WHEN livemode THEN 'live' ELSE 'test' END,
                      SUM(debits_pending), SUM(debits_posted), SUM(credits_pending), SUM(credits_posted))
        FROM ledger_account GROUP BY currency, livemode
        HAVING SUM(debits_posted) <> SUM(credits_posted) OR SUM(debits_pending) <> SUM(credits_pending)
        ORDER BY currency, livemode DESC LIMIT 1
        """,
    ),
    (
        "every stored balance equals the sum of its entries",
        """
        SELECT format('account %s: stored balances (%s, %s, %s, %s) <> sums of its entries (%s, %s, %s, %s)',
                      a.id, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted,
                      COALESCE(s.dpe, 0), COALESCE(s.dpo, 0), COALESCE(s.cpe, 0), COALESCE(s.cpo, 0))
        FROM ledger_account a
        LEFT JOIN (
            SELECT account_id,
                   SUM(pending_change) FILTER (WHERE side = 'D') AS dpe,
                   SUM(posted_change) FILTER (WHERE side = 'D') AS dpo,
                   SUM(pending_change) FILTER (WHERE side = 'C') AS cpe,
                   SUM(posted_change) FILTER (WHERE side = 'C') AS cpo
            FROM ledger_entry GROUP BY account_id
        ) s ON s.account_id = a.id
        WHERE (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
              IS DISTINCT FROM (COALESCE(s.dpe, 0), COALESCE(s.dpo, 0), COALESCE(s.cpe, 0), COALESCE(s.cpo, 0))
        ORDER BY a.id LIMIT 1
        """,
    ),
    (
        "every entry's balances follow from the one before it",
        """
        SELECT format('entry %s of account %s: balances after it do not follow from the entry before', id, account_id)
        FROM (
            SELECT e.*,
                   LAG(debits_pending, 1, 0::bigint) OVER w AS prev_dpe,
                   LAG(debits_posted, 1, 0::bigint) OVER w AS prev_dpo,
                   LAG(credits_pending, 1, 0::bigint) OVER w AS prev_cpe,
                   LAG(credits_posted, 1, 0::bigint) OVER w AS prev_cpo
            FROM ledger_entry e WINDOW w AS (PARTITION BY account_id ORDER BY posted_at, id)
        ) e
        WHERE (debits_pending, debits_posted, credits_pending, credits_posted) IS DISTINCT FROM (
            prev_dpe + CASE WHEN side = 'D' THEN pending_change ELSE 0 END,
            prev_dpo + CASE WHEN side = 'D' THEN posted_change ELSE 0 END,
            prev_cpe + CASE WHEN side = 'C' THEN pending_change ELSE 0 END,
            prev_cpo + CASE WHEN side = 'C' THEN posted_change ELSE 0 END)
        ORDER BY account_id, posted_at, id LIMIT 1
        """,
    ),
    (
        "every transfer has its two entries, matching its kind and amount",
        """
        SELECT format('transfer %s (%s of %s): its entries do not match it', t.id, t.kind, t.amount)
        FROM ledger_transfer t
        LEFT JOIN ledger_transfer p ON p.id = t.pending_id
        LEFT JOIN ledger_entry d ON d.transfer_id = t.id AND d.side = 'D' AND d.account_id = t.debit_account_id
        LEFT JOIN ledger_entry c ON c.transfer_id = t.id AND c.side = 'C' AND c.account_id = t.credit_account_id
        WHERE d.id IS NULL OR c.id IS NULL
           OR (d.pending_change, d.posted_change) IS DISTINCT FROM (c.pending_change, c.posted_change)
           OR (d.pending_change, d.posted_change) IS DISTINCT FROM (
                CASE t.kind WHEN 'pending' THEN t.amount WHEN 'immediate' THEN 0 ELSE -p.amount END,
                CASE WHEN t.kind IN ('immediate', 'post_pending') THEN t.amount ELSE 0 END)
           OR (t.kind = 'post_pending' AND t.amount > p.amount)
           OR (SELECT COUNT(*) FROM ledger_entry x WHERE x.transfer_id = t.id) <> 2
        ORDER BY t.created_at, t.id LIMIT 1
        """,
    ),
)


@dataclass(frozen=True)
class VerifyReport:
    accounts: int
    transfers: int
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def ledger_verify() -> VerifyReport:
    """Prove the ledger's invariants over all data; the report names the first violation.

    It reads every row, so it runs without the connection's statement timeout (its Celery time
    limit bounds it instead).
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND t.tgenabled = 'O'"
        )
        installed = set(cursor.fetchall())
        cursor.execute("SELECT (SELECT COUNT(*) FROM ledger_account), (SELECT COUNT(*) FROM ledger_transfer)")
        accounts, transfers = cursor.fetchone()
        missing = [f"{table}.{name}" for table, name in TRIGGERS if (table, name) not in installed]
        if missing:
            return VerifyReport(accounts, transfers, f"triggers missing or disabled: {', '.join(missing)}")
        for invariant, query in _CHECKS:
            cursor.execute(query)
            violation = cursor.fetchone()
            if violation:
                return VerifyReport(accounts, transfers, f"{invariant}: violated by {violation[0]}")
    return VerifyReport(accounts, transfers, None)

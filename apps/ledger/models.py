"""Accounts, transfers and entries. Written only by the posting engine (``apps.ledger.engine``).

Balances are four non-negative counters per account, as in TigerBeetle: debits and credits,
each pending (reserved by a hold) and posted. A transfer moves ``amount`` from its debit
account to its credit account; an entry records, per account per transfer, the change and
the four balances after it, so history and balances at any instant are one indexed read.
"""

import functools
import json
import operator
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, models

from apps.core.ids import uuid7
from apps.core.money import Money
from apps.ledger.data import ACCOUNT_NAME_MAX_LENGTH, CHART, OWNER_LABELS, AccountRole, NewTransfer, Owner


class Account(models.Model):
    # The chart of accounts is the ledger's data (apps.ledger.data.CHART): an account's code is
    # its role, and its role decides its owner.
    OwnerType = models.TextChoices("OwnerType", [(owner.name, (owner.value, OWNER_LABELS[owner])) for owner in Owner])
    Code = models.TextChoices("Code", [(role.name, (role.value, CHART[role].label)) for role in AccountRole])

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    currency = models.CharField(max_length=3)
    livemode = models.BooleanField(
        default=True, help_text="Live money, or test money (a merchant's test keys); the two never mix."
    )
    owner_type = models.CharField(max_length=16, choices=OwnerType.choices)
    merchant_id = models.UUIDField(null=True, blank=True, help_text="The merchant that owns or operates it.")
    code = models.CharField(max_length=32, choices=Code.choices)
    name = models.CharField(
        max_length=ACCOUNT_NAME_MAX_LENGTH, blank=True,
        help_text="Which one, for system accounts: a connector, a bank account.",
    )
    reference = models.CharField(max_length=255, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    debits_must_not_exceed_credits = models.BooleanField(default=False)
    credits_must_not_exceed_debits = models.BooleanField(default=False)
    frozen = models.BooleanField(default=False)
    closed = models.BooleanField(default=False)
    debits_pending = models.BigIntegerField(default=0)
    debits_posted = models.BigIntegerField(default=0)
    credits_pending = models.BigIntegerField(default=0)
    credits_posted = models.BigIntegerField(default=0)
    created_at = models.DateTimeField()
    last_posted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Target of the transfers' composite foreign keys (migration 0002).
            models.UniqueConstraint(fields=["id", "currency", "livemode"], name="account_id_currency_mode"),
            models.CheckConstraint(condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="account_currency_iso"),
            models.CheckConstraint(
                condition=models.Q(debits_pending__gte=0, debits_posted__gte=0, credits_pending__gte=0,
                                   credits_posted__gte=0),
                name="account_balances_non_negative",
            ),
            models.CheckConstraint(
                condition=~models.Q(debits_must_not_exceed_credits=True, credits_must_not_exceed_debits=True),
                name="account_one_overdraft_rule",
            ),
            models.CheckConstraint(
                condition=models.Q(debits_must_not_exceed_credits=False)
                | models.Q(debits_pending__lte=models.F("credits_posted") - models.F("debits_posted")),
                name="account_debits_within_credits",
            ),
            models.CheckConstraint(
                condition=models.Q(credits_must_not_exceed_debits=False)
                | models.Q(credits_pending__lte=models.F("debits_posted") - models.F("credits_posted")),
                name="account_credits_within_debits",
            ),
            models.CheckConstraint(
                condition=models.Q(owner_type="system") | models.Q(merchant_id__isnull=False),
                name="account_owned",
            ),
            models.CheckConstraint(
                condition=functools.reduce(operator.or_, (
                    models.Q(owner_type=owner.value,
                             code__in=[role.value for role in AccountRole if CHART[role].owner is owner])
                    for owner in Owner
                )),
                name="account_owner_of_role",
            ),
            # One account per role identity: the posting engine opens a role's account on first
            # use, and these decide between two first uses at once.
            models.UniqueConstraint(
                fields=["currency", "livemode", "code", "name"],
                condition=models.Q(owner_type="system"),
                name="account_one_system_account",
            ),
            models.UniqueConstraint(
                fields=["merchant_id", "currency", "livemode", "code"],
                condition=models.Q(owner_type="merchant"),
                name="account_one_merchant_account",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant_id", "livemode", "reference"], name="account_merchant_reference"),
            models.Index(fields=["merchant_id", "livemode", "currency"], name="account_merchant_currency"),
        ]

    def __str__(self) -> str:
        label = self.reference or self.name or self.get_code_display()
        return f"{label} ({self.currency})"


class Transfer(models.Model):
    class Kind(models.TextChoices):
        IMMEDIATE = "immediate", "Immediate"
        PENDING = "pending", "Pending (a hold)"
        POST_PENDING = "post_pending", "Posting of a pending transfer"
        VOID_PENDING = "void_pending", "Voiding of a pending transfer"
        EXPIRE_PENDING = "expire_pending", "Expiry of a pending transfer"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    livemode = models.BooleanField(default=True)
    merchant_id = models.UUIDField(null=True, blank=True, help_text="Whose request it was; scopes client_id.")
    client_id = models.CharField(
        max_length=255, help_text="The caller's id for it: a retry with the same one is a no-op."
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # These four references are enforced by the composite foreign keys of migration 0002 (which
    # also bind currency, mode and accounts), so Django's own constraints and single-column
    # indexes would only cost the ledger's insert path a second check and more index writes.
    debit_account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    credit_account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField()
    pending = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False,
        db_constraint=False,
    )
    reverses = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False,
        db_constraint=False,
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    code = models.CharField(max_length=32, blank=True, help_text="Why money moved: transfer, capture, refund, ...")
    reference = models.CharField(max_length=255, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    effective_at = models.DateTimeField()
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="transfer_amount_positive"),
            models.CheckConstraint(
                condition=~models.Q(debit_account=models.F("credit_account")), name="transfer_two_accounts"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["immediate", "pending", "post_pending", "void_pending", "expire_pending"]),
                name="transfer_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["post_pending", "void_pending", "expire_pending"], pending__isnull=False)
                | models.Q(kind__in=["immediate", "pending"], pending__isnull=True),
                name="transfer_resolution_names_its_pending",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="pending") | models.Q(expires_at__isnull=True),
                name="transfer_only_pending_expires",
            ),
            models.CheckConstraint(
                condition=models.Q(reverses__isnull=True) | models.Q(kind="immediate"),
                name="transfer_reversal_is_immediate",
            ),
            models.UniqueConstraint(
                fields=["merchant_id", "livemode", "client_id"], nulls_distinct=False, name="transfer_client_id_once"
            ),
            # A pending transfer is posted, voided or expired once.
            models.UniqueConstraint(
                fields=["pending"], condition=models.Q(pending__isnull=False), name="transfer_pending_resolved_once"
            ),
            models.UniqueConstraint(
                fields=["reverses"], condition=models.Q(reverses__isnull=False), name="transfer_reversed_once"
            ),
            # Targets of the composite foreign keys in migration 0002.
            models.UniqueConstraint(fields=["id", "debit_account", "credit_account"], name="transfer_id_accounts"),
        ]
        # Few indexes on purpose: every one is written for every transfer. An account's transfers
        # are found through its entries (entry_account_history).
        indexes = [
            models.Index(fields=["merchant_id", "livemode", "created_at"], name="transfer_merchant_created"),
            models.Index(
                fields=["expires_at"], condition=models.Q(kind="pending"), name="transfer_pending_expiry"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {Money(self.amount, self.currency)} [{self.client_id}]"

    @classmethod
    def as_written(cls, written: NewTransfer, at: datetime) -> "Transfer":
        """The row the engine wrote for ``written`` in a batch stamped ``at``, as reading it back
        would give it (metadata through JSON, as jsonb stores it), without the read."""
        spec = written.spec
        transfer = cls(
            id=written.id, livemode=spec.livemode, merchant_id=spec.merchant_id, client_id=spec.client_id,
            kind=spec.kind.value, debit_account_id=written.debit_account_id,
            credit_account_id=written.credit_account_id, currency=written.currency, amount=written.amount,
            pending_id=spec.pending_id, reverses_id=spec.reverses_id, expires_at=written.expires_at,
            code=written.code, reference=written.reference, metadata=json.loads(json.dumps(dict(spec.metadata))),
            effective_at=spec.effective_at or at, created_at=at, created_by=spec.created_by,
        )
        transfer._state.adding = False
        transfer._state.db = DEFAULT_DB_ALIAS
        return transfer


class Entry(models.Model):
    """One account's side of one transfer: the change, and the four balances after it."""

    class Side(models.TextChoices):
        DEBIT = "D", "Debit"
        CREDIT = "C", "Credit"

    id = models.BigAutoField(primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", db_index=False)
    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="+", db_index=False)
    side = models.CharField(max_length=1, choices=Side.choices)
    pending_change = models.BigIntegerField(
        help_text="Change of the side's pending balance (negative when a hold ends)."
    )
    posted_change = models.BigIntegerField(help_text="Change of the side's posted balance.")
    debits_pending = models.BigIntegerField()
    debits_posted = models.BigIntegerField()
    credits_pending = models.BigIntegerField()
    credits_posted = models.BigIntegerField()
    posted_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "entries"
        constraints = [
            models.CheckConstraint(condition=models.Q(side__in=["D", "C"]), name="entry_side_valid"),
            models.CheckConstraint(condition=models.Q(posted_change__gte=0), name="entry_posted_only_grows"),
            models.UniqueConstraint(fields=["transfer", "side"], name="entry_one_per_side"),
        ]
        indexes = [models.Index(fields=["account", "posted_at", "id"], name="entry_account_history")]

    def __str__(self) -> str:
        return f"{self.get_side_display()} {self.account_id} for {self.transfer_id}"


class Verification(models.Model):
    """One run of the invariant check (``manage.py ledger_verify``, nightly from beat)."""

    id = models.BigAutoField(primary_key=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    ok = models.BooleanField()
    problem = models.TextField(blank=True, help_text="The first violation found, if any.")
    accounts = models.PositiveBigIntegerField()
    transfers = models.PositiveBigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["-started_at"], name="verification_latest")]

    def __str__(self) -> str:
        return f"{'passed' if self.ok else 'FAILED'} {self.started_at:%Y-%m-%d %H:%M}"


class Watermark(models.Model):
    """How far a sweep has read, so each run looks only at what is new (the hold-expiry sweep)."""

    name = models.CharField(max_length=64, primary_key=True)
    value = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.value:%Y-%m-%d %H:%M:%S}"

"""The exception queue: breaks opened from what matching left, and the work people do on them.

``breaks_sync`` runs after matching (the matching run calls it, and so does the nightly proof):
every stored statement line counts, so a line of a statement matching has not run over yet
becomes a break that the next sync resolves as ``matched`` once matching takes it. Running it
right after matching keeps that window empty; it is idempotent and can run any time.

Every operator step (assign, comment, ignore, link, adjust) is journaled in its own transaction,
with who, what and why. An adjustment moves money through suspense and is a sensitive action
(``reconciliation.break_adjust``, maker-checker, with the break's amount for the threshold).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import connection, transaction

from apps.audit.services import audit_record
from apps.core import clock
from apps.core.actors import Actor
from apps.ledger import services as ledger_services
from apps.ledger.data import AccountRef, AccountRole, TransferSpec
from apps.reconciliation.exceptions import BreakNotFound, BreakResolved, InvalidBreakWork
from apps.reconciliation.models import Break, BreakComment, BreakKind, BreakResolution, BreakStatus
from apps.reconciliation.services.matches import match_link

BREAK_ADJUST = "reconciliation.break_adjust"
WORK_PERMISSION = "reconciliation.work_break"
SYNC_ACTOR = Actor.system("reconciliation.breaks_sync")
TRANSFER_CODE = "reconciliation_break"

# A UUIDv7 made by PostgreSQL (48 bits of Unix milliseconds over a random v4, version bits set to
# 7), so breaks opened by one INSERT … SELECT sort by time like every other row's id.
_UUID7_SQL = ("encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing "
              "substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)::bigint) from 3) "
              "from 1 for 6), 52, 1), 53, 1), 'hex')::uuid")

_OPEN_FOR_LINES = f"""
INSERT INTO reconciliation_break (id, kind, nostro_code, currency, amount, line_id, status, opened_at,
                                  resolution, resolution_reason, resolved_by)
SELECT {_UUID7_SQL}, 'unmatched_line', s.nostro_code, l.currency, l.amount, l.id, 'open', %(now)s, '', '', ''
FROM reconciliation_bankstatementline l
JOIN reconciliation_bankstatement s ON s.id = l.statement_id
WHERE (%(nostro)s::text IS NULL OR s.nostro_code = %(nostro)s)
  AND NOT EXISTS (SELECT 1 FROM reconciliation_matchline m WHERE m.line_id = l.id)
  AND NOT EXISTS (SELECT 1 FROM reconciliation_break b WHERE b.line_id = l.id)
ORDER BY l.id
ON CONFLICT DO NOTHING
RETURNING id
"""

# What a missing expectation still lacks: its amount less what lines settled of it.
_OPEN_FOR_EXPECTATIONS = f"""
INSERT INTO reconciliation_break (id, kind, nostro_code, currency, amount, expectation_id, status, opened_at,
                                  resolution, resolution_reason, resolved_by)
SELECT {_UUID7_SQL}, 'missing_expectation', e.nostro_code, e.currency, e.amount - e.reconciled_amount, e.id,
       'open', %(now)s, '', '', ''
FROM reconciliation_expectation e
WHERE e.state = 'missing' AND e.amount <> e.reconciled_amount
  AND (%(nostro)s::text IS NULL OR e.nostro_code = %(nostro)s)
  AND NOT EXISTS (SELECT 1 FROM reconciliation_break b WHERE b.expectation_id = e.id)
ORDER BY e.id
ON CONFLICT DO NOTHING
RETURNING id
"""

# A break resolved by a match (a rule's or an operator's link) whose match was undone since: its
# line is in no match again, or its expectation is missing again. The same break opens again,
# for what is still missing (each break is its line's or expectation's one).
_REOPEN_UNDONE = """
UPDATE reconciliation_break b
SET status = 'open', resolution = '', resolution_reason = '', resolved_at = NULL, resolved_by = '',
    opened_at = %(now)s,
    amount = COALESCE((SELECT e.amount - e.reconciled_amount FROM reconciliation_expectation e
                       WHERE e.id = b.expectation_id), b.amount)
WHERE b.status = 'resolved' AND b.resolution IN ('matched', 'linked')
  AND (%(nostro)s::text IS NULL OR b.nostro_code = %(nostro)s)
  AND ((b.line_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM reconciliation_matchline m WHERE m.line_id = b.line_id))
       OR EXISTS (SELECT 1 FROM reconciliation_expectation e
                  WHERE e.id = b.expectation_id AND e.state = 'missing' AND e.amount <> e.reconciled_amount))
RETURNING b.id
"""

_RESOLVE_MATCHED = """
UPDATE reconciliation_break b
SET status = 'resolved', resolution = 'matched', resolved_at = %(now)s, resolved_by = %(by)s,
    resolution_reason = 'Matched by a rule after the break was opened.'
WHERE b.status = 'open' AND (%(nostro)s::text IS NULL OR b.nostro_code = %(nostro)s)
  AND (EXISTS (SELECT 1 FROM reconciliation_matchline m WHERE m.line_id = b.line_id)
       OR EXISTS (SELECT 1 FROM reconciliation_expectation e
                  WHERE e.id = b.expectation_id AND e.state = 'reconciled'))
RETURNING b.id
"""


@dataclass(frozen=True)
class BreaksSyncReport:
    opened_lines: int
    opened_expectations: int
    resolved_matched: int
    reopened: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.opened_lines or self.opened_expectations or self.resolved_matched or self.reopened)


def breaks_sync(*, nostro_code: str | None = None, now: datetime | None = None) -> BreaksSyncReport:
    """Open one break for each statement line in no match and each missing expectation that has
    none yet, resolve (``matched``, by the system) the open breaks whose line or expectation a
    match took since, and open again a break resolved by a match that was undone since. Four
    set-based statements in one transaction; running it twice changes
    nothing the second time (and the OneToOne columns make a concurrent run open nothing twice).
    Journaled as one ``reconciliation.breaks_synced`` event when anything changed."""
    now = now or clock.now()
    parameters = {"now": now, "nostro": nostro_code, "by": SYNC_ACTOR.label}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_REOPEN_UNDONE, parameters)
        reopened = [str(row[0]) for row in cursor.fetchall()]
        cursor.execute(_RESOLVE_MATCHED, parameters)
        resolved = [str(row[0]) for row in cursor.fetchall()]
        cursor.execute(_OPEN_FOR_LINES, parameters)
        lines = [str(row[0]) for row in cursor.fetchall()]
        cursor.execute(_OPEN_FOR_EXPECTATIONS, parameters)
        expectations = [str(row[0]) for row in cursor.fetchall()]
        report = BreaksSyncReport(len(lines), len(expectations), len(resolved), len(reopened))
        if report.changed:
            audit_record(actor=SYNC_ACTOR, action="reconciliation.breaks_synced", object_type="reconciliation.break",
                         object_id=nostro_code or "*",
                         after={"opened": lines + expectations, "resolved_matched": resolved,
                                "reopened": reopened})
    return report


# --- an operator's work --------------------------------------------------------------------------


def _locked_open(break_id: Any) -> Break:
    """The break, locked, and still open. Raises BreakNotFound, BreakResolved."""
    found = Break.objects.select_for_update().filter(pk=break_id).first()
    if found is None:
        raise BreakNotFound(f"There is no break {break_id}.")
    if found.status != BreakStatus.OPEN:
        raise BreakResolved(f"The break was resolved ({found.get_resolution_display().lower()}) "
                            f"by {found.resolved_by}.")
    return found


def _state(found: Break) -> dict[str, Any]:
    return {"status": found.status, "assigned_to": found.assigned_to.get_username() if found.assigned_to else None,
            "resolution": found.resolution, "adjustment_transfer_id": str(found.adjustment_transfer_id or "") or None}


def _journal(found: Break, step: str, *, actor: Actor, before: dict[str, Any], reason: str,
             extra: dict[str, Any] | None = None) -> None:
    audit_record(actor=actor, action=f"reconciliation.break_{step}", object_type="reconciliation.break",
                 object_id=str(found.pk), before=before, after={**_state(found), **(extra or {})}, reason=reason)


def _resolve(found: Break, resolution: str, *, actor: Actor, reason: str) -> None:
    found.status, found.resolution, found.resolution_reason = BreakStatus.RESOLVED, resolution, reason
    found.resolved_at, found.resolved_by = clock.now(), actor.label
    found.save(update_fields=["status", "resolution", "resolution_reason", "resolved_at", "resolved_by",
                              "adjustment_transfer_id"])


def break_assign(*, break_id: Any, user: Any, actor: Actor, reason: str = "") -> Break:
    """Give an open break to ``user`` (None: to nobody). Raises BreakNotFound, BreakResolved."""
    with transaction.atomic():
        found = _locked_open(break_id)
        before = _state(found)
        found.assigned_to = user
        found.save(update_fields=["assigned_to"])
        _journal(found, "assigned", actor=actor, before=before, reason=reason)
    return found


def break_comment(*, break_id: Any, body: str, actor: Actor) -> BreakComment:
    """Add a note to a break (open or resolved: the file stays open to notes). Raises
    BreakNotFound, InvalidBreakWork (no words)."""
    if not body.strip():
        raise InvalidBreakWork("Write the comment.")
    with transaction.atomic():
        found = Break.objects.select_for_update().filter(pk=break_id).first()
        if found is None:
            raise BreakNotFound(f"There is no break {break_id}.")
        comment = BreakComment.objects.create(break_record=found, author=actor.label, body=body.strip(),
                                              created_at=clock.now())
        audit_record(actor=actor, action="reconciliation.break_commented", object_type="reconciliation.break",
                     object_id=str(found.pk), after={"comment": str(comment.pk), "body": comment.body})
    return comment


def break_ignore(*, break_id: Any, actor: Actor, reason: str) -> Break:
    """Resolve a break as ignored (a bank fee booked elsewhere, a test line). Raises
    InvalidBreakWork (no reason), BreakNotFound, BreakResolved."""
    if not reason.strip():
        raise InvalidBreakWork("Say why the break is ignored: the reason is kept in the journal.")
    with transaction.atomic():
        found = _locked_open(break_id)
        before = _state(found)
        _resolve(found, BreakResolution.IGNORED, actor=actor, reason=reason)
        _journal(found, "ignored", actor=actor, before=before, reason=reason)
    return found


def break_link(*, break_id: Any, actor: Actor, reason: str, line_ids: list[int] | None = None,
               expectation_ids: list[UUID] | None = None) -> Break:
    """Resolve a break by a manual match: a line's break with ``expectation_ids``, a missing
    expectation's with ``line_ids``. The counterparts' open breaks are resolved as linked too (an
    expectation's only once the link settles it in full: a part still missing stays a break).
    Raises InvalidBreakWork, BreakNotFound, BreakResolved, LinkRefused (from the match)."""
    if not reason.strip():
        raise InvalidBreakWork("Say why these belong together.")
    with transaction.atomic():
        found = _locked_open(break_id)
        if found.kind == BreakKind.UNMATCHED_LINE:
            lines, expectations = [found.line_id], list(expectation_ids or [])
        else:
            lines, expectations = list(line_ids or []), [found.expectation_id]
        if not lines or not expectations:
            raise InvalidBreakWork("Choose what to link the break with.")
        match = match_link(line_ids=lines, expectation_ids=expectations, actor=actor, reason=reason)
        counterparts = list(
            Break.objects.select_for_update().filter(status=BreakStatus.OPEN)
            .filter(line_id__in=lines).exclude(pk=found.pk).order_by("pk")
        ) + list(
            Break.objects.select_for_update().filter(status=BreakStatus.OPEN, expectation_id__in=expectations,
                                                     expectation__state="reconciled")
            .exclude(pk=found.pk).order_by("pk")
        )
        for linked in [found, *counterparts]:
            before = _state(linked)
            _resolve(linked, BreakResolution.LINKED, actor=actor, reason=reason)
            _journal(linked, "linked", actor=actor, before=before, reason=reason, extra={"match": str(match.pk)})
    return found


# --- the adjusting transfer (maker-checker) ----------------------------------------------------


def break_adjust_check(arguments: Any) -> Break:
    """The open break an adjustment request names. Raises InvalidBreakWork, BreakNotFound,
    BreakResolved."""
    if set(arguments) != {"break_id"}:
        raise InvalidBreakWork("An adjustment names the break (break_id) and nothing else.")
    try:
        break_id = UUID(str(arguments["break_id"]))
    except ValueError:
        raise InvalidBreakWork("break_id is no break's id.") from None
    found = Break.objects.select_related("line", "expectation").filter(pk=break_id).first()
    if found is None:
        raise BreakNotFound(f"There is no break {break_id}.")
    if found.status != BreakStatus.OPEN:
        raise BreakResolved(f"The break was resolved ({found.get_resolution_display().lower()}).")
    return found


def break_adjust(*, break_id: Any, actor: Actor, reason: str) -> str:
    """Clear a break through suspense so the nostro's ledger balance meets the bank's, once a
    checker approved (``reconciliation.break_adjust``).

    A line the books did not expect moved the bank's balance: money in is nostro → suspense (debit
    the nostro, as money arriving does), money out suspense → nostro. A missing expectation is the
    reverse: the books counted money the bank did not move, so the same side is undone. The
    transfer's client id is the break's, so a retry posts nothing twice, and it is effective at the
    end of the day the bank booked it (the line) or was expected to (the expectation): the balance
    proof counts it in that statement.

    This is ``transfer_create``, not the ledger's manual ``adjustment_post``: ADJUSTABLE_ROLES
    forbids a nostro there because only a statement may move one, and this is exactly a statement
    moving it. Raises BreakNotFound, BreakResolved, and the ledger's refusals.
    """
    with transaction.atomic():
        found = (Break.objects.select_for_update(of=("self",)).select_related("line", "expectation")
                 .filter(pk=break_id).first())
        if found is None:
            raise BreakNotFound(f"There is no break {break_id}.")
        if found.status == BreakStatus.RESOLVED and found.resolution == BreakResolution.ADJUSTED:
            return f"Adjusted already by transfer {found.adjustment_transfer_id}."
        if found.status != BreakStatus.OPEN:
            raise BreakResolved(f"The break was resolved ({found.get_resolution_display().lower()}) "
                                f"by {found.resolved_by}.")
        at_bank = found.amount if found.kind == BreakKind.UNMATCHED_LINE else -found.amount
        nostro = AccountRef(AccountRole.NOSTRO, found.currency, True, name=found.nostro_id)
        suspense = AccountRef(AccountRole.SUSPENSE, found.currency, True)
        debit, credit = (nostro, suspense) if at_bank > 0 else (suspense, nostro)
        day = found.line.booking_date if found.line_id else found.expectation.expected_date
        posted = ledger_services.transfer_create(spec=TransferSpec(
            client_id=f"reconciliation:break:{found.pk}", debit_account_ref=debit, credit_account_ref=credit,
            amount=abs(found.amount), currency=found.currency, livemode=True, code=TRANSFER_CODE,
            reference=f"break {found.pk}", created_by=actor.label,
            effective_at=min(clock.day_end(day), clock.now()),
        ))
        before = _state(found)
        found.adjustment_transfer_id = posted.transfer.pk
        _resolve(found, BreakResolution.ADJUSTED, actor=actor, reason=reason)
        _journal(found, "adjusted", actor=actor, before=before, reason=reason,
                 extra={"transfer": str(posted.transfer.pk), "debit": debit.role, "credit": credit.role,
                        "amount": abs(found.amount), "currency": found.currency})
    return f"Adjusted by transfer {posted.transfer.pk}."

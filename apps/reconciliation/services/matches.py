"""Matches made and undone by a person (from the breaks queue): linking statement lines to
expectations no rule matched, and undoing a wrong link. Both hold the nostro's matching lock, as
a matching run does, and are journaled with the operator's reason."""

from uuid import UUID

from django.db import connection, transaction

from apps.audit.services import audit_record
from apps.core import clock
from apps.core.actors import Actor
from apps.reconciliation.matching.errors import MatchLinkRefused, MatchUndoRefused, MatchUnknown
from apps.reconciliation.models import (
    BankStatementLine,
    Expectation,
    ExpectationState,
    Match,
    MatchExpectation,
    MatchKind,
    MatchLine,
)
from apps.reconciliation.services.matching import OPEN_STATES, expectations_settle, nostro_lock, settlement_postings


def _allocate(total: int, expectations: list[Expectation]) -> list[int]:
    """``total`` spread over the expectations in order: each up to its open amount, the last one
    what is left."""
    amounts, left = [], total
    for index, expectation in enumerate(expectations):
        open_amount = expectation.amount - expectation.reconciled_amount
        share = left if index == len(expectations) - 1 else (
            min(open_amount, left) if total > 0 else max(open_amount, left))
        if share == 0 or (share > 0) != (total > 0):
            raise MatchLinkRefused(f"The lines' {total} is used up before expectation {expectation.pk}: "
                                   "link fewer expectations.")
        amounts.append(share)
        left -= share
    return amounts


def match_link(*, line_ids: list[int], expectation_ids: list[UUID], actor: Actor, reason: str) -> Match:
    """Link unmatched statement lines to open expectations of the same nostro and currency: the
    lines' sum is spread over the expectations in the order given. A reconciled connector
    settlement is posted nostro → connector clearing. Raises MatchLinkRefused."""
    if not reason.strip():
        raise MatchLinkRefused("Say why: the reason is kept in the journal.")
    if not line_ids or not expectation_ids or len(set(line_ids)) != len(line_ids) \
            or len(set(expectation_ids)) != len(expectation_ids):
        raise MatchLinkRefused("Link at least one statement line and one expectation, each once.")
    lines = list(BankStatementLine.objects.filter(pk__in=line_ids).select_related("statement"))
    if len(lines) != len(line_ids):
        raise MatchLinkRefused("A statement line is unknown.")
    nostros = {line.statement.nostro_id for line in lines}
    if len(nostros) != 1:
        raise MatchLinkRefused("The statement lines are of different nostros.")
    nostro_code = nostros.pop()
    now = clock.now()
    with transaction.atomic():
        nostro_lock(nostro_code)
        by_id = Expectation.objects.select_for_update().in_bulk(expectation_ids)
        if len(by_id) != len(expectation_ids):
            raise MatchLinkRefused("An expectation is unknown.")
        expectations = [by_id[each] for each in expectation_ids]
        if MatchLine.objects.filter(line_id__in=line_ids).exists():
            raise MatchLinkRefused("A statement line is matched already: undo its match first.")
        total = sum(line.amount for line in lines)
        currencies = {line.currency for line in lines} | {each.currency for each in expectations}
        for expectation in expectations:
            if expectation.nostro_id != nostro_code:
                raise MatchLinkRefused(f"Expectation {expectation.pk} is for nostro {expectation.nostro_id}, "
                                       f"the lines are {nostro_code}'s.")
            if expectation.state not in OPEN_STATES:
                raise MatchLinkRefused(f"Expectation {expectation.pk} is {expectation.get_state_display().lower()}.")
            if (expectation.amount > 0) != (total > 0):
                raise MatchLinkRefused("The lines and the expectations move money in opposite directions.")
        if len(currencies) != 1:
            raise MatchLinkRefused("The lines and expectations are in several currencies "
                                   f"({', '.join(sorted(currencies))}).")
        amounts = _allocate(total, expectations)
        match = Match.objects.create(kind=MatchKind.MANUAL, created_at=now, created_by=actor.label[:200],
                                     reason=reason)
        MatchLine.objects.bulk_create(MatchLine(match=match, line_id=line_id) for line_id in line_ids)
        MatchExpectation.objects.bulk_create(
            MatchExpectation(match=match, expectation=expectation, amount=amount)
            for expectation, amount in zip(expectations, amounts, strict=True))
        with connection.cursor() as cursor:
            expectations_settle(cursor, "SELECT * FROM unnest(%s::uuid[], %s::bigint[])",
                                [[str(each.pk) for each in expectations], amounts])
        settlement_postings(nostro_code=nostro_code, actor=actor)
        audit_record(actor=actor, action="reconciliation.match_linked", object_type="reconciliation.match",
                     object_id=str(match.pk), reason=reason,
                     after={"lines": sorted(line_ids), "expectations": {str(e.pk): a for e, a in
                                                                       zip(expectations, amounts, strict=True)},
                            "nostro": nostro_code})
    return match


def match_undo(*, match_id: UUID, actor: Actor, reason: str) -> None:
    """Delete a match with its rows and give its expectations back what it settled (unreconciled,
    or missing past their SLA, when nothing is left; else partially reconciled). Refused when a
    ledger posting was made for it: that needs a reversal first. Raises MatchUnknown,
    MatchUndoRefused."""
    if not reason.strip():
        raise MatchUndoRefused("Say why: the reason is kept in the journal.")
    match = Match.objects.filter(pk=match_id).first()
    if match is None:
        raise MatchUnknown(f"There is no match {match_id}.")
    line = MatchLine.objects.filter(match=match).select_related("line__statement").first()
    now = clock.now()
    with transaction.atomic():
        if line is not None:
            nostro_lock(line.line.statement.nostro_id)
        rows = list(MatchExpectation.objects.filter(match_id=match_id).select_related("expectation"))
        if not Match.objects.filter(pk=match_id).exists():
            raise MatchUnknown(f"There is no match {match_id}.")
        posted = [row for row in rows if row.transfer_id is not None]
        if posted:
            raise MatchUndoRefused(f"A ledger posting was made for this match (transfer {posted[0].transfer_id}): "
                                   "it needs a reversal, not an undo.")
        line_ids = sorted(MatchLine.objects.filter(match_id=match_id).values_list("line_id", flat=True))
        locked = Expectation.objects.select_for_update().in_bulk([row.expectation_id for row in rows])
        for row in rows:
            expectation = locked[row.expectation_id]
            expectation.reconciled_amount -= row.amount
            if expectation.reconciled_amount:
                expectation.state = ExpectationState.PARTIALLY_RECONCILED
            elif expectation.missing_after <= now:
                expectation.state = ExpectationState.MISSING
            else:
                expectation.state = ExpectationState.UNRECONCILED
        Expectation.objects.bulk_update(list(locked.values()), ["reconciled_amount", "state"])
        audit_record(actor=actor, action="reconciliation.match_undone", object_type="reconciliation.match",
                     object_id=str(match_id), reason=reason,
                     before={"kind": match.kind, "rule": str(match.rule_id) if match.rule_id else None,
                             "lines": line_ids, "expectations": {str(row.expectation_id): row.amount for row in rows}})
        match.delete()

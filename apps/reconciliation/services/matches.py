"""Matches made by hand.

STAND-IN written by the breaks helper so the exception queue can link lines and expectations: the
matching helper writes the real module (with the rule engine) in parallel; at the merge theirs is
kept and this one dropped. The signature is the agreed one.
"""

from uuid import UUID

from django.db import IntegrityError, transaction

from apps.audit.services import audit_record
from apps.core import clock
from apps.core.actors import Actor
from apps.reconciliation.exceptions import LinkRefused
from apps.reconciliation.models import (
    BankStatementLine,
    Expectation,
    ExpectationState,
    Match,
    MatchExpectation,
    MatchKind,
    MatchLine,
)


def match_link(*, line_ids: list[int], expectation_ids: list[UUID], actor: Actor, reason: str) -> Match:
    """Link statement lines to expectations by hand: one manual match; the lines' total settles the
    expectations in turn (each up to its amount). Raises LinkRefused (no line or expectation, a line
    matched already, another nostro or currency, opposite signs, no reason)."""
    if not reason.strip():
        raise LinkRefused("Say why these belong together.")
    if not line_ids or not expectation_ids:
        raise LinkRefused("Link at least one statement line and one expectation.")
    with transaction.atomic():
        lines = list(BankStatementLine.objects.select_related("statement").filter(pk__in=line_ids).order_by("pk"))
        expectations = list(Expectation.objects.select_for_update().filter(pk__in=expectation_ids).order_by("pk"))
        if len(lines) != len(set(line_ids)) or len(expectations) != len(set(expectation_ids)):
            raise LinkRefused("A statement line or expectation named does not exist.")
        places = {(line.statement.nostro_id, line.currency) for line in lines} | {
            (expectation.nostro_id, expectation.currency) for expectation in expectations}
        if len(places) != 1:
            raise LinkRefused("The lines and expectations are of different nostros or currencies.")
        total = sum(line.amount for line in lines)
        if any((expectation.amount > 0) != (total > 0) for expectation in expectations):
            raise LinkRefused("Money in and money out cannot settle each other.")
        now = clock.now()
        match = Match.objects.create(kind=MatchKind.MANUAL, created_at=now, created_by=actor.label, reason=reason)
        try:
            with transaction.atomic():
                MatchLine.objects.bulk_create([MatchLine(match=match, line=line) for line in lines])
        except IntegrityError:
            raise LinkRefused("A statement line named is matched already.") from None
        left = total
        for expectation in expectations:
            open_amount = expectation.amount - expectation.reconciled_amount
            used = max(min(open_amount, left), 0) if total > 0 else min(max(open_amount, left), 0)
            if used == 0:
                continue
            left -= used
            MatchExpectation.objects.create(match=match, expectation=expectation, amount=used)
            expectation.reconciled_amount += used
            settled = abs(expectation.amount - expectation.reconciled_amount) <= expectation.amount_tolerance
            expectation.state = ExpectationState.RECONCILED if settled else ExpectationState.PARTIALLY_RECONCILED
            expectation.save(update_fields=["reconciled_amount", "state"])
        audit_record(actor=actor, action="reconciliation.match_link", object_type="reconciliation.match",
                     object_id=str(match.pk), after={"lines": [line.pk for line in lines],
                                                     "expectations": [str(e.pk) for e in expectations]},
                     reason=reason)
    return match

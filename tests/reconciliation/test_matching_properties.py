"""Matching's properties (hypothesis, database): lines and expectations generated from one set of
movements reconcile completely under the default rules, and leave no break; removing or altering
one line leaves exactly that line unmatched and that movement's expectations open, and the breaks
say exactly that: an altered line is one break at once (the line nothing expected; once its
expectation's SLA passes, that is a second break, which an operator links to it), a removed line one
break per expectation of its movement once their SLA has passed (what the bank did not show)."""

from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.core import clock
from apps.core.actors import Actor
from apps.reconciliation.models import BankStatementLine, Break, Expectation, MatchLine
from apps.reconciliation.services.breaks import breaks_sync
from apps.reconciliation.services.expectations import expectations_mark_missing
from apps.reconciliation.services.matching import matching_run
from tests.reconciliation.matching_support import DAY, expectation, lines, nostro, statement

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("tests.matching.properties")

amounts = st.integers(min_value=1, max_value=5_000_000)
movement = st.one_of(
    st.tuples(st.just("reference"), st.lists(amounts, min_size=1, max_size=1), st.booleans(), st.integers(-3, 3)),
    st.tuples(st.just("end_to_end"), st.lists(amounts, min_size=1, max_size=1), st.booleans(), st.integers(-9, 9)),
    st.tuples(st.just("batch"), st.lists(amounts, min_size=2, max_size=4), st.just(True), st.integers(-9, 9)),
)
movements = st.lists(movement, min_size=1, max_size=12)


def _build(generated, *, drop: int | None = None, alter: int | None = None):
    """Each movement: its expectations and (unless dropped) its line. Returns (line per movement,
    expectation ids per movement)."""
    on = statement()
    made_lines, made_expectations = {}, {}
    for n, (kind, parts, money_in, days) in enumerate(generated):
        sign = 1 if money_in else -1
        reference = f"R{n:04d}Z"
        if kind == "batch":
            made = [expectation(sign * part, group_key=reference) for part in parts]
            row = {"amount": sign * sum(parts), "reference": reference}
        elif kind == "end_to_end":
            made = [expectation(sign * parts[0], end_to_end_id=f"E{n:04d}Z")]
            row = {"amount": sign * parts[0], "end_to_end_id": f"E{n:04d}Z"}
        else:
            made = [expectation(sign * parts[0], reference=reference)]
            row = {"amount": sign * parts[0], "reference": reference}
        row["booking_date"] = DAY + timedelta(days=days)
        made_expectations[n] = {each.pk for each in made}
        if n == alter:
            row["amount"] = row["amount"] * 3 + sign * 7
        if n != drop:
            made_lines[n] = lines([row], on=on)[0].pk
    return made_lines, made_expectations


def _open() -> set:
    return set(Expectation.objects.exclude(state="reconciled").values_list("pk", flat=True))


def _unmatched() -> set:
    return set(BankStatementLine.objects.exclude(pk__in=MatchLine.objects.values("line_id")).values_list("pk",
                                                                                                       flat=True))


@given(generated=movements)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
def test_lines_and_expectations_of_the_same_movements_reconcile_completely(generated):
    with transaction.atomic():
        nostro()
        _build(generated)
        matching_run(nostro_code="nbb-bhd-01", actor=ACTOR)
        assert _unmatched() == set() and _open() == set()
        _past_every_sla()
        assert not Break.objects.exists()
        transaction.set_rollback(True)


@given(generated=movements, data=st.data())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
def test_one_line_removed_or_altered_leaves_exactly_that_break(generated, data):
    target = data.draw(st.integers(0, len(generated) - 1))
    altered = data.draw(st.booleans())
    with transaction.atomic():
        nostro()
        made_lines, made_expectations = _build(generated, drop=None if altered else target,
                                               alter=target if altered else None)
        matching_run(nostro_code="nbb-bhd-01", actor=ACTOR)
        assert _open() == made_expectations[target]
        assert _unmatched() == ({made_lines[target]} if altered else set())
        breaks_sync()
        assert _breaks() == ({("line", made_lines[target])} if altered else set())
        if not altered:
            _past_every_sla()
            assert _breaks() == {("expectation", pk) for pk in made_expectations[target]}
        transaction.set_rollback(True)


def _past_every_sla() -> None:
    """The hourly sweep and the breaks after every expectation's SLA (five days on, in the factory)."""
    expectations_mark_missing(now=clock.now() + timedelta(days=6))
    breaks_sync()


def _breaks() -> set[tuple[str, object]]:
    return {("line", line_id) if line_id else ("expectation", expectation_id)
            for line_id, expectation_id in Break.objects.values_list("line_id", "expectation_id")}

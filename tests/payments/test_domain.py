"""Pure rules: the state machines and what a connector's answer means to them; card numbers are
recognised wherever they hide; IBANs are checked; the janitor's backoff grows to hourly."""

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.payments import domain
from apps.payments.models import Capture, Payment, PaymentAttempt, Payout, Refund
from apps.routing.data import ConnectorResult, Outcome


def _with_check_digit(body: str) -> str:
    for digit in "0123456789":
        if domain.luhn_valid(body + digit):
            return body + digit
    raise AssertionError("unreachable")


card_numbers = st.builds(
    lambda first, rest: _with_check_digit(first + rest),
    st.sampled_from("23456"),
    st.integers(min_value=11, max_value=17).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n)),
)


@given(card_numbers, st.sampled_from(["", " ", "-"]), st.text(alphabet="abc xyz:", max_size=10))
def test_a_card_number_is_found_however_it_is_written(number, separator, prefix):
    written = separator.join(number[i:i + 4] for i in range(0, len(number), 4))
    assert domain.looks_like_card_number(f"{prefix}{written} thanks")
    assert domain.contains_card_number({"note": [prefix, {"nested": written}]})


def test_tokens_references_and_short_or_invalid_numbers_are_not_card_numbers():
    for text in ("tok_success", "order-1042", "4242", "1234567890123456789012", "4242424242424241",
                 "BH67BMAG00001299123456", "+973 1700 0000"):
        assert not domain.looks_like_card_number(text), text
    assert domain.looks_like_card_number("4242424242424242")
    assert domain.looks_like_card_number("4111-1111-1111-1111")


def test_bic_check():
    assert domain.bic_valid("BMAGBHBM") and domain.bic_valid("BMAGBHBMXXX")
    assert not domain.bic_valid("BMAG")


def test_the_inquiry_schedule_backs_off_to_hourly():
    delays = [domain.next_inquiry_delay(n) for n in range(10)]
    assert delays[:3] == [timedelta(seconds=2), timedelta(seconds=5), timedelta(seconds=15)]
    assert delays == sorted(delays)
    assert delays[-1] == timedelta(hours=1)


# --- state machines --------------------------------------------------------------------------

MACHINE_MODELS = {"payment": Payment, "attempt": PaymentAttempt, "capture": Capture, "refund": Refund,
                  "payout": Payout}
machines = st.sampled_from(sorted(domain.MACHINES))


def test_each_machine_knows_exactly_its_models_statuses():
    for machine, model in MACHINE_MODELS.items():
        table = domain.MACHINES[machine]
        assert set(table) == set(model.Status.values), machine
        assert all(targets <= set(table) for targets in table.values()), machine


@given(machines, st.data())
def test_a_transition_is_allowed_exactly_when_its_table_says_so(machine, data):
    table = domain.MACHINES[machine]
    current = data.draw(st.sampled_from(sorted(table)))
    target = data.draw(st.sampled_from(sorted(table)))
    if target in table[current]:
        assert domain.transition(machine, current, target) == target
    else:
        with pytest.raises(domain.IllegalTransition, match=f"cannot go from {current} to {target}"):
            domain.transition(machine, current, target)


@given(machines, st.data())
def test_a_final_status_is_never_left_and_every_status_is_reachable_from_the_first(machine, data):
    table = domain.MACHINES[machine]
    first = next(iter(table))
    reachable, frontier = {first}, [first]
    while frontier:
        for target in table[frontier.pop()]:
            if target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(table)
    status = first
    for _ in range(data.draw(st.integers(min_value=0, max_value=6))):
        if domain.is_final(machine, status):
            assert not table[status]
            break
        status = domain.transition(machine, status, data.draw(st.sampled_from(sorted(table[status]))))
    assert status in reachable


def test_money_taken_is_final_and_a_payment_fails_from_requires_capture_only_when_the_ledger_refuses():
    assert domain.is_final("attempt", "captured") and domain.is_final("payment", "succeeded")
    assert domain.PAYMENT_TRANSITIONS["requires_capture"] == {"succeeded", "canceled", "failed"}
    assert domain.ATTEMPT_TRANSITIONS["unknown"] == {"authorized", "captured", "declined", "failed"}


def test_a_payment_held_for_review_goes_on_to_processing_or_fails_and_only_before_it_is_routed():
    assert domain.PAYMENT_TRANSITIONS["requires_review"] == {"processing", "failed"}
    assert "requires_review" in domain.PAYMENT_TRANSITIONS["processing"]
    assert all("requires_review" not in domain.PAYMENT_TRANSITIONS[status]
               for status in ("requires_capture", "succeeded", "failed", "canceled"))


# --- what a connector's answer means ----------------------------------------------------------

outcomes = st.sampled_from(list(Outcome))


@given(machines, outcomes, st.integers(min_value=1, max_value=50))
def test_an_answer_means_the_same_for_every_operation_except_when_it_is_no_answer(machine, outcome, calls):
    verdict = domain.answer_verdict(machine, outcome, calls=calls)
    if outcome == Outcome.APPROVED:
        assert verdict == domain.Verdict.DONE
    elif outcome == Outcome.DECLINED:
        assert verdict == domain.Verdict.REFUSED
    elif machine == "attempt":
        # An authorization is never sent again blindly: an error did nothing, silence is asked about.
        assert verdict == (domain.Verdict.REFUSED if outcome == Outcome.ERROR else domain.Verdict.ASK_LATER)
    else:
        assert verdict == (domain.Verdict.REFUSED if calls >= domain.MAX_OPERATION_ERRORS
                           else domain.Verdict.CALL_AGAIN)


def _state(answers: int = 0, age: timedelta = timedelta(minutes=5)) -> domain.InquiryState:
    return domain.InquiryState(not_received_answers=answers, age=age)


LOST = ConnectorResult(Outcome.UNKNOWN, error_code="not_found", not_received=True)


@given(outcomes, st.booleans(), st.integers(min_value=0, max_value=10), st.integers(min_value=0, max_value=600))
def test_an_inquiry_records_only_final_outcomes_and_resends_only_what_is_safe(outcome, not_received, answers, age):
    result = ConnectorResult(outcome, not_received=not_received and outcome == Outcome.UNKNOWN,
                             resend_safe=not_received and outcome == Outcome.UNKNOWN)
    verdict = domain.inquiry_verdict(result, _state(answers, timedelta(seconds=age)))
    if outcome in (Outcome.APPROVED, Outcome.DECLINED):
        assert verdict == domain.InquiryVerdict.RECORD
    elif result.not_received:
        assert verdict == domain.InquiryVerdict.RESEND
    else:
        assert verdict == domain.InquiryVerdict.ASK_AGAIN


def test_a_rail_that_cannot_be_resent_is_believed_after_enough_answers_over_the_grace_period():
    grace, enough = domain.NOT_RECEIVED_GRACE, domain.NOT_RECEIVED_ANSWERS
    assert domain.inquiry_verdict(LOST, _state(enough - 1, grace)) == domain.InquiryVerdict.NOT_RECEIVED
    # One answer fewer, or too soon: it may yet arrive.
    assert domain.inquiry_verdict(LOST, _state(enough - 2, grace)) == domain.InquiryVerdict.ASK_AGAIN
    assert domain.inquiry_verdict(LOST, _state(enough - 1, grace - timedelta(seconds=1))) == (
        domain.InquiryVerdict.ASK_AGAIN)
    # A rail that has not said "never received" (still processing, say) is never given up on.
    silent = ConnectorResult(Outcome.UNKNOWN, error_code="timeout")
    assert domain.inquiry_verdict(silent, _state(99, timedelta(days=9))) == domain.InquiryVerdict.ASK_AGAIN

"""Pure rules of the payments app: what a card number looks like (so none is ever stored), IBAN
checks, and when the janitor asks a connector again. No Django imports."""

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

# Where a card number may hide: 13 to 19 digits, possibly split by spaces or dashes.
_DIGIT_RUN = re.compile(r"(?<![\d])\d(?:[ -]?\d)+(?![\d])")
_BIC = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")

# After an unknown outcome, ask the connector after 2 s, 5 s, 15 s, 1 min, 5 min, 15 min, 1 h,
# then every hour. Past REVIEW_AFTER a person is asked to find out (the janitor keeps asking).
INQUIRY_SCHEDULE = (
    timedelta(seconds=2), timedelta(seconds=5), timedelta(seconds=15), timedelta(minutes=1),
    timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1),
)
REVIEW_AFTER = timedelta(days=3)
# A capture, void or refund the connector did not answer is sent again (same idempotency key,
# so never done twice) on the same schedule; one that errs this many times in a row fails.
MAX_OPERATION_ERRORS = 12


def next_inquiry_delay(inquiries: int) -> timedelta:
    """How long to wait before the next question, after ``inquiries`` questions already asked."""
    return INQUIRY_SCHEDULE[min(inquiries, len(INQUIRY_SCHEDULE) - 1)]


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, character in enumerate(reversed(digits)):
        value = int(character)
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def looks_like_card_number(text: str) -> bool:
    """Whether ``text`` holds a card number: a run of 13-19 digits (spaces or dashes allowed
    between them) that starts like a card scheme's (2-6) and passes the Luhn check."""
    for match in _DIGIT_RUN.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits):
            return True
    return False


def _strings(value: Any) -> Iterator[str]:
    unvisited = [value]
    while unvisited:
        node = unvisited.pop()
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            unvisited.extend(node.keys())
            unvisited.extend(node.values())
        elif isinstance(node, list):
            unvisited.extend(node)


def contains_card_number(value: Any) -> bool:
    """Whether any string in ``value`` (a JSON document) looks like a card number."""
    return any(looks_like_card_number(text) for text in _strings(value))


def bic_valid(bic: str) -> bool:
    return bool(_BIC.match(bic))

import uuid
from datetime import UTC, datetime

import time_machine
from hypothesis import given
from hypothesis import strategies as st

from apps.core import ids


def test_uuid7_has_version_7_and_the_rfc_variant():
    value = ids.uuid7()
    assert value.version == 7
    assert value.variant == uuid.RFC_4122


def test_uuid7_carries_the_unix_millisecond():
    with time_machine.travel(datetime(2026, 11, 28, 9, 30, 15, 250_000, tzinfo=UTC), tick=False):
        value = ids.uuid7()
    assert value.int >> 80 == 1_795_858_215_250


def test_uuid7_increases_strictly_within_one_millisecond():
    with time_machine.travel(1_795_000_000.5, tick=False):
        made = [ids.uuid7() for _ in range(10_000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)


@given(st.uuids())
def test_public_ids_round_trip(value):
    public = ids.encode("mer", value)
    assert public.startswith("mer_") and len(public) == 30
    assert ids.decode("mer", public) == value


def test_decode_refuses_another_prefix_and_malformed_ids():
    public = ids.encode("mer", ids.uuid7())
    assert ids.decode("key", public) is None
    assert ids.decode("mer", public[:-1]) is None
    assert ids.decode("mer", public.replace("_", "-")) is None
    assert ids.decode("mer", "mer_" + "U" * 26) is None  # U is not in Crockford's alphabet
    assert ids.decode("mer", "mer_" + "Z" * 26) is None  # 130 bits: more than a UUID holds
    assert ids.decode("mer", None) is None


def test_decode_takes_crockford_letters_of_ascii_only():
    """U+017F (long s) upper-cases to 'S': an id written with it is not the id written with 'S'."""
    public = ids.encode("mer", ids.uuid7())
    lookalike = "mer_" + public[4:-1] + "\u017f"
    assert ids.decode("mer", public[:-1] + "S") is not None
    assert ids.decode("mer", lookalike) is None
    assert ids.decode("mer", public.lower()) == ids.decode("mer", public)  # either case, as documented


def test_a_public_id_of_any_prefix_is_recognised_by_its_shape():
    from apps.core.ids import encode, is_public_id, uuid7

    value = uuid7()
    assert is_public_id(encode("pay", value)) and is_public_id(encode("we", value))
    assert not is_public_id("pay_" + "U" * 26)  # U is not in Crockford's alphabet
    assert not is_public_id("PAY_" + encode("pay", value)[4:])
    assert not is_public_id("gulf bakery") and not is_public_id("order_42")

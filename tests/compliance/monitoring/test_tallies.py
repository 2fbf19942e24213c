"""Monitoring's windows read tallies (``MonitoringTally``, kept by triggers on ``MonitoredEvent``,
compliance migration 0011) and the movements of their partial first and last minute. Properties,
against a plain count of the recorded movements as the oracle:

- after any movements are recorded (one at a time, as monitoring does, and several in one
  statement), marked failed or removed, the tallies hold exactly each dimension's count and total
  per kind, minute and hour of the movements that did not fail;
- every window (any dimension, kinds, start and end, across minute and hour boundaries, down to
  the microsecond) counts and sums exactly the movements in ``since < occurred_at <= until``.

Each example runs in a savepoint of the test's transaction, rolled back at its end. The instants
are fixed (around 6 April 2031, 10:00 UTC), not the clock's: windows are read at an observation's
own time.
"""

import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.compliance.data import Observation, ObservationKind
from apps.compliance.models import MonitoredEvent, MonitoringTally
from apps.compliance.monitoring import selectors
from apps.compliance.monitoring.services import _observation_save

pytestmark = pytest.mark.django_db

NOON = datetime(2031, 4, 6, 10, 0, tzinfo=UTC)
MERCHANTS = (uuid.UUID("01a24218-0000-7000-8000-000000000001"), uuid.UUID("01a24218-0000-7000-8000-000000000002"))
CARDS = ("", "c" * 64, "d" * 64)
WALLETS = ("", "acc_1", "acc_2")
KINDS = (ObservationKind.PAYMENT, ObservationKind.TRANSFER, ObservationKind.REFUND, ObservationKind.PAYOUT)
SOURCES = {ObservationKind.PAYMENT: "payments.payment", ObservationKind.TRANSFER: "ledger.transfer",
           ObservationKind.REFUND: "payments.refund", ObservationKind.PAYOUT: "payments.payout"}

# Instants within three hours before NOON to ten minutes after it, often on a minute or an hour
# or a microsecond either side of one.
whole_minutes = st.integers(-180, 10).map(lambda minutes: minutes * 60 * 10**6)
offsets = st.one_of(
    st.integers(-3 * 3600 * 10**6, 600 * 10**6),
    whole_minutes,
    st.tuples(whole_minutes, st.sampled_from((-1, 1))).map(sum),
)


def at(offset: int) -> datetime:
    return NOON + timedelta(microseconds=offset)


movements = st.lists(
    st.fixed_dictionaries({
        "offset": offsets, "kind": st.sampled_from(KINDS), "amount": st.integers(1, 10**9),
        "merchant": st.sampled_from(MERCHANTS), "card": st.sampled_from(CARDS), "wallet": st.sampled_from(WALLETS),
        "livemode": st.booleans(), "currency": st.sampled_from(("BHD", "USD")),
        "fate": st.sampled_from(("kept", "kept", "kept", "failed", "removed")),
        "together": st.booleans(),
    }),
    max_size=40,
)


def _observation(movement: dict) -> Observation:
    return Observation(
        source=SOURCES[movement["kind"]], source_id=str(uuid.uuid4()), kind=movement["kind"],
        merchant_id=movement["merchant"], livemode=movement["livemode"], amount=movement["amount"],
        currency=movement["currency"], occurred_at=at(movement["offset"]), card_fingerprint=movement["card"],
        wallet=movement["wallet"])


def _record(recorded: list[dict]) -> list[Observation]:
    """Records each movement: one statement each (as monitoring records them), or, for those
    marked ``together``, all in one statement; then marks some failed (as a failed payment's
    outcome does) and removes some."""
    observations = [_observation(movement) for movement in recorded]
    together = [obs for obs, movement in zip(observations, recorded, strict=True) if movement["together"]]
    MonitoredEvent.objects.bulk_create([
        MonitoredEvent(source=obs.source, source_id=obs.source_id, kind=obs.kind, merchant_id=obs.merchant_id,
                       livemode=obs.livemode, amount=obs.amount, currency=obs.currency, occurred_at=obs.occurred_at,
                       card_fingerprint=obs.card_fingerprint, wallet=obs.wallet, recorded_at=NOON)
        for obs in together])
    for obs, movement in zip(observations, recorded, strict=True):
        if not movement["together"]:
            _observation_save(obs)
    for obs, movement in zip(observations, recorded, strict=True):
        if movement["fate"] == "failed":
            _observation_save(obs, failed=True)
    MonitoredEvent.objects.filter(source_id__in=[
        obs.source_id for obs, movement in zip(observations, recorded, strict=True) if movement["fate"] == "removed"
    ]).delete()
    return observations


def _counted(observations: list[Observation], recorded: list[dict]) -> list[Observation]:
    return [obs for obs, movement in zip(observations, recorded, strict=True) if movement["fate"] == "kept"]


def _tallies_now() -> None:
    """What the commit would do: the trigger, deferred to the commit, tallies this transaction's
    movements now (as reading a window does first)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS monitoring_tally IMMEDIATE")


def _bucket(moment: datetime, seconds: int) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + (moment - epoch) // timedelta(seconds=seconds) * timedelta(seconds=seconds)


@contextmanager
def _rolled_back():
    """One example's state, in a savepoint of the test's transaction rolled back at its end."""
    savepoint = transaction.savepoint()
    try:
        yield
    finally:
        transaction.savepoint_rollback(savepoint)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recorded=movements)
def test_the_tallies_hold_each_dimensions_count_and_total_per_minute_and_hour(recorded):
    with _rolled_back():
        counted = _counted(_record(recorded), recorded)
        _tallies_now()
        expected = Counter()
        for obs in counted:
            for dimension, value in (("merchant", str(obs.merchant_id)), ("wallet", obs.wallet),
                                     ("card_fingerprint", obs.card_fingerprint)):
                for seconds in (60, 3600):
                    if value:
                        key = (dimension, value, obs.livemode, obs.currency, obs.kind, seconds,
                               _bucket(obs.occurred_at, seconds))
                        expected[key, "count"] += 1
                        expected[key, "total"] += obs.amount
        tallied = Counter()
        for row in MonitoringTally.objects.all():
            key = (row.dimension, row.value, row.livemode, row.currency, row.kind, row.bucket_seconds,
                   row.bucket_start)
            tallied[key, "count"] += row.count
            tallied[key, "total"] += row.total
        assert +tallied == +expected



windows = st.fixed_dictionaries({
    "dimension": st.sampled_from(("merchant", "wallet", "card_fingerprint")),
    "kinds": st.sampled_from(((ObservationKind.PAYMENT, ObservationKind.TRANSFER), (ObservationKind.REFUND,),
                              (ObservationKind.PAYMENT,), KINDS)),
    "until": offsets,
    "length": st.one_of(st.integers(1, 4 * 3600 * 10**6),
                        st.integers(1, 240).map(lambda minutes: minutes * 60 * 10**6)),
    "of": st.integers(0, 10**6),
    # Often from the instant of a movement: a window excludes what happened at its start.
    "from_movement": st.booleans(),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recorded=movements, asked=st.lists(windows, min_size=1, max_size=6))
def test_every_window_counts_exactly_the_movements_in_it(recorded, asked):
    with _rolled_back():
        counted = _counted(_record(recorded), recorded)
        # The observation the windows are read for: one of the movements, or one of its own.
        pool = [_observation(movement) for movement in recorded] or [_observation({
            "offset": 0, "kind": ObservationKind.PAYMENT, "amount": 1, "merchant": MERCHANTS[0], "card": CARDS[1],
            "wallet": WALLETS[1], "livemode": True, "currency": "BHD"})]
        for window in asked:
            observation = replace(pool[window["of"] % len(pool)], occurred_at=at(window["until"]))
            field = selectors.DIMENSION_FIELDS[window["dimension"]]
            value = getattr(observation, field)
            if not value:
                continue
            since = observation.occurred_at - timedelta(microseconds=window["length"])
            if window["from_movement"] and recorded:
                since = min(since, at(recorded[window["of"] % len(recorded)]["offset"]))
            read = selectors.Window(window["dimension"], window["kinds"], since)
            [figures] = selectors.windows_figures(observation=observation, windows=[read]).values()
            inside = [obs for obs in counted
                      if getattr(obs, field) == value and obs.livemode == observation.livemode
                      and obs.currency == observation.currency and obs.kind in window["kinds"]
                      and read.since < obs.occurred_at <= observation.occurred_at]
            assert figures == selectors.WindowFigures(len(inside), sum(obs.amount for obs in inside)), window



@pytest.mark.parametrize("length", [timedelta(minutes=3), timedelta(hours=3)])
@pytest.mark.parametrize("start", [NOON - timedelta(hours=3), NOON - timedelta(hours=3, seconds=7)])
def test_a_window_leaves_out_the_movement_at_its_start_and_counts_the_one_at_its_end(start, length):
    """Whether the start falls on a whole hour or inside a minute, and the window reads minutes'
    tallies or hours': only ``since < occurred_at <= until`` counts."""
    until = start + length
    instants = [start - timedelta(microseconds=1), start, start + timedelta(microseconds=1), start + length / 2,
                until - timedelta(microseconds=1), until, until + timedelta(microseconds=1)]
    amounts = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000]
    for instant, amount in zip(instants, amounts, strict=True):
        _observation_save(Observation(source="payments.payment", source_id=str(uuid.uuid4()),
                                      kind=ObservationKind.PAYMENT, merchant_id=MERCHANTS[0], livemode=True,
                                      amount=amount, currency="BHD", occurred_at=instant))
    observation = Observation(source="payments.payment", source_id=str(uuid.uuid4()), kind=ObservationKind.PAYMENT,
                              merchant_id=MERCHANTS[0], livemode=True, amount=1, currency="BHD", occurred_at=until)
    read = selectors.Window("merchant", (ObservationKind.PAYMENT,), start)

    figures = selectors.windows_figures(observation=observation, windows=[read])[read]

    assert figures == selectors.WindowFigures(4, 100 + 1_000 + 10_000 + 100_000)


def _movements_read() -> int:
    """Rows of ``MonitoredEvent`` this transaction has read so far (PostgreSQL's own count)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables "
                       "WHERE relname = %s", [MonitoredEvent._meta.db_table])
        return cursor.fetchone()[0]


def test_a_days_window_reads_the_tallies_not_every_movement():
    """A merchant's 600 payments, one a minute for ten hours: the day's window reads the hours'
    and minutes' tallies, not the 600 movements."""
    observations = [Observation(
        source="payments.payment", source_id=str(uuid.uuid4()), kind=ObservationKind.PAYMENT,
        merchant_id=MERCHANTS[0], livemode=True, amount=1000, currency="BHD",
        occurred_at=NOON - timedelta(minutes=minute, seconds=30)) for minute in range(600)]
    for obs in observations:
        _observation_save(obs)
    read = selectors.Window("merchant", (ObservationKind.PAYMENT,), observations[0].occurred_at - timedelta(days=1))
    before = _movements_read()

    figures = selectors.windows_figures(observation=observations[0], windows=[read])[read]

    assert figures == selectors.WindowFigures(600, 600_000)
    assert _movements_read() - before <= 1  # at most the minute the window ends in


def _payment(at: datetime) -> Observation:
    return Observation(source="payments.payment", source_id=str(uuid.uuid4()), kind=ObservationKind.PAYMENT,
                       merchant_id=MERCHANTS[0], livemode=True, amount=1000, currency="BHD", occurred_at=at)


@pytest.mark.django_db(transaction=True)
def test_a_movement_is_tallied_when_its_transaction_commits_not_while_the_transaction_runs():
    """So a merchant's concurrent payments wait on each other's tally rows only while one commits,
    not for the rest of ``payment_create``'s transaction."""
    with transaction.atomic():
        _observation_save(_payment(NOON))
        assert not MonitoringTally.objects.exists()

    assert sorted(MonitoringTally.objects.values_list("dimension", "bucket_seconds", "count", "total")) == [
        ("merchant", 60, 1, 1000), ("merchant", 3600, 1, 1000)]


@pytest.mark.django_db(transaction=True)
def test_a_window_read_in_the_transaction_that_recorded_the_movement_counts_it():
    with transaction.atomic():
        for minute in range(3):
            _observation_save(_payment(NOON - timedelta(minutes=minute)))
        read = selectors.Window("merchant", (ObservationKind.PAYMENT,), NOON - timedelta(hours=1))

        figures = selectors.windows_figures(observation=_payment(NOON), windows=[read])[read]

        assert figures == selectors.WindowFigures(3, 3000)


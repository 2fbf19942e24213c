"""The API's transfer, written out by hand for speed, says what its declared fields would say."""

from datetime import timedelta

import pytest
import time_machine
from rest_framework import serializers

from apps.core import clock
from apps.ledger.api.serializers import TransferSerializer, transfer_context
from apps.ledger.data import Kind, Result
from apps.ledger.models import Transfer
from tests.factories import ledger as factories

pytestmark = pytest.mark.django_db


def _posted(outcome) -> Transfer:
    assert outcome.result == Result.OK, outcome
    return Transfer.objects.get(pk=outcome.transfer_id)


def _field_by_field(transfer: Transfer) -> dict:
    """What DRF makes of the serializer's declared fields (the schema's view of a transfer)."""
    serializer = TransferSerializer(transfer, context=transfer_context([transfer]))
    return serializers.ModelSerializer.to_representation(serializer, transfer)


def test_every_kind_of_transfer_reads_as_its_fields_say(books):
    wallet, funding = books.wallet, books.funding
    partly_posted = _posted(factories.post_one(None, None, 40, kind=Kind.POST_PENDING, pending_id=books.hold.pk))
    reversal = _posted(factories.post_one(None, None, None, reverses_id=partly_posted.pk, reference="refund 7"))
    held = _posted(factories.post_one(wallet, funding, 5, kind=Kind.PENDING, timeout_seconds=60,
                                      metadata={"order": "7", "lines": [1, 2]}, reference="order 7"))
    voided = _posted(factories.post_one(wallet, funding, 6, kind=Kind.PENDING))
    _posted(factories.post_one(None, None, None, kind=Kind.VOID_PENDING, pending_id=voided.pk))
    transfers = [books.payment, books.hold, partly_posted, reversal, held, voided]

    answers = {transfer.pk: TransferSerializer(transfer, context=transfer_context([transfer])).data
               for transfer in transfers}
    with time_machine.travel(clock.now() + timedelta(minutes=2), tick=False):
        expired = TransferSerializer(held, context=transfer_context([held])).data
        expired_by_fields = _field_by_field(held)

    for transfer in transfers:
        assert answers[transfer.pk] == _field_by_field(transfer)
        assert list(answers[transfer.pk]) == list(TransferSerializer.Meta.fields)
    assert [answers[t.pk]["status"] for t in transfers] == ["posted", "posted", "posted", "posted", "pending",
                                                            "voided"]
    assert (expired, expired["status"]) == (expired_by_fields, "expired")
    assert answers[partly_posted.pk]["reversed_by"] == answers[reversal.pk]["id"]
    assert answers[books.hold.pk]["resolved_by"] == answers[partly_posted.pk]["id"]

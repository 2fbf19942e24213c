"""The outbox's list: found by message or request id, exported, at the same cost for few or many."""

import csv
import io
import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.events.outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db

URL = "/admin/events/outboxmessage/"


def _messages(count: int) -> list[OutboxMessage]:
    return OutboxMessage.objects.bulk_create(
        OutboxMessage(message_id=uuid.uuid4(), task_name="payments.process", kwargs={"payment_id": str(n)},
                      queue="payments", priority=5, request_id=f"req_{n}", created_at=datetime(2030, 1, 5, tzinfo=UTC))
        for n in range(count))


def test_the_outbox_list_costs_the_same_queries_for_few_or_many(admin_client):
    _messages(3)
    admin_client.get(URL)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(URL)
    _messages(27)
    with CaptureQueriesContext(connection) as more:
        assert len(admin_client.get(URL).context["cl"].result_list) == 30
    assert len(more) == len(few)


def test_an_outbox_message_is_found_by_its_ids_and_exported(admin_client):
    message = _messages(2)[1]
    assert list(admin_client.get(URL, {"q": str(message.message_id)}).context["cl"].result_list) == [message]
    assert list(admin_client.get(URL, {"q": "req_1"}).context["cl"].result_list) == [message]
    rows = list(csv.DictReader(io.StringIO(b"".join(
        admin_client.get(f"{URL}export-csv/", {"q": "req_1"}).streaming_content).decode())))
    assert [(row["message_id"], row["kwargs"], row["created_at"]) for row in rows] == [
        (str(message.message_id), '{"payment_id": "1"}', "2030-01-05T00:00:00+00:00")]

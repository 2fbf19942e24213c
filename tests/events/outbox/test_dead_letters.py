"""Dead letters: collected from RabbitMQ once, inspected, replayed or discarded in the admin."""

from datetime import timedelta

import pytest
from celery import current_app
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_redis import get_redis_connection

from apps.audit.models import AuditEvent
from apps.core import clock
from apps.core.actors import Actor
from apps.core.ids import uuid7
from apps.events.outbox import broker, services
from apps.events.outbox.models import DeadLetter, OutboxMessage
from apps.events.outbox.services import DeadLetterAlreadyResolved, dead_letter_replay, dead_letters_collect
from tests.factories.staff import signed_in_client, staff_user
from tests.support.tasks import flag_key
from tests.support.workers import drain, publish, queue_depth, recorded, wait_until


def _changelist() -> str:
    return reverse("admin:events_deadletter_changelist")


class CrashedBeforeAck(Exception):
    pass


def _dead_letter_from_a_failed_task(label: str) -> DeadLetter:
    """A real dead letter: the task fails in the shared worker, RabbitMQ dead-letters it, the
    collector brings it in."""
    publish("tests.fail_until_flagged", queue="ledger", label=label)
    wait_until(lambda: queue_depth("ledger.dead") == 1, message=f"{label} in ledger.dead")
    assert dead_letters_collect() == 1
    return DeadLetter.objects.get(kwargs={"label": label})


def _dead_letter_row(label: str) -> DeadLetter:
    now = clock.now()
    return DeadLetter.objects.create(
        queue="ledger", message_id=uuid7(), task_name="tests.fail_until_flagged", kwargs={"label": label},
        priority=5, headers={"task": "tests.fail_until_flagged"}, death_reason="rejected",
        failure=f"ValueError: {label} is not fixed yet", dead_lettered_at=now, collected_at=now,
    )


def _run_action(client, action: str, dead_letter: DeadLetter, reason: str):
    """The admin's two steps: pick the action, then confirm it with a reason."""
    selection = {"action": action, "_selected_action": [dead_letter.pk]}
    confirmation = client.post(_changelist(), selection)
    assert confirmation.status_code == 200
    assert "Reason for this change" in confirmation.content.decode()
    return client.post(_changelist(), {**selection, "apply": "1", "change_reason": reason}, follow=True)


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _resolution(dead_letter: DeadLetter) -> tuple:
    dead_letter.refresh_from_db()
    return (dead_letter.resolution, dead_letter.resolved_at, dead_letter.resolved_by, dead_letter.resolution_reason)


@pytest.mark.django_db(transaction=True)
def test_a_replayed_dead_letter_runs_once_with_its_original_id_and_cannot_be_replayed_again(
    admin_client, admin_user, shared_worker
):
    dead_letter = _dead_letter_from_a_failed_task("invoice")
    original_id = str(dead_letter.message_id)
    assert recorded() == [f"invoice:failed:{original_id}"]
    get_redis_connection("default").set(flag_key("invoice"), 1)  # the bug is fixed

    response = _run_action(admin_client, "replay", dead_letter, "Fixed the invoice template")

    assert _messages(response) == ["Replay to its queue: done for 1 of 1."]
    resolution, resolved_at, resolved_by, reason = _resolution(dead_letter)
    assert (resolution, resolved_by, reason) == ("replayed", "admin", "Fixed the invoice template")
    assert resolved_at is not None
    # Republished through the outbox with the id it died with, so a consumer that did act on
    # it before still recognises it.
    replay = OutboxMessage.objects.get()
    assert (str(replay.message_id), replay.task_name, replay.kwargs, replay.queue) == (
        original_id, "tests.fail_until_flagged", {"label": "invoice"}, "ledger"
    )
    wait_until(lambda: f"invoice:succeeded:{original_id}" in recorded(), message="the replayed message")
    drain("ledger")
    assert [entry for entry in recorded() if entry.startswith("invoice")] == [
        f"invoice:failed:{original_id}", f"invoice:succeeded:{original_id}",
    ]
    replay.refresh_from_db()
    assert replay.published_at is not None
    journal = AuditEvent.objects.get(action="dead_letter.replayed")
    assert (journal.actor_type, journal.actor_id, journal.actor_label) == ("staff", str(admin_user.pk), "admin")
    assert (journal.object_type, journal.object_id, journal.reason) == (
        "events.deadletter", str(dead_letter.pk), "Fixed the invoice template"
    )
    assert journal.after == {"resolution": "replayed", "task": "tests.fail_until_flagged", "message_id": original_id}
    # The message carries the id of the admin request that replayed it, like its journal row.
    assert journal.request_id and replay.request_id == journal.request_id

    # Replaying again is refused: nothing changes, nothing is published or journaled.
    resolved = _resolution(dead_letter)
    response = _run_action(admin_client, "replay", dead_letter, "Once more")
    assert _messages(response) == [f"{dead_letter}: Dead letter {dead_letter.pk} was already replayed by admin."]
    with pytest.raises(DeadLetterAlreadyResolved):
        dead_letter_replay(dead_letter_id=dead_letter.pk, actor=Actor.staff(admin_user), reason="Once more")
    assert _resolution(dead_letter) == resolved
    assert OutboxMessage.objects.count() == 1
    assert AuditEvent.objects.filter(action__startswith="dead_letter.").count() == 1


@pytest.mark.django_db
def test_a_discarded_dead_letter_is_closed_without_running_and_cannot_be_replayed(admin_client):
    dead_letter = _dead_letter_row("refund")

    response = _run_action(admin_client, "discard", dead_letter, "Merchant refunded by hand")

    assert _messages(response) == ["Discard: done for 1 of 1."]
    resolution, resolved_at, resolved_by, reason = _resolution(dead_letter)
    assert (resolution, resolved_by, reason) == ("discarded", "admin", "Merchant refunded by hand")
    assert resolved_at is not None
    assert not OutboxMessage.objects.exists()
    journal = AuditEvent.objects.get(action="dead_letter.discarded")
    assert (journal.object_id, journal.reason, journal.actor_label) == (
        str(dead_letter.pk), "Merchant refunded by hand", "admin"
    )

    response = _run_action(admin_client, "replay", dead_letter, "Changed my mind")
    assert _messages(response) == [f"{dead_letter}: Dead letter {dead_letter.pk} was already discarded by admin."]
    assert _resolution(dead_letter)[0] == "discarded"
    assert not OutboxMessage.objects.exists()
    assert AuditEvent.objects.filter(action__startswith="dead_letter.").count() == 1


@pytest.mark.django_db
def test_the_dead_letter_changelist_and_page_render_with_a_constant_number_of_queries(admin_client):
    dead_letters = [_dead_letter_row(f"parcel{number}") for number in range(2)]

    with CaptureQueriesContext(connection) as few:
        response = admin_client.get(_changelist())
    assert response.status_code == 200
    assert response.content.decode().count("tests.fail_until_flagged") >= 2

    dead_letters += [_dead_letter_row(f"parcel{number}") for number in range(2, 8)]
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(_changelist(), {"state": "open"})
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 8
    assert len(many) == len(few)

    page = admin_client.get(reverse("admin:events_deadletter_change", args=[dead_letters[0].pk]))
    assert page.status_code == 200
    assert "ValueError: parcel0 is not fixed yet" in page.content.decode()


@pytest.mark.django_db
def test_staff_without_the_replay_permission_cannot_replay(client):
    dead_letter = _dead_letter_row("payout")
    viewer = staff_user(username="viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_deadletter"))
    signed_in_client(viewer, client)

    response = client.get(_changelist())
    assert response.status_code == 200
    assert response.context["action_form"] is None  # neither replay nor discard is offered

    client.post(_changelist(), {"action": "replay", "_selected_action": [dead_letter.pk], "apply": "1",
                             "change_reason": "I should not"})
    assert _resolution(dead_letter)[0] == ""
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_dead_letter_collected_again_after_a_crash_before_its_ack_is_stored_once(shared_worker):
    publish("tests.always_fail", queue="ledger", label="statement")
    wait_until(lambda: queue_depth("ledger.dead") == 1, message="the failed message in ledger.dead")

    def store_then_crash(received: broker.ReceivedDeadLetter) -> None:
        services._store_dead_letter(received)
        raise CrashedBeforeAck

    with pytest.raises(CrashedBeforeAck):
        broker.drain_dead_letters("ledger", store_then_crash, limit=10)
    assert DeadLetter.objects.count() == 1
    # Not acknowledged: RabbitMQ kept it, and the next collection sees it again.
    wait_until(lambda: queue_depth("ledger.dead") == 1, message="the unacknowledged dead letter to return")

    assert dead_letters_collect() == 1
    assert DeadLetter.objects.count() == 1
    assert queue_depth("ledger.dead") == 0


@pytest.mark.django_db(transaction=True)
def test_a_message_that_cannot_be_decoded_is_collected_undecoded_instead_of_blocking_the_queue(shared_worker):
    with current_app.producer_or_acquire() as producer:
        # A pickle: decoding it would run code, so it must stay undecoded.
        producer.publish(b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00\x8c\x01x\x94.", exchange="",
                         routing_key="ledger.dead", content_type="application/x-python-serialize",
                         content_encoding="binary", headers={"task": "someone.elses_task"})
    publish("tests.always_fail", queue="ledger", label="after the pickle")

    wait_until(lambda: queue_depth("ledger.dead") == 2, message="both dead letters")
    assert dead_letters_collect() == 2

    undecoded, failed = DeadLetter.objects.order_by("id")
    assert undecoded.task_name == "someone.elses_task"
    assert (undecoded.args, undecoded.kwargs) == ([], {})
    assert "ContentDisallowed" in undecoded.headers["undecodable_body"]
    assert failed.task_name == "tests.always_fail"
    assert queue_depth("ledger.dead") == 0


@pytest.mark.django_db
def test_a_dead_letter_older_than_the_consumers_memory_is_not_replayed(admin_client):
    # Consumers forget the messages they acted on after INBOX_RETENTION; a replay after that
    # could act twice, so it is refused and the row stays open for a person to discard. The
    # window is on fincore's clock, from the collection: RabbitMQ's time of death (its own
    # clock's) is for people to read and decides nothing.
    old = _dead_letter_row("from last quarter")
    too_old = clock.now() - services.REPLAY_WINDOW - timedelta(hours=1)
    DeadLetter.objects.filter(pk=old.pk).update(collected_at=too_old, dead_lettered_at=clock.now())
    recent = _dead_letter_row("from yesterday")
    DeadLetter.objects.filter(pk=recent.pk).update(collected_at=too_old + timedelta(hours=2),
                                                   dead_lettered_at=too_old - timedelta(days=400))

    with pytest.raises(services.DeadLetterTooOld):
        dead_letter_replay(dead_letter_id=old.pk, actor=Actor.system("test"), reason="retry")
    assert _resolution(old)[0] == ""
    assert not OutboxMessage.objects.exists()
    assert not AuditEvent.objects.filter(action="dead_letter.replayed").exists()

    dead_letter_replay(dead_letter_id=recent.pk, actor=Actor.system("test"), reason="retry")
    assert _resolution(recent)[0] == "replayed"

"""The transactional outbox, the consumers' inbox, and dead letters.

- :class:`OutboxMessage`: a task message written in the same transaction as the business
  change it announces. After commit it is published (with the broker's confirm); whatever a
  crash left unpublished, the sweep publishes later. It is therefore published *at least*
  once, and possibly twice.
- :class:`ProcessedMessage`: which consumer has acted on which message id. A consumer
  claims the id in the transaction of its own change (``consume_once``), so a message
  delivered twice is acted on once.
- :class:`DeadLetter`: a message RabbitMQ dead-lettered, copied here for an operator to
  inspect and replay or discard from the admin.
"""

from django.db import models

from apps.events.outbox.topology import MAX_PRIORITY, QUEUE_NAMES

_QUEUES = models.Q(queue__in=QUEUE_NAMES)
_PRIORITIES = models.Q(priority__gte=0, priority__lte=MAX_PRIORITY)


class OutboxMessage(models.Model):
    id = models.BigAutoField(primary_key=True)
    message_id = models.UUIDField(db_index=True, help_text="The task id consumers deduplicate on.")
    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    queue = models.CharField(max_length=64)
    priority = models.PositiveSmallIntegerField()
    request_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    publish_attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = "outbox message"
        constraints = [
            models.CheckConstraint(condition=_QUEUES, name="outbox_queue_known"),
            models.CheckConstraint(condition=_PRIORITIES, name="outbox_priority_range"),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="outbox_unpublished_idx",
                condition=models.Q(published_at__isnull=True),
            ),
            models.Index(fields=["published_at"], name="outbox_published_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task_name} [{self.message_id}]"


class ProcessedMessage(models.Model):
    id = models.BigAutoField(primary_key=True)
    message_id = models.UUIDField()
    consumer = models.CharField(max_length=200)
    processed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message_id", "consumer"], name="processed_message_once"),
        ]
        indexes = [models.Index(fields=["processed_at"], name="processed_message_at_idx")]

    def __str__(self) -> str:
        return f"{self.consumer} processed {self.message_id}"


class DeadLetter(models.Model):
    class Resolution(models.TextChoices):
        REPLAYED = "replayed", "Replayed"
        DISCARDED = "discarded", "Discarded"

    id = models.BigAutoField(primary_key=True)
    queue = models.CharField(max_length=64, help_text="The queue the message died in.")
    message_id = models.UUIDField(db_index=True)
    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    priority = models.PositiveSmallIntegerField()
    headers = models.JSONField(default=dict, blank=True)
    death_reason = models.CharField(max_length=32, help_text="RabbitMQ's reason: rejected, expired, ...")
    failure = models.TextField(blank=True, help_text="Why the worker gave up on it, when it said.")
    dead_lettered_at = models.DateTimeField()
    collected_at = models.DateTimeField()
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=200, blank=True)
    resolution_reason = models.TextField(blank=True)

    class Meta:
        permissions = [("replay_deadletter", "Can replay or discard dead letters")]
        constraints = [
            # A redelivered copy of a dead letter already collected must not be collected twice.
            models.UniqueConstraint(
                fields=["message_id"], condition=models.Q(resolution=""), name="dead_letter_open_once"
            ),
            models.CheckConstraint(condition=_QUEUES, name="dead_letter_queue_known"),
            models.CheckConstraint(
                condition=models.Q(resolution="", resolved_at__isnull=True)
                | (~models.Q(resolution="") & models.Q(resolved_at__isnull=False) & ~models.Q(resolution_reason="")),
                name="dead_letter_resolution_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_name} [{self.message_id}] in {self.queue}"

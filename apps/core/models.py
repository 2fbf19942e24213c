from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class IdempotencyRecord(models.Model):
    """One ``Idempotency-Key`` a caller sent with a POST, and the response it got.

    While ``response_status`` is empty the first request is still running (``locked_at`` says
    since when); afterwards a retry with the same key and body gets the stored response back.
    """

    scope = models.CharField(max_length=64, help_text="Whose key: the merchant's id.")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=512)
    created_at = models.DateTimeField()
    locked_at = models.DateTimeField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    response_headers = models.JSONField(default=dict, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_unique_per_scope"),
            models.CheckConstraint(
                condition=(
                    models.Q(response_status__isnull=True, completed_at__isnull=True)
                    | models.Q(response_status__isnull=False, completed_at__isnull=False)
                ),
                name="idempotency_completed_has_response",
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"

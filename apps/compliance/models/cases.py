"""A case's file: the officers' notes (append-only: the database refuses to change or delete one,
migration ``cases_append_only``), the documents they attach (kept in the database, size-limited,
with their SHA-256), and the suspicious transaction report filed when a case closes as "STR filed".
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.compliance.models.alerts import Case
from apps.core.ids import uuid7

# An attachment is evidence (a statement, an ID scan, a letter), not an archive: 5 MiB at most.
ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024


class CaseNote(models.Model):
    """What an officer wrote on a case. Never edited nor deleted (a trigger refuses it): a
    correction is another note."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at"]
        constraints = [models.CheckConstraint(condition=~Q(body=""), name="case_note_not_empty")]

    def __str__(self) -> str:
        return f"Note by {self.author} at {self.created_at:%Y-%m-%d %H:%M}"


class CaseAttachment(models.Model):
    """A document attached to a case, stored in the database with its SHA-256 (what the journal
    keeps): it travels with the database's backups and cannot drift from the case."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    content = models.BinaryField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["uploaded_at"]
        constraints = [
            models.CheckConstraint(condition=Q(size__gte=1, size__lte=ATTACHMENT_MAX_BYTES),
                                   name="case_attachment_size_limit"),
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="case_attachment_sha256"),
        ]

    def __str__(self) -> str:
        return self.filename


class StrReport(models.Model):
    """The suspicious transaction report of a case closed as "STR filed": the goAML-structured XML
    as generated (validated against the schema shipped with fincore) and its SHA-256, journaled."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="str_report")
    filename = models.CharField(max_length=100)
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "STR report"
        verbose_name_plural = "STR reports"
        constraints = [models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="str_report_sha256")]

    def __str__(self) -> str:
        return self.filename

"""Sanctions lists, their imported versions and entries, screening hits, the allow-list and the
re-screen of all merchants after an import.

A list (UN, OFAC, local) has a threshold; each import is a new ``SanctionsListVersion`` holding a
full copy of the file's entries (a version never changes once imported, so a hit always shows the
entry as it was listed), with counts of entries added, removed and changed against the previous
version. A hit records the version, the entry, the score and the matched fields, once per version,
entry and subject. An allow-list entry clears one subject of one listed entry (by the list's own
reference, which names it across versions) until it expires.
"""

from django.db import models
from django.db.models import Q

from apps.compliance.data import SubjectType
from apps.compliance.models.alerts import Alert
from apps.core.ids import uuid7

_SUBJECTS = [value for value, _ in SubjectType.CHOICES]


class SanctionsList(models.Model):
    class Source(models.TextChoices):
        UN = "un", "UN Security Council consolidated list"
        OFAC = "ofac", "OFAC SDN list"
        LOCAL = "local", "National list (CSV)"

    source = models.CharField(max_length=8, choices=Source.choices, unique=True)
    name = models.CharField(max_length=100)
    threshold = models.PositiveSmallIntegerField(
        default=88, help_text="A name scoring this much (0-100) against an entry is a hit.")

    class Meta:
        ordering = ["source"]
        constraints = [
            models.CheckConstraint(condition=Q(source__in=["un", "ofac", "local"]), name="sanctions_list_source_valid"),
            models.CheckConstraint(condition=Q(threshold__gte=50, threshold__lte=100),
                                   name="sanctions_list_threshold_range"),
        ]

    def __str__(self) -> str:
        return self.name


class SanctionsListVersion(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    sanctions_list = models.ForeignKey(SanctionsList, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    imported_at = models.DateTimeField()
    imported_by = models.CharField(max_length=200)
    entries_count = models.PositiveIntegerField()
    added_count = models.PositiveIntegerField()
    removed_count = models.PositiveIntegerField()
    changed_count = models.PositiveIntegerField()

    class Meta:
        ordering = ["sanctions_list", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["sanctions_list", "number"], name="sanctions_version_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="sanctions_version_number_positive"),
        ]
        permissions = [("import_sanctions_list", "Can import a sanctions list version")]

    def __str__(self) -> str:
        return f"{self.sanctions_list} v{self.number}"


class SanctionsEntry(models.Model):
    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", "Individual"
        ENTITY = "entity", "Entity"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    version = models.ForeignKey(SanctionsListVersion, on_delete=models.PROTECT, related_name="entries")
    reference = models.CharField(max_length=64, help_text="The list's own id (UN reference number, OFAC uid).")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=500)
    aliases = models.JSONField(default=list)
    dates_of_birth = models.JSONField(default=list)
    nationalities = models.JSONField(default=list)
    identifiers = models.JSONField(default=list, help_text="[{\"kind\": \"passport\", \"number\": …, \"country\": …}]")
    programmes = models.JSONField(default=list)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of what is listed: changed entries differ.")

    class Meta:
        ordering = ["version", "name"]
        verbose_name_plural = "sanctions entries"
        constraints = [
            models.UniqueConstraint(fields=["version", "reference"], name="sanctions_entry_reference_unique"),
            models.CheckConstraint(condition=Q(kind__in=["individual", "entity"]), name="sanctions_entry_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.reference})"


class SanctionsAllowListEntry(models.Model):
    """A false positive cleared through maker-checker: hits of this subject on this listed entry
    raise no alert until ``expires_at``."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    subject_type = models.CharField(max_length=16, choices=SubjectType.CHOICES)
    subject_id = models.CharField(max_length=100)
    subject_label = models.CharField(max_length=255)
    sanctions_list = models.ForeignKey(SanctionsList, on_delete=models.PROTECT, related_name="+")
    entry_reference = models.CharField(max_length=64)
    entry_name = models.CharField(max_length=500)
    reason = models.TextField()
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    approved_by = models.CharField(max_length=200, help_text="The maker, and the checker who approved it.")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "sanctions allow-list entry"
        verbose_name_plural = "sanctions allow-list"
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")),
                                   name="sanctions_allow_list_expires_after_creation"),
            models.CheckConstraint(condition=Q(subject_type__in=_SUBJECTS), name="sanctions_allow_list_subject_valid"),
        ]
        indexes = [models.Index(fields=["subject_type", "subject_id", "expires_at"], name="sanctions_allow_subject")]
        permissions = [("request_sanctions_allow_list", "Can request a sanctions allow-list entry")]

    def __str__(self) -> str:
        return f"{self.subject_label} cleared of {self.entry_name} until {self.expires_at:%Y-%m-%d}"


class ScreeningHit(models.Model):
    class Occasion(models.TextChoices):
        ONBOARDING = "onboarding", "Merchant onboarding or change"
        LIST_UPDATE = "list_update", "Re-screen after a list update"
        PAYOUT = "payout", "Payout beneficiary"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    version = models.ForeignKey(SanctionsListVersion, on_delete=models.PROTECT, related_name="hits")
    entry = models.ForeignKey(SanctionsEntry, on_delete=models.PROTECT, related_name="hits")
    subject_type = models.CharField(max_length=16, choices=SubjectType.CHOICES)
    subject_id = models.CharField(max_length=100)
    subject_label = models.CharField(max_length=255)
    merchant_id = models.UUIDField(null=True, blank=True)
    occasion = models.CharField(max_length=16, choices=Occasion.choices)
    screened_name = models.CharField(max_length=500)
    score = models.DecimalField(max_digits=4, decimal_places=1)
    matched_fields = models.JSONField()
    screened_at = models.DateTimeField()
    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    allow_listed_by = models.ForeignKey(SanctionsAllowListEntry, on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="+", help_text="The allow-list entry that suppressed it.")

    class Meta:
        ordering = ["-screened_at"]
        constraints = [
            models.UniqueConstraint(fields=["version", "entry", "subject_type", "subject_id"],
                                    name="screening_hit_once_per_version_entry_subject"),
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=100), name="screening_hit_score_range"),
            models.CheckConstraint(condition=Q(subject_type__in=_SUBJECTS), name="screening_hit_subject_valid"),
            models.CheckConstraint(condition=Q(occasion__in=["onboarding", "list_update", "payout"]),
                                   name="screening_hit_occasion_valid"),
        ]
        indexes = [models.Index(fields=["subject_type", "subject_id"], name="screening_hit_subject")]

    def __str__(self) -> str:
        return f"{self.subject_label} ~ {self.entry.name} ({self.score})"


class SanctionsRescreen(models.Model):
    """The re-screen of every merchant against a new version, done in chunks by a task: its
    progress is ``screened`` of ``total``, and ``cursor`` the last merchant screened."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    version = models.OneToOneField(SanctionsListVersion, on_delete=models.PROTECT, related_name="rescreen")
    total = models.PositiveIntegerField()
    screened = models.PositiveIntegerField(default=0)
    hits = models.PositiveIntegerField(default=0)
    cursor = models.UUIDField(null=True, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(condition=Q(screened__lte=models.F("total")) | Q(finished_at__isnull=False),
                                   name="sanctions_rescreen_progress"),
        ]

    def __str__(self) -> str:
        return f"Re-screen against {self.version}: {self.screened}/{self.total}"

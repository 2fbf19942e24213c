"""Reading the audit journal, and proving it has not been tampered with."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Exists, Max, Min, OuterRef, Subquery

from apps.audit import anchors, chain
from apps.audit.models import AuditEvent, AuditSeal, PendingSeal
from apps.audit.signing import event_signature, seal_hash

_CHUNK = 2000

# How a verification of the chain is journaled (apps.audit.services.audit_chain_check).
CHAIN_OBJECT_TYPE = "audit.chain"
CHAIN_VERIFIED = "audit.chain_verified"
CHAIN_VERIFICATION_FAILED = "audit.chain_verification_failed"


@dataclass(frozen=True)
class ChainProblem:
    """The first thing wrong with the journal, naming the row."""

    event_id: int | None
    seq: int | None
    message: str


@dataclass(frozen=True)
class ChainReport:
    sealed: int
    pending: int
    problem: ChainProblem | None
    # What was checked against the anchors outside the database (FINCORE_AUDIT_ANCHOR_DIR).
    anchors_checked: int = 0
    latest_anchor: anchors.AnchorLine | None = None
    unreadable_anchor_lines: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.problem is None


def _seals_in_order() -> Iterator[tuple[AuditSeal, AuditEvent | None]]:
    last_seq = 0
    while True:
        seals = list(AuditSeal.objects.filter(seq__gt=last_seq).order_by("seq")[:_CHUNK])
        if not seals:
            return
        events = AuditEvent.objects.in_bulk([seal.event_id for seal in seals])
        for seal in seals:
            yield seal, events.get(seal.event_id)
        last_seq = seals[-1].seq


def _check_seals() -> tuple[int, ChainProblem | None]:
    expected_seq, prev_hash, sealed = 1, chain.GENESIS, 0
    for seal, event in _seals_in_order():
        if seal.seq != expected_seq:
            return sealed, ChainProblem(
                None, expected_seq, f"seal {expected_seq} is missing (the chain jumps to seal {seal.seq})"
            )
        if seal.prev_hash != prev_hash:
            return sealed, ChainProblem(
                seal.event_id, seal.seq, f"seal {seal.seq} does not follow seal {seal.seq - 1}"
            )
        if event is None:
            return sealed, ChainProblem(
                seal.event_id, seal.seq, f"event {seal.event_id}, sealed at {seal.seq}, was deleted"
            )
        if event_signature(event) != event.signature:
            return sealed, ChainProblem(
                event.id, seal.seq, f"event {event.id} was altered or forged: its signature does not match"
            )
        if seal_hash(prev_hash, seal.seq, event.id, event.signature) != seal.hash:
            return sealed, ChainProblem(
                event.id, seal.seq, f"seal {seal.seq} does not match event {event.id}: rows were swapped or edited"
            )
        expected_seq, prev_hash, sealed = expected_seq + 1, seal.hash, sealed + 1
    return sealed, None


def _check_unsealed() -> tuple[int, ChainProblem | None]:
    unsealed = AuditEvent.objects.filter(~Exists(AuditSeal.objects.filter(event_id=OuterRef("pk"))))
    pending = 0
    for event in unsealed.annotate(
        is_pending=Exists(PendingSeal.objects.filter(event_id=OuterRef("pk")))
    ).order_by("id").iterator(chunk_size=_CHUNK):
        if not event.is_pending:
            return pending, ChainProblem(event.id, None, f"event {event.id} is neither sealed nor awaiting its seal")
        if event_signature(event) != event.signature:
            return pending, ChainProblem(
                event.id, None, f"event {event.id} (not sealed yet) was altered or forged: its signature does not match"
            )
        pending += 1
    orphan = (
        PendingSeal.objects.filter(~Exists(AuditEvent.objects.filter(pk=OuterRef("event_id"))))
        .order_by("event_id")
        .first()
    )
    if orphan is not None:
        return pending, ChainProblem(orphan.event_id, None, f"event {orphan.event_id}, awaiting its seal, was deleted")
    return pending, None


def _check_anchors(log: anchors.AnchorLog) -> tuple[int, ChainProblem | None]:
    checked = 0
    for start in range(0, len(log.lines), _CHUNK):
        batch = log.lines[start:start + _CHUNK]
        seals = AuditSeal.objects.in_bulk([line.anchor.seq for line in batch])
        for line in batch:
            anchor, seal = line.anchor, seals.get(line.anchor.seq)
            if seal is None:
                return checked, ChainProblem(None, anchor.seq, (
                    f"seal {anchor.seq}, anchored in {line.source}, is missing from the database: "
                    "the journal was cut short after it was anchored"
                ))
            if seal.hash != anchor.hash or seal.sealed_at != anchor.sealed_at:
                return checked, ChainProblem(seal.event_id, anchor.seq, (
                    f"seal {anchor.seq} does not match its anchor in {line.source}: "
                    "the journal was rewritten after it was anchored"
                ))
            checked += 1
    return checked, None


def audit_chain_verify() -> ChainReport:
    """Check every seal and every event, then the seals against the anchors outside the
    database; report the first problem found, if any.

    Detects an edited row (signature), a forged row (signature; the forger lacks the key),
    a deleted row (missing event or seal), reordered rows (links no longer match), and a
    history rewritten consistently, by someone holding the key, or cut short at its end
    (the seals no longer match the hashes anchored outside the database).
    """
    sealed, problem = _check_seals()
    if problem is not None:
        return ChainReport(sealed=sealed, pending=0, problem=problem)
    log = anchors.read(Path(settings.FINCORE_AUDIT_ANCHOR_DIR))
    found = {"latest_anchor": log.latest, "unreadable_anchor_lines": log.unreadable}
    checked, problem = _check_anchors(log)
    if problem is not None:
        return ChainReport(sealed=sealed, pending=0, problem=problem, anchors_checked=checked, **found)
    pending, problem = _check_unsealed()
    return ChainReport(sealed=sealed, pending=pending, problem=problem, anchors_checked=checked, **found)



def audit_unsealed_count() -> int:
    return PendingSeal.objects.count()


@dataclass(frozen=True)
class ChainVerification:
    """The outcome of the last journaled verification of the chain."""

    verified_at: datetime
    ok: bool
    detail: str  # how much was proven, or the problem found


def audit_latest_verification() -> ChainVerification | None:
    """The last verification the nightly job journaled, or None if it has never run (read through
    the journal's object index)."""
    event = (
        AuditEvent.objects.filter(
            object_type=CHAIN_OBJECT_TYPE, action__in=[CHAIN_VERIFIED, CHAIN_VERIFICATION_FAILED]
        )
        .order_by("-occurred_at", "-id")
        .only("occurred_at", "action", "after")
        .first()
    )
    if event is None:
        return None
    after = event.after or {}
    if event.action == CHAIN_VERIFIED:
        detail = f"{after.get('sealed', 0)} sealed events proven, {after.get('pending', 0)} awaiting their seal"
        return ChainVerification(verified_at=event.occurred_at, ok=True, detail=detail)
    return ChainVerification(verified_at=event.occurred_at, ok=False, detail=str(after.get("problem", "")))


def audit_events_for(*, object_type: str, object_ids: Iterable[str]) -> list[AuditEvent]:
    """The journal of these objects, oldest first (a compliance case's timeline shows its own)."""
    return list(AuditEvent.objects.filter(object_type=object_type, object_id__in=list(object_ids))
                .order_by("occurred_at", "id"))


def journal_actions() -> list[str]:
    """Every distinct action in the journal, alphabetically: one probe of the action index per
    action (a loose index scan), not a read of the whole journal."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE actions(action) AS (
                (SELECT action FROM audit_auditevent ORDER BY action LIMIT 1)
                UNION ALL
                SELECT (SELECT next.action FROM audit_auditevent AS next WHERE next.action > actions.action
                        ORDER BY next.action LIMIT 1)
                FROM actions WHERE actions.action IS NOT NULL
            )
            SELECT action FROM actions WHERE action IS NOT NULL
            """
        )
        return [action for (action,) in cursor.fetchall()]


# --- exports ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportPeriod:
    """Whole days in fincore's time zone, ``first_day`` to ``last_day`` inclusive: the instants
    ``start <= t < end``."""

    first_day: date
    last_day: date
    time_zone: str
    start: datetime
    end: datetime


def export_period(*, first_day: date, last_day: date) -> ExportPeriod:
    zone = ZoneInfo(settings.TIME_ZONE)
    return ExportPeriod(
        first_day=first_day,
        last_day=last_day,
        time_zone=settings.TIME_ZONE,
        start=datetime.combine(first_day, time.min, tzinfo=zone),
        end=datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=zone),
    )


def journal_of_period(period: ExportPeriod) -> Iterator[AuditEvent]:
    """The period's journal rows with their seals, in the order they were written."""
    return (
        AuditEvent.objects.filter(occurred_at__gte=period.start, occurred_at__lt=period.end)
        .select_related("seal")
        .order_by("id")
        .iterator(chunk_size=_CHUNK)
    )


@dataclass(frozen=True)
class ChainProofRange:
    """The seals an export carries: from the seal before the period's first (the starting point)
    to the first anchor after its last, so the whole range is tied to an anchor if one exists.
    Strictly after: were the journal cut short at an anchored seal, the next anchor, beyond the
    database's end, still comes along and shows it."""

    first_seq: int
    last_seq: int
    anchor_lines: tuple[anchors.AnchorLine, ...]


def chain_proof_range(period: ExportPeriod) -> ChainProofRange | None:
    """None when no row of the period is sealed yet."""
    bounds = AuditSeal.objects.filter(
        event__occurred_at__gte=period.start, event__occurred_at__lt=period.end
    ).aggregate(first=Min("seq"), last=Max("seq"))
    if bounds["first"] is None:
        return None
    log = anchors.read(Path(settings.FINCORE_AUDIT_ANCHOR_DIR))
    first_seq = max(bounds["first"] - 1, 1)
    last_seq = min((line.anchor.seq for line in log.lines if line.anchor.seq > bounds["last"]),
                   default=bounds["last"])
    covering = tuple(line for line in log.lines if first_seq <= line.anchor.seq <= last_seq)
    return ChainProofRange(first_seq=first_seq, last_seq=last_seq, anchor_lines=covering)


def seals_between(*, first_seq: int, last_seq: int) -> Iterator[dict[str, Any]]:
    """The seals ``first_seq..last_seq`` with their event's signature (and not its content: the
    rows outside the period stay out of the export)."""
    signature = AuditEvent.objects.filter(pk=OuterRef("event_id")).values("signature")[:1]
    return (
        AuditSeal.objects.filter(seq__gte=first_seq, seq__lte=last_seq)
        .annotate(event_signature=Subquery(signature))
        .order_by("seq")
        .values("seq", "event_id", "event_signature", "prev_hash", "hash", "sealed_at")
        .iterator(chunk_size=_CHUNK)
    )

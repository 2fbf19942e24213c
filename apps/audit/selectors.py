"""Reading the audit journal, and proving it has not been tampered with."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef

from apps.audit import chain
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


def audit_chain_verify() -> ChainReport:
    """Check every seal and every event; report the first problem found, if any.

    Detects an edited row (signature), a forged row (signature; the forger lacks the key),
    a deleted row (missing event or seal), and reordered rows (links no longer match).
    """
    sealed, problem = _check_seals()
    if problem is not None:
        return ChainReport(sealed=sealed, pending=0, problem=problem)
    pending, problem = _check_unsealed()
    return ChainReport(sealed=sealed, pending=pending, problem=problem)



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

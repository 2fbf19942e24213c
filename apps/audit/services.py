"""Writing the audit journal and sealing it into the hash chain."""

import hashlib
import json
import logging
import os
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from apps.audit import anchors, bundle, chain, selectors
from apps.audit.models import AuditEvent, AuditSeal, PendingSeal
from apps.audit.signing import event_content, event_signature, seal_hash
from apps.core import clock, context
from apps.core.actors import Actor

logger = logging.getLogger(__name__)

# Any constant unique to this job: pg_try_advisory_xact_lock takes a bigint.
_SEALER_LOCK = 0x_A0D1_75EA


def _jsonb_number(text: str) -> int | float:
    """A JSON number as jsonb writes it back: exactly and positionally, so ``1e+16`` returns as the
    integer 10000000000000000, and ``-0.0`` as ``0.0``."""
    if "e+" in text:
        return int(Decimal(text))
    number = float(text)
    return 0.0 if number == 0 else number


def _json_safe(value: Any) -> Any:
    """What PostgreSQL's jsonb will give back, so the signature can be checked after a reload."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder), parse_float=_jsonb_number)


def audit_record(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    merchant_id: str | None = None,
) -> AuditEvent:
    """Append one business event to the journal, in the caller's transaction.

    Who acts is ``actor``; the request id and client address come from the request or task
    being served, and ``reason`` defaults to the one a staff user gave for the change.
    Takes no lock: sealing happens later, in order, in :func:`audit_seal_pending`.
    """
    event = AuditEvent(
        occurred_at=clock.now(),
        actor_type=actor.type.value,
        actor_id=actor.id,
        actor_label=actor.label,
        merchant_id=str(merchant_id or actor.merchant_id or ""),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=_json_safe(before),
        after=_json_safe(after),
        reason=reason or context.current_change_reason(),
        request_id=context.current_request_id() or "",
        ip=context.current_client_ip(),
    )
    event.signature = event_signature(event)
    event.save(force_insert=True)
    return event


def audit_seal_pending(*, batch_size: int = 5000) -> int:
    """Seal the events written since the last run into the chain, in order of their ids.

    One sealer at a time (a transaction-scoped advisory lock; a second caller returns 0
    at once). Writers are never blocked: they only insert. Returns how many were sealed.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_SEALER_LOCK])
            if not cursor.fetchone()[0]:
                return 0
        pending_ids = list(
            PendingSeal.objects.order_by("event_id").values_list("event_id", flat=True)[:batch_size]
        )
        if not pending_ids:
            return 0
        events = AuditEvent.objects.in_bulk(pending_ids)
        last = AuditSeal.objects.order_by("-seq").only("seq", "hash").first()
        seq, prev_hash = (last.seq, last.hash) if last else (0, chain.GENESIS)
        now = clock.now()
        seals = []
        for event_id in pending_ids:
            event = events.get(event_id)
            if event is None:
                # Deleted behind the trigger's back: its pending row stays for audit_verify to name.
                continue
            seq += 1
            link = seal_hash(prev_hash, seq, event.id, event.signature)
            seals.append(AuditSeal(seq=seq, event_id=event.id, prev_hash=prev_hash, hash=link, sealed_at=now))
            prev_hash = link
        AuditSeal.objects.bulk_create(seals)
        if seals:
            logger.info("audit chain sealed", extra={"head_seq": seq, "head_hash": prev_hash, "sealed": len(seals)})
            # Anchored once the seals are committed: an anchor never names a seal that a
            # rollback took back. A crash between the commit and the append leaves this head
            # unanchored; the next sealing anchors its own head, which covers this one.
            transaction.on_commit(partial(_anchor_head, seq=seq, head_hash=prev_hash, sealed_at=now))
        PendingSeal.objects.filter(event_id__in=[seal.event_id for seal in seals]).delete()
        return len(seals)


def _anchor_head(*, seq: int, head_hash: str, sealed_at: datetime) -> None:
    """Append the chain's new head to the anchor file outside the database (and fsync it).

    Raises OSError when the anchor directory cannot be written: the seals stay committed, the
    task fails loudly, and the next sealing anchors the head again."""
    anchor = anchors.Anchor(seq=seq, hash=head_hash, sealed_at=sealed_at, written_at=clock.now())
    anchors.append(Path(settings.FINCORE_AUDIT_ANCHOR_DIR), anchor)


def audit_chain_check(*, actor: Actor) -> selectors.ChainReport:
    """Verify the whole chain and journal the outcome (so it is sealed too): a failure for the
    compliance team, a success so the dashboard can tell when the chain was last proven."""
    report = selectors.audit_chain_verify()
    with transaction.atomic():
        if report.problem is not None:
            audit_record(
                actor=actor,
                action=selectors.CHAIN_VERIFICATION_FAILED,
                object_type=selectors.CHAIN_OBJECT_TYPE,
                object_id=str(report.problem.event_id or report.problem.seq or ""),
                after={"problem": report.problem.message},
            )
        else:
            audit_record(
                actor=actor,
                action=selectors.CHAIN_VERIFIED,
                object_type=selectors.CHAIN_OBJECT_TYPE,
                object_id=str(report.sealed),
                after={"sealed": report.sealed, "pending": report.pending},
            )
    return report


# --- exports ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportWritten:
    path: Path
    manifest_sha256: str
    counts: dict[str, int]


class _HashingMember:
    """One file of the zip, written as a stream (``with``), counting its lines and bytes and hashing them."""

    def __init__(self, archive: zipfile.ZipFile, name: str) -> None:
        self._stream = archive.open(name, "w", force_zip64=True)
        self._sha256 = hashlib.sha256()
        self.bytes = 0
        self.lines = 0

    def __enter__(self) -> "_HashingMember":
        return self

    def __exit__(self, *exception: object) -> None:
        # Closed whatever happened: the zip refuses to close over an open member, which would
        # hide the error that stopped the export.
        self._stream.close()

    def write(self, data: bytes) -> None:
        self._stream.write(data)
        self._sha256.update(data)
        self.bytes += len(data)
        self.lines += 1

    def entry(self) -> dict[str, Any]:
        return {"sha256": self._sha256.hexdigest(), "bytes": self.bytes}


def _journal_row(event: AuditEvent) -> dict[str, Any]:
    seal = getattr(event, "seal", None)
    return {
        **event_content(event),
        "id": event.id,
        "signature": event.signature,
        "seal": None if seal is None else {
            "seq": seal.seq, "hash": seal.hash, "sealed_at": chain.canonical_timestamp(seal.sealed_at),
        },
    }


def _write_export(archive: zipfile.ZipFile, period: selectors.ExportPeriod,
                  ledger_transfers: Iterable[Mapping[str, Any]]) -> tuple[dict[str, Any], dict[str, int]]:
    files, counts = {}, {}
    unsealed = 0
    with _HashingMember(archive, bundle.JOURNAL) as journal:
        for event in selectors.journal_of_period(period):
            row = _journal_row(event)
            unsealed += row["seal"] is None
            journal.write(bundle.json_line(row))
    files[bundle.JOURNAL] = journal.entry()
    counts.update(journal_rows=journal.lines, unsealed_rows=unsealed)

    proof = selectors.chain_proof_range(period)
    with _HashingMember(archive, bundle.CHAIN) as seals:
        if proof is not None:
            for seal in selectors.seals_between(first_seq=proof.first_seq, last_seq=proof.last_seq):
                seals.write(bundle.json_line({**seal, "sealed_at": chain.canonical_timestamp(seal["sealed_at"])}))
    files[bundle.CHAIN] = seals.entry()
    with _HashingMember(archive, bundle.ANCHORS) as anchor_lines:
        for line in proof.anchor_lines if proof is not None else ():
            anchor_lines.write(line.text.encode() + b"\n")
    files[bundle.ANCHORS] = anchor_lines.entry()
    counts.update(seals=seals.lines, anchors=anchor_lines.lines)

    with _HashingMember(archive, bundle.LEDGER_TRANSFERS) as transfers:
        for transfer in ledger_transfers:
            transfers.write(bundle.json_line(dict(transfer)))
    files[bundle.LEDGER_TRANSFERS] = transfers.entry()
    counts.update(ledger_transfers=transfers.lines)
    return files, counts


def audit_export(
    *, period: selectors.ExportPeriod, destination: Path, ledger_transfers: Iterable[Mapping[str, Any]], actor: Actor
) -> ExportWritten:
    """Write the period's journal rows, their chain proof and anchors, and the given ledger
    transfers (plain mappings, amounts in minor units) into the zip ``destination``, with a
    manifest of each file's SHA-256 (see :mod:`apps.audit.bundle`); journal the export.

    Streams every file, so a period of millions of rows never sits in memory, and reads without
    the connection's statement timeout. The zip appears at ``destination`` complete or not at
    all (written beside it, then renamed).
    Raises OSError when ``destination`` cannot be written.
    """
    partial_path = destination.with_name(f".{destination.name}.partial")
    try:
        with (
            transaction.atomic(),
            zipfile.ZipFile(partial_path, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        ):
            with connection.cursor() as cursor:
                # It reads a whole period: bounded by the period's size, not the connection's timeout.
                cursor.execute("SET LOCAL statement_timeout = 0")
            files, counts = _write_export(archive, period, ledger_transfers)
            manifest = {
                "format": bundle.FORMAT,
                "period": {
                    "from": period.first_day.isoformat(), "to": period.last_day.isoformat(),
                    "time_zone": period.time_zone, "start": period.start.isoformat(), "end": period.end.isoformat(),
                },
                "created_at": chain.canonical_timestamp(clock.now()),
                "counts": counts,
                "files": files,
            }
            manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
            archive.writestr(bundle.MANIFEST, manifest_bytes)
        with partial_path.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(partial_path, destination)
    finally:
        partial_path.unlink(missing_ok=True)
    manifest_sha256 = bundle.sha256_hex(manifest_bytes)
    with transaction.atomic():
        audit_record(
            actor=actor, action="audit.exported", object_type="audit.export", object_id=manifest_sha256,
            after={"from": period.first_day.isoformat(), "to": period.last_day.isoformat(),
                   "file": destination.name, "manifest_sha256": manifest_sha256, **counts},
        )
    return ExportWritten(path=destination, manifest_sha256=manifest_sha256, counts=counts)

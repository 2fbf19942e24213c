"""An audit export (``manage.py audit_export``): what is in the zip, and checking one offline.

The zip holds, each as UTF-8 JSON lines::

    journal.jsonl           the journal rows of the period: signed content, signature, and seal
    chain.jsonl             the chain proof: every seal from the one before the period's first
                            (the starting point) to the first anchor after its last
    anchors.jsonl           the anchor lines covering that range, exactly as in FINCORE_AUDIT_ANCHOR_DIR
    ledger_transfers.jsonl  the ledger transfers created in the period, amounts in minor units
    manifest.json           the period, the counts, and each file's SHA-256 and size

:func:`verify` needs no database and no fincore settings. Without the audit key it proves that
the files are the ones the manifest lists, that the chain runs unbroken from the starting
point, that each row sits at its place in it, and that every anchor matches; the links and row
signatures are HMACs, so only a holder of ``FINCORE_AUDIT_KEY`` can recompute them (``key=``).
The manifest's own SHA-256, printed when the export is made, ties the manifest to the
export the auditor was given.

Plain Python (no Django).
"""

import hashlib
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from apps.audit import anchors, chain

FORMAT = "fincore-audit-export/1"
MANIFEST = "manifest.json"
JOURNAL = "journal.jsonl"
CHAIN = "chain.jsonl"
ANCHORS = "anchors.jsonl"
LEDGER_TRANSFERS = "ledger_transfers.jsonl"
FILES = (JOURNAL, CHAIN, ANCHORS, LEDGER_TRANSFERS)

_CURRENCY = re.compile(r"^[A-Z]{3}$")


class ExportInvalid(Exception):
    """The export is not what its manifest and its chain say; the message names what and where."""


@dataclass(frozen=True)
class ExportReport:
    manifest_sha256: str
    period_from: str
    period_to: str
    journal_rows: int
    unsealed_rows: int
    first_seal: int | None
    last_seal: int | None
    anchors: int
    anchored_to: int | None
    # Sealed rows of the period after the last anchor of the proof: proved by the chain only.
    rows_after_last_anchor: int
    ledger_transfers: int
    key_checked: bool


def json_line(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _lines(data: bytes, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, text in enumerate(data.decode().splitlines(), start=1):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise ExportInvalid(f"{name}:{number} is not JSON") from None
        if not isinstance(value, dict):
            raise ExportInvalid(f"{name}:{number} is not a JSON object")
        yield number, value


def _read_files(archive: zipfile.ZipFile) -> tuple[bytes, dict[str, Any], dict[str, bytes]]:
    names = set(archive.namelist())
    if MANIFEST not in names:
        raise ExportInvalid(f"{MANIFEST} is missing")
    manifest_bytes = archive.read(MANIFEST)
    try:
        manifest = json.loads(manifest_bytes)
    except json.JSONDecodeError:
        raise ExportInvalid(f"{MANIFEST} is not JSON") from None
    if manifest.get("format") != FORMAT:
        raise ExportInvalid(f"{MANIFEST} is not a {FORMAT} manifest")
    listed = manifest.get("files") or {}
    if unlisted := sorted(names - set(listed) - {MANIFEST}):
        raise ExportInvalid(f"{', '.join(unlisted)}: in the export but not in the manifest")
    files = {}
    for name in FILES:
        if name not in listed:
            raise ExportInvalid(f"{name} is not in the manifest")
        if name not in names:
            raise ExportInvalid(f"{name} is listed in the manifest but missing from the export")
        data = archive.read(name)
        if sha256_hex(data) != listed[name].get("sha256") or len(data) != listed[name].get("bytes"):
            raise ExportInvalid(f"{name} was altered: its SHA-256 or size is not the manifest's")
        files[name] = data
    return manifest_bytes, manifest, files


def _check_chain(data: bytes, *, key: bytes | None) -> dict[int, dict[str, Any]]:
    seals: dict[int, dict[str, Any]] = {}
    previous: dict[str, Any] | None = None
    for number, seal in _lines(data, CHAIN):
        where = f"{CHAIN}:{number}"
        seq = seal.get("seq")
        if previous is None:
            if seq == 1 and seal.get("prev_hash") != chain.GENESIS:
                raise ExportInvalid(f"{where}: seal 1 does not start from the genesis hash")
        elif seq != previous["seq"] + 1:
            raise ExportInvalid(f"{where}: the chain jumps from seal {previous['seq']} to seal {seq}")
        elif seal.get("prev_hash") != previous["hash"]:
            raise ExportInvalid(f"{where}: seal {seq} does not follow seal {previous['seq']}")
        if key is not None and chain.link(
            key, seal["prev_hash"], seq, seal["event_id"], seal["event_signature"]
        ) != seal["hash"]:
            raise ExportInvalid(f"{where}: seal {seq}'s hash is not the link the key makes: it was forged")
        seals[seq] = seal
        previous = seal
    return seals


def _check_journal(data: bytes, seals: dict[int, dict[str, Any]], *, start: datetime, end: datetime,
                   key: bytes | None) -> tuple[int, int, list[int]]:
    rows, unsealed, sealed_at = 0, 0, []
    seen: set[int] = set()
    for number, row in _lines(data, JOURNAL):
        where = f"{JOURNAL}:{number} (event {row.get('id')})"
        if row.get("id") in seen:
            raise ExportInvalid(f"{where}: the event appears twice")
        seen.add(row.get("id"))
        try:
            occurred_at = datetime.fromisoformat(row["occurred_at"])
            content = {field: row[field] for field in chain.SIGNED_FIELDS}
        except (KeyError, TypeError, ValueError):
            raise ExportInvalid(f"{where}: not a journal row") from None
        if not start <= occurred_at < end:
            raise ExportInvalid(f"{where}: occurred at {row['occurred_at']}, outside the period")
        if key is not None and chain.signature(key, content) != row.get("signature"):
            raise ExportInvalid(f"{where}: its content does not match its signature: it was altered")
        rows += 1
        place = row.get("seal")
        if place is None:
            unsealed += 1
            continue
        seal = seals.get(place.get("seq"))
        if seal is None:
            raise ExportInvalid(f"{where}: sealed at {place.get('seq')}, a seal the chain proof does not hold")
        if (seal["event_id"], seal["hash"], seal["sealed_at"], seal["event_signature"]) != (
            row["id"], place.get("hash"), place.get("sealed_at"), row.get("signature")
        ):
            raise ExportInvalid(f"{where}: seal {seal['seq']} of the chain proof is not this row's")
        sealed_at.append(seal["seq"])
    return rows, unsealed, sealed_at


def _check_anchors(data: bytes, seals: dict[int, dict[str, Any]]) -> tuple[int, int | None]:
    log = anchors.read_lines([(ANCHORS, data.decode())])
    if log.unreadable:
        raise ExportInvalid(f"{log.unreadable[0]} is not an anchor")
    last_seal = max(seals, default=0)
    for line in log.lines:
        anchor, seal = line.anchor, seals.get(line.anchor.seq)
        if seal is None:
            if anchor.seq > last_seal:
                raise ExportInvalid(
                    f"{line.source}: seal {anchor.seq} is anchored, but the chain proof ends at seal {last_seal}: "
                    "the journal lost seals after they were anchored"
                )
            raise ExportInvalid(f"{line.source}: anchors seal {anchor.seq}, before the chain proof starts")
        if anchor.hash != seal["hash"] or anchor.sealed_at != datetime.fromisoformat(seal["sealed_at"]):
            raise ExportInvalid(
                f"{line.source}: seal {anchor.seq} does not match its anchor: the journal was rewritten after it was "
                "anchored"
            )
    return len(log.lines), max((line.anchor.seq for line in log.lines), default=None)


def _check_transfers(data: bytes) -> int:
    count = 0
    for number, transfer in _lines(data, LEDGER_TRANSFERS):
        amount = transfer.get("amount")
        if type(amount) is not int or amount <= 0 or not _CURRENCY.match(str(transfer.get("currency"))):
            raise ExportInvalid(f"{LEDGER_TRANSFERS}:{number}: not an amount in minor units with its currency")
        count += 1
    return count


def verify(path: Path, *, key: bytes | None = None) -> ExportReport:
    """Check an export offline, or raise :class:`ExportInvalid` naming the first thing wrong.

    With ``key`` (FINCORE_AUDIT_KEY) it also recomputes every row's signature and every link.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            manifest_bytes, manifest, files = _read_files(archive)
    except zipfile.BadZipFile:
        raise ExportInvalid(f"{path} is not a zip file") from None
    period = manifest["period"]
    seals = _check_chain(files[CHAIN], key=key)
    start, end = datetime.fromisoformat(period["start"]), datetime.fromisoformat(period["end"])
    rows, unsealed, row_seals = _check_journal(files[JOURNAL], seals, start=start, end=end, key=key)
    anchored, anchored_to = _check_anchors(files[ANCHORS], seals)
    transfers = _check_transfers(files[LEDGER_TRANSFERS])
    counts = {"journal_rows": rows, "unsealed_rows": unsealed, "seals": len(seals), "anchors": anchored,
              "ledger_transfers": transfers}
    if (stated := manifest.get("counts")) != counts:
        raise ExportInvalid(f"the manifest counts {stated}, the files hold {counts}")
    return ExportReport(
        manifest_sha256=sha256_hex(manifest_bytes),
        period_from=period["from"],
        period_to=period["to"],
        journal_rows=rows,
        unsealed_rows=unsealed,
        first_seal=min(seals, default=None),
        last_seal=max(seals, default=None),
        anchors=anchored,
        anchored_to=anchored_to,
        rows_after_last_anchor=sum(1 for seq in row_seals if anchored_to is None or seq > anchored_to),
        ledger_transfers=transfers,
        key_checked=key is not None,
    )

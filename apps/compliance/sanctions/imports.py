"""Importing a sanctions list: each file staff download from the official source becomes a new
version of its list, or is refused whole.

The file is parsed before any transaction opens; a malformed one raises ``SanctionsListMalformed``
with the line and the reason, and nothing is written. A good one becomes, in one transaction: the
version (numbered after the previous one, the list's row locked so that two imports of one list
number in turn), its entries, the counts added, removed and changed against the previous version,
the journal row, and the re-screen of every merchant against it (a task through the outbox, so it
runs only if the version committed).

Lock order: the sanctions list, then nothing else.
"""

import hashlib
import json
from typing import Any

from django.db import transaction

from apps.audit.services import audit_record
from apps.compliance.models import (
    MerchantProfile,
    SanctionsEntry,
    SanctionsList,
    SanctionsListVersion,
    SanctionsRescreen,
)
from apps.compliance.sanctions import parsers
from apps.compliance.sanctions.screening import RESCREEN_TASK
from apps.core import clock
from apps.core.actors import Actor
from apps.core.exceptions import FincoreError
from apps.events.outbox.services import outbox_enqueue


class SanctionsListMalformed(FincoreError):
    code = "sanctions_list_malformed"
    title = "The sanctions list file was refused"
    status = 422


class SanctionsListEmpty(SanctionsListMalformed):
    code = "sanctions_list_empty"
    title = "The sanctions list file lists no one"


def _entry_fields(entry: parsers.ListEntry) -> dict[str, Any]:
    return {
        "kind": entry.kind, "name": entry.name[:500], "aliases": list(entry.aliases),
        "dates_of_birth": list(entry.dates_of_birth), "nationalities": list(entry.nationalities),
        "identifiers": [{"kind": item.kind, "number": item.number, "country": item.country}
                        for item in entry.identifiers],
        "programmes": list(entry.programmes),
    }


def _fingerprint(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def sanctions_list_parse(*, source: str, content: bytes, file_name: str) -> list[parsers.ListEntry]:
    """The entries of a file of ``source``. Raises SanctionsListMalformed (with ``line`` and
    ``reason``), SanctionsListEmpty."""
    try:
        entries = parsers.parse(source, content)
    except parsers.MalformedList as malformed:
        where = f", line {malformed.line}" if malformed.line else ""
        raise SanctionsListMalformed(f"{file_name}{where}: {malformed.reason}", line=malformed.line,
                                     reason=malformed.reason) from malformed
    if not entries:
        raise SanctionsListEmpty(f"{file_name} lists no one: a list is never empty, so it is not the list.")
    return entries


def sanctions_list_import(*, source: str, content: bytes, file_name: str, actor: Actor) -> SanctionsListVersion:
    """Import ``content`` (a file of ``source``: un, ofac or local) as the next version of that list,
    and schedule the re-screen of every merchant against it.

    Invariant: a version holds the whole file or does not exist. Raises SanctionsListMalformed,
    SanctionsListEmpty (nothing is written)."""
    entries = sanctions_list_parse(source=source, content=content, file_name=file_name)
    rows = [(entry.reference, _entry_fields(entry)) for entry in entries]
    with transaction.atomic():
        sanctions_list = SanctionsList.objects.select_for_update().get(source=source)
        previous = sanctions_list.versions.order_by("-number").first()
        before = dict(SanctionsEntry.objects.filter(version=previous).values_list("reference", "fingerprint")) \
            if previous else {}
        fingerprints = {reference: _fingerprint(fields) for reference, fields in rows}
        now = clock.now()
        version = SanctionsListVersion.objects.create(
            sanctions_list=sanctions_list, number=previous.number + 1 if previous else 1, file_name=file_name[:255],
            file_sha256=hashlib.sha256(content).hexdigest(), imported_at=now, imported_by=actor.label[:200],
            entries_count=len(rows), added_count=len(fingerprints.keys() - before.keys()),
            removed_count=len(before.keys() - fingerprints.keys()),
            changed_count=sum(1 for reference, digest in fingerprints.items()
                              if reference in before and before[reference] != digest),
        )
        SanctionsEntry.objects.bulk_create(
            [SanctionsEntry(version=version, reference=reference, fingerprint=fingerprints[reference], **fields)
             for reference, fields in rows],
            batch_size=2000,
        )
        rescreen = SanctionsRescreen.objects.create(version=version, total=MerchantProfile.objects.count(),
                                                    started_at=now)
        outbox_enqueue(task=RESCREEN_TASK, kwargs={"rescreen_id": str(rescreen.pk)}, queue="compliance")
        audit_record(
            actor=actor, action="sanctions_list.imported", object_type="compliance.sanctions_list_version",
            object_id=str(version.pk), reason=f"{sanctions_list.name} from {file_name}",
            after={"list": source, "number": version.number, "file_name": version.file_name,
                   "file_sha256": version.file_sha256, "entries": version.entries_count,
                   "added": version.added_count, "removed": version.removed_count, "changed": version.changed_count},
        )
    return version

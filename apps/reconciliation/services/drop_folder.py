"""The watched drop folder: statement files a bank connection (SFTP, an H2H agent) leaves in
``FINCORE_STATEMENT_DROP_DIR`` are imported by a periodic task.

Layout: a file in the folder itself is imported as the admin would with no nostro chosen (camt
and MT940 find their nostro by IBAN); a file in ``<dir>/<nostro code>/`` is imported for that
nostro (a CSV through the nostro's mapping). After the import the file is moved, in its own
folder, to ``imported/`` or, refused, to ``refused/`` with ``<file>.reason.txt`` beside it.

What it keeps:

* **Never twice in the books, and nothing lost, across a crash.** The import commits before the
  file is moved. A crash between the two leaves the file in place; the next scan finds the same
  bytes stored (the import refuses the duplicate by content hash) and files it under
  ``imported/``, with a reason file saying it was imported before. A *different* file with an
  id and sequence imported before is a refusal like any other.
* **Files still being written are left alone.** A file is taken only once it has not been
  modified for ``SETTLE_SECONDS`` (its mtime): an upload in progress keeps touching it. Names
  starting with ``.`` or ending ``.part``, ``.tmp`` or ``.filepart`` (how scp, sftp clients and
  rsync name files in flight) are never taken. Stateless on purpose: nothing to keep between scans.
* **One scan at a time.** A PostgreSQL advisory lock, held for the scan; a second scan (the
  command while the task runs) finds it held and returns having done nothing.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from apps.core import clock
from apps.core.actors import Actor
from apps.core.exceptions import FincoreError
from apps.core.locks import session_lock
from apps.reconciliation.exceptions import StatementDuplicate
from apps.reconciliation.selectors import statements as selectors
from apps.reconciliation.services.statements import statement_import

SETTLE_SECONDS = 60
IMPORTED, REFUSED = "imported", "refused"
_IN_FLIGHT = (".part", ".tmp", ".filepart", ".reason.txt")
_LOCK_KEY = 7320 << 32 | 1  # reconciliation's namespace of advisory locks; 1: the drop folder


@dataclass(frozen=True, slots=True)
class DropOutcome:
    file: str  # the path as found, relative to the drop folder
    outcome: str  # "imported", "already_imported" or "refused"
    moved_to: str
    detail: str


def statement_drop_folder_scan(*, root: Path, actor: Actor, settle_seconds: int = SETTLE_SECONDS) -> list[DropOutcome]:
    """Import each settled file of ``root`` and of ``root/<nostro code>/``, then file it under
    ``imported/`` or ``refused/`` (with a reason file). Returns what became of each file; an empty
    list when another scan holds the lock. Raises nothing for a refused file: the refusal is its
    reason file."""
    with session_lock(_LOCK_KEY) as held:
        if not held:
            return []
        outcomes = []
        for path, nostro_code in _settled_files(root, settle_seconds=settle_seconds):
            outcomes.append(_file_import(root, path, nostro_code=nostro_code, actor=actor))
        return outcomes


def _settled_files(root: Path, *, settle_seconds: int) -> Iterator[tuple[Path, str | None]]:
    codes = set(selectors.nostro_codes())
    folders: list[tuple[Path, str | None]] = [(root, None)]
    folders += [(folder, folder.name) for folder in sorted(root.iterdir())
                if folder.is_dir() and folder.name in codes]
    deadline = clock.now().timestamp() - settle_seconds
    for folder, nostro_code in folders:
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.name.startswith(".") or path.name.endswith(_IN_FLIGHT):
                continue
            if path.stat().st_mtime > deadline:
                continue  # still being written, or just finished: the next scan takes it
            yield path, nostro_code


def _file_import(root: Path, path: Path, *, nostro_code: str | None, actor: Actor) -> DropOutcome:
    name = str(path.relative_to(root))
    try:
        content = path.read_bytes()
        statements = statement_import(content=content, file_name=path.name, actor=actor, nostro_code=nostro_code)
    except StatementDuplicate as duplicate:
        if "sha256" not in duplicate.extensions:
            return _refused(root, path, name, duplicate)
        # These very bytes are in the books: an earlier scan imported the file and did not get to
        # move it (a crash, a full disk). File it as imported, saying so.
        detail = f"Already imported, not imported again: {duplicate.detail}"
        moved = _move(path, IMPORTED, reason=detail + "\n")
        return DropOutcome(file=name, outcome="already_imported", moved_to=str(moved.relative_to(root)), detail=detail)
    except FincoreError as refused:
        return _refused(root, path, name, refused)
    except OSError as unreadable:
        return DropOutcome(file=name, outcome="unreadable", moved_to="", detail=str(unreadable))
    ids = ", ".join(f"{statement.statement_id} {statement.sequence}".strip() for statement in statements)
    moved = _move(path, IMPORTED)
    return DropOutcome(file=name, outcome="imported", moved_to=str(moved.relative_to(root)),
                       detail=f"{len(statements)} statement(s) imported: {ids}")


def _refused(root: Path, path: Path, name: str, refused: FincoreError) -> DropOutcome:
    detail = f"{refused.code}: {refused.detail}"
    moved = _move(path, REFUSED, reason=f"Refused at {clock.now():%Y-%m-%d %H:%M:%S %Z}, nothing stored.\n{detail}\n")
    return DropOutcome(file=name, outcome="refused", moved_to=str(moved.relative_to(root)), detail=detail)


def _move(path: Path, into: str, *, reason: str | None = None) -> Path:
    """Move ``path`` into ``<its folder>/<into>/`` (a rename on one file system: all or nothing),
    under a fresh name when a file of that name was filed before, with ``<name>.reason.txt``
    written first when there is a reason."""
    folder = path.parent / into
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    if target.exists():
        target = folder / f"{clock.now():%Y%m%dT%H%M%S%f}-{path.name}"
    if reason is not None:
        (folder / f"{target.name}.reason.txt").write_text(reason, encoding="utf-8")
    os.replace(path, target)
    return target

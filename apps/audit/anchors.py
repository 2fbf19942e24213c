"""Anchors: the chain's head, written outside the database each time the journal is sealed.

A line per sealing, appended to one file a month in ``FINCORE_AUDIT_ANCHOR_DIR``::

    {"seq":1412,"hash":"9f2c…","sealed_at":"2026-12-03T06:40:10.123456+00:00","written_at":"2026-12-03T06:40:10.131022+00:00"}

Whoever rewrites the journal in the database (even recomputing every signature and link with
the key) cannot make the rewritten seals match the hashes already written here, provided this
directory is append-only to them (``chattr +a``, a WORM bucket): see the README.

Plain Python (no Django), so an export can be checked on a machine without fincore's database.
"""

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

FILE_PREFIX = "audit-anchors-"
FILE_SUFFIX = ".jsonl"


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    sealed_at: datetime
    written_at: datetime


@dataclass(frozen=True)
class AnchorLine:
    """An anchor as read back, with where it was read (``audit-anchors-2026-12.jsonl:17``)."""

    anchor: Anchor
    source: str
    text: str


@dataclass(frozen=True)
class AnchorLog:
    lines: tuple[AnchorLine, ...]
    # Lines that are not anchors: a write torn by a crash, or something appended by hand.
    unreadable: tuple[str, ...]

    @property
    def latest(self) -> AnchorLine | None:
        return max(self.lines, key=lambda line: line.anchor.seq, default=None)


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def line(anchor: Anchor) -> str:
    """One anchor as its line (without the newline): compact JSON, keys in a fixed order."""
    return json.dumps(
        {"seq": anchor.seq, "hash": anchor.hash, "sealed_at": _timestamp(anchor.sealed_at),
         "written_at": _timestamp(anchor.written_at)},
        separators=(",", ":"),
    )


def file_name(written_at: datetime) -> str:
    return f"{FILE_PREFIX}{written_at.astimezone(UTC):%Y-%m}{FILE_SUFFIX}"


def append(directory: Path, anchor: Anchor) -> Path:
    """Append ``anchor`` to this month's file and flush it to disk before returning.

    O_APPEND, so every write lands at the end whatever else has the file open (and a file with
    the append-only attribute accepts it); one ``write`` of the whole line; fsync of the file,
    and of the directory when the file is new, so a power cut cannot lose an anchor this
    function returned from. A line torn by an earlier crash is closed off first, so it stays
    one unreadable line and does not swallow this one.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / file_name(anchor.written_at)
    created = not path.exists()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        size = os.fstat(descriptor).st_size
        torn = size > 0 and _last_byte(path, size) != b"\n"
        os.write(descriptor, (("\n" if torn else "") + line(anchor) + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    if created:
        directory_descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(directory_descriptor)
        finally:
            os.close(directory_descriptor)
    return path


def _last_byte(path: Path, size: int) -> bytes:
    # Read through a second descriptor: an O_APPEND one may be opened write-only.
    with path.open("rb") as existing:
        existing.seek(size - 1)
        return existing.read(1)


def parse(text: str) -> Anchor:
    """One line back into an anchor; ValueError when it is not one."""
    try:
        fields = json.loads(text)
        anchor = Anchor(
            seq=fields["seq"], hash=fields["hash"], sealed_at=datetime.fromisoformat(fields["sealed_at"]),
            written_at=datetime.fromisoformat(fields["written_at"]),
        )
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"not an anchor: {text[:80]!r}") from error
    if type(anchor.seq) is not int or anchor.seq < 1 or not isinstance(anchor.hash, str) or len(anchor.hash) != 64:
        raise ValueError(f"not an anchor: {text[:80]!r}")
    return anchor


def read_lines(named_texts: Iterable[tuple[str, str]]) -> AnchorLog:
    """The anchors in ``(file name, content)`` pairs, in the order given."""
    lines: list[AnchorLine] = []
    unreadable: list[str] = []
    for name, content in named_texts:
        for number, text in enumerate(content.splitlines(), start=1):
            if not text.strip():
                continue
            source = f"{name}:{number}"
            try:
                lines.append(AnchorLine(parse(text), source, text))
            except ValueError:
                unreadable.append(source)
    return AnchorLog(tuple(lines), tuple(unreadable))


def _files(directory: Path) -> Iterator[tuple[str, str]]:
    if not directory.is_dir():
        return
    for path in sorted(directory.glob(f"{FILE_PREFIX}*{FILE_SUFFIX}")):
        yield path.name, path.read_text(errors="replace")


def read(directory: Path) -> AnchorLog:
    """Every anchor in ``directory``, oldest file first (an absent directory holds none)."""
    return read_lines(_files(directory))

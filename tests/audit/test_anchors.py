"""Anchors: the chain's head appended outside the database each time the journal is sealed."""

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.db import transaction
from django.test import TestCase

from apps.audit import anchors
from apps.audit.models import AuditSeal
from apps.audit.services import audit_seal_pending
from apps.core import clock
from tests.audit.support import journal, sealed

SEALED_AT = datetime(2026, 11, 30, 23, 59, 59, 500000, tzinfo=UTC)


def _anchor(seq: int, *, written_at: datetime) -> anchors.Anchor:
    return anchors.Anchor(seq=seq, hash=f"{seq:064x}", sealed_at=SEALED_AT, written_at=written_at)


def test_anchors_are_appended_one_line_each_to_the_file_of_their_month(tmp_path: Path) -> None:
    november = datetime(2026, 11, 30, 23, 59, 59, 900000, tzinfo=UTC)
    december = datetime(2026, 12, 1, 0, 0, 0, 100000, tzinfo=UTC)
    anchor_dir = tmp_path / "not-yet-there"

    anchors.append(anchor_dir, _anchor(1, written_at=november))
    anchors.append(anchor_dir, _anchor(2, written_at=november))
    anchors.append(anchor_dir, _anchor(3, written_at=december))

    assert sorted(path.name for path in anchor_dir.iterdir()) == [
        "audit-anchors-2026-11.jsonl", "audit-anchors-2026-12.jsonl",
    ]
    assert (anchor_dir / "audit-anchors-2026-12.jsonl").read_text() == (
        f'{{"seq":3,"hash":"{3:064x}","sealed_at":"2026-11-30T23:59:59.500000+00:00",'
        '"written_at":"2026-12-01T00:00:00.100000+00:00"}\n'
    )
    log = anchors.read(anchor_dir)
    assert [(line.anchor.seq, line.source) for line in log.lines] == [
        (1, "audit-anchors-2026-11.jsonl:1"), (2, "audit-anchors-2026-11.jsonl:2"),
        (3, "audit-anchors-2026-12.jsonl:1"),
    ]
    assert log.latest.anchor == _anchor(3, written_at=december)
    assert log.unreadable == ()


def test_the_file_is_opened_for_appending_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """O_APPEND: every write lands at the end (and a file with Linux's append-only attribute,
    chattr +a, accepts it); and the line is flushed to disk before append returns."""
    opened, synced = [], []
    real_open, real_fsync = os.open, os.fsync
    monkeypatch.setattr(os, "open", lambda path, flags, *mode: opened.append((Path(path), flags)) or
                        real_open(path, flags, *mode))
    monkeypatch.setattr(os, "fsync", lambda descriptor: synced.append(descriptor) or real_fsync(descriptor))
    written = datetime(2026, 11, 2, tzinfo=UTC)

    path = anchors.append(tmp_path, _anchor(1, written_at=written))

    file_flags = [flags for opened_path, flags in opened if opened_path == path]
    assert file_flags == [os.O_WRONLY | os.O_APPEND | os.O_CREAT]
    assert len(synced) == 2  # the file, and the directory that gained it


def test_a_line_torn_by_a_crash_stays_one_unreadable_line(tmp_path: Path) -> None:
    written = datetime(2026, 11, 2, tzinfo=UTC)
    path = anchors.append(tmp_path, _anchor(1, written_at=written))
    with path.open("a") as anchor_file:
        anchor_file.write('{"seq":2,"hash":"0000')

    anchors.append(tmp_path, _anchor(3, written_at=written))

    log = anchors.read(tmp_path)
    assert [line.anchor.seq for line in log.lines] == [1, 3]
    assert log.unreadable == ("audit-anchors-2026-11.jsonl:2",)


def _text(**fields: object) -> str:
    return json.dumps({"seq": 1, "hash": "a" * 64, "sealed_at": "2026-11-01T00:00:00+00:00",
                       "written_at": "2026-11-01T00:00:00+00:00", **fields})


@pytest.mark.parametrize("text", [
    "", "not json", "[1, 2]", '{"seq": 1}', _text(seq="1"), _text(seq=0), _text(seq=True), _text(hash="short"),
    _text(sealed_at="yesterday"),
])
def test_what_is_not_an_anchor_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"^not an anchor"):
        anchors.parse(text)


@pytest.mark.django_db
def test_sealing_anchors_the_new_head_once_committed() -> None:
    with time_machine.travel(clock.now(), tick=False):
        journal(3)

        assert sealed() == 3

        head = AuditSeal.objects.get(seq=3)
        [anchor_file] = Path(settings.FINCORE_AUDIT_ANCHOR_DIR).iterdir()
        assert json.loads(anchor_file.read_text()) == {
            "seq": 3, "hash": head.hash, "sealed_at": head.sealed_at.astimezone(UTC).isoformat(),
            "written_at": clock.now().astimezone(UTC).isoformat(),
        }
        assert anchor_file.name == f"audit-anchors-{clock.now().astimezone(UTC):%Y-%m}.jsonl"


@pytest.mark.django_db
def test_each_sealing_appends_its_head_and_an_idle_one_nothing() -> None:
    journal(2)
    sealed()
    assert sealed() == 0
    journal(1, object_prefix="pay_next_")
    sealed()

    log = anchors.read(Path(settings.FINCORE_AUDIT_ANCHOR_DIR))
    assert [(line.anchor.seq, line.anchor.hash) for line in log.lines] == [
        (seal.seq, seal.hash) for seal in AuditSeal.objects.filter(seq__in=[2, 3]).order_by("seq")
    ]


@pytest.mark.django_db
def test_a_sealing_rolled_back_anchors_nothing() -> None:
    journal(2)

    with (TestCase.captureOnCommitCallbacks(execute=True) as callbacks, pytest.raises(RuntimeError),
          transaction.atomic()):
        audit_seal_pending()
        raise RuntimeError("the sealer's transaction fails after sealing")

    assert callbacks == []

    assert not Path(settings.FINCORE_AUDIT_ANCHOR_DIR).exists()
    assert AuditSeal.objects.count() == 0


@pytest.mark.django_db
def test_an_unwritable_anchor_directory_fails_the_sealing_loudly_with_the_seals_kept(settings, tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings.FINCORE_AUDIT_ANCHOR_DIR = blocker / "anchors"
    journal(2)

    with pytest.raises(OSError):
        sealed()

    assert AuditSeal.objects.count() == 2

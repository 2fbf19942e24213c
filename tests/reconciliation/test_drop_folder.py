"""The watched drop folder: settled files imported and filed under imported/, refusals under
refused/ with their reason and nothing stored, a file imported but not moved (a crash) filed as
imported on the next scan without a second statement, files still being written left alone; the
command and the periodic task (called in process: it is one service call)."""

import json
import os
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from django_celery_beat.models import PeriodicTask

from apps.core.actors import Actor
from apps.reconciliation.models import BankStatement, BankStatementLine
from apps.reconciliation.services.drop_folder import statement_drop_folder_scan
from apps.reconciliation.services.statements import statement_import
from apps.reconciliation.tasks import drop_folder as tasks
from tests.reconciliation import samples
from tests.reconciliation.test_csv_mapping import NBB_CSV, nbb, nbb_mapping
from tests.reconciliation.test_import import camt_multi, nostro

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("tests.reconciliation")


def settled(path, content: bytes):
    """A file written two minutes ago: past the settle time."""
    path.write_bytes(content)
    then = time.time() - 120
    os.utime(path, (then, then))
    return path


def test_settled_files_are_imported_and_filed_refusals_with_their_reason(tmp_path):
    nostro()
    nbb()
    nbb_mapping()
    settled(tmp_path / "multi.xml", camt_multi())
    (tmp_path / "nbb-bhd-01").mkdir()
    settled(tmp_path / "nbb-bhd-01" / "nbb.csv", NBB_CSV)  # in its nostro's folder: read by its mapping
    settled(tmp_path / "wrong.xml", samples.sample("camt", "camt053.v2.wrong.xml"))
    settled(tmp_path / "loose.csv", NBB_CSV.replace(b"Payout", b"Payout again"))  # no nostro, so no mapping
    outcomes = {outcome.file: (outcome.outcome, outcome.moved_to)
                for outcome in statement_drop_folder_scan(root=tmp_path, actor=ACTOR)}
    assert outcomes == {
        "multi.xml": ("imported", "imported/multi.xml"),
        "nbb-bhd-01/nbb.csv": ("imported", "nbb-bhd-01/imported/nbb.csv"),
        "wrong.xml": ("refused", "refused/wrong.xml"),
        "loose.csv": ("refused", "refused/loose.csv"),
    }
    assert BankStatement.objects.count() == 3  # two from multi.xml, one CSV
    assert BankStatement.objects.get(format="csv").nostro_id == "nbb-bhd-01"
    reason = (tmp_path / "refused" / "wrong.xml.reason.txt").read_text()
    assert "nothing stored" in reason
    assert ("statement_malformed: The file was refused, line 3: not valid against the camt.053.001.02 schema: "
            "Element 'BkToCstmrStmt': Missing child element(s). Expected is ( Stmt ).") in reason
    assert "statement_format_unsupported" in (tmp_path / "refused" / "loose.csv.reason.txt").read_text()
    assert sorted(path.name for path in tmp_path.iterdir() if path.is_file()) == []  # nothing left behind
    assert statement_drop_folder_scan(root=tmp_path, actor=ACTOR) == []  # filed files are never taken again


def test_a_refused_file_stores_nothing(tmp_path):
    nostro()
    settled(tmp_path / "broken.xml", camt_multi()[:500])
    (outcome,) = statement_drop_folder_scan(root=tmp_path, actor=ACTOR)
    assert outcome.outcome == "refused" and "not well-formed XML" in outcome.detail
    assert not BankStatement.objects.exists() and not BankStatementLine.objects.exists()


def test_a_file_imported_before_a_crash_is_filed_as_imported_never_twice(tmp_path):
    nostro()
    path = settled(tmp_path / "multi.xml", camt_multi())
    # The scan that crashed: the import committed, the file was never moved.
    statement_import(content=path.read_bytes(), file_name=path.name, actor=ACTOR)
    (outcome,) = statement_drop_folder_scan(root=tmp_path, actor=ACTOR)
    assert (outcome.outcome, outcome.moved_to) == ("already_imported", "imported/multi.xml")
    assert BankStatement.objects.count() == 2  # the file's two statements, once
    assert (tmp_path / "imported" / "multi.xml.reason.txt").read_text().startswith(
        "Already imported, not imported again: This file was imported before (as 'multi.xml'")


def test_another_file_with_a_statement_imported_before_is_refused(tmp_path):
    nbb()
    nbb_mapping(statement_id="Reference")  # the first row's reference names the statement
    statement_import(content=NBB_CSV, file_name="nbb.csv", actor=ACTOR, mapping_name="NBB daily CSV")
    (tmp_path / "nbb-bhd-01").mkdir()
    settled(tmp_path / "nbb-bhd-01" / "nbb-resent.csv", NBB_CSV + b"\n")  # other bytes, same statement id
    (outcome,) = statement_drop_folder_scan(root=tmp_path, actor=ACTOR)
    assert (outcome.outcome, outcome.moved_to) == ("refused", "nbb-bhd-01/refused/nbb-resent.csv")
    assert "statement_duplicate" in outcome.detail
    assert BankStatement.objects.count() == 1


def test_files_still_being_written_are_left_for_the_next_scan(tmp_path):
    nostro()
    (tmp_path / "multi.xml").write_bytes(camt_multi())  # modified just now
    settled(tmp_path / "upload.xml.part", camt_multi())  # an sftp client's name for a file in flight
    settled(tmp_path / ".hidden.xml", camt_multi())
    assert statement_drop_folder_scan(root=tmp_path, actor=ACTOR) == []
    assert not BankStatement.objects.exists()
    assert (tmp_path / "multi.xml").exists()
    (outcome,) = statement_drop_folder_scan(root=tmp_path, actor=ACTOR, settle_seconds=0)
    assert outcome.file == "multi.xml" and outcome.outcome == "imported"


def test_a_second_file_of_the_same_name_is_filed_beside_the_first(tmp_path):
    nostro()
    settled(tmp_path / "statement.xml", b"not a statement")
    statement_drop_folder_scan(root=tmp_path, actor=ACTOR)
    settled(tmp_path / "statement.xml", b"still not a statement")
    (outcome,) = statement_drop_folder_scan(root=tmp_path, actor=ACTOR)
    assert outcome.moved_to.startswith("refused/") and outcome.moved_to.endswith("-statement.xml")
    assert (tmp_path / "refused" / "statement.xml").read_bytes() == b"not a statement"


def test_command_scans_the_folder_and_prints_json(tmp_path):
    nostro()
    settled(tmp_path / "multi.xml", camt_multi())
    out = StringIO()
    call_command("statement_drop_folder_scan", "--dir", str(tmp_path), "--json", stdout=out)
    (outcome,) = json.loads(out.getvalue())
    assert outcome == {"file": "multi.xml", "outcome": "imported", "moved_to": "imported/multi.xml",
                       "detail": "2 statement(s) imported: 253EURNL26VAYB8060476890 12312, "
                                 "254EURNL26VAYB8060476890"}


def test_the_task_is_scheduled_on_the_reconciliation_queue_and_off_without_a_folder(tmp_path):
    scheduled = PeriodicTask.objects.get(task="reconciliation.statement_drop_folder_scan")
    assert (scheduled.queue, scheduled.interval.every, scheduled.enabled) == ("reconciliation", 60, True)
    assert tasks.statement_drop_folder_scan.acks_late is True
    with override_settings(FINCORE_STATEMENT_DROP_DIR=None):
        assert tasks.statement_drop_folder_scan() == []
    nostro()
    settled(tmp_path / "multi.xml", camt_multi())
    with override_settings(FINCORE_STATEMENT_DROP_DIR=tmp_path):
        assert tasks.statement_drop_folder_scan() == ["multi.xml: imported"]
    assert BankStatement.objects.count() == 2

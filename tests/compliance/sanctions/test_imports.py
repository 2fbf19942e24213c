"""Importing a list: a new version with counts against the previous one, or nothing at all."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from apps.audit.models import AuditEvent
from apps.compliance.models import SanctionsEntry, SanctionsListVersion, SanctionsRescreen
from apps.compliance.sanctions import imports
from apps.events.outbox.models import OutboxMessage
from tests.compliance.sanctions.conftest import FIXTURES, import_list, merchant

pytestmark = pytest.mark.django_db


def _written() -> tuple[int, int, int, int, int]:
    return (SanctionsListVersion.objects.count(), SanctionsEntry.objects.count(), SanctionsRescreen.objects.count(),
            AuditEvent.objects.filter(action__startswith="sanctions_list.").count(),
            OutboxMessage.objects.filter(task_name="compliance.sanctions_rescreen").count())


def test_an_import_is_a_new_version_with_counts_against_the_previous_one_and_a_rescreen():
    merchant("Acme Trading W.L.L.")
    first = import_list("un", "un_consolidated.xml")

    second = import_list("un", "un_consolidated_next.xml")

    assert (first.number, first.entries_count, first.added_count, first.removed_count, first.changed_count) == (
        1, 3, 3, 0, 0)
    # QDi.905 listed, CDi.950 delisted, QDe.990's alias respelt.
    assert (second.number, second.entries_count, second.added_count, second.removed_count, second.changed_count) == (
        2, 3, 1, 1, 1)
    assert sorted(second.entries.values_list("reference", flat=True)) == ["QDe.990", "QDi.901", "QDi.905"]
    assert first.entries.count() == 3  # a version never changes
    noor = second.entries.get(reference="QDe.990")
    assert (noor.kind, noor.aliases) == ("entity", ["Noor Trading Company"])
    rescreen = SanctionsRescreen.objects.get(version=second)
    assert (rescreen.total, rescreen.screened, rescreen.finished_at) == (1, 0, None)
    message = OutboxMessage.objects.filter(task_name="compliance.sanctions_rescreen").order_by("id").last()
    assert (message.queue, message.kwargs) == ("compliance", {"rescreen_id": str(rescreen.pk)})
    journaled = AuditEvent.objects.filter(action="sanctions_list.imported").order_by("id").last()
    assert journaled.object_id == str(second.pk)
    assert journaled.after["added"] == 1 and journaled.after["removed"] == 1


def test_the_ofac_and_local_lists_number_their_versions_apart():
    ofac = import_list("ofac", "ofac_sdn.xml")
    local = import_list("local", "local_list.csv")

    assert (ofac.number, ofac.entries_count, local.number, local.entries_count) == (1, 3, 1, 3)
    masri = ofac.entries.get(reference="990101")
    assert masri.identifiers == [{"kind": "passport", "number": "A 1234567", "country": "Egypt"}]
    assert masri.dates_of_birth == ["03 Mar 1970", "1971"]


@pytest.mark.parametrize(("source", "name", "detail"), [
    ("un", "un_missing_name.xml", "un_missing_name.xml, line 54: <INDIVIDUAL> has no <FIRST_NAME>"),
    ("ofac", "ofac_bad_type.xml", "ofac_bad_type.xml, line 91: unknown <sdnType> 'Ship'"),
    ("local", "local_bad_type.csv",
     "local_bad_type.csv, line 3: type must be individual or entity, not 'person'"),
])
def test_a_malformed_file_is_refused_with_line_and_reason_and_writes_nothing(source, name, detail):
    import_list("un", "un_consolidated.xml")
    before = _written()

    with pytest.raises(imports.SanctionsListMalformed) as refused:
        import_list(source, name)

    assert refused.value.detail == detail
    assert refused.value.code == "sanctions_list_malformed"
    assert refused.value.extensions["line"] in (54, 91, 3)
    assert _written() == before


def test_a_file_listing_no_one_is_refused():
    content = (FIXTURES / "local_list.csv").read_bytes().splitlines(keepends=True)[0]

    with pytest.raises(imports.SanctionsListEmpty):
        import_list("local", "empty.csv", content)

    assert _written() == (0, 0, 0, 0, 0)


def test_the_management_command_imports_a_file_or_says_why_not(tmp_path):
    out = io.StringIO()
    call_command("sanctions_import", str(FIXTURES / "ofac_sdn.xml"), "--source", "ofac", "--json", stdout=out)

    assert json.loads(out.getvalue()) == {"list": "ofac", "version": 1, "entries": 3, "added": 3, "removed": 0,
                                          "changed": 0}
    with pytest.raises(CommandError, match=r"local_bad_header.csv, line 1: the header must be"):
        call_command("sanctions_import", str(FIXTURES / "local_bad_header.csv"), "--source", "local")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("sanctions_import", str(tmp_path / "missing.xml"), "--source", "un")

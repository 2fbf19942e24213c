"""``manage.py audit_export`` and ``manage.py audit_verify --export``: an export a regulator can
take away and check on its own machine, without fincore's database."""

import json
import zipfile
from collections.abc import Callable
from datetime import datetime
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from apps.audit import bundle, chain
from apps.audit.models import AuditEvent, AuditSeal
from apps.audit.services import audit_seal_pending
from apps.core import ids
from apps.ledger.models import Transfer
from tests.audit.support import journal, rewrite_with_the_key, sealed, triggers_bypassed
from tests.factories import ledger as ledger_factories

pytestmark = pytest.mark.django_db

BAHRAIN = ZoneInfo("Asia/Bahrain")


def _at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=BAHRAIN)


class Period:
    """A journal around 10 and 11 March 2026 (Bahrain time), sealed in several batches."""

    def __init__(self) -> None:
        with time_machine.travel(_at(9, 23, 59, 59), tick=False) as traveller:
            [self.before] = journal(1, object_prefix="pay_before_")
            sealed()
            traveller.move_to(_at(10, 0))
            self.first = journal(2, object_prefix="pay_first_")
            self.wallet = ledger_factories.wallet(currency="BHD")
            self.funding = ledger_factories.fund(self.wallet, 12500)
            sealed()
            traveller.move_to(_at(11, 23, 59, 59))
            [self.last] = journal(1, object_prefix="pay_last_")
            traveller.move_to(_at(12, 0))
            [self.after] = journal(1, object_prefix="pay_after_")
            sealed()  # one batch, one anchor: the period's last row and the next day's first
            traveller.move_to(_at(11, 12))
            [self.unsealed] = journal(1, object_prefix="pay_unsealed_")
            self.transfer = Transfer.objects.get()
        self.rows = list(
            AuditEvent.objects.filter(occurred_at__gte=_at(10, 0), occurred_at__lt=_at(12, 0)).order_by("id")
        )

    def export(self, path: Path) -> str:
        out = StringIO()
        with time_machine.travel(_at(20, 9), tick=False):
            call_command("audit_export", "--from", "2026-03-10", "--to", "2026-03-11", str(path), stdout=out)
        return out.getvalue()


@pytest.fixture
def period() -> Period:
    return Period()


@pytest.fixture
def exported(period: Period, tmp_path: Path) -> Path:
    path = tmp_path / "audit-2026-03-10.zip"
    period.export(path)
    return path


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _lines(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.decode().splitlines()]


def _verify(path: Path, *options: str) -> str:
    out = StringIO()
    call_command("audit_verify", "--export", str(path), *options, stdout=out)
    return out.getvalue()


def _rewritten(path: Path, name: str, change: Callable[[bytes], bytes], *, restate_manifest: bool = False) -> Path:
    """A copy of the export with one file changed (and, as a careful forger would, the manifest
    restated to match it)."""
    members = _members(path)
    members[name] = change(members[name])
    if restate_manifest:
        manifest = json.loads(members[bundle.MANIFEST])
        manifest["files"][name] = {"sha256": bundle.sha256_hex(members[name]), "bytes": len(members[name])}
        members[bundle.MANIFEST] = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    forged = path.with_name(f"forged-{name}.zip")
    with zipfile.ZipFile(forged, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return forged


def _edit_first_row(data: bytes) -> bytes:
    return _replace_in_line(data, 1, '"object_id":"pay_first_1"', '"object_id":"pay_first_9"')


def _replace_in_line(data: bytes, number: int, old: str, new: str) -> bytes:
    lines = data.decode().splitlines(keepends=True)
    assert old in lines[number - 1]
    lines[number - 1] = lines[number - 1].replace(old, new, 1)
    return "".join(lines).encode()


# --- the export ---------------------------------------------------------------------------


def test_the_export_holds_the_periods_journal_chain_proof_anchors_and_transfers(period: Period, tmp_path: Path) -> None:
    path = tmp_path / "audit-2026-03-10.zip"

    said = period.export(path)

    members = _members(path)
    assert set(members) == {"manifest.json", "journal.jsonl", "chain.jsonl", "anchors.jsonl", "ledger_transfers.jsonl"}
    manifest = json.loads(members["manifest.json"])
    manifest_sha256 = bundle.sha256_hex(members["manifest.json"])
    rows = _lines(members["journal.jsonl"])
    first_seal = AuditSeal.objects.get(event=period.first[0])
    last_seal = AuditSeal.objects.get(event=period.after)

    # Every row of the two Bahrain days, the unsealed one too, and none of the days around them.
    assert [row["id"] for row in rows] == [event.pk for event in period.rows]
    assert {period.first[0].pk, period.first[1].pk, period.last.pk, period.unsealed.pk} <= {row["id"] for row in rows}
    assert period.before.pk not in {row["id"] for row in rows} and period.after.pk not in {row["id"] for row in rows}
    first = period.first[0]
    assert rows[0] == {
        "id": first.pk, "uid": str(first.uid), "occurred_at": "2026-03-09T21:00:00.000000+00:00",
        "actor_type": "staff", "actor_id": "7", "actor_label": "fatima.officer", "merchant_id": "",
        "action": "payment.captured", "object_type": "payments.payment", "object_id": "pay_first_1",
        "before": {"status": "requires_capture"}, "after": {"status": "succeeded", "amount": 12501},
        "reason": "", "request_id": "", "ip": None, "signature": first.signature,
        "seal": {"seq": first_seal.seq, "hash": first_seal.hash, "sealed_at": "2026-03-09T21:00:00.000000+00:00"},
    }
    assert rows[-1]["id"] == period.unsealed.pk and rows[-1]["seal"] is None

    # The chain proof: from the seal before the period's first to the anchor after its last.
    seals = _lines(members["chain.jsonl"])
    assert [seal["seq"] for seal in seals] == list(range(first_seal.seq - 1, last_seal.seq + 1))
    assert seals[0] == {
        "seq": 1, "event_id": period.before.pk, "event_signature": period.before.signature,
        "prev_hash": chain.GENESIS, "hash": AuditSeal.objects.get(seq=1).hash,
        "sealed_at": "2026-03-09T20:59:59.000000+00:00",
    }
    # The anchors of the three sealings: the starting seal's, the middle batch's head, and the head
    # that covers the period's last sealed row.
    assert [json.loads(line)["seq"] for line in members["anchors.jsonl"].decode().splitlines()] == [
        1, last_seal.seq - 2, last_seal.seq,
    ]

    assert _lines(members["ledger_transfers.jsonl"]) == [{
        "id": ids.encode("tr", period.transfer.pk), "created_at": "2026-03-10T00:00:00+03:00",
        "effective_at": "2026-03-10T00:00:00+03:00", "kind": "immediate",
        "debit_account": ids.encode("acc", period.funding.pk), "credit_account": ids.encode("acc", period.wallet.pk),
        "amount": 12500, "currency": "BHD", "code": period.transfer.code, "reference": "",
        "client_id": period.transfer.client_id, "merchant": None, "livemode": True, "pending": None,
        "reverses": None, "created_by": period.transfer.created_by,
    }]

    assert manifest["period"] == {"from": "2026-03-10", "to": "2026-03-11", "time_zone": "Asia/Bahrain",
                                  "start": "2026-03-10T00:00:00+03:00", "end": "2026-03-12T00:00:00+03:00"}
    assert manifest["counts"] == {"journal_rows": len(period.rows), "unsealed_rows": 1, "seals": len(seals),
                                  "anchors": 3, "ledger_transfers": 1}
    assert manifest["files"]["journal.jsonl"] == {"sha256": bundle.sha256_hex(members["journal.jsonl"]),
                                                  "bytes": len(members["journal.jsonl"])}
    assert said == (
        f"audit export written to {path}: 2026-03-10 to 2026-03-11, {len(period.rows)} journal rows "
        f"(1 not sealed yet), {len(seals)} seals, 3 anchors, 1 ledger transfers\n"
        f"manifest sha256 {manifest_sha256}\n"
        "Give the auditor this hash apart from the zip (by letter or a second channel).\n"
    )
    exported = AuditEvent.objects.get(action="audit.exported")
    assert (exported.actor_label, exported.object_id) == ("manage.py audit_export", manifest_sha256)
    assert exported.after == {"from": "2026-03-10", "to": "2026-03-11", "file": path.name,
                              "manifest_sha256": manifest_sha256, **manifest["counts"]}


def test_an_export_is_never_written_over_an_existing_file(period: Period, tmp_path: Path) -> None:
    path = tmp_path / "audit.zip"
    path.write_bytes(b"an earlier export")

    with pytest.raises(CommandError, match=r"exists: an export is never overwritten$"):
        period.export(path)

    assert path.read_bytes() == b"an earlier export"
    assert not AuditEvent.objects.filter(action="audit.exported").exists()


@pytest.mark.parametrize(("first_day", "last_day", "refusal"), [
    ("2026-03-11", "2026-03-10", "--to 2026-03-10 is before --from 2026-03-11"),
    ("10/03/2026", "2026-03-11", "'10/03/2026' is not a date (YYYY-MM-DD)"),
])
def test_a_period_that_is_not_one_is_refused(tmp_path: Path, first_day: str, last_day: str, refusal: str) -> None:
    with pytest.raises(CommandError) as failure:
        call_command("audit_export", "--from", first_day, "--to", last_day, str(tmp_path / "audit.zip"))

    assert str(failure.value) == refusal
    assert list(tmp_path.iterdir()) == []
    assert not AuditEvent.objects.filter(action="audit.exported").exists()


# --- verifying it offline -------------------------------------------------------------------


def _intact(period: Period, path: Path, *, key: bool, manifest_given: bool) -> str:
    last_seq = _lines(_members(path)["chain.jsonl"])[-1]["seq"]
    return (
        f"audit export intact: 2026-03-10 to 2026-03-11, {len(period.rows)} journal rows (1 not sealed yet), "
        f"1 ledger transfers; chain unbroken from seal 1 to seal {last_seq}; 3 anchors match, the last at seal "
        f"{last_seq}\n"
        + ("signatures and links recomputed with FINCORE_AUDIT_KEY\n" if key
           else "signatures and links not recomputed (they need FINCORE_AUDIT_KEY: --with-key)\n")
        + f"manifest sha256 {bundle.sha256_hex(_members(path)['manifest.json'])}"
        + (" (as given)" if manifest_given else "") + "\n"
    )


def test_an_intact_export_verifies_without_the_database(period: Period, exported: Path, postgresql_down) -> None:
    manifest_sha256 = bundle.sha256_hex(_members(exported)["manifest.json"])

    said = _verify(exported, "--manifest-sha256", manifest_sha256)

    assert said == _intact(period, exported, key=False, manifest_given=True)


def test_with_the_key_every_signature_and_link_is_recomputed(period: Period, exported: Path, postgresql_down) -> None:
    assert _verify(exported, "--with-key") == _intact(period, exported, key=True, manifest_given=False)


@pytest.mark.parametrize("name", bundle.FILES)
def test_any_file_changed_is_caught_by_the_manifest(exported: Path, name: str) -> None:
    forged = _rewritten(exported, name, lambda data: data.replace(b"1", b"2", 1) if b"1" in data else data + b"\n")

    with pytest.raises(CommandError) as failure:
        _verify(forged)

    assert str(failure.value) == (
        f"audit export invalid: {name} was altered: its SHA-256 or size is not the manifest's"
    )


def test_a_file_removed_or_added_is_caught(exported: Path, tmp_path: Path) -> None:
    members = _members(exported)
    without_chain = tmp_path / "without-chain.zip"
    with zipfile.ZipFile(without_chain, "w") as archive:
        for name, data in members.items():
            if name != "chain.jsonl":
                archive.writestr(name, data)
    with_extra = _rewritten(exported, "journal.jsonl", lambda data: data)
    with zipfile.ZipFile(with_extra, "a") as archive:
        archive.writestr("journal-corrections.jsonl", b"{}\n")

    with pytest.raises(CommandError, match=r"^audit export invalid: chain.jsonl is listed in the manifest but missing"):
        _verify(without_chain)
    with pytest.raises(CommandError, match=(
        r"^audit export invalid: journal-corrections.jsonl: in the export but not in the manifest$"
    )):
        _verify(with_extra)


def test_a_manifest_restated_to_match_is_caught_by_its_hash_given_apart(exported: Path) -> None:
    given = bundle.sha256_hex(_members(exported)["manifest.json"])
    forged = _rewritten(exported, "journal.jsonl",
                        _edit_first_row,
                        restate_manifest=True)
    forged_manifest = bundle.sha256_hex(_members(forged)["manifest.json"])

    with pytest.raises(CommandError) as failure:
        _verify(forged, "--manifest-sha256", given)

    assert str(failure.value) == (
        f"audit export invalid: its manifest's SHA-256 is {forged_manifest}, not {given}: the manifest was replaced"
    )


def test_a_row_edited_and_its_manifest_restated_is_caught_by_its_signature_with_the_key(
    period: Period, exported: Path
) -> None:
    forged = _rewritten(exported, "journal.jsonl",
                        _edit_first_row,
                        restate_manifest=True)

    with pytest.raises(CommandError) as failure:
        _verify(forged, "--with-key")

    assert str(failure.value) == (
        f"audit export invalid: journal.jsonl:1 (event {period.first[0].pk}): its content does not match its "
        "signature: it was altered"
    )


def test_a_row_moved_to_another_place_in_the_chain_is_caught(period: Period, exported: Path) -> None:
    first_seal = AuditSeal.objects.get(event=period.first[0])
    forged = _rewritten(
        exported, "journal.jsonl",
        lambda data: _replace_in_line(data, 1, f'"seq":{first_seal.seq}', f'"seq":{first_seal.seq + 1}'),
        restate_manifest=True,
    )

    with pytest.raises(CommandError) as failure:
        _verify(forged)

    assert str(failure.value) == (
        f"audit export invalid: journal.jsonl:1 (event {period.first[0].pk}): seal {first_seal.seq + 1} of the chain "
        "proof is not this row's"
    )


def test_a_seal_removed_from_the_chain_proof_is_caught(period: Period, exported: Path) -> None:
    def drop_second_seal(data: bytes) -> bytes:
        lines = data.decode().splitlines(keepends=True)
        return "".join(lines[:1] + lines[2:]).encode()

    forged = _rewritten(exported, "chain.jsonl", drop_second_seal, restate_manifest=True)

    with pytest.raises(CommandError, match=(
        r"^audit export invalid: chain.jsonl:2: the chain jumps from seal 1 to seal 3$"
    )):
        _verify(forged)


def test_a_seal_hash_changed_in_the_chain_proof_breaks_the_next_link(period: Period, exported: Path) -> None:
    seals = _lines(_members(exported)["chain.jsonl"])
    forged = _rewritten(exported, "chain.jsonl",
                        lambda data: _replace_in_line(data, 2, seals[1]["hash"], "f" * 64), restate_manifest=True)

    with pytest.raises(CommandError, match=(
        rf"^audit export invalid: chain.jsonl:3: seal {seals[2]['seq']} does not follow seal {seals[1]['seq']}$"
    )):
        _verify(forged)


def test_an_anchor_changed_in_the_export_is_caught(period: Period, exported: Path) -> None:
    anchor = json.loads(_members(exported)["anchors.jsonl"].decode().splitlines()[1])
    forged = _rewritten(exported, "anchors.jsonl",
                        lambda data: _replace_in_line(data, 2, anchor["hash"], "e" * 64), restate_manifest=True)

    with pytest.raises(CommandError) as failure:
        _verify(forged)

    assert str(failure.value) == (
        f"audit export invalid: anchors.jsonl:2: seal {anchor['seq']} does not match its anchor: the journal was "
        "rewritten after it was anchored"
    )


def test_a_transfer_amount_that_is_not_minor_units_is_refused(exported: Path) -> None:
    forged = _rewritten(exported, "ledger_transfers.jsonl",
                        lambda data: _replace_in_line(data, 1, '"amount":12500', '"amount":12.5'),
                        restate_manifest=True)

    with pytest.raises(CommandError, match=(
        r"^audit export invalid: ledger_transfers.jsonl:1: not an amount in minor units with its currency$"
    )):
        _verify(forged)


def test_an_export_of_a_history_rewritten_with_the_key_fails_against_its_anchors(
    period: Period, tmp_path: Path
) -> None:
    """The insider rewrites a row of the period, re-signs it and recomputes every later seal
    with the key, then exports: the export is consistent with itself and with the key, but the
    anchors, copied from the append-only directory, still hold the original hashes."""
    with time_machine.travel(_at(20, 8), tick=False):
        rewrite_with_the_key(AuditEvent.objects.get(pk=period.first[0].pk), reason="approved by the board")
    path = tmp_path / "rewritten.zip"
    period.export(path)
    anchor_seq = _lines(_members(path)["chain.jsonl"])[-1]["seq"] - 2

    with pytest.raises(CommandError) as failure:
        _verify(path, "--with-key")

    assert str(failure.value) == (
        f"audit export invalid: anchors.jsonl:2: seal {anchor_seq} does not match its anchor: the journal was "
        "rewritten after it was anchored"
    )


def test_an_export_of_a_journal_cut_short_fails_against_its_anchors(period: Period, tmp_path: Path) -> None:
    last_seal = AuditSeal.objects.get(event=period.after)
    with time_machine.travel(_at(20, 8), tick=False), triggers_bypassed() as cursor:
        cursor.execute("DELETE FROM audit_auditseal WHERE seq >= %s", [last_seal.seq - 1])
    path = tmp_path / "cut.zip"
    period.export(path)

    with pytest.raises(CommandError) as failure:
        _verify(path)

    assert str(failure.value) == (
        f"audit export invalid: anchors.jsonl:3: seal {last_seal.seq} is anchored, but the chain proof ends at seal "
        f"{last_seal.seq - 2}: the journal lost seals after they were anchored"
    )


def test_something_that_is_not_an_export_is_refused(tmp_path: Path) -> None:
    not_a_zip = tmp_path / "audit.zip"
    not_a_zip.write_text("hello")

    with pytest.raises(CommandError, match=r"^audit export invalid: .*audit.zip is not a zip file$"):
        _verify(not_a_zip)
    with pytest.raises(CommandError, match=r"^audit export invalid: \[Errno 2\] No such file"):
        _verify(tmp_path / "missing.zip")


def test_rows_sealed_after_the_last_anchor_are_said_to_be_proved_by_the_chain_only(tmp_path: Path) -> None:
    with time_machine.travel(_at(10, 9), tick=False):
        journal(3)
        audit_seal_pending()  # never committed in this test: as if every anchor had failed
    path = tmp_path / "unanchored.zip"
    out = StringIO()
    with time_machine.travel(_at(20, 9), tick=False):
        call_command("audit_export", "--from", "2026-03-10", "--to", "2026-03-11", str(path), stdout=out)

    said = _verify(path)

    assert said.splitlines()[:2] == [
        "audit export intact: 2026-03-10 to 2026-03-11, 3 journal rows (0 not sealed yet), 0 ledger transfers; "
        "chain unbroken from seal 1 to seal 3; no anchor covers it",
        "3 sealed rows lie after the last anchor: proved by the chain only",
    ]


def test_an_export_that_fails_midway_leaves_no_file_and_no_journal_row(period: Period, tmp_path: Path) -> None:
    from datetime import date

    from apps.audit import selectors, services
    from apps.core.actors import Actor

    def transfers_until_the_disk_fills():
        yield {"id": "tr_1", "amount": 1, "currency": "BHD"}
        raise OSError(28, "No space left on device")

    with time_machine.travel(_at(20, 9), tick=False), pytest.raises(OSError, match="No space left on device"):
        services.audit_export(
            period=selectors.export_period(first_day=date(2026, 3, 10), last_day=date(2026, 3, 11)),
            destination=tmp_path / "audit.zip", ledger_transfers=transfers_until_the_disk_fills(),
            actor=Actor.system("manage.py audit_export"),
        )

    assert list(tmp_path.iterdir()) == []
    assert not AuditEvent.objects.filter(action="audit.exported").exists()

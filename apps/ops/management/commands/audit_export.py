"""``manage.py audit_export --from DATE --to DATE OUT.zip``: what a regulator takes away.

It lives in ops, the outermost app, because it brings two apps together: the journal and its
chain proof come from audit, the period's transfers from the ledger (which sits above audit, so
audit cannot read it; audit's export takes the transfers as plain rows).
"""

from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.audit import selectors as audit_selectors
from apps.audit import services as audit_services
from apps.core import clock, ids
from apps.core.actors import Actor
from apps.ledger import selectors as ledger_selectors

ACTOR = Actor.system("manage.py audit_export")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _public(prefix: str, value: Any) -> str | None:
    return None if value is None else ids.encode(prefix, value)


def transfer_row(transfer: ledger_selectors.TransferRecord) -> dict[str, Any]:
    """A transfer as a line of ``ledger_transfers.jsonl``: ids as staff see them, amount in minor units."""
    return {
        "id": ids.encode("tr", transfer.id),
        "created_at": clock.isoformat(transfer.created_at),
        "effective_at": clock.isoformat(transfer.effective_at),
        "kind": transfer.kind,
        "debit_account": ids.encode("acc", transfer.debit_account_id),
        "credit_account": ids.encode("acc", transfer.credit_account_id),
        "amount": transfer.amount,
        "currency": transfer.currency,
        "code": transfer.code,
        "reference": transfer.reference,
        "client_id": transfer.client_id,
        "merchant": _public("mer", transfer.merchant_id),
        "livemode": transfer.livemode,
        "pending": _public("tr", transfer.pending_id),
        "reverses": _public("tr", transfer.reverses_id),
        "created_by": transfer.created_by,
    }


class Command(BaseCommand):
    help = (
        "Export the audit journal of a period (whole days in fincore's time zone, both included) with its chain "
        "proof, its anchors and the period's ledger transfers, as a zip with a manifest of SHA-256 hashes. "
        "Check it with: manage.py audit_verify --export OUT.zip"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="first_day", required=True, metavar="DATE", help="First day, YYYY-MM-DD.")
        parser.add_argument("--to", dest="last_day", required=True, metavar="DATE", help="Last day, YYYY-MM-DD.")
        parser.add_argument("destination", type=Path, metavar="OUT.zip")

    def handle(self, *args: object, **options: Any) -> None:
        first_day, last_day = _day(options["first_day"]), _day(options["last_day"])
        if last_day < first_day:
            raise CommandError(f"--to {last_day} is before --from {first_day}")
        destination: Path = options["destination"]
        if destination.exists():
            raise CommandError(f"{destination} exists: an export is never overwritten")
        period = audit_selectors.export_period(first_day=first_day, last_day=last_day)
        transfers = ledger_selectors.transfers_created_between(start=period.start, end=period.end)
        written = audit_services.audit_export(
            period=period, destination=destination, ledger_transfers=map(transfer_row, transfers), actor=ACTOR,
        )
        counts = written.counts
        self.stdout.write(self.style.SUCCESS(
            f"audit export written to {written.path}: {first_day} to {last_day}, {counts['journal_rows']} journal rows "
            f"({counts['unsealed_rows']} not sealed yet), {counts['seals']} seals, {counts['anchors']} anchors, "
            f"{counts['ledger_transfers']} ledger transfers"
        ))
        self.stdout.write(f"manifest sha256 {written.manifest_sha256}")
        self.stdout.write("Give the auditor this hash apart from the zip (by letter or a second channel).")

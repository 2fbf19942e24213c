import getpass
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.actors import Actor
from apps.core.exceptions import FincoreError
from apps.settlement import services


class Command(BaseCommand):
    help = ("Import a pain.002 payment status report from the bank: its payouts become paid, failed or returned, "
            "all or none. The same report twice changes nothing.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--json", action="store_true", help='Print {"message_id", "payout_file", "duplicate", '
                            '"paid", "failed", "returned", "unchanged"}.')

    def handle(self, *args: object, **options: object) -> None:
        actor = Actor.system(f"manage.py status_report_import ({getpass.getuser()})")
        path = options["path"]
        try:
            document = path.read_bytes()
        except OSError as unreadable:
            raise CommandError(f"Cannot read {path}: {unreadable.strerror}.") from unreadable
        try:
            imported = services.status_report_import(document=document, actor=actor)
        except FincoreError as refused:
            raise CommandError(refused.detail) from refused
        report = imported.report
        summary = {"message_id": report.message_id, "payout_file": report.payout_file.message_id,
                   "duplicate": imported.duplicate, "paid": report.paid, "failed": report.failed,
                   "returned": report.returned, "unchanged": report.unchanged}
        if options["json"]:
            self.stdout.write(json.dumps(summary))
            return
        if imported.duplicate:
            self.stdout.write(f"{report.message_id} was imported before: nothing changed.")
            return
        self.stdout.write(f"{report.message_id} ({report.payout_file.message_id}): {report.paid} paid, "
                          f"{report.failed} failed, {report.returned} returned, {report.unchanged} unchanged")

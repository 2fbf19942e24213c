import getpass
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.actors import Actor
from apps.core.exceptions import FincoreError
from apps.reconciliation.models import BankStatement
from apps.reconciliation.services import statements as services


def statement_summary(statement: BankStatement) -> dict[str, object]:
    return {"statement_id": statement.statement_id, "format": statement.format, "account": statement.account,
            "currency": statement.currency, "opening_balance": statement.opening_balance,
            "closing_balance": statement.closing_balance, "lines": statement.lines.count()}


class Command(BaseCommand):
    help = ("Import a bank statement file (camt.053/054, MT940/MT942, or a bank's CSV through its saved column "
            "mapping): every statement in it, or nothing. "
            "A statement imported before, for an unknown account or in another currency than its nostro's "
            "refuses the file.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--nostro", metavar="CODE",
                            help="The nostro the file is for (by default each statement's IBAN names it); for a "
                                 "CSV, its mapping (the nostro's own, or its bank's) reads the file.")
        parser.add_argument("--mapping", metavar="NAME",
                            help="The saved CSV column mapping to read a CSV file with (its nostro is the mapping's "
                                 "unless --nostro says otherwise).")
        parser.add_argument("--json", action="store_true",
                            help='Print a JSON list with one {"statement_id", "format", "account", "currency", '
                                 '"opening_balance", "closing_balance", "lines"} per statement (always a list, '
                                 "even of one; balances in minor units, null when the file gives none; lines a "
                                 "count).")

    def handle(self, *args: object, **options: object) -> None:
        actor = Actor.system(f"manage.py statement_import ({getpass.getuser()})")
        path = options["path"]
        try:
            content = path.read_bytes()
        except OSError as unreadable:
            raise CommandError(f"Cannot read {path}: {unreadable.strerror}.") from unreadable
        try:
            statements = services.statement_import(content=content, file_name=path.name, actor=actor,
                                                   nostro_code=options["nostro"], mapping_name=options["mapping"])
        except FincoreError as refused:
            raise CommandError(f"{refused.code}: {refused.detail}") from refused
        summaries = [statement_summary(statement) for statement in statements]
        if options["json"]:
            self.stdout.write(json.dumps(summaries))
            return
        for summary, statement in zip(summaries, statements, strict=True):
            self.stdout.write(f"{summary['statement_id']} {statement.sequence} ({summary['format']}, "
                              f"{statement.nostro_id} {summary['currency']}): {summary['lines']} lines, "
                              f"opening {summary['opening_balance']}, closing {summary['closing_balance']} "
                              "(minor units)")

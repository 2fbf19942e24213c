import getpass
import json
from dataclasses import asdict
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.actors import Actor
from apps.reconciliation.services import drop_folder


class Command(BaseCommand):
    help = ("Import the statement files of the drop folder (FINCORE_STATEMENT_DROP_DIR, or --dir) and of its "
            "<nostro code>/ folders, as the periodic task does, then file each under imported/ or refused/ "
            "(with <file>.reason.txt).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", type=Path, help="The folder to scan (default: FINCORE_STATEMENT_DROP_DIR).")
        parser.add_argument("--settle-seconds", type=int, default=drop_folder.SETTLE_SECONDS,
                            help="Take only files not modified for this long (default %(default)s).")
        parser.add_argument("--json", action="store_true",
                            help='Print a JSON list of {"file", "outcome", "moved_to", "detail"}.')

    def handle(self, *args: object, **options: object) -> None:
        root = options["dir"] or settings.FINCORE_STATEMENT_DROP_DIR
        if not root:
            raise CommandError("No drop folder: set FINCORE_STATEMENT_DROP_DIR or give --dir.")
        if not Path(root).is_dir():
            raise CommandError(f"{root} is not a folder.")
        outcomes = drop_folder.statement_drop_folder_scan(
            root=Path(root), actor=Actor.system(f"manage.py statement_drop_folder_scan ({getpass.getuser()})"),
            settle_seconds=options["settle_seconds"])
        if options["json"]:
            self.stdout.write(json.dumps([asdict(outcome) for outcome in outcomes]))
            return
        for outcome in outcomes:
            self.stdout.write(f"{outcome.file}: {outcome.outcome} -> {outcome.moved_to} ({outcome.detail})")
        if not outcomes:
            self.stdout.write("Nothing to import (or another scan is running).")

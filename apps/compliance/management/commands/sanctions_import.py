import getpass
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.compliance.sanctions import imports
from apps.compliance.sanctions.parsers import SOURCES
from apps.core.actors import Actor
from apps.core.exceptions import FincoreError


class Command(BaseCommand):
    help = ("Import a sanctions list file downloaded from its official source as the list's next version, then "
            "re-screen every merchant against it. A malformed file is refused with its line and reason, and "
            "nothing is written.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--source", required=True, choices=SOURCES,
                            help="un: the UN consolidated list XML; ofac: OFAC's sdn.xml; local: the national CSV.")
        parser.add_argument("--json", action="store_true",
                            help='Print {"list", "version", "entries", "added", "removed", "changed"}.')

    def handle(self, *args: object, **options: object) -> None:
        actor = Actor.system(f"manage.py sanctions_import ({getpass.getuser()})")
        path = options["path"]
        try:
            content = path.read_bytes()
        except OSError as unreadable:
            raise CommandError(f"Cannot read {path}: {unreadable.strerror}.") from unreadable
        try:
            version = imports.sanctions_list_import(source=options["source"], content=content, file_name=path.name,
                                                    actor=actor)
        except FincoreError as refused:
            raise CommandError(refused.detail) from refused
        summary = {"list": options["source"], "version": version.number, "entries": version.entries_count,
                   "added": version.added_count, "removed": version.removed_count, "changed": version.changed_count}
        if options["json"]:
            self.stdout.write(json.dumps(summary))
            return
        self.stdout.write(f"{version}: {version.entries_count} entries, {version.added_count} added, "
                          f"{version.removed_count} removed, {version.changed_count} changed; "
                          "every merchant is being re-screened against it.")

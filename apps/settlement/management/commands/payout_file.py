import getpass
import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.actors import Actor
from apps.core.exceptions import FincoreError
from apps.settlement import services


class Command(BaseCommand):
    help = ("Write the pain.001 of a currency's releasable payouts (past their hold, approved where needed) from "
            "its payout nostro, and send them (in transit). Prints nothing to do when none is releasable.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--currency", default="BHD")
        parser.add_argument("--out", help="Also write the file's XML to this path.")
        parser.add_argument("--json", action="store_true",
                            help='Print {"file_id", "message_id", "currency", "nostro", "payouts", "control_sum"}.')

    def handle(self, *args: object, **options: object) -> None:
        actor = Actor.system(f"manage.py payout_file ({getpass.getuser()})")
        try:
            payout_file = services.payout_file_create(currency=str(options["currency"]), actor=actor)
        except FincoreError as refused:
            raise CommandError(refused.detail) from refused
        if payout_file is None:
            self.stdout.write(json.dumps(None) if options["json"] else "No payout is releasable.")
            return
        if options["out"]:
            with open(str(options["out"]), "wb") as out:
                out.write(bytes(payout_file.document))
        summary = {"file_id": services.payout_file_public_id(payout_file), "message_id": payout_file.message_id,
                   "currency": payout_file.currency, "nostro": payout_file.nostro, "payouts": payout_file.payouts,
                   "control_sum": payout_file.control_sum}
        self.stdout.write(json.dumps(summary) if options["json"] else
                          f"{payout_file.message_id}: {payout_file.payouts} payouts from {payout_file.nostro}")

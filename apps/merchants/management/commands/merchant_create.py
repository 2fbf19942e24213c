import getpass
import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core import ids
from apps.core.actors import Actor
from apps.core.exceptions import FincoreError
from apps.merchants import services


class Command(BaseCommand):
    help = "Create a merchant with one API key and print the key's secret (shown this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="The merchant's legal name.")
        parser.add_argument("--country", default="BH", help="ISO 3166 alpha-2 (default BH).")
        parser.add_argument(
            "--currency", action="append", dest="currencies", help="ISO 4217 code; repeat for more (default BHD)."
        )
        parser.add_argument("--mode", choices=["test", "live"], default="test", help="Key mode (default test).")
        parser.add_argument("--json", action="store_true", help='Print {"merchant_id": ..., "secret_key": ...}.')

    def handle(self, *args: object, **options: object) -> None:
        actor = Actor.system(f"manage.py merchant_create ({getpass.getuser()})")
        try:
            merchant, issued = services.merchant_onboard(
                legal_name=options["name"], country=options["country"],
                currencies=options["currencies"] or ["BHD"], key_mode=options["mode"], actor=actor,
            )
        except FincoreError as refused:
            raise CommandError(refused.detail) from refused
        merchant_id = ids.encode("mer", merchant.pk)
        if options["json"]:
            self.stdout.write(json.dumps({"merchant_id": merchant_id, "secret_key": issued.secret}))
        else:
            self.stdout.write(f"merchant {merchant_id} ({merchant.legal_name})\nsecret key {issued.secret}")

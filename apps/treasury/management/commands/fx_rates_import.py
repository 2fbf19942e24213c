import getpass
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.actors import Actor
from apps.core.exceptions import FincoreError
from apps.treasury.services import fx as services


class Command(BaseCommand):
    help = ("Import FX rates from a CSV file with the header base,quote,rate,spread,as_of,source[,max_age_seconds]: "
            "every rate in it, or none (each bad line is named with its reason).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--reason", default="", help="Why the rates are imported (journaled with them).")
        parser.add_argument("--json", action="store_true",
                            help='Print a JSON list with one {"id", "base", "quote", "rate", "spread", "as_of", '
                                 '"source", "max_age_seconds"} per rate stored (rates and spreads as strings).')

    def handle(self, *args: object, **options: object) -> None:
        actor = Actor.system(f"manage.py fx_rates_import ({getpass.getuser()})")
        path = options["path"]
        try:
            content = path.read_bytes()
        except OSError as unreadable:
            raise CommandError(f"Cannot read {path}: {unreadable.strerror}.") from unreadable
        try:
            rates = services.fx_rates_import(content=content, actor=actor, filename=path.name,
                                             reason=options["reason"] or f"imported from {path.name}")
        except FincoreError as refused:
            raise CommandError(f"{refused.code}: {refused.detail}") from refused
        if options["json"]:
            self.stdout.write(json.dumps([
                {"id": str(rate.pk), "base": rate.base_currency, "quote": rate.quote_currency,
                 "rate": str(rate.mid_rate), "spread": str(rate.spread), "as_of": rate.as_of.isoformat(),
                 "source": rate.source, "max_age_seconds": rate.max_age_seconds} for rate in rates]))
            return
        for rate in rates:
            self.stdout.write(f"{rate.base_currency}/{rate.quote_currency} {rate.mid_rate} spread {rate.spread} "
                              f"as of {rate.as_of.isoformat()} ({rate.source}, max age {rate.max_age_seconds} s)")
        self.stdout.write(f"{len(rates)} rate(s) imported.")

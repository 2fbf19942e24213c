import getpass
import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.actors import Actor
from apps.core.exceptions import FincoreError
from apps.core.money import Money
from apps.settlement import services


class Command(BaseCommand):
    help = ("Run, or resume, the settlement of a business date in a currency. With --close-now, first close "
            "today's business date early (journaled with --reason), then settle it.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=date.fromisoformat, help="The business date, YYYY-MM-DD (with "
                            "--close-now: today's, the default).")
        parser.add_argument("--currency", default="BHD", help="The calendar's currency (default BHD).")
        parser.add_argument("--close-now", action="store_true",
                            help="Close today's business date now, before its cut-off (a sudden holiday).")
        parser.add_argument("--reason", default="", help="Why the day is closed early (required with --close-now).")
        parser.add_argument("--json", action="store_true",
                            help='Print {"run_id", "business_date", "currency", "status", "merchants", "gross", '
                                 '"fees", "refunds", "reserve_held", "reserve_released", "net"} in minor units.')

    def handle(self, *args: object, **options: object) -> None:
        actor = Actor.system(f"manage.py settlement_run ({getpass.getuser()})")
        currency = str(options["currency"]).upper()
        try:
            if options["close_now"]:
                closure = services.business_date_close_early(currency=currency, actor=actor,
                                                             reason=str(options["reason"]))
                if options["date"] not in (None, closure.business_date):
                    raise CommandError(f"--close-now closes today's business date, {closure.business_date}, "
                                       f"not {options['date']}.")
                business_date = closure.business_date
            elif options["date"] is None:
                raise CommandError("Give the business date: --date YYYY-MM-DD.")
            else:
                business_date = options["date"]
            run = services.settlement_run(business_date=business_date, currency=currency, actor=actor)
        except FincoreError as refused:
            raise CommandError(refused.detail) from refused
        summary = services.run_summary(run)
        if options["json"]:
            self.stdout.write(json.dumps(summary))
            return
        self.stdout.write(f"Settlement {summary['run_id']} of {run.currency} {run.business_date:%Y-%m-%d}: "
                          f"{run.status}, {run.merchants} merchant lines")
        for field in ("gross", "refunds", "fees", "reserve_held", "reserve_released", "net"):
            self.stdout.write(f"  {field.replace('_', ' '):<17} {Money(summary[field], run.currency)}")

import json
from datetime import UTC

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.exceptions import FincoreError
from apps.settlement import selectors


class Command(BaseCommand):
    help = "Print today's business date of a currency, when it closes (its cut-off) and the next business date."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--currency", default="BHD", help="The calendar's currency (default BHD).")
        parser.add_argument("--json", action="store_true",
                            help='Print {"business_date", "cutoff_at", "next_business_date"} (ISO 8601).')

    def handle(self, *args: object, **options: object) -> None:
        try:
            day = selectors.business_day(currency=str(options["currency"]))
        except FincoreError as refused:
            raise CommandError(refused.detail) from refused
        if options["json"]:
            self.stdout.write(json.dumps({
                "business_date": day.business_date.isoformat(),
                "cutoff_at": day.cutoff_at.isoformat(),
                "next_business_date": day.next_business_date.isoformat(),
            }))
            return
        self.stdout.write(
            f"{day.currency} business date: {day.business_date:%Y-%m-%d %A}\n"
            f"Cut-off: {day.cutoff_at:%Y-%m-%d %H:%M} {day.time_zone} ({day.cutoff_at.astimezone(UTC):%H:%M} UTC)\n"
            f"Next business date: {day.next_business_date:%Y-%m-%d %A}"
        )

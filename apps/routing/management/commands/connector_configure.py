import getpass
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.actors import Actor
from apps.core.exceptions import FincoreError
from apps.routing import selectors, services


def _share(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as invalid:
        raise CommandError(f"{text!r} is not a number from 0 to 1") from invalid


class Command(BaseCommand):
    help = (
        "Change a sandbox connector's simulator settings, or enable/disable it; journaled with a system actor. "
        "With no option, print its settings."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The connector's name, as the API shows it in attempts (e.g. acquirer_alpha).")
        parser.add_argument("--latency-ms", type=int, help="Time each call takes, in milliseconds.")
        parser.add_argument("--decline-rate", type=_share, help="Share of authorizations declined, 0 to 1.")
        parser.add_argument("--timeout-rate", type=_share,
                            help="Share of authorizations done but answered with a timeout (unknown), 0 to 1.")
        parser.add_argument("--outage-rate", type=_share, help="Share of calls refused as unavailable; 1: an outage.")
        parser.add_argument("--confirm-after-seconds", type=int, help="Wire: seconds until a transfer is confirmed.")
        switch = parser.add_mutually_exclusive_group()
        switch.add_argument("--enable", action="store_true", help="Route to it again.")
        switch.add_argument("--disable", action="store_true", help="Stop routing to it.")
        parser.add_argument("--reason", default="connector_configure command", help="Recorded in the audit journal.")

    def handle(self, *args: object, **options: object) -> None:
        name = options["name"]
        changes: dict[str, object] = {
            field: options[field]
            for field in ("latency_ms", "decline_rate", "timeout_rate", "outage_rate", "confirm_after_seconds")
            if options[field] is not None
        }
        if options["enable"] or options["disable"]:
            changes["enabled"] = bool(options["enable"])
        actor = Actor.system(f"manage.py connector_configure ({getpass.getuser()})")
        try:
            if changes:
                connector = services.connector_update(name=name, changes=changes, actor=actor, reason=options["reason"])
            else:
                connector = selectors.connector_get(name)
        except FincoreError as refused:
            raise CommandError(refused.detail) from refused
        self.stdout.write(
            f"{connector.name}: {'enabled' if connector.enabled else 'disabled'}, latency {connector.latency_ms} ms, "
            f"decline rate {connector.decline_rate}, timeout rate {connector.timeout_rate}, "
            f"outage rate {connector.outage_rate}, confirm after {connector.confirm_after_seconds} s"
        )

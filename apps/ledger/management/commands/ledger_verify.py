from django.core.management.base import BaseCommand, CommandError

from apps.core.actors import Actor
from apps.ledger import services


class Command(BaseCommand):
    help = (
        "Check the ledger's invariants over all data: each currency balances, every stored balance "
        "equals its entries, the triggers are installed. Exits 1 naming the first violation."
    )

    def handle(self, *args: object, **options: object) -> None:
        verification = services.ledger_check(actor=Actor.system("manage.py ledger_verify"))
        if not verification.ok:
            raise CommandError(f"ledger invariant violated: {verification.problem}")
        self.stdout.write(
            self.style.SUCCESS(
                f"ledger verified: {verification.accounts} accounts, {verification.transfers} transfers"
            )
        )

from django.core.management.base import BaseCommand, CommandError

from apps.audit import selectors


class Command(BaseCommand):
    help = "Prove the audit journal's hash chain, or name the first row that breaks it."

    def handle(self, *args: object, **options: object) -> None:
        report = selectors.audit_chain_verify()
        if report.problem is not None:
            raise CommandError(f"audit chain broken: {report.problem.message}")
        summary = f"audit chain intact: {report.sealed} sealed events, {report.pending} awaiting their seal"
        self.stdout.write(self.style.SUCCESS(summary))

from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.audit import bundle, selectors
from apps.core import clock


def age(since: datetime, now: datetime) -> str:
    """``3 d 4 h``, ``2 h 5 min``, ``45 s``: how long ago, to the two largest units."""
    seconds = max(int((now - since).total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


class Command(BaseCommand):
    help = (
        "Prove the audit journal's hash chain and check it against the anchors outside the database, or name "
        "the first row that breaks it. With --export, check an export zip offline instead (no database)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--export", type=Path, metavar="OUT.zip", help="Check this export offline.")
        parser.add_argument(
            "--manifest-sha256", metavar="HEX",
            help="With --export: the manifest hash audit_export printed, received apart from the zip.",
        )
        parser.add_argument(
            "--with-key", action="store_true",
            help="With --export: also recompute every signature and link with FINCORE_AUDIT_KEY.",
        )

    def handle(self, *args: object, **options: object) -> None:
        if options["export"] is not None:
            self._verify_export(options["export"], options["manifest_sha256"], with_key=bool(options["with_key"]))
        else:
            self._verify_database()

    def _verify_database(self) -> None:
        report = selectors.audit_chain_verify()
        if report.problem is not None:
            raise CommandError(f"audit chain broken: {report.problem.message}")
        summary = f"audit chain intact: {report.sealed} sealed events, {report.pending} awaiting their seal"
        self.stdout.write(self.style.SUCCESS(summary))
        latest = report.latest_anchor
        if latest is None:
            self.stdout.write(self.style.WARNING(
                f"anchors: none in {settings.FINCORE_AUDIT_ANCHOR_DIR}: the chain is not anchored outside the database"
            ))
        else:
            anchor = latest.anchor
            self.stdout.write(
                f"anchors: {report.anchors_checked} in {settings.FINCORE_AUDIT_ANCHOR_DIR} match the database; "
                f"the latest anchors seal {anchor.seq}, written {anchor.written_at:%Y-%m-%d %H:%M:%S} UTC "
                f"({age(anchor.written_at, clock.now())} ago)"
            )
            if report.sealed > anchor.seq:
                self.stdout.write(self.style.WARNING(
                    f"anchors: seals {anchor.seq + 1} to {report.sealed} are not anchored yet "
                    "(the next sealing anchors them)"
                ))
        if report.unreadable_anchor_lines:
            self.stdout.write(self.style.WARNING(
                f"anchors: unreadable lines skipped (torn by a crash, or not written by fincore): "
                f"{', '.join(report.unreadable_anchor_lines)}"
            ))

    def _verify_export(self, path: Path, manifest_sha256: str | None, *, with_key: bool) -> None:
        key = settings.FINCORE_AUDIT_KEY.encode() if with_key else None
        try:
            report = bundle.verify(path, key=key)
        except (bundle.ExportInvalid, OSError) as problem:
            raise CommandError(f"audit export invalid: {problem}") from None
        if manifest_sha256 is not None and manifest_sha256.strip().lower() != report.manifest_sha256:
            raise CommandError(
                f"audit export invalid: its manifest's SHA-256 is {report.manifest_sha256}, not {manifest_sha256}: "
                "the manifest was replaced"
            )
        proof = (
            "no sealed rows" if report.first_seal is None
            else f"chain unbroken from seal {report.first_seal} to seal {report.last_seal}"
        )
        anchored = (
            "no anchor covers it" if report.anchored_to is None
            else f"{report.anchors} anchors match, the last at seal {report.anchored_to}"
        )
        self.stdout.write(self.style.SUCCESS(
            f"audit export intact: {report.period_from} to {report.period_to}, {report.journal_rows} journal rows "
            f"({report.unsealed_rows} not sealed yet), {report.ledger_transfers} ledger transfers; {proof}; {anchored}"
        ))
        if report.rows_after_last_anchor:
            self.stdout.write(self.style.WARNING(
                f"{report.rows_after_last_anchor} sealed rows lie after the last anchor: proved by the chain only"
            ))
        self.stdout.write(
            "signatures and links recomputed with FINCORE_AUDIT_KEY" if report.key_checked
            else "signatures and links not recomputed (they need FINCORE_AUDIT_KEY: --with-key)"
        )
        self.stdout.write(f"manifest sha256 {report.manifest_sha256}"
                          + (" (as given)" if manifest_sha256 is not None else ""))

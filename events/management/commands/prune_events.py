from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from events.retention import events_prune


class Command(BaseCommand):
    help = (
        "Delete delivered history older than the retention period (TRIBUTARY_RETENTION_DAYS): "
        "events, deliveries with their attempts, inbound webhooks. Undelivered deliveries and "
        "events a poller may read again are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"Keep this many days (default: {settings.TRIBUTARY_RETENTION_DAYS})",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count; delete nothing")

    def handle(self, *args, days, dry_run, **options):
        days = settings.TRIBUTARY_RETENTION_DAYS if days is None else days
        if days < 1:
            raise CommandError(f"--days {days}: keep at least 1 day.")
        result = events_prune(now=timezone.now(), days=days, dry_run=dry_run)
        counts = result.summary()
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {counts['events']} event(s), {counts['eventLogs']} deliveries "
            f"({counts['attempts']} attempt(s)) and {counts['inboundWebhooks']} inbound "
            f"webhook(s) older than {days} day(s) (before {counts['cutoff']})."
        )
        self.stdout.write(
            f"Kept {counts['keptEvents']} older event(s): undelivered, or inside a poller's "
            "overlap window."
        )

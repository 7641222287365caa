from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from events.delivery import Attempted
from events.management.commands.deliver import attempt_line
from events.models import EventLog
from events.operations import deliveries_redeliver, instance_deliveries_redeliver
from integrations.models import Instance


class Command(BaseCommand):
    help = (
        "Resend deliveries by hand with the same ids: one (redeliver ID) or all of an "
        "instance's since a time (redeliver --instance ID --since 2026-11-28T00:00:00Z)."
    )

    def add_arguments(self, parser):
        parser.add_argument("delivery", nargs="?", type=int, help="EventLog id")
        parser.add_argument("--instance", type=int, help="Instance id")
        parser.add_argument("--since", help="ISO 8601 date-time, with --instance")

    def handle(self, *args, delivery, instance, since, **options):
        if delivery is not None and (instance or since):
            raise CommandError("Give either a delivery id or --instance with --since, not both.")
        if delivery is not None:
            if not EventLog.objects.filter(pk=delivery).exists():
                raise CommandError(f"No delivery with id {delivery}.")
            sent = deliveries_redeliver(
                event_log_ids=[delivery], background=False, progress=self._progress
            )
        elif instance is not None and since:
            moment = parse_datetime(since)
            if moment is None or moment.tzinfo is None:
                raise CommandError(
                    f"--since {since!r} is not an ISO 8601 date-time with a zone, "
                    "e.g. 2026-11-28T09:00:00Z."
                )
            target = Instance.objects.filter(pk=instance).first()
            if target is None:
                raise CommandError(f"No instance with id {instance}.")
            sent = instance_deliveries_redeliver(
                instance=target, since=moment, background=False, progress=self._progress
            )
        else:
            raise CommandError("Give a delivery id, or --instance ID --since ISO8601.")
        total = len(sent.event_log_ids)
        self.stdout.write(f"Redelivered {sent.delivered} of {total}.")
        if sent.delivered < total:
            raise CommandError(f"{total - sent.delivered} of {total} redeliveries failed.")

    def _progress(self, step: Attempted) -> None:
        self.stdout.write(attempt_line(step))

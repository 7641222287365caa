from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from events.delivery import deliveries_since, delivery_redeliver
from events.management.commands.deliver import describe
from events.models import EventLog
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
            ids = [delivery]
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
            ids = list(deliveries_since(instance=target, since=moment).values_list("id", flat=True))
        else:
            raise CommandError("Give a delivery id, or --instance ID --since ISO8601.")
        failed = 0
        for number, event_log_id in enumerate(ids, start=1):
            attempt = delivery_redeliver(event_log_id=event_log_id)
            if attempt is None:
                self.stdout.write(f"[{number}/{len(ids)}] delivery {event_log_id}: busy, skipped")
                failed += 1
                continue
            attempt.event_log.refresh_from_db()
            self.stdout.write(f"[{number}/{len(ids)}] {describe(attempt)}")
            failed += not (attempt.status_code and 200 <= attempt.status_code < 300)
        self.stdout.write(f"Redelivered {len(ids) - failed} of {len(ids)}.")
        if failed:
            raise CommandError(f"{failed} of {len(ids)} redeliveries failed.")

from django.core.management.base import BaseCommand, CommandError

from events.delivery import deliveries_due, delivery_send
from events.models import DeliveryAttempt


def describe(attempt: DeliveryAttempt) -> str:
    outcome = attempt.status_code if attempt.status_code is not None else "no answer"
    log = attempt.event_log
    line = (
        f"delivery {log.pk} ({log.delivery_id}): {outcome} in {attempt.duration_ms} ms"
        f" -> {log.status}"
    )
    return f"{line}; {attempt.error}" if attempt.error else line


class Command(BaseCommand):
    help = "Send every due delivery now, synchronously, printing a line per attempt."

    def add_arguments(self, parser):
        parser.add_argument(
            "--pending", action="store_true", required=True, help="Send every due delivery"
        )

    def handle(self, *args, **options):
        ids = deliveries_due()
        if not ids:
            self.stdout.write("No delivery is due.")
            return
        failed = 0
        for number, event_log_id in enumerate(ids, start=1):
            attempt = delivery_send(event_log_id=event_log_id)
            if attempt is None:
                continue
            attempt.event_log.refresh_from_db()
            self.stdout.write(f"[{number}/{len(ids)}] {describe(attempt)}")
            failed += not (attempt.status_code and 200 <= attempt.status_code < 300)
        if failed:
            raise CommandError(f"{failed} of {len(ids)} deliveries failed.")

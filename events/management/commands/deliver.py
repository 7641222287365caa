from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from events.delivery import Attempted
from events.models import DeliveryAttempt
from events.operations import deliveries_send_due


def describe(attempt: DeliveryAttempt) -> str:
    outcome = attempt.status_code if attempt.status_code is not None else "no answer"
    log = attempt.event_log
    line = (
        f"delivery {log.pk} ({log.delivery_id}): {outcome} in {attempt.duration_ms} ms"
        f" -> {log.status}"
    )
    return f"{line}; {attempt.error}" if attempt.error else line


def attempt_line(step: Attempted) -> str:
    """``[2/5] delivery ...``: one attempt of a run, as the commands print it."""
    if step.attempt is None and step.held_by:
        return (
            f"[{step.number}/{step.total}] delivery {step.event_log_id}: held behind delivery "
            f"{step.held_by} (earlier, of the same object, not delivered yet)"
        )
    if step.attempt is None:
        return f"[{step.number}/{step.total}] delivery {step.event_log_id}: busy, skipped"
    step.attempt.event_log.refresh_from_db()
    return f"[{step.number}/{step.total}] {describe(step.attempt)}"


class Command(BaseCommand):
    help = "Send every due delivery now, synchronously, printing a line per attempt."

    def add_arguments(self, parser):
        parser.add_argument(
            "--pending", action="store_true", required=True, help="Send every due delivery"
        )

    def handle(self, *args, **options):
        sent = deliveries_send_due(progress=self._progress)
        if not sent.event_log_ids:
            self.stdout.write("No delivery is due.")
        elif sent.failed:
            raise CommandError(f"{sent.failed} of {len(sent.event_log_ids)} deliveries failed.")

    def _progress(self, step: Attempted) -> None:
        # Not sent after all (another worker took it): that worker reports its attempt.
        if step.attempt is not None or step.held_by:
            self.stdout.write(attempt_line(step))

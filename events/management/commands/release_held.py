from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from events.delivery import Attempted
from events.management.commands.deliver import attempt_line
from events.models import EventLog
from events.operations import deliveries_release_held


class Command(BaseCommand):
    help = (
        "Release held deliveries (event.notification.ordering = object): later deliveries of "
        "this delivery's objects no longer wait for it; those it held are sent now, in order, "
        "printing a line per attempt."
    )

    def add_arguments(self, parser):
        parser.add_argument("delivery", type=int, help="EventLog id of the earlier delivery")

    def handle(self, *args, delivery, **options):
        if not EventLog.objects.filter(pk=delivery).exists():
            raise CommandError(f"No delivery with id {delivery}.")
        release = deliveries_release_held(
            event_log_ids=[delivery], background=False, progress=self._progress
        )
        self.stdout.write(release.message)

    def _progress(self, step: Attempted) -> None:
        self.stdout.write(attempt_line(step))

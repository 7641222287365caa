from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from events.delivery import Attempted
from events.management.commands.deliver import attempt_line
from events.operations import notifications_reactivate
from integrations.models import Instance


class Command(BaseCommand):
    help = (
        "Resume an instance's suspended notifications and send its queued deliveries in order, "
        "printing a line per attempt."
    )

    def add_arguments(self, parser):
        parser.add_argument("instance", type=int, help="Instance id")

    def handle(self, *args, instance, **options):
        target = Instance.objects.filter(pk=instance).first()
        if target is None:
            raise CommandError(f"No instance with id {instance}.")
        was = target.notifications_suspended_reason or "not suspended"
        self.stdout.write(f"Notifications of instance {instance} reactivated (was: {was}).")
        sent = notifications_reactivate(
            instance=target, background=False, progress=self._progress
        ).deliveries
        self.stdout.write(f"Sent {sent.delivered} of {len(sent.event_log_ids)} queued deliveries.")

    def _progress(self, step: Attempted) -> None:
        self.stdout.write(attempt_line(step))

from django.core.management.base import BaseCommand, CommandError

from events.delivery import delivery_send, instance_notifications_reactivate
from integrations.models import Instance


class Command(BaseCommand):
    help = "Resume an instance's suspended notifications and send its queued deliveries in order."

    def add_arguments(self, parser):
        parser.add_argument("instance", type=int, help="Instance id")

    def handle(self, *args, instance, **options):
        target = Instance.objects.filter(pk=instance).first()
        if target is None:
            raise CommandError(f"No instance with id {instance}.")
        was = target.notifications_suspended_reason or "not suspended"
        ids = instance_notifications_reactivate(instance=target)
        self.stdout.write(f"Notifications of instance {instance} reactivated (was: {was}).")
        delivered = 0
        for event_log_id in ids:
            attempt = delivery_send(event_log_id=event_log_id)
            delivered += bool(attempt and attempt.status_code and 200 <= attempt.status_code < 300)
        self.stdout.write(f"Sent {delivered} of {len(ids)} queued deliveries.")

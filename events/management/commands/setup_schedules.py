from django.core.management.base import BaseCommand

from events.tasks import schedules_setup


class Command(BaseCommand):
    help = "Create or update Tributary's periodic django-q2 schedules (idempotent)."

    def handle(self, *args, **options):
        for name, created in schedules_setup():
            self.stdout.write(f"{'created' if created else 'unchanged'} {name}")

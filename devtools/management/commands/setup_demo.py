from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from devtools.demo import DemoError, demo_setup
from integrations.instances import InstanceJSONError


class Command(BaseCommand):
    help = (
        "Create or update the demo: an inbox 'demo' and a Desk instance polling the simulator "
        "every minute and delivering signed notifications to that inbox (idempotent)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--simulator-url", default="http://127.0.0.1:8765")
        parser.add_argument(
            "--base-url", default="http://127.0.0.1:8000", help="Where this server runs."
        )
        parser.add_argument("--owner", default="admin", help="The demo instance's owner.")

    def handle(self, *args, simulator_url: str, base_url: str, owner: str, **options) -> None:
        if not settings.TRIBUTARY_INBOX_ENABLED:
            raise CommandError(
                "The callback inbox is off, so the demo has nowhere to deliver: set "
                "TRIBUTARY_INBOX_ENABLED=true (it is on by default when DJANGO_DEBUG is on)."
            )
        try:
            demo = demo_setup(
                simulator_url=simulator_url, base_url=base_url, owner=owner, now=timezone.now()
            )
        except (DemoError, InstanceJSONError) as exc:
            raise CommandError(f"Cannot set up the demo: {exc}") from exc
        self.stdout.write(
            f"{'Created' if demo.inbox_created else 'Kept'} inbox '{demo.inbox.name}' "
            f"({'new' if demo.inbox_created else 'same'} signature key)."
        )
        self.stdout.write(
            f"{'Created' if demo.instance_created else 'Updated'} instance "
            f"{demo.instance} polling {simulator_url} every minute; first poll due now."
        )
        self.stdout.write(f"Notifications go to {demo.callback_url}")

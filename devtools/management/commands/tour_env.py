"""Shell exports for the README tour against the running demo (`eval "$(make -s tour-env)"`)."""

from __future__ import annotations

import shlex

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse
from rest_framework.authtoken.models import Token

from devtools.demo import DEMO_INBOX
from devtools.inbox.models import Inbox


class Command(BaseCommand):
    help = (
        "Print shell exports for the README tour: API (the Apps API root), TOKEN (an API token "
        "of the owner, created if needed), SIM (the Desk simulator), INBOX (the demo inbox's "
        "callback URL) and INBOX_KEY (its signing key). Run it after `make run` set up the demo."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--simulator-url", default="http://127.0.0.1:8765")
        parser.add_argument("--username", default="admin", help="The token's owner.")

    def handle(self, *args, base_url: str, simulator_url: str, username: str, **options) -> None:
        user_model = get_user_model()
        user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
        inbox = Inbox.objects.filter(name=DEMO_INBOX).first()
        if user is None or inbox is None:
            raise CommandError(
                "The demo is not set up on this database: start it with `make run` first."
            )
        token, _ = Token.objects.get_or_create(user=user)
        base_url = base_url.rstrip("/")
        exports = {
            "API": base_url + "/elements/api-v2",
            "TOKEN": token.key,
            "SIM": simulator_url.rstrip("/"),
            "INBOX": base_url + reverse("inbox:receive", args=[inbox.name]),
            "INBOX_KEY": inbox.signature_key,
        }
        for name, value in exports.items():
            self.stdout.write(f"export {name}={shlex.quote(value)}")

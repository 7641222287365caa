"""The one-command demo (`make run`): an inbox, and a Desk instance that polls the bundled
simulator and delivers to that inbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse

from devtools.examples import desk_instance_json
from devtools.inbox.models import Inbox
from integrations.instances import instance_capture_restart, instance_create, instance_update
from integrations.models import Element, Instance

DEMO_INBOX = "demo"
DEMO_INSTANCE = "Demo Desk (simulator)"


class DemoError(Exception):
    """The demo cannot be set up; the message says what to do."""


@dataclass(frozen=True)
class Demo:
    inbox: Inbox
    inbox_created: bool
    instance: Instance
    instance_created: bool
    callback_url: str


def demo_instance_json(
    *, simulator_url: str, base_url: str, callback_url: str, signature_key: str
) -> dict:
    """The Desk example instance JSON pointed at the simulator, with its demo credentials
    (an access token already, so the OAuth callback URL is never visited)."""
    data = desk_instance_json(
        site=simulator_url,
        simulator=True,
        **{
            "oauth.callback.url": base_url + "/",
            "event.notification.callback.url": callback_url,
            "event.notification.signature.key": signature_key,
            "event.poller.refresh_interval": "1",
        },
    )
    return {**data, "tags": ["demo"], "name": DEMO_INSTANCE}


def demo_setup(*, simulator_url: str, base_url: str, owner: str, now: datetime) -> Demo:
    """Create or update the demo inbox and instance; the instance's pollers are due now."""
    user_model = get_user_model()
    user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: owner}).first()
    if user is None:
        raise DemoError(
            f"No user {owner!r} to own the demo instance: run "
            f"`python manage.py create_local_admin --username {owner}` first."
        )
    if not Element.objects.filter(key="desk").exists():
        raise DemoError("The Desk element is not loaded: run `python manage.py load_elements`.")

    base_url = base_url.rstrip("/")
    callback_url = base_url + reverse("inbox:receive", args=[DEMO_INBOX])
    with transaction.atomic():
        inbox, inbox_created = Inbox.objects.get_or_create(name=DEMO_INBOX)
        data: dict[str, Any] = demo_instance_json(
            simulator_url=simulator_url.rstrip("/"),
            base_url=base_url,
            callback_url=callback_url,
            signature_key=inbox.signature_key,
        )
        instance = Instance.objects.filter(owner=user, element__key="desk", name=DEMO_INSTANCE)
        instance = instance.order_by("pk").first()
        instance_created = instance is None
        if instance_created:
            instance = instance_create(owner=user, data=data)
        else:
            instance = instance_update(instance=instance, data=data)
        # The simulator keeps its records in memory and starts afresh with every run: start
        # capturing from now, as if events had just been enabled, and poll at once.
        instance_capture_restart(instance=instance, since=now)
    return Demo(inbox, inbox_created, instance, instance_created, callback_url)

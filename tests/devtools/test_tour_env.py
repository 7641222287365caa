"""`make tour-env`: the exports the README tour runs with."""

import shlex
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token

from devtools.demo import demo_setup
from tests.factories import UserFactory


def exports(**options) -> dict[str, str]:
    out = StringIO()
    call_command("tour_env", stdout=out, **options)
    pairs = [line.removeprefix("export ").split("=", 1) for line in out.getvalue().splitlines()]
    return {name: shlex.split(value)[0] for name, value in pairs}


def test_it_exports_the_api_a_token_the_simulator_and_the_demo_inbox(desk, settings):
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    demo = demo_setup(
        simulator_url="http://127.0.0.1:9876",
        base_url="http://127.0.0.1:9000",
        owner="admin",
        now=timezone.now(),
    )

    values = exports(base_url="http://127.0.0.1:9000", simulator_url="http://127.0.0.1:9876")

    assert values == {
        "API": "http://127.0.0.1:9000/elements/api-v2",
        "TOKEN": Token.objects.get(user=admin).key,
        "SIM": "http://127.0.0.1:9876",
        "INBOX": demo.callback_url,
        "INBOX_KEY": demo.inbox.signature_key,
    }


def test_it_says_to_start_the_demo_first(db):
    with pytest.raises(CommandError, match="make run"):
        exports()

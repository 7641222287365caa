import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from integrations.models import Instance

INSTANCE_JSON = {
    "element": {"key": "desk"},
    "providerData": {"oauth_token": "access-token", "secret": "access-secret"},
    "configuration": {
        "site.address": "acme.desk.com",
        "oauth.api.key": "consumer-key",
        "oauth.api.secret": "consumer-secret",
        "event.notification.enabled": "true",
        "event.notification.callback.url": "https://app.example.com/hooks/desk",
    },
    "tags": ["support"],
    "name": "Acme Desk",
}


def write(tmp_path, content):
    path = tmp_path / "instance.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def import_instance(path, owner="alice"):
    out = StringIO()
    call_command("import_instance", path, "--owner", owner, stdout=out)
    return out.getvalue()


def test_it_creates_the_instance_and_prints_it(desk, user, tmp_path):
    printed = json.loads(import_instance(write(tmp_path, INSTANCE_JSON)))

    instance = Instance.objects.get()
    assert printed["id"] == instance.pk
    assert instance.owner == user
    assert printed["configuration"]["oauth.api.secret"] == "********"
    assert set(printed["configuration"]["event.poller.configuration"]) == {"incidents", "contacts"}


def test_it_refuses_an_unknown_owner(desk, user, tmp_path):
    with pytest.raises(CommandError, match="--owner: no user named 'bob'"):
        import_instance(write(tmp_path, INSTANCE_JSON), owner="bob")

    assert not Instance.objects.exists()


def test_it_refuses_a_missing_file(desk, user, tmp_path):
    with pytest.raises(CommandError, match="cannot read the file: No such file or directory"):
        import_instance(str(tmp_path / "missing.json"))


def test_it_refuses_a_file_that_is_not_json(desk, user, tmp_path):
    with pytest.raises(CommandError, match="not valid JSON: Expecting value at line 1 column 1"):
        import_instance(write(tmp_path, "name: Acme"))

    assert not Instance.objects.exists()


def test_it_lists_every_validation_message_and_creates_nothing(desk, user, tmp_path):
    data = json.loads(json.dumps(INSTANCE_JSON))
    data["configuration"]["event.notification.enabled"] = "yes please"
    del data["configuration"]["site.address"]

    with pytest.raises(CommandError) as caught:
        import_instance(write(tmp_path, data))

    message = str(caught.value)
    assert "event.notification.enabled: must be true or false, got 'yes please'" in message
    assert "site.address: required" in message
    assert not Instance.objects.exists()

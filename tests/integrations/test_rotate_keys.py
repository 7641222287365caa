"""python manage.py rotate_encryption_keys: every encrypted column moves to the newest key."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from integrations.crypto import encrypted_fields
from integrations.models import Instance
from tests.factories import InstanceFactory


def rotate(*args: str) -> str:
    out = StringIO()
    call_command("rotate_encryption_keys", *args, stdout=out)
    return out.getvalue()


def raw_tokens(instance_id: int) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secrets, provider_data FROM integrations_instance WHERE id = %s", [instance_id]
        )
        return cursor.fetchone()


@pytest.fixture
def old_key(settings):
    return settings.TRIBUTARY_ENCRYPTION_KEYS[0]


@pytest.fixture
def new_key():
    return Fernet.generate_key().decode()


@pytest.fixture
def instances(db, old_key):
    return [
        InstanceFactory(
            secrets={"oauth.api.secret": f"consumer-secret-{n}"},
            provider_data={"oauth_token": f"token-{n}", "secret": f"token-secret-{n}"},
        )
        for n in range(5)
    ]


def test_it_finds_every_encrypted_column():
    labels = {f"{model._meta.label}.{column.name}" for model, column in encrypted_fields()}

    assert {"integrations.Instance.secrets", "integrations.Instance.provider_data"} <= labels


def test_it_makes_the_old_key_unnecessary(instances, settings, old_key, new_key):
    settings.TRIBUTARY_ENCRYPTION_KEYS = [new_key, old_key]

    rotate("--batch-size", "2")
    settings.TRIBUTARY_ENCRYPTION_KEYS = [new_key]

    for n, instance in enumerate(Instance.objects.order_by("pk")):
        assert instance.secrets == {"oauth.api.secret": f"consumer-secret-{n}"}
        assert instance.provider_data == {
            "oauth_token": f"token-{n}",
            "secret": f"token-secret-{n}",
        }


def test_it_prints_counts_per_model_and_field(instances, settings, old_key, new_key):
    settings.TRIBUTARY_ENCRYPTION_KEYS = [new_key, old_key]

    output = rotate()

    assert "integrations.Instance.secrets: re-encrypted 5, already on the newest key 0" in output
    assert "integrations.Instance.provider_data: re-encrypted 5" in output


def test_a_second_run_finds_everything_current(instances, settings, old_key, new_key):
    settings.TRIBUTARY_ENCRYPTION_KEYS = [new_key, old_key]
    rotate()
    before = [raw_tokens(instance.pk) for instance in instances]

    output = rotate()

    assert "integrations.Instance.secrets: re-encrypted 0, already on the newest key 5" in output
    assert [raw_tokens(instance.pk) for instance in instances] == before


def test_a_dry_run_writes_nothing(instances, settings, old_key, new_key):
    settings.TRIBUTARY_ENCRYPTION_KEYS = [new_key, old_key]
    before = [raw_tokens(instance.pk) for instance in instances]

    output = rotate("--dry-run")

    assert "integrations.Instance.secrets: would re-encrypt 5" in output
    assert [raw_tokens(instance.pk) for instance in instances] == before


def test_it_names_values_no_key_can_read(instances, settings, new_key):
    settings.TRIBUTARY_ENCRYPTION_KEYS = [new_key]

    with pytest.raises(CommandError, match="No key in TRIBUTARY_ENCRYPTION_KEYS decrypts") as info:
        rotate()

    assert f"integrations.Instance.secrets ids {instances[0].pk}" in str(info.value)

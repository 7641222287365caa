from cryptography.fernet import Fernet
from django.db import connection

from tests.factories import InstanceFactory


def _raw_row(instance_id):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secrets, provider_data, configuration FROM integrations_instance WHERE id = %s",
            [instance_id],
        )
        return cursor.fetchone()


def test_it_keeps_secrets_out_of_the_raw_row(db):
    instance = InstanceFactory(
        secrets={
            "oauth.api.secret": "s3cr3t-consumer",
            "event.notification.signature.key": "sig-k",
        },
        provider_data={"oauth_token": "tok-123", "secret": "tok-secret-456"},
    )
    row = " ".join(str(column) for column in _raw_row(instance.pk))
    for plaintext in ("s3cr3t-consumer", "sig-k", "tok-123", "tok-secret-456"):
        assert plaintext not in row
    instance.refresh_from_db()
    assert instance.secrets["oauth.api.secret"] == "s3cr3t-consumer"
    assert instance.provider_data["secret"] == "tok-secret-456"


def test_it_decrypts_with_an_old_key_after_rotation(db, settings):
    old_key = settings.TRIBUTARY_ENCRYPTION_KEYS[0]
    instance = InstanceFactory(provider_data={"oauth_token": "before-rotation"})
    settings.TRIBUTARY_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]
    instance.refresh_from_db()
    assert instance.provider_data == {"oauth_token": "before-rotation"}

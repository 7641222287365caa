"""Encryption of secrets at rest with the keys in ``TRIBUTARY_ENCRYPTION_KEYS``.

The first key encrypts; every key decrypts, so a new key can be put first and old rows are
still readable until ``python manage.py rotate_encryption_keys`` re-encrypts them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import connection, models, transaction


class DecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    keys = settings.TRIBUTARY_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured("TRIBUTARY_ENCRYPTION_KEYS holds no key.")
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"TRIBUTARY_ENCRYPTION_KEYS: key {position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes)."
            ) from None
    return MultiFernet(fernets)


def _reset(**kwargs) -> None:
    if kwargs.get("setting") == "TRIBUTARY_ENCRYPTION_KEYS":
        _fernet.cache_clear()


setting_changed.connect(_reset)


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "A stored secret cannot be decrypted with TRIBUTARY_ENCRYPTION_KEYS: was the key "
            "that encrypted it removed?"
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt a token with the first (current) key."""
    return _fernet().rotate(token.encode()).decode()


class EncryptedJSONField(models.TextField):
    """A JSON value stored as a Fernet token. The database never sees the plaintext."""

    description = "JSON encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return None if value is None else {}
        return json.loads(decrypt(value))

    def to_python(self, value):
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def get_prep_value(self, value):
        if value is None:
            return None
        return encrypt(json.dumps(value, sort_keys=True))

    def value_to_string(self, obj):
        # Never serialize the plaintext (dumpdata, admin history).
        return "<encrypted>"


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedJSONField]]:
    """Every encrypted column of every installed model."""
    return [
        (model, column)
        for model in apps.get_models()
        for column in model._meta.concrete_fields
        if isinstance(column, EncryptedJSONField)
    ]


@dataclass
class RotationCount:
    label: str  # app_label.Model.field
    rotated: int = 0
    current: int = 0  # already encrypted with the first key
    unreadable: list = field(default_factory=list)  # primary keys of tokens no key decrypts


def encryption_keys_rotate(*, batch_size: int = 500, dry_run: bool = False) -> list[RotationCount]:
    """Re-encrypt every encrypted column with the first key, one transaction per batch.

    Works on the stored tokens, never on decrypted values. A row written meanwhile keeps its
    new value: each update applies only while the column still holds the token that was read.
    """
    _fernet()  # fails loudly on a bad key before anything is read
    counts = []
    for model, column in encrypted_fields():
        count = RotationCount(f"{model._meta.label}.{column.name}")
        after = None
        while True:
            with transaction.atomic():
                rows = _rotate_batch(model, column, after, batch_size, count, dry_run)
            if len(rows) < batch_size:
                break
            after = rows[-1][0]
        counts.append(count)
    return counts


def _rotate_batch(model, column, after, batch_size, count, dry_run) -> list[tuple]:
    quote = connection.ops.quote_name
    table, pk, col = quote(model._meta.db_table), quote(model._meta.pk.column), quote(column.column)
    first = Fernet(settings.TRIBUTARY_ENCRYPTION_KEYS[0])
    with connection.cursor() as cursor:
        later = "" if after is None else f"AND {pk} > %s "
        cursor.execute(
            f"SELECT {pk}, {col} FROM {table} WHERE {col} IS NOT NULL AND {col} <> '' "  # noqa: S608
            f"{later}ORDER BY {pk} LIMIT %s",
            [*([] if after is None else [after]), batch_size],
        )
        rows = cursor.fetchall()
        for key, token in rows:
            try:
                first.decrypt(token.encode())
                count.current += 1
                continue
            except InvalidToken:
                pass
            try:
                rotated = rotate(token)
            except InvalidToken:
                count.unreadable.append(key)
                continue
            count.rotated += 1
            if not dry_run:
                cursor.execute(
                    f"UPDATE {table} SET {col} = %s WHERE {pk} = %s AND {col} = %s",  # noqa: S608
                    [rotated, key, token],
                )
    return rows

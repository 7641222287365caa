"""Encryption of secrets at rest with the keys in ``TRIBUTARY_ENCRYPTION_KEYS``.

The first key encrypts; every key decrypts, so a new key can be put first and old rows are
still readable until ``python manage.py rotate_keys`` re-encrypts them.
"""

from __future__ import annotations

import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models


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

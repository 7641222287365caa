import pytest

from tests.factories import UserFactory, desk_element
from tests.receiver import Receiver


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The default PBKDF2 hasher costs about a second per user on a loaded machine.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def desk(db):
    return desk_element()


@pytest.fixture
def user(db):
    return UserFactory(username="alice")


@pytest.fixture
def staff(db):
    return UserFactory(username="operator", is_staff=True, is_superuser=True)


@pytest.fixture
def receiver():
    """A real HTTP callback receiver on 127.0.0.1 (tests/receiver.py)."""
    with Receiver() as running:
        yield running

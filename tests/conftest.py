import pytest

from tests.factories import UserFactory, desk_element


@pytest.fixture
def desk(db):
    return desk_element()


@pytest.fixture
def user(db):
    return UserFactory(username="alice")


@pytest.fixture
def staff(db):
    return UserFactory(username="operator", is_staff=True, is_superuser=True)

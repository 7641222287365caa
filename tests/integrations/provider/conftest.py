import pytest

from integrations.provider import ProviderClient
from tests.factories import InstanceFactory


class FakeSleep:
    def __init__(self):
        self.waits = []

    def __call__(self, seconds):
        self.waits.append(seconds)


@pytest.fixture
def sleep():
    return FakeSleep()


@pytest.fixture
def client(db, sleep):
    return ProviderClient(InstanceFactory(), sleep=sleep)

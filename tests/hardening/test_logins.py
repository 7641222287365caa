"""Login throttling: wrong passwords on the admin's and the event log's login pages lock
that username out from that address, even for the right password, until the cool-off; and a
flood of API requests without valid credentials is answered 429, not 401 without end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from rest_framework.test import APIClient

from tests.api_helpers import BASE, client_for
from tests.factories import UserFactory

PASSWORD = "pass-1234-word"
LOGIN_PAGES = {"admin": "admin:login", "event log": "events:login"}
ELSEWHERE = "203.0.113.9"


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", is_staff=True)


def log_in(client, page: str, password: str, *, username: str = "alice", address: str = ""):
    extra = {"REMOTE_ADDR": address} if address else {}
    return client.post(reverse(page), {"username": username, "password": password}, **extra)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail(client, page: str, times: int) -> None:
    for _ in range(times):
        response = log_in(client, page, "wrong")
        assert response.status_code in (200, 429)


@pytest.mark.parametrize("page", LOGIN_PAGES.values(), ids=LOGIN_PAGES.keys())
def test_it_locks_out_after_too_many_wrong_passwords_even_for_the_right_one(client, alice, page):
    fail(client, page, 11)

    response = log_in(client, page, PASSWORD)

    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many failed logins" in text
    assert "as <strong>alice</strong> from this address is blocked after 10 wrong passwords" in text
    assert "for 15 minutes after the last try" in text
    assert not logged_in(client)


@pytest.mark.parametrize("page", LOGIN_PAGES.values(), ids=LOGIN_PAGES.keys())
def test_it_lets_a_user_in_after_a_few_wrong_passwords(client, alice, page):
    fail(client, page, 9)

    log_in(client, page, PASSWORD)

    assert logged_in(client)


def test_a_login_starts_the_count_over(client, alice):
    fail(client, "events:login", 9)
    log_in(client, "events:login", PASSWORD)
    client.logout()

    fail(client, "events:login", 9)
    log_in(client, "events:login", PASSWORD)

    assert logged_in(client)


def test_the_lockout_holds_on_both_login_pages(client, alice):
    fail(client, "events:login", 10)

    response = log_in(client, "admin:login", PASSWORD)

    assert response.status_code == 429
    assert not logged_in(client)


def test_another_user_or_another_address_is_not_locked_out(client, alice):
    UserFactory(username="bob")
    fail(client, "events:login", 10)

    log_in(client, "events:login", PASSWORD, username="bob")
    assert logged_in(client)
    client.logout()
    log_in(client, "events:login", PASSWORD, address=ELSEWHERE)
    assert logged_in(client)


def test_a_forwarded_for_header_does_not_dodge_the_lockout(client, alice):
    for n in range(10):
        client.post(
            reverse("events:login"),
            {"username": "alice", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )

    response = log_in(client, "events:login", PASSWORD)

    assert response.status_code == 429
    assert not logged_in(client)


def test_the_right_password_works_again_after_the_cool_off(client, alice):
    fail(client, "events:login", 10)
    # Fifteen minutes and a second pass: the failures were recorded that long ago.
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=15, seconds=1)
    )

    log_in(client, "events:login", PASSWORD)

    assert logged_in(client)


def test_the_limit_and_the_cool_off_come_from_settings(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=5)
    fail(client, "events:login", 3)

    response = log_in(client, "events:login", PASSWORD)

    assert "blocked after 3 wrong passwords, for 5 minutes" in response.content.decode()
    assert not logged_in(client)


def flood(api, path: str, times: int = 61) -> list:
    return [api.get(path) for _ in range(times)]


def test_an_anonymous_flood_of_the_api_is_answered_429_with_retry_after(db):
    answers = flood(client_for(None), f"{BASE}/instances")

    assert [answer.status_code for answer in answers] == [401] * 60 + [429]
    assert int(answers[-1]["Retry-After"]) > 0
    assert answers[-1].json()["message"].startswith("Request was throttled.")


def test_a_flood_with_a_wrong_token_is_answered_429(db):
    api = client_for(None)
    api.credentials(HTTP_AUTHORIZATION="Token not-a-token")

    answers = flood(api, f"{BASE}/instances")

    assert [answer.status_code for answer in answers] == [401] * 60 + [429]
    assert "Retry-After" in answers[-1]


def test_a_client_with_a_valid_token_is_served_while_its_address_is_throttled(user):
    api = client_for(user)
    anonymous = APIClient()  # client_for would clear the throttles' counts

    answers = flood(anonymous, f"{BASE}/instances")

    assert answers[-1].status_code == 429

    assert api.get(f"{BASE}/instances").status_code == 200


def test_a_forwarded_for_header_does_not_reset_the_count(db):
    api = client_for(None)

    answers = [
        api.get(f"{BASE}/instances", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}") for n in range(61)
    ]

    assert answers[-1].status_code == 429

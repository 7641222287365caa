import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from tests.factories import UserFactory

User = get_user_model()


@pytest.fixture(autouse=True)
def _fast_hashing_and_no_password(settings, monkeypatch):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)


def run(*args):
    out = StringIO()
    call_command("create_local_admin", *args, stdout=out)
    return out.getvalue()


def test_it_creates_a_superuser_named_admin(db):
    run()
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.is_active


def test_it_prints_the_generated_password_that_logs_in(db):
    output = run()
    password = re.search(r"with password: (\S+)", output).group(1)
    assert len(password) >= 16
    assert User.objects.get(username="admin").check_password(password)


def test_it_generates_a_different_password_each_time(db):
    first = re.search(r"with password: (\S+)", run()).group(1)
    User.objects.all().delete()
    second = re.search(r"with password: (\S+)", run()).group(1)
    assert first != second


def test_it_prints_the_login_url(db):
    assert "Log in at http://127.0.0.1:8000/admin/" in run()


def test_it_prints_the_login_url_for_another_base_url(db):
    assert "Log in at http://127.0.0.1:9000/admin/" in run("--base-url", "http://127.0.0.1:9000/")


def test_it_uses_the_password_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "from-the-env-123")
    output = run()
    assert User.objects.get(username="admin").check_password("from-the-env-123")
    assert "from-the-env-123" not in output


def test_it_updates_the_password_when_the_environment_password_changed(db, monkeypatch):
    UserFactory(username="admin", is_staff=True, is_superuser=True)
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-new-password-456")
    output = run()
    assert User.objects.get(username="admin").check_password("a-new-password-456")
    assert "Updated the password" in output


def test_it_keeps_the_password_when_it_matches_the_environment(db, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "same-password-789")
    run()
    output = run()
    assert "Updated" not in output
    assert User.objects.get(username="admin").check_password("same-password-789")


def test_it_does_not_reset_an_existing_password_without_the_environment(db):
    UserFactory(username="admin", is_staff=True, is_superuser=True)
    output = run()
    assert User.objects.get(username="admin").check_password("pass-1234-word")
    assert "already exists" in output
    assert "password:" not in output


def test_it_makes_an_existing_plain_user_a_superuser(db):
    UserFactory(username="admin")
    run()
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password("pass-1234-word")


def test_it_never_creates_a_second_admin(db):
    run()
    run()
    assert User.objects.filter(username="admin").count() == 1


def test_new_password_gives_an_existing_admin_a_new_password_that_logs_in(db):
    first = re.search(r"with password: (\S+)", run()).group(1)

    output = run("--new-password")

    password = re.search(r"New password of 'admin': (\S+)", output).group(1)
    admin = User.objects.get(username="admin")
    assert password != first
    assert admin.check_password(password) and not admin.check_password(first)


def test_a_later_run_says_how_to_get_a_new_password(db):
    run()

    assert "make password" in run()

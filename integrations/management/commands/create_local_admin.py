"""Ensure the superuser ``admin`` exists, so a fresh install can be logged into at once.

``make run`` calls this after ``migrate``. The password comes from DJANGO_SUPERUSER_PASSWORD
when it is set (and is updated to it when it changed); otherwise a new user gets a generated
password, printed once, and an existing user keeps the password it has. ``--new-password``
(``make password``) gives the user a new generated password and prints it.
"""

from __future__ import annotations

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.urls import reverse

PASSWORD_VARIABLE = "DJANGO_SUPERUSER_PASSWORD"


class Command(BaseCommand):
    help = (
        "Ensure a local superuser exists (default 'admin'). Its password is taken from "
        f"{PASSWORD_VARIABLE} when set, else generated and printed for a new user; an existing "
        "user's password is only changed through that variable."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin", help="Default: admin.")
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where the server runs, for the printed login URL. Default: %(default)s.",
        )
        parser.add_argument(
            "--new-password",
            action="store_true",
            help=f"Give the user a new generated password and print it (unless {PASSWORD_VARIABLE} "
            "is set: then that one).",
        )

    def handle(self, *args, username: str, base_url: str, new_password: bool, **options) -> None:
        password = os.environ.get(PASSWORD_VARIABLE) or None
        generated_now = new_password and password is None
        if generated_now:
            password = secrets.token_urlsafe(16)
        login_url = base_url.rstrip("/") + reverse("admin:index")
        user_model = get_user_model()

        with transaction.atomic():
            user = (
                user_model._default_manager.select_for_update()
                .filter(**{user_model.USERNAME_FIELD: username})
                .first()
            )
            if user is None:
                generated = password is None or generated_now
                if generated:
                    password = secrets.token_urlsafe(16)
                user_model._default_manager.create_superuser(
                    **{user_model.USERNAME_FIELD: username}, email="", password=password
                )
                if generated:
                    self.stdout.write(
                        self.style.SUCCESS(
                            f"Created superuser '{username}' with password: {password}"
                        )
                    )
                    self.stdout.write(
                        f"Keep it: it is not shown again. Set {PASSWORD_VARIABLE} and run this "
                        "command again to change it."
                    )
                else:
                    self.stdout.write(
                        self.style.SUCCESS(
                            f"Created superuser '{username}' with the password from "
                            f"{PASSWORD_VARIABLE}."
                        )
                    )
            else:
                self._update(user, username=username, password=password, generated=generated_now)

        self.stdout.write(f"Log in at {login_url}")

    def _update(self, user, *, username: str, password: str | None, generated: bool) -> None:
        promoted = not (user.is_active and user.is_staff and user.is_superuser)
        if promoted:
            user.is_active = user.is_staff = user.is_superuser = True
            self.stdout.write(
                self.style.WARNING(f"User '{username}' existed; made it an active superuser.")
            )
        changed = password is not None and not user.check_password(password)
        if changed and generated:
            user.set_password(password)
            self.stdout.write(self.style.SUCCESS(f"New password of '{username}': {password}"))
        elif changed:
            user.set_password(password)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Updated the password of '{username}' from {PASSWORD_VARIABLE}."
                )
            )
        elif password is not None:
            self.stdout.write(
                f"Superuser '{username}' already exists; its password matches {PASSWORD_VARIABLE}."
            )
        else:
            self.stdout.write(
                f"Superuser '{username}' already exists; its password was not changed. "
                "`make password` (or this command with --new-password) sets a new one."
            )
        if promoted or changed:
            user.save()

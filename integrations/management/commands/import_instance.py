"""python manage.py import_instance FILE.json --owner USERNAME"""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from integrations.instances import InstanceJSONError, instance_create, render_instance


class Command(BaseCommand):
    help = (
        "Create an instance from a Cloud Elements instance JSON file and print it "
        "(secrets masked) as JSON."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="Path of the instance JSON file.")
        parser.add_argument("--owner", required=True, help="Username of the instance's owner.")

    def handle(self, *args, file: str, owner: str, **options) -> None:
        user = get_user_model().objects.filter(username=owner).first()
        if user is None:
            raise CommandError(f"--owner: no user named {owner!r}; create it first.")
        try:
            with open(file, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise CommandError(f"{file}: cannot read the file: {exc.strerror}") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(
                f"{file}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from exc
        try:
            instance = instance_create(owner=user, data=data)
        except InstanceJSONError as exc:
            problems = "\n".join(f"  {error}" for error in exc.errors)
            raise CommandError(f"{file}: not a valid instance JSON:\n{problems}") from exc
        self.stdout.write(json.dumps(render_instance(instance), indent=2))

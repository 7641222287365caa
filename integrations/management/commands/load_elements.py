from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.elements import InvalidDefinition, elements_load


class Command(BaseCommand):
    help = (
        "Validate and load element definitions: the shipped integrations/elements/*.json, or "
        "the given files and directories. All or nothing: if any definition is invalid, "
        "nothing is saved."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="*", type=Path, help="definition files or directories")

    def handle(self, *args: object, paths: list[Path], **options: object) -> None:
        try:
            outcomes = elements_load(paths=paths)
        except InvalidDefinition as exc:
            raise CommandError(
                "No element was loaded; fix these definitions and run again:\n" + str(exc)
            ) from exc
        for outcome, key in outcomes:
            self.stdout.write(f"{outcome} {key}")

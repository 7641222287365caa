from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from events.operations import PollerNotFound, instance_pollers, poller_poll
from events.polling import PollError, PollResult, PollSkipped
from integrations.models import Instance


class Command(BaseCommand):
    help = "Poll an instance's objects now and print what was found."

    def add_arguments(self, parser):
        parser.add_argument("--instance", type=int, required=True, help="Instance id")
        parser.add_argument("--object", dest="object_name", help="Poll only this object type")
        parser.add_argument(
            "--dry-run", action="store_true", help="Fetch and classify; store and advance nothing"
        )
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON line per new event, then a summary"
        )

    def handle(self, *args, instance, object_name, dry_run, **options):
        try:
            target = Instance.objects.get(pk=instance)
            pollers = instance_pollers(instance=target, name=object_name or "")
        except Instance.DoesNotExist:
            raise CommandError(f"No instance with id {instance}.") from None
        except PollerNotFound as exc:
            raise CommandError(str(exc)) from None
        failures = []
        for poller in pollers:
            try:
                result = poller_poll(
                    poller=poller, background=False, dry_run=dry_run, progress=self._progress
                )
            except (PollError, PollSkipped) as exc:
                failures.append(f"{poller.name}: {exc}")
                self.stderr.write(f"{poller.name}: poll failed: {exc}")
                continue
            if options["json"]:
                for event in result.new_events:
                    self.stdout.write(json.dumps(event))
                self.stdout.write(json.dumps({"summary": result.summary()}))
            else:
                self.stdout.write(self._describe(result))
        if failures:
            raise CommandError(f"{len(failures)} poll(s) failed.")

    def _progress(self, result: PollResult) -> None:
        # stderr: a long poll shows it is moving, and --json output on stdout stays clean.
        self.stderr.write(
            f"{result.object_type}: page {result.pages}, {result.records} record(s), "
            f"{sum(result.events.values())} event(s)"
        )

    @staticmethod
    def _describe(result: PollResult) -> str:
        events = ", ".join(f"{count} {kind}" for kind, count in sorted(result.events.items()))
        before = result.cursor_before.isoformat() if result.cursor_before else "none (baseline)"
        after = result.cursor_after.isoformat() if result.cursor_after else "none"
        prefix = "[dry run] " if result.dry_run else ""
        lines = [
            f"{prefix}{result.object_type}: {result.pages} page(s), {result.records} record(s), "
            f"events: {events or 'none'}; cursor {before} -> {after}"
        ]
        lines += [f"  warning: {warning}" for warning in result.warnings]
        return "\n".join(lines)

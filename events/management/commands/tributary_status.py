from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from events.status import DUE_LIMIT, status_summary


class Command(BaseCommand):
    help = (
        "Summarize instances, pollers (due, stalled), deliveries (pending, retrying, due, "
        "failed, queued) and the worker's heartbeat. With --fail-on-problems, exit 1 when "
        "something needs attention (for monitoring)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON")
        parser.add_argument(
            "--fail-on-problems",
            action="store_true",
            help="Exit with status 1 when a poller is stalled, a delivery failed, notifications "
            "are suspended or the worker's heartbeat is missing",
        )

    def handle(self, *args, fail_on_problems, **options):
        summary = status_summary(now=timezone.now())
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
        else:
            self.stdout.write("\n".join(self._lines(summary)))
        problems = summary["problems"]
        if fail_on_problems and problems:
            raise CommandError(f"{len(problems)} problem(s): " + "; ".join(problems))

    @staticmethod
    def _lines(summary: dict) -> list[str]:
        instances, pollers = summary["instances"], summary["pollers"]
        deliveries, scheduler = summary["deliveries"], summary["scheduler"]
        lines = [
            f"Instances: {instances['total']} ({instances['eventsEnabled']} with events on, "
            f"{len(instances['notificationsSuspended'])} with notifications suspended)"
        ]
        lines += [
            f"  suspended: #{item['id']} {item['name']} since {item['since']}: {item['reason']}"
            for item in instances["notificationsSuspended"]
        ]
        lines.append(
            f"Pollers: {pollers['total']} ({pollers['enabled']} enabled, {pollers['due']} due "
            f"now, {len(pollers['stalled'])} stalled)"
        )
        lines += [
            f"  stalled: #{item['instanceId']} {item['instance']} {item['name']}: {item['reason']}"
            for item in pollers["stalled"]
        ]
        due = deliveries["dueNow"]
        lines.append(
            f"Deliveries: {deliveries['pending']} pending, {deliveries['retrying']} retrying "
            f"({due}{'+' if due >= DUE_LIMIT else ''} due now), {deliveries['failed']} failed, "
            f"{deliveries['queued']} queued, {deliveries['delivered']} delivered"
        )
        detail = (
            scheduler.get("error")
            or scheduler.get("note")
            or (f"last {scheduler['ageSeconds']} s ago")
        )
        lines.append(f"Worker heartbeat: {scheduler['status']} ({detail})")
        problems = summary["problems"]
        lines.append(f"Problems: {len(problems)}" if problems else "No problems.")
        lines += [f"  - {problem}" for problem in problems]
        return lines

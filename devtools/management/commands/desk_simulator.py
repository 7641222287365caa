from __future__ import annotations

import logging

from django.core.management.base import BaseCommand, CommandError, CommandParser

from devtools.simulator import DeskSimulator


class Command(BaseCommand):
    help = (
        "Run a Desk.com API v2 simulator in the foreground, for demos and integration tests. "
        "Point a Desk connection's site at the printed URL. Ctrl-C stops it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
        parser.add_argument("--seed-cases", type=int, default=30)
        parser.add_argument("--seed-customers", type=int, default=20)
        parser.add_argument("--rate-limit", type=int, default=300, help="requests per minute")
        parser.add_argument(
            "--activity", action="store_true", help="create and update records in the background"
        )
        parser.add_argument("--activity-interval", type=float, default=5.0, help="seconds")

    def handle(self, *args: object, **options: object) -> None:
        if int(options["verbosity"]) > 1:
            logging.getLogger("devtools.simulator").setLevel(logging.DEBUG)
        try:
            sim = DeskSimulator(
                str(options["host"]),
                int(options["port"]),
                seed_cases=int(options["seed_cases"]),
                seed_customers=int(options["seed_customers"]),
                rate_limit=int(options["rate_limit"]),
                activity=bool(options["activity"]),
                activity_interval=float(options["activity_interval"]),
            )
        except OSError as exc:
            raise CommandError(
                f"Cannot listen on {options['host']}:{options['port']} ({exc}); "
                "pick another --port or stop the process using it."
            ) from exc
        activity = f"every {options['activity_interval']}s" if options["activity"] else "off"
        creds = sim.credentials
        token, token_secret = next(iter(creds.access_tokens.items()))
        email, password = sim.basic_auth
        self.stdout.write(
            f"Desk.com API v2 simulator on {sim.url}  (API at {sim.url}/api/v2)\n"
            f"  OAuth 1.0a consumer key/secret: {creds.consumer_key} / {creds.consumer_secret}\n"
            f"  OAuth 1.0a access token/secret: {token} / {token_secret}\n"
            f"  Basic auth email/password:      {email} / {password}\n"
            f"  Test controls (no auth):        {sim.url}/_simulator/\n"
            f"  Activity: {activity}  -- Ctrl-C to stop"
        )
        try:
            sim.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Stopping.")
        finally:
            sim.stop()

"""DeskSimulator: the simulator served in a background thread, with helpers for tests."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from requests_oauthlib import OAuth1

from .activity import Activity
from .app import App, Options
from .auth import Credentials
from .faults import Fault
from .records import Record
from .server import Server
from .store import Store


class DeskSimulator:
    """A Desk.com API v2 look-alike on http://host:port (port 0 picks a free one).

    with DeskSimulator(seed_cases=5, now=datetime(2016, 11, 22, tzinfo=UTC)) as sim:
        requests.get(sim.url + "/api/v2/cases", auth=sim.oauth1())
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed_cases: int = 30,
        seed_customers: int = 20,
        random_seed: int = 2016,
        rate_limit: int = 300,
        now: datetime | None = None,
        consumer_key: str = "demo-key",
        consumer_secret: str = "demo-secret",  # noqa: S107 - a public demo credential
        access_tokens: dict[str, str] | None = None,
        basic_users: dict[str, str] | None = None,
        timestamp_window: int = 900,
        check_nonce: bool = True,
        activity: bool = False,
        activity_interval: float = 5.0,
    ) -> None:
        credentials = Credentials(
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            timestamp_window=timestamp_window,
            check_nonce=check_nonce,
        )
        if access_tokens is not None:
            credentials.access_tokens = dict(access_tokens)
        if basic_users is not None:
            credentials.basic_users = dict(basic_users)
        self.app = App(
            Options(
                seed_cases=seed_cases,
                seed_customers=seed_customers,
                random_seed=random_seed,
                rate_limit=rate_limit,
                now=now,
                credentials=credentials,
            )
        )
        self.credentials = credentials
        self.server = Server((host, port), self.app)
        self.activity = Activity(self.app.store, interval=activity_interval) if activity else None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def store(self) -> Store:
        return self.app.store

    def start(self) -> DeskSimulator:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="desk-simulator",
                daemon=True,
            )
            self._thread.start()
            if self.activity is not None:
                self.activity.start()
        return self

    def stop(self) -> None:
        self.app.stopping.set()
        if self.activity is not None:
            self.activity.stop()
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join()
            self._thread = None
        self.server.server_close()

    def serve_forever(self) -> None:
        """Serve in the calling thread (the management command); stop() from elsewhere."""
        if self.activity is not None:
            self.activity.start()
        self.server.serve_forever()

    def __enter__(self) -> DeskSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Credentials ------------------------------------------------------------

    def oauth1(self, token: str | None = None, secret: str | None = None) -> OAuth1:
        """Signs requests with the consumer and an access token (the first configured one)."""
        if token is None:
            token, secret = next(iter(self.credentials.access_tokens.items()))
        return OAuth1(
            self.credentials.consumer_key,
            client_secret=self.credentials.consumer_secret,
            resource_owner_key=token,
            resource_owner_secret=secret,
        )

    @property
    def basic_auth(self) -> tuple[str, str]:
        return next(iter(self.credentials.basic_users.items()))

    # Data -------------------------------------------------------------------

    def create_case(self, **fields: Any) -> Record:
        """Lenient: type defaults to email, customer to the first one; timestamps may be given."""
        return self.store.create_case(fields, strict=False)

    def update_case(self, case_id: int, *, system: bool = False, **fields: Any) -> Record:
        """`system=True` is a non-user action: updated_at moves, changed_at does not."""
        return self.store.update_case(case_id, fields, by_user=not system, raw=True)

    def create_customer(self, **fields: Any) -> Record:
        return self.store.create_customer(fields, raw=True)

    def update_customer(self, customer_id: int, **fields: Any) -> Record:
        return self.store.update_customer(customer_id, fields, raw=True)

    def delete_case(self, case_id: int) -> None:
        """Gone from every read, with no trace in any listing (Desk's API cannot delete a
        case; an operator's purge can)."""
        self.store.delete("cases", case_id)

    def delete_customer(self, customer_id: int) -> None:
        """As ``DELETE /api/v2/customers/{id}``: it 404s and is gone from lists and searches."""
        self.store.delete("customers", customer_id)

    # Clock, faults, log -----------------------------------------------------

    def now(self) -> datetime:
        return self.app.clock.now()

    def set_time(self, now: datetime | None, *, frozen: bool = True) -> None:
        """Freeze at `now`, tick from `now` (frozen=False), or back to real time (None)."""
        self.app.clock.set(now, frozen=frozen)

    def advance(self, seconds: float) -> None:
        self.app.clock.advance(seconds)

    def inject(self, kind: str = "status", **options: Any) -> Fault:
        """Misbehave on the next `times` (default 1) requests matching `path` (substring),
        `query` ("page=2") and `method`. See Fault for the kinds."""
        return self.app.faults.add(Fault(kind=kind, **options))

    def clear_faults(self) -> None:
        self.app.faults.clear()

    def requests_log(self) -> list[dict[str, Any]]:
        return self.app.requests_log()

    def reset(self) -> None:
        self.app.reset()

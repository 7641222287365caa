"""Background activity for demos: cases and customers change every few seconds."""

from __future__ import annotations

import logging
import random
import threading

from .seed import FIRST_NAMES, SUBJECTS
from .store import Store

log = logging.getLogger(__name__)

NEXT_STATUS = {"new": "open", "open": "pending", "pending": "resolved", "resolved": "closed"}


class Activity:
    def __init__(self, store: Store, *, interval: float = 5.0, random_seed: int = 7) -> None:
        self.store = store
        self.interval = interval
        self._rng = random.Random(random_seed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="desk-activity", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                log.info("%s", self.step())
            except Exception:
                log.exception("activity step failed")

    def step(self) -> str:
        """Make one change; returns a one-line description of it."""
        rng = self._rng
        cases = self.store.all("cases")
        customers = self.store.all("customers")
        roll = rng.random()
        if roll < 0.3 or not cases:
            case = self.store.create_case(
                {
                    "subject": rng.choice(SUBJECTS),
                    "type": rng.choice(("email", "email", "phone", "chat", "twitter")),
                    "priority": rng.randint(1, 10),
                    "message": {"direction": "in", "body": "Hello, I need help with this."},
                },
                strict=False,
            )
            return f"created case {case['id']}"
        case = rng.choice(cases)
        if roll < 0.6:
            status = NEXT_STATUS.get(case["status"], "open")
            self.store.update_case(case["id"], {"status": status})
            return f"case {case['id']} {case['status']} -> {status}"
        if roll < 0.75:
            subject = f"{rng.choice(SUBJECTS)} (#{rng.randint(100, 999)})"
            self.store.update_case(case["id"], {"subject": subject})
            return f"case {case['id']} subject edited"
        if roll < 0.85:
            # A system action (e.g. a rule): moves updated_at but not changed_at.
            self.store.update_case(case["id"], {"labels": ["touched_by_rule"]}, by_user=False)
            return f"case {case['id']} touched by a rule"
        if roll < 0.95 and customers:
            customer = rng.choice(customers)
            self.store.update_customer(customer["id"], {"first_name": rng.choice(FIRST_NAMES)})
            return f"customer {customer['id']} renamed"
        self.store.update_case(case["id"], {"status": "deleted"})
        return f"case {case['id']} deleted"

"""Thread-safe in-memory Desk data: cases and customers (writable, and deletable: a deleted
record is gone from every read, and its id is never given again), companies and users."""

from __future__ import annotations

import copy
import random
import threading
from typing import Any

from . import seed
from .clock import Clock, iso
from .records import (
    CASE_STATUSES,
    CASE_TYPES,
    Record,
    case_record,
    company_link,
    customer_record,
    group_link,
    id_from_href,
    user_link,
)

KINDS = ("cases", "customers", "companies", "users")
TIMESTAMPS = ("created_at", "updated_at", "changed_at", "active_at")
CASE_TEXT = ("subject", "description", "blurb", "language", "external_id")
CUSTOMER_TEXT = ("first_name", "last_name", "company", "title", "external_id", "background")
CONTACTS = ("emails", "phone_numbers", "addresses")


class NotFound(Exception):
    pass


class ValidationError(Exception):
    """Carries Desk's `errors` object, which mirrors the request structure."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__("Validation Failed")
        self.errors = errors


class Store:
    def __init__(
        self,
        clock: Clock | None = None,
        *,
        seed_cases: int = 30,
        seed_customers: int = 20,
        random_seed: int = 2016,
    ) -> None:
        self.clock = clock or Clock()
        self.seed_cases = seed_cases
        self.seed_customers = seed_customers
        self.random_seed = random_seed
        self._lock = threading.RLock()
        self.reseed()

    def reseed(self) -> None:
        rng = random.Random(self.random_seed)
        now = self.clock.now().replace(microsecond=0)
        users = seed.seed_users(now)
        customers = seed.seed_customers(rng, now, self.seed_customers)
        cases = seed.seed_cases(rng, now, self.seed_cases, customers, users)
        with self._lock:
            self._data: dict[str, dict[int, Record]] = {
                "cases": {r["id"]: r for r in cases},
                "customers": {r["id"]: r for r in customers},
                "companies": {r["id"]: r for r in seed.seed_companies(now)},
                "users": {r["id"]: r for r in users},
            }
            for case in cases:
                self._count_case(case)
            # Desk never reuses an id, not even a deleted record's.
            self._last_ids = {
                "cases": max(self._data["cases"], default=seed.FIRST_CASE_ID - 1),
                "customers": max(self._data["customers"], default=seed.FIRST_CUSTOMER_ID - 1),
            }

    def now(self) -> str:
        return iso(self.clock.now())

    # Reads ------------------------------------------------------------------

    def all(self, kind: str) -> list[Record]:
        with self._lock:
            return [copy.deepcopy(r) for _, r in sorted(self._data[kind].items())]

    def get(self, kind: str, record_id: int) -> Record:
        with self._lock:
            record = self._data[kind].get(record_id)
            if record is None:
                raise NotFound(f"{kind}/{record_id}")
            return copy.deepcopy(record)

    def case_by_external_id(self, external_id: str) -> Record:
        with self._lock:
            for record in self._data["cases"].values():
                if record["external_id"] == external_id:
                    return copy.deepcopy(record)
        raise NotFound(f"cases/e-{external_id}")

    # Cases ------------------------------------------------------------------

    def create_case(self, fields: dict[str, Any], *, strict: bool = True) -> Record:
        """`strict` applies the API's validation; helpers fill in defaults instead."""
        fields = dict(fields)
        links = fields.get("_links") or {}
        with self._lock:
            customer_id = id_from_href((links.get("customer") or {}).get("href"))
            if not strict:
                fields.setdefault("type", "email")
                if customer_id is None and self._data["customers"]:
                    customer_id = min(self._data["customers"])
            _check_case_create(fields, customer_id, self._data["customers"], strict)
            now = (not strict and fields.get("created_at")) or self.now()
            message = fields.get("message") or {}
            record = case_record(
                self._new_id("cases"),
                customer_id=customer_id,
                subject=fields.get("subject") or message.get("subject") or "",
                description=fields.get("description"),
                blurb=(message.get("body") or "")[:100] or None,
                type=fields["type"],
                status=fields.get("status", "new"),
                priority=fields.get("priority", 4),
                labels=fields.get("labels"),
                label_ids=[seed.label_id(n) for n in fields.get("labels") or []],
                language=fields.get("language", "en"),
                external_id=fields.get("external_id"),
                custom_fields=fields.get("custom_fields"),
                assigned_user_id=id_from_href((links.get("assigned_user") or {}).get("href")),
                assigned_group_id=id_from_href((links.get("assigned_group") or {}).get("href")),
                created_at=now,
            )
            for name in TIMESTAMPS:
                if not strict and fields.get(name):
                    record[name] = fields[name]
            self._data["cases"][record["id"]] = record
            self._count_case(record)
            return copy.deepcopy(record)

    def update_case(
        self, case_id: int, fields: dict[str, Any], *, by_user: bool = True, raw: bool = False
    ) -> Record:
        """PATCH semantics. `by_user=False` is a system action: only updated_at moves.
        `raw` (helpers only) lets the caller set timestamps directly."""
        with self._lock:
            record = self._data["cases"].get(case_id)
            if record is None:
                raise NotFound(f"cases/{case_id}")
            _check_case_update(fields)
            updated = copy.deepcopy(record)
            _apply_case_fields(updated, fields)
            now = self.now()
            updated["updated_at"] = now
            if by_user:
                updated["changed_at"] = updated["active_at"] = now
            _stamp_status(updated, record["status"], now)
            if raw:
                for name in TIMESTAMPS:
                    if fields.get(name):
                        updated[name] = fields[name]
            self._data["cases"][case_id] = updated
            return copy.deepcopy(updated)

    # Customers --------------------------------------------------------------

    def create_customer(self, fields: dict[str, Any], *, raw: bool = False) -> Record:
        _check_contacts(fields)
        links = fields.get("_links") or {}
        with self._lock:
            record = customer_record(
                self._new_id("customers"),
                first_name=fields.get("first_name", ""),
                last_name=fields.get("last_name", ""),
                company=fields.get("company"),
                company_id=id_from_href((links.get("company") or {}).get("href")),
                title=fields.get("title"),
                external_id=fields.get("external_id"),
                background=fields.get("background"),
                language=fields.get("language"),
                custom_fields=fields.get("custom_fields"),
                emails=fields.get("emails"),
                phone_numbers=fields.get("phone_numbers"),
                addresses=fields.get("addresses"),
                created_at=(raw and fields.get("created_at")) or self.now(),
            )
            if raw and fields.get("updated_at"):
                record["updated_at"] = fields["updated_at"]
            self._data["customers"][record["id"]] = record
            return copy.deepcopy(record)

    def update_customer(
        self, customer_id: int, fields: dict[str, Any], *, raw: bool = False
    ) -> Record:
        _check_contacts(fields)
        with self._lock:
            record = self._data["customers"].get(customer_id)
            if record is None:
                raise NotFound(f"customers/{customer_id}")
            updated = copy.deepcopy(record)
            for name in (*CUSTOMER_TEXT, "language"):
                if name in fields:
                    updated[name] = fields[name]
            if isinstance(fields.get("custom_fields"), dict):
                updated["custom_fields"].update(fields["custom_fields"])
            for name in CONTACTS:
                if name in fields:
                    action = fields.get(f"{name}_update_action", "append")
                    # Recorded: repeated appends add duplicate entries.
                    base = [] if action == "replace" else updated[name]
                    updated[name] = base + [dict(e) for e in fields[name]]
            company = (fields.get("_links") or {}).get("company")
            if company is not None:
                updated["_links"]["company"] = company_link(id_from_href(company.get("href")))
            updated["updated_at"] = (raw and fields.get("updated_at")) or self.now()
            self._data["customers"][customer_id] = updated
            return copy.deepcopy(updated)

    # Deletes ----------------------------------------------------------------

    def delete(self, kind: str, record_id: int) -> None:
        """Remove a case or a customer: it 404s and is gone from lists and searches. A
        deleted customer's cases keep their link to it (``embed=customer`` gives null)."""
        with self._lock:
            record = self._data[kind].pop(record_id, None)
            if record is None:
                raise NotFound(f"{kind}/{record_id}")
            if kind == "cases":
                self._count_case(record, -1)

    def _new_id(self, kind: str) -> int:
        self._last_ids[kind] += 1
        return self._last_ids[kind]

    def _count_case(self, case: Record, change: int = 1) -> None:
        customer = self._data["customers"].get(id_from_href(case["_links"]["customer"]["href"]))
        if customer is not None:
            customer["_links"]["cases"]["count"] += change


def _check_case_create(
    fields: dict[str, Any], customer_id: int | None, customers: dict[int, Record], strict: bool
) -> None:
    errors: dict[str, Any] = {}
    if not fields.get("type"):
        errors["type"] = ["blank"]
    elif fields["type"] not in CASE_TYPES:
        errors["type"] = ["inclusion"]
    if customer_id is None:
        errors["_links"] = {"customer": ["blank"]}
    elif customer_id not in customers:
        errors["_links"] = {"customer": ["invalid"]}
    message = fields.get("message")
    if strict and not (isinstance(message, dict) and message.get("direction")):
        errors["message"] = {"direction": ["blank"]}
    errors.update(_case_value_errors(fields))
    if errors:
        raise ValidationError(errors)


def _check_case_update(fields: dict[str, Any]) -> None:
    errors = _case_value_errors(fields)
    if "type" in fields and fields["type"] not in CASE_TYPES:
        errors["type"] = ["inclusion"]
    if errors:
        raise ValidationError(errors)


def _case_value_errors(fields: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    if "status" in fields and fields["status"] not in CASE_STATUSES:
        errors["status"] = ["inclusion"]
    priority = fields.get("priority")
    if "priority" in fields and not (isinstance(priority, int) and 1 <= priority <= 10):
        errors["priority"] = ["inclusion"]
    return errors


def _check_contacts(fields: dict[str, Any]) -> None:
    errors = {}
    for name in CONTACTS:
        entries = fields.get(name)
        if entries is None:
            continue
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and e.get("value") for e in entries
        ):
            errors[name] = ["invalid"]
    if errors:
        raise ValidationError(errors)


def _apply_case_fields(record: Record, fields: dict[str, Any]) -> None:
    for name in (*CASE_TEXT, "status", "priority", "type"):
        if name in fields:
            record[name] = fields[name]
    if "type" in fields:
        record["_links"]["message"]["class"] = fields["type"]
    if isinstance(fields.get("custom_fields"), dict):
        record["custom_fields"].update(fields["custom_fields"])
    if "labels" in fields:
        labels = list(fields["labels"] or [])
        if fields.get("label_action", "append") == "append":
            labels = record["labels"] + [n for n in labels if n not in record["labels"]]
        record["labels"] = labels
        record["label_ids"] = [seed.label_id(n) for n in labels]
    links = fields.get("_links") or {}
    if "assigned_user" in links:
        user = links["assigned_user"] or {}
        record["_links"]["assigned_user"] = user_link(id_from_href(user.get("href")))
    if "assigned_group" in links:
        group = links["assigned_group"] or {}
        record["_links"]["assigned_group"] = group_link(id_from_href(group.get("href")))
    if "customer" in links and links["customer"]:
        record["_links"]["customer"]["href"] = links["customer"]["href"]


def _stamp_status(record: Record, previous: str, now: str) -> None:
    status = record["status"]
    if status == previous:
        return
    if status == "open":
        record["opened_at"] = now
        record["first_opened_at"] = record["first_opened_at"] or now
    if status in ("resolved", "closed"):
        record["resolved_at"] = now
        record["first_resolved_at"] = record["first_resolved_at"] or now

"""Deterministic demo data, dated in the past relative to the clock at seeding time."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from .clock import iso
from .records import Record, case_record, company_record, customer_record, user_record

FIRST_CASE_ID = 3011
FIRST_CUSTOMER_ID = 34290812
FIRST_COMPANY_ID = 138963
FIRST_USER_ID = 16096734
GROUP_IDS = (171213, 171214)

FIRST_NAMES = ("Alex", "Stella", "Mike", "Priya", "Jonas", "Maria", "Kenji", "Fatima", "Ana")
LAST_NAMES = ("Bard", "Pavlova", "Malmin", "Nair", "Berg", "Rossi", "Sato", "Haddad", "Lima")
COMPANIES = (
    ("Desk.com", "desk.com"),
    ("Morpon Brothers", "morpon.example"),
    ("Acme Widgets", "acme.example"),
    ("Globex", "globex.example"),
    ("Initech", "initech.example"),
)
TITLES = ("CEO", "SVP Production", "Engineer", "Office Manager", "", None)
SUBJECTS = (
    "Cannot log in to my account",
    "Refund for order",
    "Shipping address change",
    "Invoice missing VAT number",
    "App crashes on start",
    "Password reset email never arrives",
    "Upgrade to the team plan",
    "Testing the Tank again",
    "Question about the API",
    "Damaged item received",
)
LABELS = ("billing", "bug", "vip", "shipping", "feature_request")
USERS = (
    ("Thomas Stachl", "siteadmin_billing"),
    ("Dan Stern", "siteadmin"),
    ("Ada Agent", "agent"),
    ("Ben Helper", "agent"),
)
# Weighted like the 607 cases of the Nov 2016 recording.
STATUS_WEIGHTS = {"new": 316, "open": 223, "resolved": 35, "pending": 29, "closed": 4}
TYPE_WEIGHTS = {"email": 502, "twitter": 77, "phone": 17, "chat": 6, "qna": 3, "facebook": 2}


def label_id(name: str) -> int:
    """A stable id per label name."""
    return 1789189 + sum(ord(c) * (i + 1) for i, c in enumerate(name)) % 100_000


def seed_users(now: datetime) -> list[Record]:
    users = []
    for n, (name, level) in enumerate(USERS):
        email = name.lower().replace(" ", ".") + "@example.com"
        created = iso(now - timedelta(days=900 - n * 30))
        updated = iso(now - timedelta(days=3 + n))
        users.append(
            user_record(
                FIRST_USER_ID + n,
                name=name,
                email=email,
                level=level,
                created_at=created,
                updated_at=updated,
            )
        )
    return users


def seed_companies(now: datetime) -> list[Record]:
    return [
        company_record(
            FIRST_COMPANY_ID + n,
            name=name,
            domains=[domain],
            created_at=iso(now - timedelta(days=800 - n * 20)),
        )
        for n, (name, domain) in enumerate(COMPANIES)
    ]


def seed_customers(rng: random.Random, now: datetime, count: int) -> list[Record]:
    customers = []
    for n in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company_n = rng.randrange(len(COMPANIES))
        company, domain = COMPANIES[company_n]
        created = now - timedelta(days=rng.randint(200, 700), seconds=rng.randint(0, 86399))
        updated = created + (now - created) * rng.uniform(0.1, 0.95)
        phones = [{"type": "mobile", "value": f"(415) 555-{rng.randint(1000, 9999)}"}]
        record = customer_record(
            FIRST_CUSTOMER_ID + n,
            first_name=first,
            last_name=last,
            company=company,
            company_id=FIRST_COMPANY_ID + company_n,
            title=rng.choice(TITLES),
            background="",
            custom_fields={"my_number_field": str(rng.randint(0, 9)), "my_list_field": "Option 1"},
            emails=[{"type": "work", "value": f"{first}.{last}{n}@{domain}".lower()}],
            phone_numbers=phones if rng.random() < 0.4 else [],
            created_at=iso(created),
        )
        record["updated_at"] = iso(updated)
        customers.append(record)
    return customers


def seed_cases(
    rng: random.Random, now: datetime, count: int, customers: list[Record], users: list[Record]
) -> list[Record]:
    cases = []
    for n in range(count):
        customer = rng.choice(customers) if customers else None
        type_ = rng.choices(list(TYPE_WEIGHTS), weights=list(TYPE_WEIGHTS.values()))[0]
        status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
        labels = sorted(rng.sample(LABELS, rng.randint(0, 2)))
        created = now - timedelta(days=rng.randint(2, 400), seconds=rng.randint(0, 86399))
        record = case_record(
            FIRST_CASE_ID + n,
            customer_id=customer["id"] if customer else FIRST_CUSTOMER_ID,
            subject=rng.choice(SUBJECTS),
            description=rng.choice(("", "(No Description)", None, "Please help, see below.")),
            blurb=rng.choice((None, "some text for this reply")),
            type=type_,
            status=status,
            priority=rng.randint(1, 10),
            labels=labels,
            label_ids=[label_id(name) for name in labels],
            assigned_user_id=rng.choice([None, *(u["id"] for u in users)]),
            assigned_group_id=rng.choice((None, *GROUP_IDS)),
            created_at=iso(created),
        )
        # updated_at (any action) and changed_at (user actions) move independently, as
        # recorded; both stay at least an hour before "now".
        span = now - timedelta(hours=1) - created
        updated, changed = (created + span * rng.uniform(0.0, 1.0) for _ in range(2))
        record["updated_at"] = record["active_at"] = iso(updated)
        record["changed_at"] = iso(changed)
        if status != "new":
            record["first_opened_at"] = record["opened_at"] = iso(created + timedelta(minutes=5))
        if status in ("resolved", "closed"):
            record["first_resolved_at"] = record["resolved_at"] = iso(min(updated, changed))
        cases.append(record)
    return cases

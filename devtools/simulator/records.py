"""Record shapes in the key order of the recordings (cases 2016, customers 2014)."""

from __future__ import annotations

from typing import Any

API = "/api/v2"

CASE_STATUSES = ("new", "open", "pending", "resolved", "closed", "deleted")
CASE_TYPES = ("email", "twitter", "phone", "chat", "qna", "facebook")
CUSTOM_FIELDS = ("market", "sfdc_case_id", "application_stage")
CUSTOMER_CUSTOM_FIELDS = ("my_custom_field", "my_number_field", "my_list_field")

Record = dict[str, Any]


def link(cls: str, href: str | None, count: int | None = None) -> dict[str, Any]:
    # 2016 recordings put "class" before "href"; "count" sits between them.
    out: dict[str, Any] = {"class": cls}
    if count is not None:
        out["count"] = count
    out["href"] = href
    return out


def link_2014(cls: str, href: str | None, count: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"href": href, "class": cls}
    if count is not None:
        out["count"] = count
    return out


def case_record(
    case_id: int,
    *,
    customer_id: int,
    subject: str,
    created_at: str,
    type: str = "email",
    status: str = "new",
    priority: int = 4,
    description: str | None = None,
    blurb: str | None = None,
    labels: list[str] | None = None,
    label_ids: list[int] | None = None,
    language: str | None = "en",
    external_id: str | None = None,
    custom_fields: dict[str, Any] | None = None,
    assigned_user_id: int | None = None,
    assigned_group_id: int | None = None,
) -> Record:
    base = f"{API}/cases/{case_id}"
    fields = {name: None for name in CUSTOM_FIELDS}
    fields.update(custom_fields or {})
    return {
        "id": case_id,
        "blurb": blurb,
        "changed_at": created_at,
        "created_at": created_at,
        "custom_fields": fields,
        "description": description,
        "external_id": external_id,
        "first_opened_at": None,
        "first_resolved_at": None,
        "label_ids": list(label_ids or []),
        "labels": list(labels or []),
        "language": language,
        "locked_until": None,
        "opened_at": None,
        "priority": priority,
        "received_at": created_at if type == "email" else None,
        "resolved_at": None,
        "status": status,
        "subject": subject,
        "type": type,
        "updated_at": created_at,
        "active_at": created_at,
        "active_attachments_count": 0,
        "active_notes_count": 0,
        "has_pending_interactions": False,
        "has_failed_interactions": False,
        "route_status": "available",
        "_links": {
            "labels": link("label", f"{base}/labels"),
            "assigned_group": group_link(assigned_group_id),
            "macro_preview": link("macro_preview", f"{base}/macros/preview"),
            "locked_by": None,
            "case_links": link("case_link", f"{base}/links", 0),
            "attachments": link("attachment", f"{base}/attachments", 0),
            "history": link("history", f"{base}/history"),
            "feedbacks": None,
            "customer": link("customer", f"{API}/customers/{customer_id}"),
            "replies": link("reply", f"{base}/replies", 0),
            "draft": link("reply", f"{base}/replies/draft"),
            "notes": link("note", f"{base}/notes", 0),
            "assigned_user": user_link(assigned_user_id),
            "self": link("case", base),
            "message": link(type, f"{base}/message"),
        },
    }


def user_link(user_id: int | None) -> dict[str, Any] | None:
    return None if user_id is None else link("user", f"{API}/users/{user_id}")


def group_link(group_id: int | None) -> dict[str, Any] | None:
    return None if group_id is None else link("group", f"{API}/groups/{group_id}")


def customer_record(
    customer_id: int,
    *,
    first_name: str,
    last_name: str,
    created_at: str,
    company: str | None = None,
    company_id: int | None = None,
    title: str | None = None,
    external_id: str | None = None,
    background: str | None = None,
    language: str | None = None,
    custom_fields: dict[str, Any] | None = None,
    emails: list[dict[str, str]] | None = None,
    phone_numbers: list[dict[str, str]] | None = None,
    addresses: list[dict[str, str]] | None = None,
) -> Record:
    base = f"{API}/customers/{customer_id}"
    fields = {name: None for name in CUSTOMER_CUSTOM_FIELDS}
    fields.update(custom_fields or {})
    return {
        "id": customer_id,
        "first_name": first_name,
        "last_name": last_name,
        "company": company,
        "title": title,
        "external_id": external_id,
        "background": background,
        "language": language,
        "locked_until": None,
        "created_at": created_at,
        "updated_at": created_at,
        "custom_fields": fields,
        "emails": list(emails or []),
        "phone_numbers": list(phone_numbers or []),
        "addresses": list(addresses or []),
        "_links": {
            "self": link_2014("customer", base),
            "locked_by": None,
            "company": company_link(company_id),
            "facebook_user": None,
            "twitter_user": None,
            "cases": link_2014("case", f"{base}/cases", 0),
        },
    }


def company_link(company_id: int | None) -> dict[str, Any] | None:
    if company_id is None:
        return None
    return link_2014("company", f"{API}/companies/{company_id}")


def company_record(company_id: int, *, name: str, domains: list[str], created_at: str) -> Record:
    base = f"{API}/companies/{company_id}"
    return {
        "id": company_id,
        "name": name,
        "domains": domains,
        "created_at": created_at,
        "updated_at": created_at,
        "custom_fields": {},
        "_links": {
            "self": link_2014("company", base),
            "customers": link_2014("customer", f"{base}/customers"),
            "cases": link_2014("case", f"{base}/cases"),
        },
    }


def user_record(
    user_id: int, *, name: str, email: str, level: str, created_at: str, updated_at: str
) -> Record:
    base = f"{API}/users/{user_id}"
    return {
        "id": user_id,
        "name": name,
        "public_name": name.split()[0],
        "email": email,
        "email_verified": True,
        "level": level,
        "avatar": "https://www.gravatar.com/avatar/00000000000000000000000000000000?size=50",
        "available": True,
        "created_at": created_at,
        "updated_at": updated_at,
        "current_login_at": updated_at,
        "last_login_at": created_at,
        "_links": {
            "self": link_2014("user", base),
            "preferences": link_2014("user_preference", f"{base}/preferences"),
            "searches": link_2014("search", f"{base}/searches"),
        },
    }


def id_from_href(href: str | None) -> int | None:
    """The trailing numeric id of a link href, e.g. /api/v2/customers/42 -> 42."""
    if not href:
        return None
    tail = href.rstrip("/").rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None

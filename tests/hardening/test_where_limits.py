"""A poller URL's where clause is bounded when the instance is saved: a clause too deep, too
long or with too many conditions is a 400 naming the resource's url, never a 500 from the
recursive parser, nor a clause that every poll would spend minutes evaluating."""

from __future__ import annotations

import pytest

from integrations.models import Instance
from integrations.query.ceql.parser import MAX_DEPTH, MAX_LENGTH, MAX_TERMS
from tests.api_helpers import BASE, client_for, desk_instance_json

POLLERS = "event.poller.configuration"
URL_KEY = f"configuration.{POLLERS}.incidents.url"
HUB = "/hubs/helpdesk/incidents?where="


def instance_with_where(where: str) -> dict:
    return desk_instance_json(**{POLLERS: {"incidents": {"url": HUB + where, "idField": "id"}}})


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("(" * 900 + "id=1" + ")" * 900, f"parentheses are nested more than {MAX_DEPTH} deep"),
        (" OR ".join(["id=1"] * (MAX_TERMS + 1)), f"more than {MAX_TERMS} conditions"),
        # Each ${epoch} grows into 13 digits: the clause the provider would get is too long.
        ("subject='" + "${epoch}" * 240 + "'", f"at most {MAX_LENGTH} are allowed"),
    ],
    ids=["900 nested parentheses", "too many conditions", "too long once rendered"],
)
def test_it_refuses_an_unbounded_where_clause_naming_the_url(desk, user, where, message):
    response = client_for(user).post(f"{BASE}/instances", instance_with_where(where), format="json")

    assert response.status_code == 400
    body = response.json()
    assert list(body["errors"]) == [URL_KEY]
    assert message in body["errors"][URL_KEY][0]
    assert not Instance.objects.exists()


def test_it_accepts_a_where_clause_within_the_limits(desk, user):
    where = "(" * MAX_DEPTH + "id>1 AND subject LIKE '" + "%a" * 14 + "%b'" + ")" * MAX_DEPTH

    response = client_for(user).post(f"{BASE}/instances", instance_with_where(where), format="json")

    assert response.status_code == 201, response.content

"""The event.notification.* checks: a callback header, signature key or Basic auth username
that could never be sent is refused when the instance is saved, naming the key and never
quoting a secret."""

from __future__ import annotations

import pytest

from integrations.instances import InstanceJSONError, instance_create, instance_json_parse
from tests.api_helpers import desk_instance_json

HEADERS = "event.notification.callback.headers"
KEY = "event.notification.signature.key"
SECRET = "Secret-7Hq2Lp"
WHSEC = (
    "a key starting with whsec_ is a Standard Webhooks key, whsec_ followed by the key's bytes "
    "in base64 (such as whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw); without that prefix, a key is "
    "used as given"
)
REFUSED = {
    "a header value outside Latin-1": (
        {HEADERS: {"X-Price": f"€ {SECRET}"}},
        f"{HEADERS}: header X-Price: character 1 of its value is not Latin-1 (ISO-8859-1), the "
        "only text a header can carry; percent-encode or base64 the value",
    ),
    "a header value with a line break": (
        {HEADERS: {"X-Team": f"{SECRET}\r\nX-Admin: yes"}},
        f"{HEADERS}: header X-Team: its value holds a control character (a line break, say) "
        "at character 14; a header value is one line of text",
    ),
    "a header value with a DEL": (
        {HEADERS: {"X-Team": "a\x7fb"}},
        f"{HEADERS}: header X-Team: its value holds a control character (a line break, say) "
        "at character 2; a header value is one line of text",
    ),
    "a header value with a leading space": (
        {HEADERS: {"X-Team": f" {SECRET}"}},
        f"{HEADERS}: header X-Team: its value must not begin or end with a space or a tab",
    ),
    "a header value that is not a string": (
        {HEADERS: {"X-Team": [SECRET]}},
        f"{HEADERS}: header X-Team: its value must be a string, got a list",
    ),
    "headers that are a list": (
        {HEADERS: [SECRET]},
        f"{HEADERS}: must be a JSON object of header names and values, got a list",
    ),
    "headers that are a JSON text of a list": (
        {HEADERS: f'["{SECRET}"]'},
        f"{HEADERS}: must be a JSON object of header names and values, got a list",
    ),
    "a header Tributary sets for the delivery id": (
        {HEADERS: {"elements-webhook-id": "x"}},
        f"{HEADERS}: header elements-webhook-id is one Tributary sets on every delivery (the "
        "delivery id, its signatures, the body's type and the user agent); give it another name",
    ),
    "a header the HTTP client sets": (
        {HEADERS: {"Transfer-Encoding": "chunked"}},
        f"{HEADERS}: header Transfer-Encoding is set by the HTTP client itself; leave it out",
    ),
    "an Authorization header besides Basic auth": (
        {HEADERS: {"Authorization": "Bearer t"}, "event.notification.basic.username": "app"},
        f"{HEADERS}: header Authorization would be replaced by the Basic auth of "
        "event.notification.basic.username; keep one of the two",
    ),
    "a Basic auth username with a colon": (
        {"event.notification.basic.username": "a:b"},
        "event.notification.basic.username: must not contain ':', which separates the username "
        "from the password",
    ),
    "an empty whsec_ key": ({KEY: "whsec_"}, f"{KEY}: nothing follows whsec_; {WHSEC}"),
    "a whsec_ key with characters outside base64": (
        {KEY: f"whsec_{SECRET}!"},
        f"{KEY}: what follows whsec_ holds characters other than A-Z, a-z, 0-9, + and /; {WHSEC}",
    ),
    "a whsec_ key that is not valid base64": (
        {KEY: "whsec_a"},
        f"{KEY}: what follows whsec_ is not valid base64; {WHSEC}",
    ),
}
ACCEPTED = {
    "headers of printable Latin-1": {HEADERS: {"X-Api-Key": "k-1", "X-Name": "Zoë\tB"}},
    "headers as a JSON text": {HEADERS: '{"X-Api-Key": "k-1"}'},
    "Authorization without Basic auth": {HEADERS: {"Authorization": "Bearer t"}},
    "a Standard Webhooks key": {KEY: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
    "an unpadded Standard Webhooks key": {KEY: "whsec_YWI"},
    "a key of any text": {KEY: "my signing key, with spaces and ünïcode"},
}


def errors_of(configuration: dict) -> list[str]:
    with pytest.raises(InstanceJSONError) as caught:
        instance_json_parse(data=desk_instance_json(**configuration))
    return caught.value.errors


@pytest.mark.parametrize(("configuration", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_it_refuses_a_setting_that_could_never_be_sent(desk, configuration, message):
    errors = errors_of(configuration)

    assert errors == [message]
    assert SECRET not in message


@pytest.mark.parametrize("configuration", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_it_accepts_what_can_be_sent(desk, configuration):
    instance_json_parse(data=desk_instance_json(**configuration))


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"name": "Acme\x00"}, "name: "),
        ({"configuration": {"event.helper.key": "a\ud800"}}, "event.helper.key: "),
        ({"configuration": {HEADERS: {"X-A": "\x00"}}}, f"{HEADERS}: "),
        ({"configuration": {"bad\x00key": "v"}}, "configuration: "),
        ({"providerData": {"oauth_token": "t\udfff"}}, "providerData.oauth_token: "),
    ],
    ids=["name", "a configuration value", "a header value", "a key", "providerData"],
)
def test_it_refuses_what_the_database_cannot_store_before_trying(desk, user, where, message):
    data = desk_instance_json()
    data["name"] = where.get("name", data["name"])
    data["configuration"].update(where.get("configuration", {}))
    data["providerData"].update(where.get("providerData", {}))

    with pytest.raises(InstanceJSONError) as caught:
        instance_create(owner=user, data=data, provider_data_as_given=True)

    assert caught.value.errors == [
        f"{message}holds a NUL character or half of a UTF-16 surrogate pair, which cannot be "
        "stored; remove it"
    ]

"""A configuration key the element defines holds one value, not a list or an object."""

import pytest

from integrations.instances import InstanceJSONError, instance_json_parse
from tests.api_helpers import desk_instance_json


def errors(data):
    with pytest.raises(InstanceJSONError) as refused:
        instance_json_parse(data=data)
    return refused.value.errors


def test_it_refuses_an_object_for_a_key_the_element_defines(desk):
    data = desk_instance_json(**{"site.address": {"host": "acme.desk.com"}})

    assert errors(data) == [
        'site.address: must be a string, a number or true/false, got {"host": "acme.desk.com"}'
    ]


def test_it_does_not_repeat_a_secret_it_refuses(desk):
    data = desk_instance_json(**{"oauth.api.secret": ["not", "shown"]})

    assert errors(data) == [
        "oauth.api.secret: must be a string, a number or true/false, got a list"
    ]


def test_it_keeps_a_structured_value_under_a_key_the_element_does_not_define(desk):
    data = desk_instance_json(**{"app.settings": {"theme": "dark"}})

    assert instance_json_parse(data=data).configuration["app.settings"] == {"theme": "dark"}

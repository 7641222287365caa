from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from integrations.elements import ELEMENTS_DIR, element_upsert, read_element_file
from integrations.models import Instance, PollerObject


def desk_element():
    element, _ = element_upsert(definition=read_element_file(ELEMENTS_DIR / "desk.json"))
    return element


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pass-1234-word")


class InstanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Instance

    element = factory.LazyFunction(desk_element)
    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Desk instance {n}")
    tags = factory.LazyFunction(lambda: ["support"])
    configuration = factory.LazyFunction(
        lambda: {"site.address": "acme.desk.com", "oauth.api.key": "consumer-key"}
    )
    secrets = factory.LazyFunction(lambda: {"oauth.api.secret": "consumer-secret"})
    provider_data = factory.LazyFunction(
        lambda: {"oauth_token": "access-token", "secret": "access-secret"}
    )
    callback_url = "https://app.example.com/hooks/desk"


class PollerObjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PollerObject

    instance = factory.SubFactory(InstanceFactory)
    name = "incidents"
    url = "/hubs/helpdesk/incidents?where=updated_at>'${date:yyyy-MM-dd'T'HH:mm:ssXXX}'"
    id_field = "id"

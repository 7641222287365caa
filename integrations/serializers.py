"""Shapes of the Apps API for elements and instances.

The instance JSON is validated by the instance services (``integrations/instances/``),
not here: these serializers describe it for the OpenAPI schema, and render elements.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from integrations.models import Element

CONFIGURATION_HELP = (
    "Cloud Elements configuration keys: the element's own keys (site.address, oauth.api.key, "
    "...) and the event keys (event.notification.enabled, event.notification.callback.url, "
    "event.poller.refresh_interval, event.poller.configuration, ...). Secrets are shown as "
    "********; send ******** back to keep a secret unchanged, null to remove a key."
)


class ElementKeySerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The element's key, e.g. desk.")


class ElementRefSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    id = serializers.IntegerField()


class InstanceRequestSerializer(serializers.Serializer):
    """The Cloud Elements instance JSON (``POST /instances``; every key optional on PATCH)."""

    element = ElementKeySerializer()
    name = serializers.CharField()
    providerData = serializers.DictField(
        required=False,
        help_text="What the OAuth callback received (oauth_token, oauth_verifier, secret; or "
        "code), exchanged for credentials on save; or the credentials themselves.",
    )
    configuration = serializers.DictField(required=False, help_text=CONFIGURATION_HELP)
    tags = serializers.ListField(child=serializers.CharField(), required=False)


class InstanceSerializer(serializers.Serializer):
    """An instance as the API renders it (``render_instance``): secrets masked."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    element = ElementRefSerializer()
    configuration = serializers.DictField(help_text=CONFIGURATION_HELP)
    providerData = serializers.DictField(
        child=serializers.CharField(), help_text="The stored keys, each value masked."
    )
    tags = serializers.ListField(child=serializers.CharField())
    eventsEnabled = serializers.BooleanField()
    createdDate = serializers.DateTimeField()
    updatedDate = serializers.DateTimeField()


class ElementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    name = serializers.CharField()
    hub = serializers.CharField()
    description = serializers.CharField()
    authentication = serializers.DictField(
        help_text="type (oauth1, oauth2, basic, apikey) and alternatives."
    )
    configuration = serializers.ListField(
        child=serializers.DictField(), help_text="The element's configuration keys."
    )
    resources = serializers.DictField(
        help_text="Hub resource name → vendorName, idField, events (the event types it "
        "supports) and pollerConfiguration (the default poll spec, when there is one)."
    )
    events = serializers.DictField(
        help_text="vendorTypes, defaultRefreshInterval and the default event.poller.configuration."
    )
    definition = serializers.DictField(
        required=False, help_text="The whole definition (staff only)."
    )


class ElementDefinitionSerializer(serializers.Serializer):
    """An element definition (docs/elements.md); PATCH merges the given top-level keys."""

    key = serializers.CharField()
    name = serializers.CharField()
    hub = serializers.CharField()
    auth = serializers.DictField()
    pagination = serializers.DictField()
    resources = serializers.DictField()


class OAuthQuerySerializer(serializers.Serializer):
    apiKey = serializers.CharField(
        required=False, help_text="OAuth 1 consumer key / OAuth 2 client id."
    )
    apiSecret = serializers.CharField(
        required=False,
        help_text="OAuth 1 consumer secret: send it in a POST body, never in a query string.",
    )
    callbackUrl = serializers.URLField(required=False)
    requestToken = serializers.CharField(
        required=False, help_text="OAuth 1: the request token from /oauth/token."
    )
    siteAddress = serializers.CharField(
        required=False, help_text="The provider site (Desk: acme.desk.com)."
    )
    state = serializers.CharField(required=False, help_text="OAuth 2 state; generated if empty.")
    scope = serializers.CharField(required=False)


class OAuthTokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    secret = serializers.CharField()


class OAuthUrlSerializer(serializers.Serializer):
    element = serializers.CharField()
    oauthUrl = serializers.URLField()
    state = serializers.CharField(required=False)


def element_render(element: Element, *, with_definition: bool = False) -> dict[str, Any]:
    definition = element.definition
    auth = element.auth
    defaults = element.poller_defaults
    resources = {
        name: {
            "vendorName": spec.get("vendorName", name),
            "idField": spec.get("idField", "id"),
            "events": list(spec.get("events", [])),
            **({"pollerConfiguration": defaults[name]} if name in defaults else {}),
        }
        for name, spec in element.resources.items()
    }
    events = element.events_definition
    rendered = {
        "id": element.pk,
        "key": element.key,
        "name": element.name,
        "hub": element.hub,
        "description": definition.get("description", ""),
        "authentication": {
            "type": auth.get("type"),
            "alternatives": [alt.get("type") for alt in auth.get("alternatives", [])],
        },
        "configuration": list(definition.get("configuration", [])),
        "resources": resources,
        "events": {
            "vendorTypes": list(events.get("vendorTypes", [])),
            "defaultRefreshInterval": element.default_refresh_interval,
            "event.poller.configuration": defaults,
        },
    }
    if with_definition:
        rendered["definition"] = definition
    return rendered

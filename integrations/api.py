"""Apps API: elements (with the OAuth provisioning helpers) and instances.

Views parse the request, call the services in ``integrations/`` and render the answer; the
instance JSON is validated by ``instance_create``/``instance_update`` and its errors become
400s keyed by the configuration key (``project/api_errors.py``).
"""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import NewestFirst, ReadOnlyUnlessStaff
from integrations.elements import element_upsert
from integrations.instances import (
    instance_create,
    instance_delete,
    instance_update,
    instances_visible_to,
    render_instance,
)
from integrations.models import Element, Instance
from integrations.provider import oauth1_authorize_url, oauth1_request_token, oauth2_authorize_url
from integrations.serializers import (
    ElementDefinitionSerializer,
    ElementSerializer,
    InstanceRequestSerializer,
    InstanceSerializer,
    OAuthQuerySerializer,
    OAuthTokenSerializer,
    OAuthUrlSerializer,
    element_render,
)

ELEMENTS = ["elements"]
INSTANCES = ["instances"]


class ElementList(APIView):
    permission_classes = [IsAuthenticated, ReadOnlyUnlessStaff]

    @extend_schema(
        tags=ELEMENTS, operation_id="elements_list", responses=ElementSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        staff = request.user.is_staff
        return Response(
            [element_render(e, with_definition=staff) for e in Element.objects.order_by("key")]
        )

    @extend_schema(
        tags=ELEMENTS,
        operation_id="elements_create",
        summary="Add an element (staff)",
        request=ElementDefinitionSerializer,
        responses={201: ElementSerializer},
    )
    def post(self, request: Request) -> Response:
        key = request.data.get("key") if isinstance(request.data, dict) else None
        if isinstance(key, str) and Element.objects.filter(key=key).exists():
            raise ValidationError(
                {"key": [f'an element with key "{key}" exists; PATCH /elements/{key} changes it']}
            )
        element, _ = element_upsert(definition=request.data)
        return Response(element_render(element, with_definition=True), status.HTTP_201_CREATED)


class ElementDetail(APIView):
    permission_classes = [IsAuthenticated, ReadOnlyUnlessStaff]

    @extend_schema(tags=ELEMENTS, operation_id="elements_retrieve", responses=ElementSerializer)
    def get(self, request: Request, key: str) -> Response:
        element = get_object_or_404(Element, key=key)
        return Response(element_render(element, with_definition=request.user.is_staff))

    @extend_schema(
        tags=ELEMENTS,
        operation_id="elements_partial_update",
        summary="Change an element (staff): the given top-level keys replace the stored ones",
        request=ElementDefinitionSerializer,
        responses=ElementSerializer,
    )
    def patch(self, request: Request, key: str) -> Response:
        element = get_object_or_404(Element, key=key)
        if not isinstance(request.data, dict):
            raise ValidationError("The body must be a JSON object of definition keys.")
        definition = {**element.definition, **request.data}
        if definition.get("key") != key:
            raise ValidationError({"key": [f"an element's key cannot change (it is {key})"]})
        element, _ = element_upsert(definition=definition)
        return Response(element_render(element, with_definition=True))


def _oauth_query(data: object, element: Element) -> tuple[dict, dict]:
    """The validated OAuth parameters (a query string, or a POST's JSON body) and the
    configuration they stand for."""
    query = OAuthQuerySerializer(data=data)
    query.is_valid(raise_exception=True)
    params = query.validated_data
    configuration = {}
    site_key = element.definition.get("site", {}).get("configKey")
    if site_key and params.get("siteAddress"):
        configuration[site_key] = params["siteAddress"]
    if "{site}" in str(element.auth):
        try:
            URLValidator(schemes=["http", "https"])(element.site_url(configuration))
        except DjangoValidationError:
            raise ValidationError(
                {"siteAddress": [f"required: the {element.key} site's host, e.g. acme.desk.com"]}
            ) from None
    return params, configuration


def _require(params: dict, *names: str, why: str) -> None:
    missing = {name: [f"required {why}"] for name in names if not params.get(name)}
    if missing:
        raise ValidationError(missing)


def _auth_type(element: Element) -> str:
    return element.auth.get("type", "")


class ElementOAuthToken(APIView):
    """Cloud Elements documents a GET with the app's secret in the query string, where web
    servers and proxies write it to their access logs: POST takes the same parameters as a
    JSON body, and is the way to call it; GET stays for Cloud Elements' clients."""

    @extend_schema(
        tags=ELEMENTS,
        operation_id="elements_oauth_token_create",
        summary="OAuth 1.0a: obtain a request token and secret from the provider",
        request=OAuthQuerySerializer,
        responses=OAuthTokenSerializer,
    )
    def post(self, request: Request, key: str) -> Response:
        return self._request_token(key, request.data)

    @extend_schema(
        tags=ELEMENTS,
        operation_id="elements_oauth_token",
        summary="OAuth 1.0a request token, Cloud Elements' form: use POST, which keeps "
        "apiSecret out of the URL and so out of access logs",
        parameters=[OAuthQuerySerializer],
        responses=OAuthTokenSerializer,
        deprecated=True,
    )
    def get(self, request: Request, key: str) -> Response:
        return self._request_token(key, request.query_params)

    def _request_token(self, key: str, data: object) -> Response:
        element = get_object_or_404(Element, key=key)
        params, configuration = _oauth_query(data, element)
        if _auth_type(element) != "oauth1":
            raise ValidationError(
                f"The {key} element does not use OAuth 1.0a; use /elements/{key}/oauth/url."
            )
        _require(params, "apiKey", "apiSecret", "callbackUrl", why="for an OAuth 1.0a token")
        token = oauth1_request_token(
            element=element,
            configuration=configuration,
            api_key=params["apiKey"],
            api_secret=params["apiSecret"],
            callback_url=params["callbackUrl"],
        )
        return Response(token)


class ElementOAuthUrl(APIView):
    @extend_schema(
        tags=ELEMENTS,
        operation_id="elements_oauth_url",
        summary="The provider's authorize URL (OAuth 1.0a with requestToken; OAuth 2 with state)",
        parameters=[OAuthQuerySerializer],
        responses=OAuthUrlSerializer,
    )
    def get(self, request: Request, key: str) -> Response:
        element = get_object_or_404(Element, key=key)
        params, configuration = _oauth_query(request.query_params, element)
        kind = _auth_type(element)
        if kind == "oauth1":
            _require(params, "requestToken", why="for an OAuth 1.0a authorize URL")
            url = oauth1_authorize_url(
                element=element, configuration=configuration, request_token=params["requestToken"]
            )
            return Response({"element": key, "oauthUrl": url})
        if kind == "oauth2":
            _require(params, "apiKey", "callbackUrl", why="for an OAuth 2 authorize URL")
            state = params.get("state") or secrets.token_urlsafe(16)
            url = oauth2_authorize_url(
                element=element,
                configuration=configuration,
                client_id=params["apiKey"],
                redirect_uri=params["callbackUrl"],
                state=state,
                scope=params.get("scope"),
            )
            return Response({"element": key, "oauthUrl": url, "state": state})
        raise ValidationError(f"The {key} element does not use OAuth ({kind or 'no auth'}).")


class InstanceList(GenericAPIView):
    pagination_class = NewestFirst
    serializer_class = InstanceSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Instance.objects.none()
        return instances_visible_to(user=self.request.user)

    @extend_schema(
        tags=INSTANCES, operation_id="instances_list", responses=InstanceSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([render_instance(i) for i in page])

    @extend_schema(
        tags=INSTANCES,
        operation_id="instances_create",
        summary="Create an instance from the Cloud Elements instance JSON",
        request=InstanceRequestSerializer,
        responses={201: InstanceSerializer},
    )
    def post(self, request: Request) -> Response:
        instance = instance_create(owner=request.user, data=request.data)
        return Response(render_instance(instance), status.HTTP_201_CREATED)


class InstanceDetail(APIView):
    def get_object(self, pk: int):
        return get_object_or_404(instances_visible_to(user=self.request.user), pk=pk)

    @extend_schema(tags=INSTANCES, operation_id="instances_retrieve", responses=InstanceSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(render_instance(self.get_object(pk)))

    @extend_schema(
        tags=INSTANCES,
        operation_id="instances_partial_update",
        summary="Change an instance; configuration keys are merged (null removes one)",
        request=InstanceRequestSerializer,
        responses=InstanceSerializer,
    )
    def patch(self, request: Request, pk: int) -> Response:
        instance = instance_update(instance=self.get_object(pk), data=request.data)
        return Response(render_instance(instance))

    @extend_schema(
        tags=INSTANCES,
        operation_id="instances_destroy",
        responses={204: OpenApiResponse(description="Deleted, with its events and deliveries.")},
    )
    def delete(self, request: Request, pk: int) -> Response:
        instance_delete(instance=self.get_object(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

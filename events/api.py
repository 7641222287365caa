"""Apps API: poller objects, events, deliveries, redelivery, release of held deliveries,
reactivation and poll-now.

Everything is reached through the instances the user may see
(``integrations.instances.services.instances_visible_to``): another user's object is a 404.
"""

from __future__ import annotations

from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import NewestFirst
from core.changes import EventType
from events.delivery import with_holds
from events.models import Event, EventLog
from events.operations import (
    Deliveries,
    deliveries_redeliver,
    deliveries_release_held,
    instance_deliveries_redeliver,
    notifications_reactivate,
    poller_poll,
)
from events.serializers import (
    DeliveryDetailSerializer,
    DeliverySerializer,
    EventSerializer,
    PollerSerializer,
    PollerUpdateSerializer,
    PollQueuedSerializer,
    ReactivatedSerializer,
    RedeliverSinceSerializer,
    RedeliveryQueuedSerializer,
    ReleasedSerializer,
)
from integrations.instances import instances_visible_to, poller_object_update
from integrations.models import Instance, PollerObject

POLLERS = ["pollers"]
EVENTS = ["events"]
DELIVERIES = ["deliveries"]


def schema_only(view) -> bool:
    """drf-spectacular builds the schema with a fake view and no user."""
    return getattr(view, "swagger_fake_view", False)


def visible_instance(request: Request, instance_id: int) -> Instance:
    return get_object_or_404(instances_visible_to(user=request.user), pk=instance_id)


class InstantField(IsoDateTimeField):
    """An ISO 8601 date-time, handed to the database in UTC: PostgreSQL refuses offsets past
    ±15:59 that Python reads, and the instant must fall within the years 1 to 9999 in UTC too
    (``0001-01-01T00:00:00+01:00`` does not)."""

    def to_python(self, value):
        instant = super().to_python(value)
        if instant is None:
            return None
        try:
            return instant.astimezone(UTC)
        except OverflowError:
            raise ValidationError(
                "Enter a date-time between the years 1 and 9999 in UTC.", code="invalid"
            ) from None


class InstantFilter(django_filters.IsoDateTimeFilter):
    field_class = InstantField


class EventFilter(django_filters.FilterSet):
    objectType = django_filters.CharFilter(field_name="object_type")
    eventType = django_filters.ChoiceFilter(field_name="event_type", choices=EventType.choices)
    objectId = django_filters.CharFilter(field_name="object_id")

    class Meta:
        model = Event
        fields: list[str] = []


# ``from`` is a Python keyword: add the date range after the class is built.
EventFilter.base_filters["from"] = InstantFilter(
    field_name="event_date", lookup_expr="gte", label="Events dated at or after (ISO 8601)"
)
EventFilter.base_filters["to"] = InstantFilter(
    field_name="event_date", lookup_expr="lt", label="Events dated before (ISO 8601)"
)


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=EventLog.Status.choices)
    objectType = django_filters.CharFilter(field_name="object_type")
    instanceId = django_filters.NumberFilter(
        field_name="instance_id", min_value=1, max_value=2**63 - 1
    )

    class Meta:
        model = EventLog
        fields: list[str] = []


# Poller objects ---------------------------------------------------------------------------


class PollerList(APIView):
    @extend_schema(
        tags=POLLERS, operation_id="instances_pollers_list", responses=PollerSerializer(many=True)
    )
    def get(self, request: Request, pk: int) -> Response:
        instance = visible_instance(request, pk)
        pollers = instance.poller_objects.select_related("instance__element").order_by("name")
        return Response(PollerSerializer(pollers, many=True).data)


class PollerDetail(APIView):
    def get_object(self, pk: int, name: str) -> PollerObject:
        instance = visible_instance(self.request, pk)
        pollers = instance.poller_objects.select_related("instance__element")
        return get_object_or_404(pollers, name=name)

    @extend_schema(
        tags=POLLERS, operation_id="instances_pollers_retrieve", responses=PollerSerializer
    )
    def get(self, request: Request, pk: int, name: str) -> Response:
        return Response(PollerSerializer(self.get_object(pk, name)).data)

    @extend_schema(
        tags=POLLERS,
        operation_id="instances_pollers_partial_update",
        summary="Pause or resume (enabled) and/or change the poller configuration",
        request=PollerUpdateSerializer,
        responses=PollerSerializer,
    )
    def patch(self, request: Request, pk: int, name: str) -> Response:
        poller = self.get_object(pk, name)
        body = PollerUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        poller = poller_object_update(
            poller_object=poller,
            enabled=body.validated_data.get("enabled"),
            changes=body.validated_data.get("configuration"),
        )
        return Response(PollerSerializer(poller).data)


class PollerPoll(APIView):
    @extend_schema(
        tags=POLLERS,
        operation_id="instances_pollers_poll",
        summary="Poll this resource now (queued for a worker)",
        request=None,
        responses={202: PollQueuedSerializer},
    )
    def post(self, request: Request, pk: int, name: str) -> Response:
        instance = visible_instance(request, pk)
        poller = get_object_or_404(instance.poller_objects, name=name)
        poller_poll(poller=poller, background=True)
        body = {"name": poller.name, "instanceId": instance.pk, "queued": True}
        return Response(body, status.HTTP_202_ACCEPTED)


# Events ---------------------------------------------------------------------------------


class EventListBase(ListAPIView):
    serializer_class = EventSerializer
    pagination_class = NewestFirst
    filterset_class = EventFilter

    def events(self):
        return Event.objects.select_related("instance__element", "event_log")


@extend_schema_view(get=extend_schema(tags=EVENTS, operation_id="instances_events_list"))
class EventList(EventListBase):
    def get_queryset(self):
        if schema_only(self):
            return Event.objects.none()
        visible = instances_visible_to(user=self.request.user)
        return self.events().filter(instance__in=visible)


@extend_schema_view(get=extend_schema(tags=EVENTS, operation_id="instances_events_retrieve"))
class EventDetail(RetrieveAPIView):
    serializer_class = EventSerializer

    def get_queryset(self):
        if schema_only(self):
            return Event.objects.none()
        visible = instances_visible_to(user=self.request.user)
        return Event.objects.select_related("instance__element", "event_log").filter(
            instance__in=visible
        )


@extend_schema_view(get=extend_schema(tags=EVENTS, operation_id="instance_events_list"))
class InstanceEventList(EventListBase):
    def get_queryset(self):
        if schema_only(self):
            return Event.objects.none()
        instance = visible_instance(self.request, self.kwargs["pk"])
        return self.events().filter(instance=instance)


# Deliveries -----------------------------------------------------------------------------


def visible_deliveries(request: Request):
    visible = instances_visible_to(user=request.user)
    return with_holds(EventLog.objects.filter(instance__in=visible))


@extend_schema_view(get=extend_schema(tags=DELIVERIES, operation_id="deliveries_list"))
class DeliveryList(ListAPIView):
    serializer_class = DeliverySerializer
    pagination_class = NewestFirst
    filterset_class = DeliveryFilter

    def get_queryset(self):
        if schema_only(self):
            return EventLog.objects.none()
        return visible_deliveries(self.request)


@extend_schema_view(get=extend_schema(tags=DELIVERIES, operation_id="deliveries_retrieve"))
class DeliveryDetail(RetrieveAPIView):
    serializer_class = DeliveryDetailSerializer

    def get_queryset(self):
        if schema_only(self):
            return EventLog.objects.none()
        return visible_deliveries(self.request).prefetch_related("attempts")


def redelivery_queued(redelivery: Deliveries) -> dict:
    return {"deliveries": redelivery.event_log_ids, "queued": len(redelivery.event_log_ids)}


class DeliveryRedeliver(APIView):
    @extend_schema(
        tags=DELIVERIES,
        operation_id="deliveries_redeliver",
        summary="Send this delivery again, same id, new attempt (queued for a worker)",
        request=None,
        responses={202: RedeliveryQueuedSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        delivery = get_object_or_404(visible_deliveries(request), pk=pk)
        redelivery = deliveries_redeliver(event_log_ids=[delivery.pk], background=True)
        return Response(redelivery_queued(redelivery), status.HTTP_202_ACCEPTED)


class DeliveryRelease(APIView):
    @extend_schema(
        tags=DELIVERIES,
        operation_id="deliveries_release",
        summary="Release held deliveries: later deliveries of this delivery's objects stop "
        "waiting for it (per-object ordering); those it held are queued, in order",
        request=None,
        responses={202: ReleasedSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        delivery = get_object_or_404(visible_deliveries(request), pk=pk)
        release = deliveries_release_held(event_log_ids=[delivery.pk], background=True)
        ids = release.deliveries.event_log_ids
        body = {"id": delivery.pk, "deliveries": ids, "queued": len(ids)}
        return Response(body, status.HTTP_202_ACCEPTED)


class InstanceRedeliver(APIView):
    @extend_schema(
        tags=DELIVERIES,
        operation_id="instances_deliveries_redeliver",
        summary="Send every delivery of the instance since a time again (queued, in order)",
        request=RedeliverSinceSerializer,
        responses={202: RedeliveryQueuedSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        instance = visible_instance(request, pk)
        body = RedeliverSinceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        redelivery = instance_deliveries_redeliver(
            instance=instance, since=body.validated_data["since"], background=True
        )
        return Response(redelivery_queued(redelivery), status.HTTP_202_ACCEPTED)


class InstanceReactivate(APIView):
    @extend_schema(
        tags=DELIVERIES,
        operation_id="instances_notifications_reactivate",
        summary="Resume notifications after suspension; the queued deliveries are sent in order "
        "by a worker",
        request=None,
        responses=ReactivatedSerializer,
    )
    def post(self, request: Request, pk: int) -> Response:
        instance = visible_instance(request, pk)
        reactivation = notifications_reactivate(instance=instance, background=True)
        return Response(
            {"instanceId": instance.pk, "queuedDeliveries": reactivation.deliveries.event_log_ids}
        )

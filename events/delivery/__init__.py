"""Delivering EventLogs to the app's callback URL: signed, attempt by attempt, retried.

- ``signing``: the request's headers and signatures;
- ``transport``: the POST and its answer;
- ``retries``: when a failed delivery is tried again, and when it is given up;
- ``state``: claims, outcomes, suspension and reactivation, what is due;
- ``ordering``: per-object ordering: holds behind an earlier delivery, and their release;
- ``sending``: one delivery from claim to recorded outcome, and runs of them in order.

Other modules import from here, not from the modules inside.
"""

from __future__ import annotations

from events.delivery.ordering import delivery_order_release, with_holds
from events.delivery.sending import (
    Attempted,
    Progress,
    deliveries_send,
    delivery_redeliver,
    delivery_send,
)
from events.delivery.signing import elements_signature, request_headers, standard_webhook
from events.delivery.state import (
    ACTIVE,
    deliveries_due,
    deliveries_since,
    delivery_claim,
    initial_status,
    instance_notifications_reactivate,
)

__all__ = [
    "ACTIVE",
    "Attempted",
    "Progress",
    "deliveries_due",
    "deliveries_send",
    "deliveries_since",
    "delivery_claim",
    "delivery_order_release",
    "delivery_redeliver",
    "delivery_send",
    "elements_signature",
    "initial_status",
    "instance_notifications_reactivate",
    "request_headers",
    "standard_webhook",
    "with_holds",
]

"""Delete reconciliation: the deletes a provider never announces
(``event.poller.reconcile.interval``).

A Desk customer, or a GitHub issue, can vanish without a marker any poll could read. A
reconciling poller object keeps the ids it knows in the database (``KnownObject``: every
object its polls captured, every id a scan listed) and, after a successful poll, when a
scan is due, lists the provider's current ids and announces the known ones that are gone:

- **Keyset by id.** Every request is the first page of ``id > last`` sorted by id, ascending
  (the element's ``filters.<idField>`` ``>`` and its ``sort`` turned onto the id:
  ``integrations/instances/capture_config.py``, ``id_scan``), repeated from the greatest id
  read until a page comes back short or empty. Records moving or deleted while we page
  cannot make an id be skipped, as they can with page numbers. More than ``MAX_SCAN_PAGES``
  makes the scan incomplete.
- **Mark and sweep.** Each page's ids get ``seen_at`` = the scan's start (unknown ids are
  added with the listed record) in one short transaction that renews the poll's claim; no
  transaction is open while the provider is asked. A poll marks what it captures with its
  own time (``known_objects_capture``), and forgets an object it captured as DELETED.
- **Only after a complete scan** are the known ids not seen since its start gone: one DELETED
  each, through the one capture path, batched like a poll's changes, each removed with its
  row in the same transaction, so a deletion is announced once. A failed scan deletes
  nothing and is tried again on the next poll; a scan that lists no id while ids were known
  is taken for a provider outage, not a mass delete, and deletes nothing either.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from django.db import transaction
from django.utils import timezone

from core.changes import Change, EventType
from events.capture import changes_capture, storable_json, unstorable
from events.classify import describe, is_deleted
from events.messages import polling_raw
from events.models import KnownObject, Source
from events.scheduling import PollerClaim, poller_claim_renew
from integrations.instances import IdScan, Invalid, event_settings, id_scan
from integrations.models import PollerObject
from integrations.provider import ProviderClient, ProviderError
from integrations.query import HubError, get_path, resolve

log = logging.getLogger(__name__)

# Pages one scan may read (100 ids a page on Desk): past it, the scan is incomplete, and it
# is not tried again before the interval.
MAX_SCAN_PAGES = 500
# Gone objects announced per transaction (rounded down to whole notification batches).
SWEEP_ROWS = 500
COMPLETE, FAILED, REFUSED = "complete", "failed", "refused"
_DELETED = EventType.DELETED.value


class Collects(Protocol):
    """What a scan adds its events and deliveries to: the poll's result, so that they go
    out as the poll's do (``events.polling.PollResult``)."""

    events: Counter
    new_events: list[dict]
    event_log_ids: list[int]
    warnings: list[str]


class CapturingPoll(Protocol):
    """A poll storing what it captured (``events.polling._Poll``)."""

    poller: PollerObject
    pending: list[Change]
    now: datetime
    dry_run: bool


class ScanFailed(Exception):
    """The scan could not list every id; nothing is deleted."""


class _ClaimLost(Exception):
    pass


def reconcile_due(poller: PollerObject, *, now: datetime) -> bool:
    """Whether ``poller`` scans after its poll at ``now``: reconciliation is on for it and
    its last complete scan is older than the interval. A failed scan is tried again at the
    next poll, unless it stopped at the page cap, where the next would stop too."""
    every = event_settings(poller.instance).reconcile_every(poller.name)
    if every is None:
        return False
    if poller.reconciled_at is not None and poller.reconciled_at > now - every:
        return False
    last = poller.reconcile_result or {}
    if last.get("outcome") == FAILED and last.get("pages", 0) >= MAX_SCAN_PAGES:
        return datetime.fromisoformat(last["at"]) <= now - every
    return True


def poller_reconcile(
    *,
    poller: PollerObject,
    claim: PollerClaim,
    client: ProviderClient,
    now: datetime,
    into: Collects,
) -> dict[str, Any] | None:
    """Scan ``poller``'s ids and announce the deletes, when due: after its successful poll at
    ``now``, inside that poll's ``claim``. The DELETED events and their deliveries are added
    to ``into``. Returns the outcome recorded on the poller (``reconcile_result``), or None
    when no scan was due or the claim was lost."""
    if not reconcile_due(poller, now=now):
        return None
    began = timezone.now()
    known = KnownObject.objects.filter(poller_object=poller).count()
    counts = {"scanned": 0, "known": known, "deleted": 0, "pages": 0}

    def finished() -> datetime:
        return now + (timezone.now() - began)

    try:
        try:
            plan = id_scan(poller.instance.element, url=poller.url, id_field=poller.id_field)
            _scan(poller, plan, claim=claim, client=client, start=now, counts=counts)
        except (Invalid, HubError, ProviderError, ScanFailed) as exc:
            into.warnings.append(f"reconciliation failed: {exc}")
            return _record(poller, claim, FAILED, finished(), counts, f"{exc}; nothing deleted")
        except Exception as exc:
            with suppress(_ClaimLost):
                _record(poller, claim, FAILED, finished(), counts, f"internal error: {exc!r}")
            raise
        if counts["scanned"] == 0 and known:
            message = (
                f"the provider listed no {poller.name} while {known} were known: taken for an "
                "outage of the provider, not a mass delete; nothing deleted, the next poll "
                "scans again"
            )
            into.warnings.append(f"reconciliation refused: {message}")
            return _record(poller, claim, REFUSED, finished(), counts, message)
        at = finished()
        counts["deleted"] = _sweep(poller, claim=claim, start=now, date=at, into=into)
        message = (
            f"listed {counts['scanned']} ids in {counts['pages']} pages; "
            f"{counts['deleted']} of {known} known were gone: one DELETED each"
        )
        return _record(poller, claim, COMPLETE, at, counts, message)
    except _ClaimLost:
        log.info("reconciliation of %s stopped: the poll lost its claim", poller)
        return None


def known_objects_capture(*, poll: CapturingPoll, held: Sequence[Change]) -> None:
    """Remember the objects a poll of a reconciling poller just captured (``poll.pending``,
    less the ``held`` ones not stored yet): each with its record, seen at the poll's time.
    One captured as DELETED (its deleted marker) was announced, and is forgotten. Run it in
    the capture's transaction; a dry run remembers nothing."""
    poller, changes = poll.poller, poll.pending
    if poll.dry_run or not changes:
        return
    if event_settings(poller.instance).reconcile_every(poller.name) is None:
        return
    waiting = {(change.object_id, change.version) for change in held}
    latest: dict[str, Change] = {}
    for change in changes:
        if (change.object_id, change.version) not in waiting and not unstorable(change):
            latest[change.object_id] = change
    gone = [object_id for object_id, change in latest.items() if change.event_type == _DELETED]
    if gone:
        KnownObject.objects.filter(poller_object=poller, object_id__in=gone).delete()
    rows = [
        KnownObject(
            poller_object=poller,
            object_id=object_id,
            record=_storable_record(change.record),
            seen_at=poll.now,
        )
        for object_id, change in latest.items()
        if change.event_type != _DELETED
    ]
    _upsert(rows, update=["record", "seen_at"])


def _scan(
    poller: PollerObject,
    plan: IdScan,
    *,
    claim: PollerClaim,
    client: ProviderClient,
    start: datetime,
    counts: dict[str, int],
) -> None:
    """List every id in ascending order, page by page, marking each as seen at ``start``."""
    element = poller.instance.element
    resource = element.resources[plan.resource]
    size_param = element.definition.get("pagination", {}).get("pageSizeParam")
    after: int | None = None
    while True:
        if counts["pages"] >= MAX_SCAN_PAGES:
            raise ScanFailed(
                f"the scan stopped after {MAX_SCAN_PAGES} pages ({counts['scanned']} ids) with "
                "more to come, so it is incomplete; raise the poller's pageSize, or leave "
                f"{poller.name} out of event.poller.reconcile.interval"
            )
        url = f"/hubs/{element.hub}/{plan.resource}"
        if after is not None:
            url += f"?where={plan.id_field}>{after}"
        query = resolve(
            element, url, page_size=poller.page_size, configuration=poller.instance.configuration
        )
        query.params.update(plan.sort)
        pages = client.iter_pages(
            query.path, query.params, page_size=query.page_size, resource=resource
        )
        try:
            page = next(pages)
        finally:
            pages.close()  # only the first page: the next request starts after its last id
        entries = _listed(page.records, poller, after=after)
        with transaction.atomic():
            _renew(claim)
            _mark(poller, entries, start)
        counts["pages"] += 1
        counts["scanned"] += len(entries)
        sent = parse_qs(urlsplit(page.url).query).get(size_param or "", [""])[-1]
        if not entries or (sent.isdigit() and len(entries) < int(sent)):
            return
        after = entries[-1][0]


def _listed(records: list, poller: PollerObject, *, after: int | None) -> list[tuple]:
    """``(id, objectId, record)`` of a page's records, checked to be in ascending id order
    after ``after``: otherwise the scan cannot tell which ids it has seen."""
    entries = []
    for record in records:
        raw = get_path(record, poller.id_field) if isinstance(record, dict) else None
        text = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
        if not text.isdigit():
            raise ScanFailed(
                f"a listed record has no whole-number id at {poller.id_field!r}: {describe(record)}"
            )
        number = int(text)
        if after is not None and number <= after:
            raise ScanFailed(
                f"the provider listed id {number} after {after}: not in ascending id order, "
                "so the scan cannot tell which ids it has seen"
            )
        entries.append((number, text, record))
        after = number
    return entries


def _mark(poller: PollerObject, entries: list[tuple], start: datetime) -> None:
    """The listed ids are seen at ``start``; unknown ones are added with their record. A
    record its deleted marker matches is announced (or will be) by the poll: not added."""
    marker = poller.deleted_marker
    deleted = [text for _, text, record in entries if is_deleted(record, marker)]
    if deleted:
        KnownObject.objects.filter(poller_object=poller, object_id__in=deleted).update(
            seen_at=start
        )
    rows = [
        KnownObject(
            poller_object=poller, object_id=text, record=_storable_record(record), seen_at=start
        )
        for _, text, record in entries
        if not is_deleted(record, marker)
    ]
    _upsert(rows, update=["seen_at"])


def _sweep(
    poller: PollerObject, *, claim: PollerClaim, start: datetime, date: datetime, into: Collects
) -> int:
    """Announce the known objects not seen since ``start``: a DELETED event each, versioned
    by the scan, stored and forgotten in one transaction per ``SWEEP_ROWS``."""
    instance = poller.instance
    batch_size = event_settings(instance).batch_size
    rows_per_transaction = max(batch_size, SWEEP_ROWS // batch_size * batch_size)
    version = f"deleted@{start.isoformat()}"
    deleted = 0
    while True:
        with transaction.atomic():
            _renew(claim)
            gone = list(
                KnownObject.objects.filter(poller_object=poller, seen_at__lt=start).order_by("pk")[
                    :rows_per_transaction
                ]
            )
            if not gone:
                return deleted
            changes = [
                Change(
                    object_type=poller.name,
                    object_id=row.object_id,
                    event_type=_DELETED,
                    date=date,
                    record=row.record,
                    version=version,
                )
                for row in gone
            ]
            captured = changes_capture(
                instance=instance,
                changes=changes,
                source=Source.POLLING,
                now=start,
                batch_size=batch_size,
                raw=lambda batch: polling_raw(poller.name, [c.record for c in batch], start),
                poll_date=start,
            )
            KnownObject.objects.filter(pk__in=[row.pk for row in gone]).delete()
        into.events.update(captured.events)
        into.new_events.extend(captured.new_events)
        into.event_log_ids.extend(captured.event_log_ids)
        deleted += len(gone)


def _record(
    poller: PollerObject,
    claim: PollerClaim,
    outcome: str,
    at: datetime,
    counts: dict[str, int],
    message: str,
) -> dict[str, Any]:
    """Store the scan's outcome on the poller (and, complete, when it finished), and log it."""
    result = storable_json({"at": at.isoformat(), "outcome": outcome, **counts, "message": message})
    fields: dict[str, Any] = {"reconcile_result": result}
    if outcome == COMPLETE:
        fields["reconciled_at"] = at
    with transaction.atomic():
        _renew(claim)
        PollerObject.objects.filter(pk=poller.pk).update(**fields)
    for name, value in fields.items():
        setattr(poller, name, value)
    level = logging.INFO if outcome == COMPLETE else logging.WARNING
    log.log(
        level,
        "reconciliation of %s %s: %s",
        poller,
        outcome,
        message,
        extra={"instance_id": poller.instance_id, "poller_id": poller.pk},
    )
    return result


def _renew(claim: PollerClaim) -> None:
    # First in each transaction, as a poll's pages do: a scan that lost its claim to another
    # worker (or to a capture restart) stores nothing more.
    if not poller_claim_renew(claim=claim):
        raise _ClaimLost


def _upsert(rows: list[KnownObject], *, update: list[str]) -> None:
    if rows:
        KnownObject.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["poller_object", "object_id"],
            update_fields=update,
        )


def _storable_record(record: Any) -> Any:
    return storable_json(record if isinstance(record, dict) else {"value": record})

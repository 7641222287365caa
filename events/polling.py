"""Polling one PollerObject: from its URL template to stored Events and EventLogs.

The cursor algorithm (docs/architecture.md, "Change capture"):
- the window starts at ``cursor − pollDelay − lookback``; the cursor is the highest provider
  ``updated`` value seen, so provider and Tributary clocks never mix;
- re-reading the overlap is harmless because an Event's version (updated value + content
  hash) is unique per object, so a record already captured is skipped (events/capture.py);
- Events, EventLogs and the cursor advance commit in one transaction: a failure anywhere
  leaves the cursor where it was.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from core.changes import Change
from events.capture import changes_capture
from events.classify import RecordError, classify, describe, filter_date
from events.messages import polling_raw
from events.models import Source
from events.scheduling import poll_failed, poll_succeeded, poller_claim, poller_release
from integrations.instances import event_settings
from integrations.models import Instance, PollerObject
from integrations.provider import PageCapReached, ProviderClient, ProviderError
from integrations.query import HubError, PlaceholderError, render_template, resolve

log = logging.getLogger(__name__)

MAX_WARNINGS = 20


class PollError(Exception):
    """A poll failed; the cursor stayed and the message is recorded on the PollerObject."""


class PollSkipped(Exception):
    """Another worker holds the PollerObject."""


@dataclass
class PollResult:
    poller_object_id: int
    object_type: str
    pages: int = 0
    records: int = 0
    events: Counter = field(default_factory=Counter)
    cursor_before: datetime | None = None
    cursor_after: datetime | None = None
    windows: int = 1
    warnings: list[str] = field(default_factory=list)
    new_events: list[dict] = field(default_factory=list)
    event_log_ids: list[int] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> dict:
        return {
            "objectType": self.object_type,
            "pages": self.pages,
            "records": self.records,
            "events": dict(self.events),
            "cursorBefore": self.cursor_before.isoformat() if self.cursor_before else None,
            "cursorAfter": self.cursor_after.isoformat() if self.cursor_after else None,
            "windows": self.windows,
            "warnings": self.warnings,
            "dryRun": self.dry_run,
        }


def window_start(poller: PollerObject, now: datetime) -> datetime:
    """The cursor, or on the first poll the baseline: when events were enabled, or the
    backfill date the instance asks for."""
    if poller.cursor is not None:
        return poller.cursor
    return (
        event_settings(poller.instance).backfill_since or poller.instance.events_enabled_at or now
    )


class _Poll:
    """One run over the provider's pages; holds only a batch of records at a time."""

    def __init__(
        self,
        poller: PollerObject,
        *,
        now: datetime,
        dry_run: bool,
        client,
        progress: Callable[[PollResult], None] | None = None,
    ) -> None:
        self.poller = poller
        self.progress = progress
        self.instance = poller.instance
        self.element = poller.instance.element
        self.now = now
        self.dry_run = dry_run
        self.client = client
        self.start = window_start(poller, now)
        self.since = self.start - timedelta(seconds=poller.poll_delay + poller.lookback)
        # Changes older than this are not events. The first poll is a baseline: nothing
        # from before events were enabled (or the backfill date), though it reads the
        # lookback like every poll.
        self.floor = self.since if poller.cursor is not None else self.start
        self.batch_size = event_settings(self.instance).batch_size
        self.result = PollResult(
            poller_object_id=poller.pk,
            object_type=poller.name,
            cursor_before=poller.cursor,
            dry_run=dry_run,
        )
        self.max_seen: datetime | None = None
        # object_id -> (version, updated) of what this poll saw: a second, different version
        # means the record moved while we paged, and offset pages may have shifted under us.
        self.seen: dict[str, tuple[str, datetime | None]] = {}
        self.rewind_to: datetime | None = None
        self.pending: list[Change] = []
        self.uses_dates = bool((poller.dates_configuration or {}).get("updatedDateField"))

    def run(self) -> PollResult:
        at = self.since
        while True:
            url = render_template(self.poller.url, at=at)
            query = resolve(
                self.element,
                url,
                page_size=self.poller.page_size,
                configuration=self.instance.configuration,
            )
            resource = self.element.resources.get(query.resource)
            before = self.max_seen
            try:
                for page in self.client.iter_pages(
                    query.path, query.params, page_size=query.page_size, resource=resource
                ):
                    self.result.pages += 1
                    self._take_page(page.records, query)
                    if self.progress:
                        self.progress(self.result)
                break
            except PageCapReached:
                # Too many pages for one window: start a new window at the newest change seen.
                if self.max_seen is None or self.max_seen == before:
                    raise PollError(
                        "the provider's page limit was reached and the window cannot be "
                        "narrowed further (more changes share one second than fit in the "
                        "page limit); lower the refresh interval or raise pageSize"
                    ) from None
                at = self.max_seen - timedelta(seconds=1)
                self.result.windows += 1
        self._flush()
        self.result.cursor_after = self._next_cursor()
        return self.result

    def _take_page(self, records: list[dict], query) -> None:
        for record in records:
            self.result.records += 1
            if not isinstance(record, dict):
                self._warn(f"skipped a record that is not a JSON object: {describe(record)}")
                continue
            if not query.matches(record):
                continue
            try:
                classified = classify(record, self.poller)
            except RecordError as exc:
                self._warn(f"skipped a record: {exc}: {describe(record)}")
                continue
            compared = filter_date(classified, self.poller)
            if compared is not None and compared <= self.floor:
                continue
            if self.poller.filter_by_current_date and compared is not None and compared > self.now:
                continue
            change, updated = classified.change, classified.updated
            previous = self.seen.get(change.object_id)
            if previous is not None and previous[0] != change.version and previous[1]:
                self.rewind_to = min(filter(None, [self.rewind_to, previous[1]]))
            self.seen[change.object_id] = (change.version, updated)
            if updated is not None and (self.max_seen is None or updated > self.max_seen):
                self.max_seen = updated
            self.pending.append(change)
        self._flush(full_batches_only=True)

    def _flush(self, *, full_batches_only: bool = False) -> None:
        """Store what is pending; with ``full_batches_only``, keep a partial batch pending
        for the next page, so messages stay full."""
        if not self.pending:
            return
        captured = changes_capture(
            instance=self.instance,
            changes=self.pending,
            source=Source.POLLING,
            now=self.now,
            batch_size=self.batch_size,
            raw=self._raw,
            poll_date=self.now,
            full_batches_only=full_batches_only,
            dry_run=self.dry_run,
        )
        self.pending = captured.held
        self.result.events.update(captured.events)
        self.result.new_events.extend(captured.new_events)
        self.result.event_log_ids.extend(captured.event_log_ids)

    def _raw(self, batch: Sequence[Change]) -> dict:
        return polling_raw(self.poller.name, [change.record for change in batch], self.now)

    def _next_cursor(self) -> datetime:
        if not self.uses_dates:
            return self.now
        cursor = max(self.start, self.max_seen) if self.max_seen else self.start
        if self.rewind_to is not None:
            cursor = max(self.start, min(cursor, self.rewind_to))
        return cursor

    def _warn(self, message: str) -> None:
        if len(self.result.warnings) < MAX_WARNINGS:
            self.result.warnings.append(message)
        log.warning("poller %s: %s", self.poller.pk, message)


def poll_object(
    *,
    poller_object_id: int,
    dry_run: bool = False,
    now: datetime | None = None,
    client: ProviderClient | None = None,
    progress: Callable[[PollResult], None] | None = None,
) -> PollResult:
    """Poll one PollerObject now. Raises PollSkipped when another worker holds it and
    PollError (after recording it on the PollerObject) when the poll fails. ``progress`` is
    called with the result so far after every page."""
    now = now or timezone.now()
    if not poller_claim(poller_object_id=poller_object_id, now=now):
        raise PollSkipped(f"poller object {poller_object_id} is being polled by another worker")
    try:
        poller = PollerObject.objects.select_related("instance__element").get(pk=poller_object_id)
        client = client or ProviderClient(poller.instance)
        try:
            with transaction.atomic():
                result = _Poll(
                    poller, now=now, dry_run=dry_run, client=client, progress=progress
                ).run()
                if not dry_run:
                    poll_succeeded(
                        poller=poller, summary=result.summary(), cursor=result.cursor_after, now=now
                    )
        except (ProviderError, HubError, PlaceholderError, PollError) as exc:
            _after_failure(poller, client, str(exc), now, dry_run=dry_run)
            raise PollError(str(exc)) from exc
        except Exception as exc:
            _after_failure(poller, client, f"internal error: {exc!r}", now, dry_run=dry_run)
            raise
        return result
    finally:
        poller_release(poller_object_id=poller_object_id)


def _after_failure(
    poller: PollerObject, client, message: str, now: datetime, *, dry_run: bool
) -> None:
    if getattr(client, "renewed", False):
        # The renewed OAuth 2 tokens were saved inside the poll's rolled-back transaction,
        # but the provider may already have spent the old refresh token: keep the new ones.
        Instance.objects.filter(pk=poller.instance_id).update(
            provider_data=client.instance.provider_data
        )
    if not dry_run:
        poll_failed(poller=poller, message=message, now=now)

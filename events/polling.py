"""Polling one PollerObject: from its URL template to stored Events and EventLogs.

The cursor algorithm (docs/architecture.md, "Change capture"):
- the window starts at ``cursor − pollDelay − lookback``; the cursor is the highest provider
  ``updated`` value seen, so provider and Tributary clocks never mix;
- the first poll starts from the baseline, the moment events were enabled on the provider's
  clock (events/baseline.py); no change at or before it is ever an event;
- re-reading the overlap is harmless because an Event's version (updated value + content
  hash) is unique per object, so a record already captured is skipped (events/capture.py);
- no transaction is open while a page is fetched: each page's new changes commit in one
  short transaction with the progress they make (a cursor that passes no record still to
  be read or stored, see ``_progress_cursor``) and a renewed claim, so a poll that fails, is
  killed or outlives the task timeout keeps what it stored and resumes from there, and a
  slow provider never holds a database lock.
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
from events.baseline import ProviderClock, baseline_at, window_start
from events.capture import changes_capture
from events.classify import RecordError, classify, describe, filter_date
from events.messages import polling_raw
from events.models import Source
from events.reconcile import known_objects_capture, poller_reconcile
from events.scheduling import (
    PollerClaim,
    poll_failed,
    poll_progressed,
    poll_succeeded,
    poller_claim,
    poller_claim_renew,
    poller_release,
)
from integrations.instances import event_settings
from integrations.models import PollerObject
from integrations.provider import PageCapReached, ProviderClient, ProviderError
from integrations.query import HubError, PlaceholderError, render_template, resolve

log = logging.getLogger(__name__)

MAX_WARNINGS = 20


class PollError(Exception):
    """A poll failed; the message is recorded on the PollerObject, and the cursor stays
    where the pages stored before the failure took it."""


class PollSkipped(Exception):
    """Another worker holds the PollerObject."""


class ClaimLost(PollSkipped):
    """The poll lost its claim mid-way (it outlived its lease and another worker took the
    PollerObject, or capture was restarted): it stops and stores nothing more."""


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
    clock_skew: float | None = None
    baseline: datetime | None = None
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
            "clockSkewSeconds": self.clock_skew,
            "baseline": self.baseline.isoformat() if self.baseline else None,
            "warnings": self.warnings,
            "dryRun": self.dry_run,
        }


class _Poll:
    """One run over the provider's pages; holds only a batch of records at a time."""

    def __init__(
        self,
        poller: PollerObject,
        *,
        claim: PollerClaim,
        now: datetime,
        dry_run: bool,
        client,
        progress: Callable[[PollResult], None] | None = None,
    ) -> None:
        self.poller = poller
        self.claim = claim
        self.progress = progress
        self.instance = poller.instance
        self.element = poller.instance.element
        self.now = now
        self.dry_run = dry_run
        self.client = client
        self.clock = ProviderClock(now, client)
        self.start = window_start(poller, now)
        self.overlap = timedelta(seconds=poller.poll_delay + poller.lookback)
        self.since = self.start - self.overlap
        self.baseline = poller.cursor is None
        # Changes at or before this are not events: on a first poll the baseline (``_settle``
        # puts it on the provider's clock), later the window's start but never the baseline.
        self.floor = self.start if self.baseline else max(self.since, poller.baseline or self.since)
        # A first poll without the provider's clock: what it reads is history (``_settle``).
        self.history_only = False
        self.newest: datetime | None = None
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
        # Whether the records come in ascending updated order: the resource's sort is sent
        # and every record so far kept to it. Progress is saved mid-poll only then.
        self.ascending = self.uses_dates
        self.last_updated: datetime | None = None
        self.saved = self.start

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
            resource = self.element.resources.get(query.resource) or {}
            sort = resource.get("sort") or {}
            self.ascending = self.ascending and bool(sort) and sort.items() <= query.params.items()
            self.last_updated = None
            before = self.max_seen
            try:
                for page in self.client.iter_pages(
                    query.path, query.params, page_size=query.page_size, resource=resource
                ):
                    self.result.pages += 1
                    if self._settle():  # the first window started too late: again
                        break
                    self._take_page(page.records, query)
                    self._store_page()
                    if self.progress:
                        self.progress(self.result)
                else:
                    break
                at = self.since
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
        self._settle()
        if self.history_only:
            self.start = self.newest or self.start
        self.result.baseline = self.start if self.baseline else self.poller.baseline
        self.result.clock_skew = self.clock.skew
        with transaction.atomic():
            self._renew()
            self._flush()
            self.result.cursor_after = self._next_cursor()
            if not self.dry_run:
                poll_succeeded(
                    poller=self.poller,
                    summary=self.result.summary(),
                    cursor=self.result.cursor_after,
                    now=self.now,
                    baseline=self.start if self.baseline else None,
                    clock_skew=self.clock.skew,
                )
        return self.result

    def _settle(self) -> bool:
        """Once the first answer is read: the provider's clock and a first poll's baseline on
        it, or without it the newest change read. True when the first window must be read
        again from the baseline: the provider's clock is behind ours by over the overlap."""
        if self.clock.read:
            return False
        if problem := self.clock.read_once(self.client):
            self._warn(problem)
        skew = self.clock.skew
        if skew is not None:
            self.poller.clock_skew = skew  # recorded with a failure too
        if not self.baseline or skew is None:
            self.history_only = self.baseline and self.uses_dates
            return False
        self.start = self.floor = self.saved = baseline_at(self.start, skew)
        if self.start >= self.since:
            return False
        self.since = self.start - self.overlap
        return True

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
            change, updated = classified.change, classified.updated
            if updated is not None:
                if self.last_updated is not None and updated < self.last_updated:
                    self.ascending = False
                else:
                    self.last_updated = updated
            compared = filter_date(classified, self.poller)
            if self.history_only:
                self.newest = max(filter(None, [self.newest, compared]), default=None)
                self.max_seen = max(filter(None, [self.max_seen, updated]), default=None)
                continue
            if compared is not None and compared <= self.floor:
                continue
            late = compared is not None and compared > self.clock.provider_now()
            if self.poller.filter_by_current_date and late:
                continue
            previous = self.seen.get(change.object_id)
            if previous is not None and previous[0] != change.version and previous[1]:
                self.rewind_to = min(filter(None, [self.rewind_to, previous[1]]))
            self.seen[change.object_id] = (change.version, updated)
            if updated is not None and (self.max_seen is None or updated > self.max_seen):
                self.max_seen = updated
            self.pending.append(change)

    def _store_page(self) -> None:
        """Commit the page's full batches with the progress they make, and a renewed claim,
        in one short transaction. The cursor moves only with something stored: a poll that
        stored nothing leaves it where it was."""
        with transaction.atomic():
            self._renew()
            stored = self._flush(full_batches_only=True)
            cursor = self._progress_cursor() if stored else None
            if cursor is not None:
                baseline = self.start if self.baseline else None
                poll_progressed(poller=self.poller, cursor=cursor, baseline=baseline)
                self.saved = cursor

    def _renew(self) -> None:
        # First in the transaction: on PostgreSQL it locks the PollerObject row until the
        # commit, so a worker that took the object over cannot interleave.
        if not poller_claim_renew(claim=self.claim):
            raise ClaimLost(
                f"poller object {self.poller.pk} was taken over while it was being polled"
            )

    def _flush(self, *, full_batches_only: bool = False) -> int:
        """Store what is pending; with ``full_batches_only``, keep a partial batch pending
        for the next page, so messages stay full. Returns how many events were stored."""
        if not self.pending:
            return 0
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
        known_objects_capture(poll=self, held=captured.held)
        self.pending = captured.held
        self.result.events.update(captured.events)
        self.result.new_events.extend(captured.new_events)
        self.result.event_log_ids.extend(captured.event_log_ids)
        for reason in captured.skipped:
            self._warn(reason)
        return captured.stored

    def _raw(self, batch: Sequence[Change]) -> dict:
        return polling_raw(self.poller.name, [change.record for change in batch], self.now)

    def _next_cursor(self) -> datetime:
        """The cursor once every page of the window has been read."""
        if not self.uses_dates:
            return self.clock.provider_now()
        cursor = max(self.start, self.max_seen) if self.max_seen else self.start
        if self.rewind_to is not None:
            cursor = max(self.start, min(cursor, self.rewind_to))
        return cursor

    def _progress_cursor(self) -> datetime | None:
        """Where the next poll may start should this one stop after the page just stored,
        or None to leave the saved cursor.

        With records in ascending updated order, any record not read yet (also one that
        slipped past unseen because a record moved) is at least as new as the newest read,
        and the next window re-reads the overlap before the cursor. It must not pass a
        change still held for a full batch either. A baseline poll saves no cursor whose
        window would reach back before the baseline: the next poll takes the overlap as
        events, so the first window must have moved past it.
        """
        if self.dry_run or not self.ascending:
            return None
        cursor = self._next_cursor()
        held = [change.date for change in self.pending]
        if held:
            if None in held:
                return None
            cursor = min(cursor, *held)
        if self.baseline and cursor - self.overlap < self.start:
            return None
        return cursor if cursor > self.saved else None

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
    """Poll one PollerObject now. Raises PollSkipped when another worker holds it (or
    takes it over mid-poll) and PollError (after recording it on the PollerObject) when the
    poll fails. ``progress`` is called with the result so far after every page stored."""
    now = now or timezone.now()
    claim = poller_claim(poller_object_id=poller_object_id, now=now)
    if claim is None:
        raise PollSkipped(f"poller object {poller_object_id} is being polled by another worker")
    try:
        poller = PollerObject.objects.select_related("instance__element").get(pk=poller_object_id)
        client = client or ProviderClient(poller.instance)
        try:
            result = _Poll(
                poller, claim=claim, now=now, dry_run=dry_run, client=client, progress=progress
            ).run()
        except PollSkipped:
            raise
        except (ProviderError, HubError, PlaceholderError, PollError) as exc:
            _after_failure(poller, str(exc), now, dry_run=dry_run)
            raise PollError(str(exc)) from exc
        except Exception as exc:
            _after_failure(poller, f"internal error: {exc!r}", now, dry_run=dry_run)
            raise
        if not dry_run:  # deletes no listing shows: events/reconcile.py
            poller_reconcile(poller=poller, claim=claim, client=client, now=now, into=result)
        return result
    finally:
        poller_release(claim=claim)


def _after_failure(poller: PollerObject, message: str, now: datetime, *, dry_run: bool) -> None:
    # What the poll stored before it failed stays, with its progress; renewed OAuth 2 tokens
    # were saved when they came (no transaction is open while the provider is asked).
    if not dry_run:
        poll_failed(poller=poller, message=message, now=now, clock_skew=poller.clock_skew)

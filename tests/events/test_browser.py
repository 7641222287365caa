"""The event log in a real browser: Debian's Chromium driven by Playwright for Python.

Playwright's own browser download does not work on our machines, so the test drives the
system Chromium (TRIBUTARY_CHROMIUM, default /usr/bin/chromium; .ci/run installs it). It is
skipped when Chromium is missing on a developer machine, and fails when it is missing in CI.

Screenshots go to the test's temp dir; TRIBUTARY_SCREENSHOTS=1 also writes the README images
docs/event-log-*.png (laptop and phone), so ordinary runs leave the tree clean.
"""

import os
import shutil
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone

from events.models import DeliveryAttempt, EventLog
from tests.events.eventlog_data import delivery
from tests.events.factories import DeliveryAttemptFactory
from tests.events.queued import run_queued_tasks
from tests.factories import InstanceFactory, UserFactory

CHROMIUM = os.environ.get("TRIBUTARY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS = Path(__file__).resolve().parents[2] / "docs"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
EVIL = {"id": 7, "name": "<script>alert(1)</script>", "email": "mallory@example.com"}

pytestmark = pytest.mark.slow


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture
def sync_playwright():
    problem = ""
    if not shutil.which(CHROMIUM):
        problem = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = problem or "playwright is not installed (pip install -e '.[dev]')"
    if problem:
        if in_ci():
            pytest.fail(f"browser test cannot run in CI: {problem}")
        pytest.skip(problem)
    return sync_playwright


@pytest.fixture
def site(transactional_db, receiver):
    """An app developer with a Desk instance and a day of deliveries."""
    owner = UserFactory(username="dev")
    instance = InstanceFactory(owner=owner, name="Acme Desk", callback_url=receiver.url)
    now = timezone.now()
    for hours in range(1, 20):
        status = EventLog.Status.FAILED if hours % 7 == 0 else EventLog.Status.DELIVERED
        for n in range(hours % 4 + 1):
            delivery(
                instance,
                ("incidents", str(40 + hours), "UPDATED"),
                created=now - timedelta(hours=hours, minutes=n),
                status=status,
                attempt_count=1,
                last_status_code=200 if status == EventLog.Status.DELIVERED else 503,
            )
    contact = delivery(
        instance,
        ("contacts", "7", "UPDATED"),
        records=[EVIL],
        status=EventLog.Status.FAILED,
        attempt_count=1,
        last_status_code=503,
        last_error="the callback answered 503",
    )
    DeliveryAttemptFactory(
        event_log=contact,
        status_code=503,
        response_body="<html><h1>503 Service Unavailable</h1></html>",
        duration_ms=1204,
        error="the callback answered 503",
        request_headers={"Content-Type": "application/json", "webhook-id": "msg_7"},
    )
    return contact


def run_in_worker_thread(function):
    """Run ``function`` in a thread of its own, as a worker would, closing its database
    connection after: Playwright's event loop in this thread would give it a connection
    of its own that the test's teardown never closes."""
    results = []

    def run() -> None:
        try:
            results.append(function())
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return results[0]


def save(page, tmp_path: Path, name: str, *, full_page: bool = True) -> None:
    page.screenshot(path=tmp_path / name, full_page=full_page)
    if os.environ.get("TRIBUTARY_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(tmp_path / name, DOCS / name)


def test_it_filters_opens_and_redelivers_a_delivery(
    sync_playwright, live_server, site, receiver, tmp_path, monkeypatch
):
    # Playwright's sync API runs an event loop in this thread; the ORM is used from the
    # live server's thread only, but Django's guard looks at this one.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    dialogs = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=LAPTOP)
            page = context.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

            page.goto(f"{live_server.url}/events/log/")
            page.fill("input[name=username]", "dev")
            page.fill("input[name=password]", "pass-1234-word")
            page.click("button[type=submit]")
            page.wait_for_selector("table.deliveries")
            assert page.locator("table.deliveries tbody tr").count() == 50
            save(page, tmp_path, "event-log-list.png", full_page=False)

            page.fill("input[name=object_type]", "contacts")
            page.click("form.filters button[type=submit]")
            page.wait_for_url("**object_type=contacts**")
            rows = page.locator("table.deliveries tbody tr")
            assert rows.count() == 1
            assert "contacts" in rows.first.inner_text()

            rows.first.locator("a.row-link").click()
            page.wait_for_selector("h1:has-text('Delivery')")
            raw = page.locator("#raw-payload pre")
            assert not raw.is_visible()
            page.click("#raw-payload summary")
            assert raw.is_visible()
            assert "<script>alert(1)</script>" in raw.inner_text()

            page.click("button:has-text('Redeliver')")
            page.wait_for_selector(".message.success")
            assert "Queued 1 delivery for redelivery" in page.inner_text(".messages")
            assert run_in_worker_thread(run_queued_tasks) == 1
            page.reload()
            attempts = page.locator("#attempts li")
            assert attempts.count() == 2
            assert "Manual" in attempts.nth(1).inner_text()
            assert "200" in attempts.nth(1).inner_text()
            page.click("#raw-payload summary")
            save(page, tmp_path, "event-log-detail.png")

            phone = browser.new_context(
                viewport=PHONE, is_mobile=True, storage_state=context.storage_state()
            ).new_page()
            phone.goto(page.url)
            phone.wait_for_selector("#attempts")
            save(phone, tmp_path, "event-log-detail-phone.png")
            phone.goto(f"{live_server.url}/events/log/")
            save(phone, tmp_path, "event-log-list-phone.png", full_page=False)
        finally:
            browser.close()

    assert dialogs == []
    assert len(receiver.requests) == 1
    assert DeliveryAttempt.objects.filter(event_log=site, trigger="manual").count() == 1

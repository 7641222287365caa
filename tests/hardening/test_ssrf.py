"""The SSRF guard: with TRIBUTARY_ALLOW_PRIVATE_URLS off, callback and provider URLs that reach
loopback, private, link-local, carrier-grade NAT, multicast or cloud-metadata addresses are
refused when saved and again when called, and redirects are never followed."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from events.delivery import delivery_send
from events.models import EventLog
from events.polling import PollError, poll_object
from integrations.instances import InstanceJSONError, instance_create
from integrations.models import Instance, PollerObject
from integrations.provider import OAuthError, ProviderClient, oauth1_request_token, url_problems
from tests.events.conftest import desk_instance_json
from tests.events.factories import EventLogFactory
from tests.factories import InstanceFactory
from tests.integrations.test_admin import instance_form_data

SUFFIX = "unless TRIBUTARY_ALLOW_PRIVATE_URLS is on"
PUBLIC = "93.184.216.34"


@pytest.fixture
def guard(settings):
    settings.TRIBUTARY_ALLOW_PRIVATE_URLS = False


@pytest.fixture
def dns(monkeypatch):
    """``dns["name.test"] = ["10.0.0.5", ...]``: each lookup of the name takes the next answer
    (the last one sticks), as a rebinding DNS server would hand them out."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        queue = answers[host]
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, int(port or 80)))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:8000/hook", "a loopback address"),
        ("http://localhost/hook", "a loopback address"),
        ("http://[::1]/hook", "a loopback address"),
        ("https://10.0.0.5/hook", "a private address"),
        ("https://172.16.3.4/hook", "a private address"),
        ("https://192.168.1.10/hook", "a private address"),
        ("https://[fd12:3456::1]/hook", "a private address"),
        ("http://169.254.10.1/hook", "a link-local address"),
        ("http://[fe80::1]/hook", "a link-local address"),
        ("http://100.64.0.1/hook", "a carrier-grade NAT address"),
        ("http://224.0.0.251/hook", "a multicast address"),
        ("http://[ff02::1]/hook", "a multicast address"),
        ("http://0.0.0.0/hook", "an unspecified address"),
        ("http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "a cloud metadata address"),
        ("http://metadata.google.internal/computeMetadata/v1/", "a cloud metadata address"),
        ("http://[::ffff:10.0.0.5]/hook", "a private address"),
        ("http://[::ffff:169.254.169.254]/hook", "a cloud metadata address"),
        ("http://2130706433/hook", "a loopback address"),
        ("http://[::127.0.0.1]/hook", "a loopback address"),
        ("http://[64:ff9b::a00:5]/hook", "a private address"),
    ],
)
def test_it_refuses_addresses_that_are_not_public(guard, url, kind):
    (problem,) = url_problems(url)

    assert kind in problem
    assert problem.endswith(SUFFIX)


def test_it_names_what_a_hostname_resolves_to(guard, dns):
    dns["intranet.test"] = ["10.1.2.3"]

    assert url_problems("https://intranet.test/hook") == [
        f"intranet.test resolves to 10.1.2.3, which is a private address; "
        f"Tributary does not call private addresses {SUFFIX}"
    ]


@pytest.mark.parametrize(
    "url", [f"https://{PUBLIC}/hook", "https://[2606:4700:4700::1111]/hook", "http://8.8.8.8:8080"]
)
def test_it_accepts_public_addresses(guard, url):
    assert url_problems(url) == []


def test_it_allows_private_addresses_when_the_setting_is_on(settings):
    settings.TRIBUTARY_ALLOW_PRIVATE_URLS = True

    assert url_problems("http://169.254.169.254/latest/meta-data/") == []


# At save time --------------------------------------------------------------------------


def test_it_refuses_a_private_callback_url_in_the_instance_json(guard, desk, user):
    data = desk_instance_json(
        "acme.desk.com", **{"event.notification.callback.url": "http://10.0.0.5/hook"}
    )

    with pytest.raises(InstanceJSONError) as refused:
        instance_create(owner=user, data=data)

    assert refused.value.errors == [
        "event.notification.callback.url: 10.0.0.5 is a private address; Tributary does not "
        f"call private addresses {SUFFIX}"
    ]


def test_it_refuses_a_provider_site_at_the_metadata_address(guard, desk, user):
    data = desk_instance_json("http://169.254.169.254")

    with pytest.raises(InstanceJSONError) as refused:
        instance_create(owner=user, data=data)

    assert refused.value.errors == [
        "site.address: 169.254.169.254 is a cloud metadata address; Tributary does not call "
        f"cloud metadata addresses {SUFFIX}"
    ]


def test_the_api_answers_400_with_the_refusal(guard, desk, user, client):
    client.force_login(user)
    data = desk_instance_json("localhost")

    response = client.post(
        "/elements/api-v2/instances", json.dumps(data), content_type="application/json"
    )

    assert response.status_code == 400
    assert "site.address: localhost resolves to 127.0.0.1" in response.content.decode()
    assert Instance.objects.count() == 0


def test_the_admin_form_refuses_a_private_callback_url_and_site(guard, desk, user, staff, client):
    instance = InstanceFactory(element=desk, owner=user)
    client.force_login(staff)
    data = instance_form_data(
        instance,
        callback_url="http://192.168.0.7/hook",
        configuration=json.dumps({"site.address": "http://100.64.1.1"}),
    )

    response = client.post(reverse("admin:integrations_instance_change", args=[instance.pk]), data)

    page = response.content.decode()
    assert response.status_code == 200
    assert "192.168.0.7 is a private address" in page
    assert "site.address: 100.64.1.1 is a carrier-grade NAT address" in page
    assert Instance.objects.get(pk=instance.pk).callback_url == instance.callback_url


# At send time --------------------------------------------------------------------------


def test_a_delivery_to_a_private_address_is_a_failed_attempt_and_sends_nothing(
    receiver, settings, db
):
    instance = InstanceFactory(callback_url=receiver.url)  # saved while private URLs were on
    event_log = EventLogFactory(instance=instance)
    settings.TRIBUTARY_ALLOW_PRIVATE_URLS = False

    attempt = delivery_send(event_log_id=event_log.pk, trigger="manual")

    assert attempt.error == (
        f"refused: 127.0.0.1 is a loopback address; Tributary does not call loopback "
        f"addresses {SUFFIX}"
    )
    assert receiver.requests == []
    event_log.refresh_from_db()
    assert event_log.status == EventLog.Status.RETRYING


def test_a_hostname_that_rebinds_to_loopback_after_the_check_is_refused(receiver, guard, dns, db):
    port = receiver.url.split(":")[2].split("/")[0]
    dns["rebind.test"] = [PUBLIC, "127.0.0.1"]  # public when checked, loopback when connecting
    instance = InstanceFactory(callback_url=f"http://rebind.test:{port}/hook")
    event_log = EventLogFactory(instance=instance)

    attempt = delivery_send(event_log_id=event_log.pk, trigger="manual")

    assert attempt.error == (
        "Refused to call rebind.test: it reached 127.0.0.1, which is a loopback address; "
        f"Tributary does not call loopback addresses {SUFFIX}."
    )
    assert receiver.requests == []


def desk_instance(sim, user, site=None) -> Instance:
    instance = instance_create(owner=user, data=desk_instance_json(site or sim.url))
    instance.events_enabled_at = sim.now()
    instance.save(update_fields=["events_enabled_at"])
    return instance


def poll(sim, instance):
    poller = PollerObject.objects.get(instance=instance, name="incidents")
    client = ProviderClient(Instance.objects.get(pk=instance.pk), sleep=sim.advance)
    return poll_object(poller_object_id=poller.pk, client=client, now=sim.now())


def test_a_poll_of_a_provider_at_a_private_address_fails_without_calling_it(
    sim, desk, user, settings
):
    instance = desk_instance(sim, user)  # saved while private URLs were on
    settings.TRIBUTARY_ALLOW_PRIVATE_URLS = False

    with pytest.raises(PollError, match="Refused to call Desk.com's API: 127.0.0.1 is a loop"):
        poll(sim, instance)

    assert sim.requests_log() == []
    poller = PollerObject.objects.get(instance=instance, name="incidents")
    assert poller.consecutive_failures == 1 and "loopback" in poller.last_error


def test_a_provider_host_that_rebinds_after_the_check_is_refused(sim, desk, user, settings, dns):
    port = sim.url.rsplit(":", 1)[1]
    instance = desk_instance(sim, user, site=f"http://rebind.test:{port}")
    settings.TRIBUTARY_ALLOW_PRIVATE_URLS = False
    dns["rebind.test"] = [PUBLIC, "127.0.0.1"]

    with pytest.raises(PollError, match="it reached 127.0.0.1, which is a loopback address"):
        poll(sim, instance)

    assert sim.requests_log() == []


class Redirector:
    """Answers every request with a redirect to ``target``; records the paths asked for."""

    def __init__(self, target: str, status: int = 302) -> None:
        self.paths: list[str] = []
        redirector = self

        class Handler(BaseHTTPRequestHandler):
            def handle_any(self) -> None:
                redirector.paths.append(self.path)
                self.send_response(status)
                self.send_header("Location", target + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = handle_any  # noqa: N815 - http.server's naming

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return "http://{}:{}".format(*self.server.server_address[:2])

    def __enter__(self) -> Redirector:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_provider_redirect_is_never_followed(sim, desk, user):
    with Redirector(sim.url) as redirector:
        instance = desk_instance(sim, user, site=redirector.url)

        with pytest.raises(PollError) as failed:
            poll(sim, instance)

    assert len(redirector.paths) == 1
    assert sim.requests_log() == []
    assert f"redirected GET {redirector.paths[0]} to {sim.url}/api/v2/cases/search" in str(
        failed.value
    )
    assert "does not follow redirects" in str(failed.value)


def test_an_oauth_token_request_to_a_private_site_is_refused(sim, desk, guard):
    with pytest.raises(OAuthError, match="Refused to call the provider's token URL: 127.0.0.1"):
        oauth1_request_token(
            element=desk,
            configuration={"site.address": sim.url},
            api_key="demo-key",
            api_secret="demo-secret",
            callback_url="https://app.example.com/oauth",
        )

    assert sim.requests_log() == []

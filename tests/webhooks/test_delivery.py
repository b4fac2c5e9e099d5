"""Webhooks out against a real receiver on 127.0.0.1: Standard Webhooks signatures (checked with the
`standardwebhooks` library), retries with backoff until the receiver answers, the dead-letter list and replay,
idempotency keys, secret rotation, the delivery log, and the URL policy."""

from __future__ import annotations

import json

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from aioa.settings import Settings
from aioa.webhooks import delivery, endpoints
from aioa.webhooks.urls import DisallowedUrl
from tests.webhooks.receiver import Receiver


@pytest.fixture
def quick(tmp_path, monkeypatch) -> Settings:
    """Retries after ~0.05 s, doubling; four attempts before the dead-letter list."""
    monkeypatch.setenv("AIOA_HOME", str(tmp_path / "home"))
    return Settings(home=tmp_path / "home", webhook_backoff_s=0.05, webhook_max_attempts=4, webhook_timeout_s=5)


def _endpoint(settings: Settings, url: str, org: str = "acme"):
    secret = endpoints.new_secret()
    info = endpoints.add_endpoint(settings, org_id=org, url=url, secret=secret, events=["incident.opened"])
    return info, secret


def _verify(secret: str, headers: dict, body: str) -> dict:
    return Webhook(secret).verify(body, headers)


def test_receiver_failing_three_times_gets_the_event_on_the_fourth_try(quick):
    with Receiver(failures=3) as receiver:
        info, secret = _endpoint(quick, receiver.url)
        (delivery_id,) = delivery.enqueue(
            quick, org_id="acme", event_type="incident.opened", data={"id": "inc_1", "n": 500}, idempotency_key="k1"
        )
        delivery.process_due(quick, wait_up_to_s=10)
    assert [status for _, _, status in receiver.requests] == [500, 500, 500, 200]
    assert {headers["webhook-id"] for headers, _, _ in receiver.requests} == {delivery_id}  # same id on each retry
    for headers, body, _ in receiver.requests:
        payload = _verify(secret, headers, body)
        assert payload["type"] == "incident.opened" and payload["data"] == {"id": "inc_1", "n": 500}
    with pytest.raises(WebhookVerificationError):
        _verify(endpoints.new_secret(), *receiver.requests[-1][:2])
    done = delivery.delivery_info(quick, delivery_id)
    assert (done.status, done.attempts, done.last_status_code) == ("delivered", 4, 200)
    log = delivery.delivery_log(quick, "acme", info.id)
    assert [entry["status_code"] for entry in log] == [500, 500, 500, 200]


def test_backoff_grows_exponentially_with_jitter():
    waits = [delivery.backoff(10, attempt).total_seconds() for attempt in (1, 2, 3, 4) for _ in range(50)]
    for index, attempt in enumerate((1, 2, 3, 4)):
        chunk = waits[index * 50 : (index + 1) * 50]
        assert all(5 * 2 ** (attempt - 1) <= wait < 15 * 2 ** (attempt - 1) for wait in chunk)
        assert len(set(chunk)) > 1  # jittered


def test_failing_for_good_ends_in_the_dead_letter_list_and_replay_delivers_once(quick):
    with Receiver() as receiver:
        receiver.failing = True
        _, secret = _endpoint(quick, receiver.url)
        (delivery_id,) = delivery.enqueue(
            quick, org_id="acme", event_type="incident.opened", data={"id": "inc_2"}, idempotency_key="k2"
        )
        delivery.process_due(quick, wait_up_to_s=10)
        assert len(receiver.requests) == 4
        dead = delivery.dead_letters(quick, "acme")
        assert [(item.id, item.status, item.attempts) for item in dead] == [(delivery_id, "dead", 4)]
        assert delivery.dead_letters(quick, "globex") == []  # another org's list is its own

        receiver.failing = False
        replayed = delivery.replay(quick, "acme")
        assert [(item.id, item.status) for item in replayed] == [(delivery_id, "delivered")]
        assert len(receiver.requests) == 5
        headers, body, status = receiver.requests[-1]
        assert status == 200 and headers["webhook-id"] == delivery_id
        assert _verify(secret, headers, body)["data"] == {"id": "inc_2"}

        assert delivery.replay(quick, "acme") == []  # nothing dead any more: no second delivery
        delivery.process_due(quick, wait_up_to_s=0.5)
        assert len(receiver.requests) == 5
    assert delivery.dead_letters(quick, "acme") == []


def test_the_same_idempotency_key_is_delivered_once(quick):
    with Receiver() as receiver:
        _endpoint(quick, receiver.url)
        first = delivery.enqueue(quick, org_id="acme", event_type="incident.opened", data={}, idempotency_key="same")
        second = delivery.enqueue(quick, org_id="acme", event_type="incident.opened", data={}, idempotency_key="same")
        delivery.process_due(quick)
    assert first == second and len(receiver.requests) == 1
    assert receiver.requests[0][0]["idempotency-key"] == "same"


def test_only_subscribed_endpoints_of_the_org_get_an_event(quick):
    with Receiver() as acme, Receiver() as globex:
        _endpoint(quick, acme.url, "acme")
        _endpoint(quick, globex.url, "globex")
        delivery.enqueue(quick, org_id="acme", event_type="incident.opened", data={}, idempotency_key="a")
        delivery.enqueue(quick, org_id="acme", event_type="incident.resolved", data={}, idempotency_key="b")
        delivery.process_due(quick)
    assert len(acme.requests) == 1 and json.loads(acme.requests[0][1])["type"] == "incident.opened"
    assert globex.requests == []
    foreign = endpoints.endpoint_row(quick, "globex", endpoints.list_endpoints(quick, "globex")[0].id)
    with pytest.raises(PermissionError):
        delivery.enqueue(
            quick, org_id="acme", event_type="incident.opened", data={}, idempotency_key="c", endpoints=[foreign]
        )
    with pytest.raises(LookupError):
        endpoints.endpoint_row(quick, "acme", foreign.id)


def test_rotation_signs_with_both_secrets_during_the_overlap(quick):
    with Receiver() as receiver:
        info, old = _endpoint(quick, receiver.url)
        new = endpoints.new_secret()
        endpoints.rotate_secret(quick, "acme", info.id, new)
        delivery.enqueue(quick, org_id="acme", event_type="incident.opened", data={"x": 1}, idempotency_key="r")
        delivery.process_due(quick)
    headers, body, _ = receiver.requests[0]
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert _verify(old, headers, body)["data"] == {"x": 1}
    assert _verify(new, headers, body)["data"] == {"x": 1}


@pytest.mark.parametrize(
    "url",
    ["http://example.com/hook", "ftp://127.0.0.1/x", "file:///etc/passwd", "https://user:pw@example.com/h", "hook"],
)
def test_urls_outside_the_allowed_schemes_are_refused(quick, url):
    with pytest.raises(DisallowedUrl, match="not allowed"):
        endpoints.add_endpoint(quick, org_id="acme", url=url, secret=endpoints.new_secret(), events=["incident.opened"])


def test_allowed_urls_and_bad_secrets(quick):
    for url in ("https://hooks.example.com/aioa", "http://127.0.0.1:9/x", "http://localhost/x", "http://[::1]/x"):
        endpoints.add_endpoint(quick, org_id="acme", url=url, secret=endpoints.new_secret(), events=["*"])
    with pytest.raises(ValueError, match="whsec_"):
        endpoints.add_endpoint(quick, org_id="acme", url="https://a.example", secret="plain", events=["*"])
    with pytest.raises(ValueError, match="events must be"):
        endpoints.add_endpoint(
            quick, org_id="acme", url="https://a.example", secret=endpoints.new_secret(), events=["nope"]
        )

"""Webhook dispatch through the public API, on the running stack, to receivers on 127.0.0.1 (issue #7).

The module restarts the stack's webhooks service with a shrunk retry schedule, a 1 s attempt
timeout and a 2 s lease (restoring the service afterwards), so outages, hangs and a killed
dispatcher play out in seconds.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import standardwebhooks.webhooks
import svix.webhooks
from aiokafka import AIOKafkaProducer
from google.protobuf.timestamp_pb2 import Timestamp

from fieldstone.devstack import Stack
from fieldstone.messaging import CloudEvent
from fieldstone.proto.events.v1 import events_pb2
from tests.e2e.conftest import INVOICE_VARIABLES, Api, Receiver, invoice_pdf

pytestmark = pytest.mark.e2e

FAST = {
    "WEBHOOKS_RETRY_SCHEDULE": "0,0.3,0.3,0.3,0.3,0.3,0.3,0.3",
    "WEBHOOKS_TIMEOUT_SECONDS": "1",
    "WEBHOOKS_LEASE_SECONDS": "2",
}
HANG = -1


@pytest.fixture(scope="module", autouse=True)
def fast_webhooks(stack: Stack) -> Iterator[None]:
    env = stack.p.extra_env.setdefault("webhooks", {})
    before = dict(env)
    env.update(FAST)
    _restart_webhooks(stack)
    try:
        yield
    finally:
        env.clear()
        env.update(before)
        _restart_webhooks(stack)


def _restart_webhooks(stack: Stack) -> None:
    stack.stop("webhooks")
    stack.start("webhooks")
    stack.wait_healthy(("webhooks",))


class ScriptedReceiver:
    """Answers with the next of `script` (the last repeats); HANG holds the request for 5 s.
    It can be down (connection refused) and come back on the same port."""

    def __init__(self, script: list[int]) -> None:
        self.script = script
        self.requests: list[dict[str, Any]] = []
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self._server: http.server.ThreadingHTTPServer | None = None
        self._released = threading.Event()

    def up(self) -> None:
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                outer.requests.append(
                    {"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                )
                code = outer.script.pop(0) if len(outer.script) > 1 else outer.script[0]
                if code == HANG:
                    outer._released.wait(5)
                    return
                self.send_response(code)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def scripted() -> Iterator[Callable[[list[int]], ScriptedReceiver]]:
    made: list[ScriptedReceiver] = []

    def make(script: list[int]) -> ScriptedReceiver:
        r = ScriptedReceiver(script)
        made.append(r)
        return r

    yield make
    for r in made:
        r.down()


def wait_until(check: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout} s")
        time.sleep(0.1)


def announce_extraction(stack: Stack, workspace_id: str, status: str = "completed") -> str:
    """Publish what the extraction service publishes when an extraction ends (a faster stand-in for
    running one; the first test below runs real extractions)."""
    extraction_id = f"ext_{uuid.uuid4().hex[:26].upper()}"
    occurred_at = Timestamp()
    occurred_at.FromDatetime(datetime.now(UTC))
    data = events_pb2.ExtractionStatusChanged(
        extraction_id=extraction_id,
        workspace_id=workspace_id,
        file_id="file_e2e",
        template_id="tpl_e2e",
        status=status,
        occurred_at=occurred_at,
    ).SerializeToString()
    event = CloudEvent(
        id=f"msg_{uuid.uuid4().hex}",
        source="/fieldstone/extraction",
        type=f"fieldstone.extraction.{status}.v1",
        subject=extraction_id,
        time=datetime.now(UTC),
        data=data,
    )

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=stack.p.kafka)
        await producer.start()
        try:
            await producer.send_and_wait(
                "fieldstone.extractions.v1", data, key=extraction_id.encode(), headers=event.kafka_headers()
            )
        finally:
            await producer.stop()

    asyncio.run(send())
    return extraction_id


def create_endpoint(api: Api, url: str, **extra: Any) -> dict[str, Any]:
    created = api.post("/v1/webhook-endpoints", {"url": url, **extra})
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def events_of(api: Api, endpoint_id: str, **filters: str) -> list[dict[str, Any]]:
    r = api.get("/v1/webhook-events", params={"endpointId": endpoint_id, **filters})
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


def verify_both(secret: str, request: dict[str, Any]) -> dict[str, Any]:
    """Verify with the Standard Webhooks reference library and with svix; both raise on a bad signature."""
    svix.webhooks.Webhook(secret).verify(request["body"], request["headers"])
    payload: dict[str, Any] = standardwebhooks.webhooks.Webhook(secret).verify(
        request["body"], request["headers"]
    )
    return payload


def test_endpoint_api_and_deliveries_that_verify_across_a_rotation(api: Api, receiver: Receiver) -> None:
    endpoint = create_endpoint(api, receiver.url, description="ERP")
    secret = endpoint.pop("secret")
    assert secret.startswith("whsec_")
    for name in ("id", "userId", "url", "events", "active", "createdAt"):  # WebhookPublic
        assert endpoint[name] is not None, name
    assert (endpoint["status"], endpoint["active"], endpoint["events"]) == (
        "enabled",
        True,
        ["extraction.completed", "extraction.failed"],
    )
    patched = api.http.patch(
        f"/v1/webhook-endpoints/{endpoint['id']}",
        json={"description": "ERP prod", "events": ["extraction.completed"]},
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["description"], patched.json()["events"]) == ("ERP prod", ["extraction.completed"])
    assert "secret" not in patched.json()

    uploaded = api.upload(invoice_pdf())
    api.poll(f"/v1/files/{uploaded['fileId']}", lambda f: f["status"] == "uploaded")
    first = api.post("/v1/extractions", {"fileId": uploaded["fileId"], "variables": INVOICE_VARIABLES}).json()
    receiver.wait_for(lambda reqs: len(reqs) >= 1)
    payload = verify_both(secret, receiver.requests[0])
    assert (payload["type"], payload["data"]["extractionId"]) == ("extraction.completed", first["id"])
    assert payload["data"]["resultUrl"].endswith(f"/v1/extractions/{first['id']}/result")

    rotated = api.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != secret
    assert rotated.json()["previousSecretExpiresAt"] is not None
    listed = api.get("/v1/webhook-endpoints").json()
    assert "whsec_" not in json.dumps(listed)

    second = api.post(
        "/v1/extractions", {"fileId": uploaded["fileId"], "variables": INVOICE_VARIABLES}
    ).json()
    receiver.wait_for(lambda reqs: len(reqs) >= 2)
    after = receiver.requests[1]
    assert len(after["headers"]["webhook-signature"].split(" ")) == 2
    for s in (new_secret, secret):  # both verify during the overlap
        assert verify_both(s, after)["data"]["extractionId"] == second["id"]

    events = events_of(api, endpoint["id"])
    assert {e["payload"]["data"]["extractionId"] for e in events} == {first["id"], second["id"]}
    detail = api.get(f"/v1/webhook-events/{events[0]['id']}").json()
    assert detail["status"] == "delivered" and detail["endpointId"] == endpoint["id"]
    (attempt,) = detail["attempts"]
    assert (attempt["number"], attempt["statusCode"], attempt["outcome"], attempt["responseBody"]) == (
        1,
        200,
        "succeeded",
        "ok",
    )
    assert {r["headers"]["webhook-id"] for r in receiver.requests} == {e["id"] for e in events}


def test_a_down_receiver_gets_the_event_once_it_recovers(
    stack: Stack, api: Api, scripted: Callable[[list[int]], ScriptedReceiver]
) -> None:
    hook = scripted([500, HANG, 200])  # down at first: connection refused
    endpoint = create_endpoint(api, hook.url)
    announce_extraction(stack, endpoint["workspaceId"])
    wait_until(
        lambda: any(e["attemptCount"] >= 1 for e in events_of(api, endpoint["id"])), what="first attempt"
    )
    hook.up()  # then a 500, a hang longer than the 1 s timeout, and a 200
    wait_until(lambda: events_of(api, endpoint["id"], status="delivered") != [], what="delivery")

    (event,) = events_of(api, endpoint["id"])
    attempts = api.get(f"/v1/webhook-events/{event['id']}").json()["attempts"]
    codes = [a["statusCode"] for a in attempts]
    assert codes[-3:] == [500, None, 200] and all(c is None for c in codes[:-3])
    assert "Connect" in attempts[0]["error"]
    assert attempts[-2]["error"] == "timed out after 1 s"
    assert [a["trigger"] for a in attempts] == ["initial"] + ["retry"] * (len(attempts) - 1)
    assert {r["headers"]["webhook-id"] for r in hook.requests} == {event["id"]}


def test_a_dispatcher_killed_mid_delivery_loses_nothing(
    stack: Stack, api: Api, scripted: Callable[[list[int]], ScriptedReceiver]
) -> None:
    hook = scripted([HANG, 200])
    hook.up()
    endpoint = create_endpoint(api, hook.url)
    announce_extraction(stack, endpoint["workspaceId"])
    wait_until(lambda: len(hook.requests) == 1, what="the first request")
    stack.kill("webhooks")  # SIGKILL while the attempt is in flight
    stack.start("webhooks")
    stack.wait_healthy(("webhooks",))
    wait_until(
        lambda: events_of(api, endpoint["id"], status="delivered") != [], what="delivery after the crash"
    )

    (event,) = events_of(api, endpoint["id"])
    attempts = api.get(f"/v1/webhook-events/{event['id']}").json()["attempts"]
    assert attempts[0]["error"].startswith("interrupted")
    assert attempts[-1]["statusCode"] == 200
    assert {r["headers"]["webhook-id"] for r in hook.requests} == {event["id"]}


def test_replay_sends_the_same_webhook_id_again(stack: Stack, api: Api, receiver: Receiver) -> None:
    endpoint = create_endpoint(api, receiver.url, events=["extraction.failed"])
    announce_extraction(stack, endpoint["workspaceId"], status="failed")
    receiver.wait_for(lambda reqs: len(reqs) == 1)
    (event,) = events_of(api, endpoint["id"])

    replayed = api.post(
        f"/v1/webhook-events/{event['id']}/replay", headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert replayed.status_code == 202, replayed.text
    assert replayed.json()["id"] == event["id"]
    receiver.wait_for(lambda reqs: len(reqs) == 2)
    assert (
        receiver.requests[0]["headers"]["webhook-id"]
        == receiver.requests[1]["headers"]["webhook-id"]
        == event["id"]
    )
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]
    wait_until(
        lambda: (
            [a["trigger"] for a in api.get(f"/v1/webhook-events/{event['id']}").json()["attempts"]]
            == ["initial", "replay"]
        ),
        what="the replay in the log",
    )
    missing = api.post("/v1/webhook-events/evt_01JD2Z0000000000000000NONE/replay")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"


def test_410_disables_the_endpoint_and_blocked_ranges_are_refused(
    stack: Stack, api: Api, receiver: Receiver
) -> None:
    receiver.status.append(410)
    endpoint = create_endpoint(api, receiver.url)
    announce_extraction(stack, endpoint["workspaceId"])
    wait_until(
        lambda: api.get(f"/v1/webhook-endpoints/{endpoint['id']}").json()["status"] == "disabled",
        what="the endpoint disabled",
    )
    got = api.get(f"/v1/webhook-endpoints/{endpoint['id']}").json()
    assert (got["active"], got["disabledReason"]) == (False, "gone")
    assert [e["status"] for e in events_of(api, endpoint["id"])] == ["failed"]
    conflict = api.post(f"/v1/webhook-events/{events_of(api, endpoint['id'])[0]['id']}/replay")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "CONFLICT"

    enabled = api.http.patch(f"/v1/webhook-endpoints/{endpoint['id']}", json={"status": "enabled"})
    assert enabled.status_code == 200 and enabled.json()["disabledReason"] is None
    assert api.http.delete(f"/v1/webhook-endpoints/{endpoint['id']}").status_code == 204
    assert api.get(f"/v1/webhook-endpoints/{endpoint['id']}").status_code == 404

    # Loopback is allowed by this stack's allow-list; the unit tests refuse it without one.
    for host in BLOCKED:
        refused = api.post("/v1/webhook-endpoints", {"url": f"https://{host}/hooks"})
        assert refused.status_code == 400, (host, refused.text)
        assert refused.json()["error"]["code"] == "VALIDATION_ERROR", host
    assert api.get("/v1/webhook-endpoints").json()["data"] == []


BLOCKED = [
    "10.0.0.1",  # private
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # link-local, cloud metadata
    "100.64.0.1",  # CGNAT
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "0.0.0.0",  # unspecified
    "[::ffff:10.0.0.1]",  # IPv4-mapped IPv6
    "[::ffff:169.254.169.254]",
    "[fe80::1]",  # IPv6 link-local
    "[fc00::1]",  # IPv6 unique local
    "[ff02::1]",  # IPv6 multicast
    "[::]",
]

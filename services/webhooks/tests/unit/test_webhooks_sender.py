"""The sender against a fake resolver and httpx's in-memory transport: no network."""

from collections.abc import AsyncIterator
from ipaddress import ip_address, ip_network

import httpx

from fieldstone.webhooks.adapters.sender import REFUSED, Resolver, WebhookSender
from fieldstone.webhooks.domain.destinations import Address


class Chunks(httpx.AsyncByteStream):
    """A streamed body, as from the network; counts how much was read."""

    def __init__(self, chunk: bytes = b"", count: int = 0) -> None:
        self.chunk, self.count, self.read = chunk, count, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.count):
            self.read += 1
            yield self.chunk


def _resolver(*addresses: str) -> Resolver:
    async def resolve(host: str, port: int) -> list[Address]:
        return [ip_address(a) for a in addresses]

    return resolve


async def test_request_goes_to_the_checked_address_with_the_original_host() -> None:
    seen: list[httpx.Request] = []
    body = Chunks(b"busy" * 100, count=1000)

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503, headers={"retry-after": "60"}, stream=body)

    sender = WebhookSender(
        timeout_seconds=5,
        resolver=_resolver("10.0.0.9", "93.184.216.34"),
        transport=httpx.MockTransport(answer),
    )
    result = await sender.post("https://hooks.example.com:8443/in?x=1", b"{}", {"webhook-id": "evt_1"})
    await sender.aclose()
    assert result.status_code == 503
    assert result.retry_after == "60"
    assert result.response_body == ("busy" * 5120)  # 20 KiB
    assert body.read == 52  # the rest of a large body is never downloaded
    assert result.error is None
    (request,) = seen
    assert str(request.url) == "https://93.184.216.34:8443/in?x=1"  # the private address was skipped
    assert request.headers["host"] == "hooks.example.com:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == "evt_1"


async def test_redirects_are_not_followed() -> None:
    calls = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(302, headers={"location": "http://169.254.169.254/"}, stream=Chunks())

    sender = WebhookSender(
        timeout_seconds=5, resolver=_resolver("93.184.216.34"), transport=httpx.MockTransport(answer)
    )
    result = await sender.post("https://hooks.example.com/", b"{}", {})
    await sender.aclose()
    assert (calls, result.status_code) == (1, 302)


async def test_refused_destination_is_an_error_without_a_request() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise AssertionError("must not be sent")

    sender = WebhookSender(
        timeout_seconds=5, resolver=_resolver("127.0.0.1", "::1"), transport=httpx.MockTransport(answer)
    )
    result = await sender.post("https://sneaky.example.com/", b"{}", {})
    await sender.aclose()
    assert (result.status_code, result.error) == (None, REFUSED)


async def test_allow_list_opens_loopback() -> None:
    sender = WebhookSender(
        timeout_seconds=5,
        allowed_networks=(ip_network("127.0.0.0/8"),),
        resolver=_resolver("127.0.0.1"),
        transport=httpx.MockTransport(lambda request: httpx.Response(204, stream=Chunks())),
    )
    result = await sender.post("http://localhost:9000/hook", b"{}", {})
    await sender.aclose()
    assert (result.status_code, result.error) == (204, None)


async def test_network_failure_is_an_error_not_an_exception() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    sender = WebhookSender(
        timeout_seconds=5, resolver=_resolver("93.184.216.34"), transport=httpx.MockTransport(answer)
    )
    result = await sender.post("https://hooks.example.com/", b"{}", {})
    await sender.aclose()
    assert result.status_code is None
    assert result.error == "ConnectError: connection refused"


async def test_allow_listed_host_may_resolve_anywhere_others_may_not() -> None:
    sender = WebhookSender(
        timeout_seconds=5,
        allowed_hosts=("Receiver.Internal",),
        resolver=_resolver("10.1.2.3"),
        transport=httpx.MockTransport(lambda request: httpx.Response(200, stream=Chunks())),
    )
    trusted = await sender.post("https://receiver.internal./hook", b"{}", {})
    other = await sender.post("https://other.internal/hook", b"{}", {})
    await sender.aclose()
    assert (trusted.status_code, trusted.error) == (200, None)
    assert (other.status_code, other.error) == (None, REFUSED)

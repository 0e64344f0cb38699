"""The sender against a fake resolver and real receivers on 127.0.0.1 (plain and TLS)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from ipaddress import ip_address, ip_network

import pytest
import trustme

from fieldstone.webhooks.adapters.sender import REFUSED, Resolver, WebhookSender
from fieldstone.webhooks.domain.destinations import Address

LOOPBACK = (ip_network("127.0.0.0/8"),)


@dataclass
class Request:
    line: str
    headers: dict[str, str]
    body: bytes
    connection: int  # which accepted connection carried it (1, 2, ...)


# Writes the response for one request; returns False to close the connection afterwards.
Responder = Callable[[Request, asyncio.StreamWriter], Awaitable[bool]]


async def no_content(request: Request, writer: asyncio.StreamWriter) -> bool:
    writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
    return True


@dataclass
class Receiver:
    port: int
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    server_names: list[str | None] = field(default_factory=list)  # TLS SNI of each handshake


@contextlib.asynccontextmanager
async def receiver(
    respond: Responder = no_content, tls: ssl.SSLContext | None = None
) -> AsyncIterator[Receiver]:
    state = Receiver(port=0)
    if tls is not None:
        tls.sni_callback = lambda _sock, name, _ctx: state.server_names.append(name)  # type: ignore[assignment]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        connection = state.connections
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, *rest = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in rest if h)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Request(line, headers, body, connection)
                state.requests.append(request)
                keep = await respond(request, writer)
                await writer.drain()
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=tls)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()


def _resolver(*addresses: str) -> Resolver:
    async def resolve(host: str, port: int) -> list[Address]:
        return [ip_address(a) for a in addresses]

    return resolve


async def test_request_goes_to_the_checked_address_and_a_large_body_is_not_downloaded() -> None:
    chunks_written = 0

    async def busy(request: Request, writer: asyncio.StreamWriter) -> bool:
        nonlocal chunks_written
        writer.write(
            b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 60\r\nContent-Length: 67108864\r\n\r\n"
        )
        for _ in range(16384):  # 64 MiB of "busy"
            writer.write(b"busy" * 1024)
            await writer.drain()
            chunks_written += 1
        return False

    async with receiver(busy) as hooks:
        sender = WebhookSender(
            timeout_seconds=10, allowed_networks=LOOPBACK, resolver=_resolver("10.0.0.9", "127.0.0.1")
        )
        url = f"http://hooks.example.com:{hooks.port}/in?x=1"
        result = await sender.post(url, b"{}", {"webhook-id": "evt_1"})
        await sender.aclose()
    assert result.status_code == 503 and result.error is None
    assert result.retry_after == "60"
    assert result.response_body == "busy" * 5120  # 20 KiB
    assert chunks_written < 16384  # the rest of a large body is never downloaded
    (request,) = hooks.requests  # reached 127.0.0.1: the private address was skipped
    assert request.line == "POST /in?x=1 HTTP/1.1"
    assert request.headers["host"] == f"hooks.example.com:{hooks.port}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == "evt_1"
    assert request.headers["user-agent"] == "Fieldstone-Webhooks/1.0"
    assert "traceparent" not in request.headers
    assert request.body == b"{}"


async def test_tls_is_verified_for_the_url_host_while_connecting_to_the_checked_address() -> None:
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("hooks.example.com").configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    async with receiver(tls=server_tls) as hooks:
        sender = WebhookSender(
            timeout_seconds=10, allowed_networks=LOOPBACK, resolver=_resolver("127.0.0.1"), tls=client_tls
        )
        good = await sender.post(f"https://hooks.example.com:{hooks.port}/in", b"{}", {})
        other = await sender.post(f"https://other.example.com:{hooks.port}/in", b"{}", {})
        await sender.aclose()
    assert (good.status_code, good.error) == (204, None)
    assert hooks.server_names[0] == "hooks.example.com"
    assert other.status_code is None and other.error is not None and "certificate" in other.error.lower()
    assert len(hooks.requests) == 1  # nothing was sent over the connection that failed verification


async def test_connections_are_kept_alive_per_host_name() -> None:
    async with receiver() as hooks:
        sender = WebhookSender(timeout_seconds=10, allowed_networks=LOOPBACK, resolver=_resolver("127.0.0.1"))
        for host in ("a.example.com", "a.example.com", "a.example.com", "b.example.com"):
            result = await sender.post(f"http://{host}:{hooks.port}/hook", b"{}", {})
            assert result.status_code == 204
        await sender.aclose()
    # Three deliveries to a share one connection; b, on the same address, gets its own.
    assert [(r.headers["host"].split(":")[0], r.connection) for r in hooks.requests] == [
        ("a.example.com", 1),
        ("a.example.com", 1),
        ("a.example.com", 1),
        ("b.example.com", 2),
    ]


async def test_redirects_are_not_followed() -> None:
    async def redirect(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n")
        return True

    async with receiver(redirect) as hooks:
        sender = WebhookSender(timeout_seconds=10, allowed_networks=LOOPBACK, resolver=_resolver("127.0.0.1"))
        result = await sender.post(f"http://hooks.example.com:{hooks.port}/", b"{}", {})
        await sender.aclose()
    assert (len(hooks.requests), result.status_code) == (1, 302)


async def test_refused_destination_is_an_error_without_a_connection() -> None:
    async with receiver() as hooks:
        sender = WebhookSender(timeout_seconds=5, resolver=_resolver("127.0.0.1", "::1"))
        result = await sender.post(f"http://sneaky.example.com:{hooks.port}/", b"{}", {})
        await sender.aclose()
    assert (result.status_code, result.error) == (None, REFUSED)
    assert hooks.connections == 0


async def test_network_failures_are_errors_not_exceptions() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def unknown(host: str, port: int) -> list[Address]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    sender = WebhookSender(timeout_seconds=5, allowed_networks=LOOPBACK, resolver=_resolver("127.0.0.1"))
    refused = await sender.post(f"http://hooks.example.com:{port}/", b"{}", {})
    await sender.aclose()
    assert refused.status_code is None and refused.error is not None
    assert refused.error.startswith("ClientConnectorError")
    unresolved = WebhookSender(timeout_seconds=5, resolver=unknown)
    result = await unresolved.post("https://nowhere.example.com/", b"{}", {})
    await unresolved.aclose()
    assert (result.status_code, result.error) == (None, "could not resolve host")


async def test_a_hanging_receiver_times_out() -> None:
    async def hang(request: Request, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(30)
        return False

    async with receiver(hang) as hooks:
        sender = WebhookSender(
            timeout_seconds=0.5, allowed_networks=LOOPBACK, resolver=_resolver("127.0.0.1")
        )
        result = await sender.post(f"http://hooks.example.com:{hooks.port}/", b"{}", {})
        await sender.aclose()
    assert (result.status_code, result.error) == (None, "timed out after 0.5 s")


@pytest.mark.parametrize("host", ["Receiver.Internal", "receiver.internal."])
async def test_allow_listed_host_may_resolve_anywhere_others_may_not(host: str) -> None:
    async with receiver() as hooks:
        sender = WebhookSender(timeout_seconds=5, allowed_hosts=(host,), resolver=_resolver("127.0.0.1"))
        trusted = await sender.post(f"http://receiver.internal:{hooks.port}/hook", b"{}", {})
        other = await sender.post(f"http://other.internal:{hooks.port}/hook", b"{}", {})
        await sender.aclose()
    assert (trusted.status_code, trusted.error) == (204, None)
    assert (other.status_code, other.error) == (None, REFUSED)

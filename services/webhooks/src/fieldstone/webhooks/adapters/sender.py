"""One HTTP attempt of a webhook, sent only to an address the SSRF policy allows.

The host is resolved here, each address is checked, and the request goes to the checked
address itself (Host header and TLS SNI keep the name), so DNS cannot be changed between
the check and the connection.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from ipaddress import ip_address

import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from fieldstone.common.logging import get_logger
from fieldstone.webhooks.domain.attempts import AttemptResult
from fieldstone.webhooks.domain.destinations import Address, Network, refusal_reason
from fieldstone.webhooks.domain.model import RESPONSE_BODY_BYTES, excerpt

log = get_logger(__name__)
_tracer = trace.get_tracer(__name__)

REFUSED = "destination not allowed"
Resolver = Callable[[str, int], Awaitable[list[Address]]]


class DestinationRefused(Exception):
    pass


async def resolve(host: str, port: int) -> list[Address]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ip_address(info[4][0]) for info in infos]


async def _read_prefix(response: httpx.Response, limit: int) -> bytes:
    """The first `limit` bytes of the body; the rest is never downloaded."""
    buffer = bytearray()
    async for chunk in response.aiter_raw():
        buffer += chunk
        if len(buffer) >= limit:
            break
    return bytes(buffer[:limit])


class WebhookSender:
    def __init__(
        self,
        *,
        timeout_seconds: float,
        allowed_networks: tuple[Network, ...] = (),
        allowed_hosts: tuple[str, ...] = (),
        resolver: Resolver = resolve,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._timeout = timeout_seconds
        self._allowed = allowed_networks
        # Host names the operator trusts whatever they resolve to (e.g. an internal receiver).
        self._allowed_hosts = frozenset(h.lower().rstrip(".") for h in allowed_hosts)
        self._resolve = resolver
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,  # a proxy from the environment would bypass the address check
            timeout=httpx.Timeout(timeout_seconds),
            # No pooling: a pooled connection to an address could carry a TLS session that was
            # verified for another host name served from the same address.
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"user-agent": "Fieldstone-Webhooks/1.0"},
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _pinned_request(self, url: str, body: bytes, headers: dict[str, str]) -> httpx.Request:
        target = httpx.URL(url)
        host = target.raw_host.decode("ascii")
        port = target.port or (443 if target.scheme == "https" else 80)
        trusted = host.lower().rstrip(".") in self._allowed_hosts
        reasons: list[str] = []
        for address in await self._resolve(host, port):
            reason = None if trusted else refusal_reason(address, self._allowed)
            if reason is None:
                return self._client.build_request(
                    "POST",
                    target.copy_with(host=str(address)),
                    content=body,
                    headers={
                        **headers,
                        "host": target.netloc.decode("ascii"),
                        "content-type": "application/json",
                        "accept-encoding": "identity",
                    },
                    extensions={"sni_hostname": host} if target.scheme == "https" else {},
                )
            reasons.append(f"{address} ({reason})")
        raise DestinationRefused(", ".join(reasons) or "no address")

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptResult:
        """Send once, as an HTTP CLIENT span; never raises for what the network or the receiver did.

        No trace context goes to the receiver (it is someone else's system), and the span names
        the endpoint's URL without its query, which may carry the receiver's own token."""
        target = httpx.URL(url)
        attributes: dict[str, str | int] = {
            "http.request.method": "POST",
            "url.full": str(target.copy_with(query=None, fragment=None, userinfo=b"")),
            "server.address": target.host,
            "server.port": target.port or (443 if target.scheme == "https" else 80),
        }
        with _tracer.start_as_current_span("POST", kind=SpanKind.CLIENT, attributes=attributes) as span:
            result = await self._post(url, body, headers)
            if result.status_code is not None:
                span.set_attribute("http.response.status_code", result.status_code)
            if result.error is not None or (result.status_code or 0) >= 400:
                error_type = str(result.status_code) if result.error is None else "request_failed"
                span.set_attribute("error.type", error_type)
                span.set_status(StatusCode.ERROR, result.error or f"HTTP {result.status_code}")
            return result

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptResult:
        started = time.perf_counter()
        status_code: int | None = None
        retry_after: str | None = None
        raw = b""
        error: str | None = None
        try:
            async with asyncio.timeout(self._timeout):
                request = await self._pinned_request(url, body, headers)
                response = await self._client.send(request, stream=True)
                try:
                    status_code = response.status_code
                    retry_after = response.headers.get("retry-after")
                    raw = await _read_prefix(response, RESPONSE_BODY_BYTES)
                finally:
                    await response.aclose()
        except DestinationRefused as exc:
            # The receiver's owner sees only that it was refused, not what we resolved.
            log.warning("webhook destination refused", host=httpx.URL(url).host, addresses=str(exc))
            error = REFUSED
        except (TimeoutError, httpx.TimeoutException):
            error = f"timed out after {self._timeout:g} s"
        except socket.gaierror:
            error = "could not resolve host"
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        return AttemptResult(
            status_code=status_code,
            duration_ms=round((time.perf_counter() - started) * 1000),
            response_body=excerpt(raw),
            error=error,
            retry_after=retry_after,
        )

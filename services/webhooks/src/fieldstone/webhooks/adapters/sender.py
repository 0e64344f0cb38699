"""One HTTP attempt of a webhook, sent only to an address the SSRF policy allows.

The check sits in the connector's resolver: every new connection resolves the host here, each
address is checked, and the connection is made to the checked address itself (TLS verifies
and SNI carries the URL's host name), so DNS cannot be changed between the check and the
connection.

Connections are kept alive between deliveries (a busy endpoint would otherwise pay a TCP and
TLS handshake per event). The pool is keyed by host name, port and scheme, so a connection is
only reused for the name it was checked and verified for.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from ipaddress import ip_address
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from yarl import URL

from fieldstone.common.logging import get_logger
from fieldstone.webhooks.domain.attempts import AttemptResult
from fieldstone.webhooks.domain.destinations import Address, Network, refusal_reason
from fieldstone.webhooks.domain.model import RESPONSE_BODY_BYTES, excerpt

log = get_logger(__name__)
_tracer = trace.get_tracer(__name__)

REFUSED = "destination not allowed"
USER_AGENT = "Fieldstone-Webhooks/1.0"
# Idle kept-alive connections close after this long.
KEEPALIVE_SECONDS = 15.0
Resolver = Callable[[str, int], Awaitable[list[Address]]]


class DestinationRefused(Exception):
    """No address of the host is allowed; never raised as an OSError, so nothing retries it."""


async def resolve(host: str, port: int) -> list[Address]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ip_address(info[4][0]) for info in infos]


class CheckedResolver(AbstractResolver):
    """Resolves for the connector and returns only the addresses the SSRF policy allows."""

    def __init__(
        self, resolver: Resolver, allowed: tuple[Network, ...], allowed_hosts: frozenset[str]
    ) -> None:
        self._resolve = resolver
        self._allowed = allowed
        self._allowed_hosts = allowed_hosts

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        trusted = host.lower().rstrip(".") in self._allowed_hosts
        allowed: list[ResolveResult] = []
        reasons: list[str] = []
        for address in await self._resolve(host, port):
            reason = None if trusted else refusal_reason(address, self._allowed)
            if reason is not None:
                reasons.append(f"{address} ({reason})")
                continue
            allowed.append(
                ResolveResult(
                    hostname=host,
                    host=str(address),
                    port=port,
                    family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                    proto=socket.IPPROTO_TCP,
                    flags=socket.AI_NUMERICHOST,
                )
            )
        if not allowed:
            raise DestinationRefused(", ".join(reasons) or "no address")
        return allowed

    async def close(self) -> None:
        return None


async def _read_prefix(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The first `limit` bytes of the body; the rest is never downloaded."""
    buffer = bytearray()
    while len(buffer) < limit:
        chunk = await response.content.read(limit - len(buffer))
        if not chunk:
            break
        buffer += chunk
    return bytes(buffer)


def _server_port(target: URL) -> int:
    return target.port or (443 if target.scheme == "https" else 80)


class WebhookSender:
    def __init__(
        self,
        *,
        timeout_seconds: float,
        allowed_networks: tuple[Network, ...] = (),
        allowed_hosts: tuple[str, ...] = (),
        resolver: Resolver = resolve,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._timeout = timeout_seconds
        # Host names the operator trusts whatever they resolve to (e.g. an internal receiver).
        trusted = frozenset(h.lower().rstrip(".") for h in allowed_hosts)
        self._resolver = CheckedResolver(resolver, allowed_networks, trusted)
        # The system's trust store unless told otherwise (tests bring their own CA).
        self._tls = tls if tls is not None else ssl.create_default_context()
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        """Made on first use, inside the running loop."""
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=self._resolver,
                use_dns_cache=False,  # every new connection is resolved and checked again
                ssl=self._tls,
                # No cap overall or per host (the dispatcher caps deliveries per endpoint), so
                # endpoints that share a host never queue behind each other here.
                limit=0,
                limit_per_host=0,
                keepalive_timeout=KEEPALIVE_SECONDS,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                trust_env=False,  # a proxy from the environment would bypass the address check
                auto_decompress=False,
                headers={"user-agent": USER_AGENT},
            )
        return self._session

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptResult:
        """Send once, as an HTTP CLIENT span; never raises for what the network or the receiver did.

        No trace context goes to the receiver (it is someone else's system), and the span names
        the endpoint's URL without its query, which may carry the receiver's own token."""
        target = URL(url)
        attributes: dict[str, str | int] = {
            "http.request.method": "POST",
            "url.full": str(target.with_query(None).with_fragment(None).with_user(None)),
            "server.address": target.host or "",
            "server.port": _server_port(target),
        }
        with _tracer.start_as_current_span("POST", kind=SpanKind.CLIENT, attributes=attributes) as span:
            result = await self._post(target, body, headers)
            if result.status_code is not None:
                span.set_attribute("http.response.status_code", result.status_code)
            if result.error is not None or (result.status_code or 0) >= 400:
                error_type = str(result.status_code) if result.error is None else "request_failed"
                span.set_attribute("error.type", error_type)
                span.set_status(StatusCode.ERROR, result.error or f"HTTP {result.status_code}")
            return result

    async def _post(self, target: URL, body: bytes, headers: dict[str, str]) -> AttemptResult:
        started = time.perf_counter()
        status_code: int | None = None
        retry_after: str | None = None
        raw = b""
        error: str | None = None
        sent: dict[str, Any] = {
            **headers,
            "content-type": "application/json",
            "accept-encoding": "identity",
        }
        try:
            async with asyncio.timeout(self._timeout):
                async with self._client().post(
                    target, data=body, headers=sent, allow_redirects=False
                ) as response:
                    status_code = response.status
                    retry_after = response.headers.get("retry-after")
                    raw = await _read_prefix(response, RESPONSE_BODY_BYTES)
        except DestinationRefused as exc:
            # The receiver's owner sees only that it was refused, not what we resolved.
            log.warning("webhook destination refused", host=target.host, addresses=str(exc))
            error = REFUSED
        except TimeoutError:
            error = f"timed out after {self._timeout:g} s"
        except aiohttp.ClientConnectorDNSError:
            error = "could not resolve host"
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        return AttemptResult(
            status_code=status_code,
            duration_ms=round((time.perf_counter() - started) * 1000),
            response_body=excerpt(raw),
            error=error,
            retry_after=retry_after,
        )

"""API-wide conventions as ASGI middleware: rate limits and Idempotency-Key.

Both run before routing and share state through the gateway's own Postgres database, so
they hold across any number of gateway replicas.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
import time
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from fieldstone.common.errors import FieldstoneError
from fieldstone.common.logging import get_logger
from fieldstone.gateway.security import Authenticator, Principal

log = get_logger(__name__)

# Raw ASGI: the messages are plain dicts here, so they are typed loosely on purpose.
Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
WINDOW_SECONDS = 60
IDEMPOTENCY_TTL = timedelta(hours=24)
IN_FLIGHT_LEASE = timedelta(seconds=120)
_MAX_KEY = 255
_MAX_BODY = 16 * 1024 * 1024
# Operational routes are never limited (probes must not be throttled).
_UNLIMITED = ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs")


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Gives every request an id (or keeps a sane incoming X-Request-Id) and echoes it."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if 0 < len(incoming) <= 64 and incoming.isascii() else f"req_{uuid.uuid4().hex}"
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        await app(scope, receive, send_with_id)

    return middleware


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _json_error(
    send: Send, scope: Scope, status: int, code: str, message: str, extra_headers: list[tuple[bytes, bytes]]
) -> None:
    rid = scope.get("state", {}).get("request_id", "")
    body = json.dumps({"error": {"code": code, "message": message, "requestId": rid}}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra_headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass
class Context:
    """What the conventions need: the gateway's database, the authenticator, the limits."""

    pool: asyncpg.Pool
    authenticator: Authenticator
    plan_rpm: Callable[[Principal], Awaitable[int]]
    anonymous_rpm: int


async def _principal(ctx: Context, scope: Scope) -> Principal | None:
    authenticator = ctx.authenticator
    try:
        return await authenticator.authenticate(_header(scope, b"authorization"))
    except FieldstoneError:
        return None  # the route itself answers 401 with the full envelope


def _add_headers(send: Send, headers: list[tuple[bytes, bytes]]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *headers]
        await send(message)

    return wrapped


def rate_limit_middleware(ctx: Context, app: ASGIApp) -> ASGIApp:
    """A fixed one-minute window per API key (per client address without a valid key).

    Every response carries `RateLimit-Policy` and `RateLimit` (IETF structured fields);
    over the limit the answer is `429 RATE_LIMITED` with `Retry-After`.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_UNLIMITED):
            await app(scope, receive, send)
            return
        principal = await _principal(ctx, scope)
        if principal is not None:
            bucket, limit = f"key:{principal.api_key_id}", await ctx.plan_rpm(principal)
        else:
            client = scope.get("client") or ("unknown", 0)
            bucket, limit = f"ip:{client[0]}", ctx.anonymous_rpm
        now = time.time()
        window = math.floor(now / WINDOW_SECONDS) * WINDOW_SECONDS
        reset = max(1, math.ceil(window + WINDOW_SECONDS - now))
        count: int = await ctx.pool.fetchval(
            """INSERT INTO rate_limit_windows (bucket, window_start, count) VALUES ($1, $2, 1)
               ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_limit_windows.count + 1
               RETURNING count""",
            bucket,
            datetime.fromtimestamp(window, UTC),
        )
        remaining = max(0, limit - count)
        headers = [
            (b"ratelimit-policy", f'"default";q={limit};w={WINDOW_SECONDS}'.encode()),
            (b"ratelimit", f'"default";r={remaining};t={reset}'.encode()),
        ]
        if count > limit:
            await _json_error(
                send,
                scope,
                429,
                "RATE_LIMITED",
                f"more than {limit} requests in {WINDOW_SECONDS} s; retry after {reset} s",
                [*headers, (b"retry-after", str(reset).encode())],
            )
            return
        await app(scope, receive, _add_headers(send, headers))

    return middleware


_CURSOR = re.compile(r"^[a-z]{2,4}_[0-9A-HJKMNP-TV-Z]{26}$")


def _bad_text(value: str) -> bool:
    """NUL and lone surrogates cannot be stored (Postgres text is UTF-8 without NUL)."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _bad_json_text(value: Any) -> bool:
    if isinstance(value, str):
        return _bad_text(value)
    if isinstance(value, dict):
        return any(_bad_text(k) or _bad_json_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_bad_json_text(v) for v in value)
    return False


async def read_body(receive: Receive, limit: int = _MAX_BODY) -> tuple[bytes, bool]:
    """The request body (up to `limit` + one chunk) and whether it was read completely."""
    chunks: list[bytes] = []
    size, more = 0, True
    while more and size <= limit:
        message = await receive()
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks), not more


def replaying(body: bytes, complete: bool, receive: Receive) -> Receive:
    """A receive callable that hands `body` on first, then whatever is left of the stream."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replay


def input_hygiene_middleware(app: ASGIApp) -> ASGIApp:
    """Refuses text the platform cannot store before it reaches a service: NUL characters and
    lone surrogates in the path, query or JSON body, and malformed pagination cursors."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await app(scope, receive, send)
            return
        problem = None
        query = scope.get("query_string", b"").decode("latin-1")
        params = urllib.parse.parse_qsl(query, keep_blank_values=True, errors="surrogateescape")
        if _bad_text(scope["path"]) or any(_bad_text(k) or _bad_text(v) for k, v in params):
            problem = "the path or query contains characters that are not allowed (NUL or invalid UTF-8)"
        cursor = next((v for k, v in params if k == "cursor"), "")
        if problem is None and cursor and not _CURSOR.match(cursor):
            problem = "cursor is not a cursor this API returned"
        if problem is None and scope["method"] in ("POST", "PATCH", "PUT"):
            body, complete = await read_body(receive)
            receive = replaying(body, complete, receive)
            if complete and (_header(scope, b"content-type") or "").startswith("application/json"):
                try:
                    parsed = json.loads(body) if body else None
                except (ValueError, UnicodeDecodeError):
                    parsed = None  # malformed JSON: the framework answers with the envelope
                if _bad_json_text(parsed):
                    problem = (
                        "a string in the body contains characters that are not allowed (NUL or invalid UTF-8)"
                    )
        if problem is not None:
            await _json_error(send, scope, 400, "VALIDATION_ERROR", problem, [])
            return
        await app(scope, receive, send)

    return middleware


def _fingerprint(method: str, path: str, body: bytes, content_type: str) -> str:
    canonical = body
    if content_type.startswith("application/json") and body:
        with contextlib.suppress(ValueError):  # not JSON after all: the raw bytes are the fingerprint
            canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def parse_idempotency_key(raw: str) -> str | None:
    """The key from the header (bare or a quoted structured-field string), or None if invalid."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not value or len(value) > _MAX_KEY or not value.isascii() or not value.isprintable():
        return None
    return value


def idempotency_middleware(ctx: Context, app: ASGIApp) -> ASGIApp:
    """`Idempotency-Key` on POST: the first response is saved (24 h) and replayed to retries.

    Same key + same request → the saved status and body (`Idempotent-Replayed: true`);
    same key + different request → 422 IDEMPOTENCY_KEY_REUSED; still running → 409
    IDEMPOTENCY_KEY_IN_USE. Keys are scoped to the service account.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        raw_key = _header(scope, b"idempotency-key") if scope["type"] == "http" else None
        if raw_key is None or scope["method"] != "POST":
            await app(scope, receive, send)
            return
        key = parse_idempotency_key(raw_key)
        if key is None:
            await _json_error(
                send,
                scope,
                400,
                "VALIDATION_ERROR",
                "Idempotency-Key must be 1-255 printable ASCII characters",
                [],
            )
            return
        principal = await _principal(ctx, scope)
        if principal is None:
            await app(scope, receive, send)  # answers 401
            return
        # Read the whole body (bounded) so it can be fingerprinted, then hand it on.
        body, complete = await read_body(receive)
        fingerprint = _fingerprint(
            scope["method"], scope["path"], body, _header(scope, b"content-type") or ""
        )
        pool = ctx.pool
        owner = principal.service_account_id
        outcome = await _claim(pool, owner, key, fingerprint)
        if outcome == "reused":
            await _json_error(
                send,
                scope,
                422,
                "IDEMPOTENCY_KEY_REUSED",
                "this Idempotency-Key was used with a different request",
                [],
            )
            return
        if outcome == "in_use":
            await _json_error(
                send,
                scope,
                409,
                "IDEMPOTENCY_KEY_IN_USE",
                "a request with this Idempotency-Key is still in progress; retry shortly",
                [(b"retry-after", b"1")],
            )
            return
        if isinstance(outcome, dict):
            headers = [(k.encode(), v.encode()) for k, v in outcome["headers"]] + [
                (b"idempotent-replayed", b"true")
            ]
            await send({"type": "http.response.start", "status": outcome["status"], "headers": headers})
            await send({"type": "http.response.body", "body": outcome["body"]})
            return

        replay_body = replaying(body, complete, receive)

        status = 500
        start_headers: list[tuple[str, str]] = []
        out: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, start_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                start_headers = [
                    (k.decode("latin-1"), v.decode("latin-1"))
                    for k, v in message.get("headers", [])
                    if k.lower() in (b"content-type", b"location")
                ]
            elif message["type"] == "http.response.body":
                out.append(message.get("body", b""))
            await send(message)

        try:
            await app(scope, replay_body, capture)
        finally:
            await _finish(pool, owner, key, status, start_headers, b"".join(out))

    return middleware


async def _claim(pool: asyncpg.Pool, owner: str, key: str, fingerprint: str) -> str | dict[str, Any]:
    """`new` (we own the key now), `in_use`, `reused`, or the saved response to replay."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT * FROM idempotency_keys WHERE service_account_id = $1 AND key = $2 FOR UPDATE", owner, key
        )
        now = datetime.now(UTC)
        if row is not None and row["created_at"] < now - IDEMPOTENCY_TTL:
            await conn.execute(
                "DELETE FROM idempotency_keys WHERE service_account_id = $1 AND key = $2", owner, key
            )
            row = None
        if row is None:
            inserted = await conn.fetchval(
                """INSERT INTO idempotency_keys (service_account_id, key, fingerprint, locked_until)
                   VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1""",
                owner,
                key,
                fingerprint,
                now + IN_FLIGHT_LEASE,
            )
            return "new" if inserted else "in_use"
        if row["fingerprint"] != fingerprint:
            return "reused"
        if row["completed_at"] is not None:
            return {
                "status": row["status_code"],
                "headers": [tuple(h) for h in row["response_headers"] or []],
                "body": bytes(row["response_body"] or b""),
            }
        if row["locked_until"] is not None and row["locked_until"] > now:
            return "in_use"
        # The gateway that held it died mid-request: take the key over.
        await conn.execute(
            "UPDATE idempotency_keys SET locked_until = $3 WHERE service_account_id = $1 AND key = $2",
            owner,
            key,
            now + IN_FLIGHT_LEASE,
        )
        return "new"


async def _finish(
    pool: asyncpg.Pool, owner: str, key: str, status: int, headers: list[tuple[str, str]], body: bytes
) -> None:
    if status >= 500:
        # Nothing durable is known about a failed attempt: free the key so a retry can run.
        await pool.execute(
            "DELETE FROM idempotency_keys WHERE service_account_id = $1 AND key = $2", owner, key
        )
        return
    await pool.execute(
        """UPDATE idempotency_keys SET status_code = $3, response_headers = $4, response_body = $5,
                  completed_at = now(), locked_until = NULL
           WHERE service_account_id = $1 AND key = $2""",
        owner,
        key,
        status,
        [list(h) for h in headers],
        body,
    )


async def purge_expired(pool: asyncpg.Pool) -> None:
    await pool.execute("DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'")
    await pool.execute("DELETE FROM rate_limit_windows WHERE window_start < now() - interval '10 minutes'")

"""A whole Fieldstone stack of its own for the end-to-end tests.

It runs the six services as real processes (like `make up`) on other ports, with its own
databases, consumer groups and bucket, on the Postgres, Kafka and MinIO of `make test`.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fpdf import FPDF

from fieldstone.devstack import Profile, Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    run = uuid.uuid4().hex[:8]
    profile = Profile.from_env(
        name=f"e2e{run}",
        state_dir=tmp_path_factory.mktemp("stack"),
        http_port=int(os.environ.get("FIELDSTONE_E2E_HTTP_PORT", "28080")),
        grpc_base=int(os.environ.get("FIELDSTONE_E2E_GRPC_BASE", "28100")),
        db_prefix=f"fse2e_{run}_",
        # Fast webhook retries so a test never waits minutes.
        extra_env={
            "webhooks": {
                "WEBHOOKS_POLL_SECONDS": "0.2",
                "WEBHOOKS_RETRY_SCHEDULE": "0,0.3,0.3,0.3,0.3,0.3,0.3,0.3",
                "WEBHOOKS_TIMEOUT_SECONDS": "1",
                "WEBHOOKS_LEASE_SECONDS": "2",
            },
            # A small request rate on the free plan so a burst test reaches the limit quickly;
            # pro is generous so the property-based test is never throttled.
            "usage": {
                "USAGE_PLAN_LIMITS": json.dumps(
                    {"free": {"requests_per_minute": 40}, "pro": {"requests_per_minute": 100000}}
                )
            },
            "gateway": {"GATEWAY_ANONYMOUS_REQUESTS_PER_MINUTE": "100000"},
        },
    )
    s = Stack(profile)
    try:
        s.up(timeout=180)
        yield s
    finally:
        s.down()
        for service in ("gateway", "auth", "files", "extraction", "webhooks", "usage"):
            _drop_database(profile.pg_base, f"{profile.db_prefix}{service}")


def _drop_database(pg_base: str, name: str) -> None:
    import asyncio

    async def drop() -> None:
        conn = await asyncpg.connect(f"{pg_base}/postgres")
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


@dataclass
class Api:
    """A client of the public API with a fresh workspace of its own."""

    url: str
    key: str
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=30
        )

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return self.http.post(path, json=body, **kw)

    def poll(
        self, path: str, done: Callable[[dict[str, Any]], bool], timeout: float = 60.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            r = self.get(path)
            if r.status_code == 200:
                last = r.json()
                if done(last):
                    return last
            time.sleep(0.2)
        raise AssertionError(f"{path} did not reach the expected state in {timeout} s; last: {last}")

    def upload(
        self, data: bytes, filename: str = "doc.pdf", content_type: str = "application/pdf"
    ) -> dict[str, Any]:
        created = self.post(
            "/v1/files", {"filename": filename, "contentType": content_type, "sizeBytes": len(data)}
        )
        assert created.status_code == 201, created.text
        body: dict[str, Any] = created.json()
        put = httpx.put(body["uploadUrl"], content=data, headers=body["uploadHeaders"], timeout=30)
        assert put.status_code == 200, put.text
        return body


@pytest.fixture
def api(stack: Stack) -> Api:
    creds = stack.bootstrap_key(workspace=f"e2e-{uuid.uuid4().hex[:6]}", plan="pro")
    return Api(stack.p.url, creds["key"])


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 that records every request."""

    url: str
    requests: list[dict[str, Any]]
    status: list[int]

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(list(self.requests)):
                return
            time.sleep(0.1)
        raise AssertionError(f"webhook receiver did not get the expected requests; got {self.requests}")


@contextlib.contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    """A receiver answering each request with the next of `Receiver.status` (200 once they run out)."""
    requests: list[dict[str, Any]] = []
    statuses: list[int] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
            code = statuses.pop(0) if statuses else 200
            self.send_response(code)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_address[1]}/hooks", requests, statuses)
    finally:
        server.shutdown()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as hook:
        yield hook


def invoice_pdf(number: str = "INV-2024-003", date: str = "15.11.2024", total: str = "4.750,00 EUR") -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=16)
    pdf.cell(0, 10, "Acme Corp", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    pdf.cell(0, 8, f"Invoice Number: {number}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 8, f"Invoice Date: {date}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 8, "Cloud hosting for November", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(20)
    pdf.cell(0, 8, f"Total: {total}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


INVOICE_VARIABLES = [
    {"key": "invoice_number", "type": "string", "context": "Invoice or reference number", "required": True},
    {"key": "invoice_date", "type": "date", "context": "Date the invoice was issued"},
    {"key": "total_amount", "type": "number", "context": "Total amount due"},
]


def save_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2))

"""Webhook dispatch benchmark: deliveries per second with 1 and 2 dispatcher processes, and the time
from an extraction completing to the first delivery attempt.

It runs real `fieldstone-webhooks` processes on a database of their own, against the Postgres and
Kafka of `make test`, delivering to a local receiver (a separate process answering 204).

    eval "$(scripts/infra/infra.sh env)"
    .venv/bin/python services/webhooks/bench/run_bench.py [--events 5000] [--latency-events 300]

Throughput: N due events over 10 endpoints are released at once, once to a receiver that keeps
connections alive (as web servers do) and once to one that closes each connection after its reply (one UPDATE + NOTIFY); the clock
stops when the last one is recorded as delivered. Latency: extraction.completed events are
published on fieldstone.extractions.v1 (as the extraction service's outbox relay does) at a steady
rate; latency = arrival at the receiver - the event's occurred_at.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import multiprocessing
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from ipaddress import ip_network
from multiprocessing.connection import Connection
from pathlib import Path

import asyncpg
import grpc
from aiokafka import AIOKafkaProducer
from grpc_health.v1 import health_pb2, health_pb2_grpc

from fieldstone.common.logging import configure_logging
from fieldstone.grpc.convert import to_timestamp
from fieldstone.messaging import CloudEvent, Topics
from fieldstone.pg import create_pool
from fieldstone.proto.events.v1 import events_pb2
from fieldstone.webhooks.adapters.secret_box import SecretBox
from fieldstone.webhooks.domain import model
from fieldstone.webhooks.service_layer import handlers
from fieldstone.webhooks.service_layer.unit_of_work import WebhooksUnitOfWork

PG = os.environ.get("FIELDSTONE_PG_DSN_BASE", "postgresql://postgres@127.0.0.1:15432")
KAFKA = os.environ.get("FIELDSTONE_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
BIN = Path(sys.executable).parent
GRPC_BASE = 28700


# -- the receiver (its own process, so it does not compete with the measuring loop) -------------------
def _receiver_main(port_out: Connection, control: Connection) -> None:
    arrivals: list[tuple[str, float]] = []

    class Hook(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            """Answer 204 to each complete request; on a path ending in /close, also close the
            connection (a receiver without keep-alive), else keep it open for the next one."""
            self.buffer += data
            assert isinstance(self.transport, asyncio.Transport)
            while True:
                head, sep, rest = self.buffer.partition(b"\r\n\r\n")
                if not sep:
                    return
                lines = head.split(b"\r\n")
                headers = dict(line.split(b":", 1) for line in lines[1:] if b":" in line)
                headers = {k.strip().lower(): v.strip() for k, v in headers.items()}
                length = int(headers.get(b"content-length", b"0"))
                if len(rest) < length:
                    return
                self.buffer = rest[length:]
                arrivals.append((headers.get(b"webhook-id", b"").decode(), time.time()))
                if lines[0].split(b" ")[1].endswith(b"/close"):
                    self.transport.write(
                        b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                    self.transport.close()
                    return
                self.transport.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Hook, "127.0.0.1", 0, backlog=4096)
        port_out.send(server.sockets[0].getsockname()[1])
        while True:
            await asyncio.sleep(0.05)
            if control.poll():
                command = control.recv()
                if command == "stop":
                    break
                control.send(list(arrivals) if command == "dump" else len(arrivals))
                if command == "dump":
                    arrivals.clear()
        server.close()

    asyncio.run(main())


@contextlib.contextmanager
def receiver() -> Iterator[tuple[int, Connection]]:
    ctx = multiprocessing.get_context("fork")
    port_in, port_out = ctx.Pipe(duplex=False)
    control, child_control = ctx.Pipe()
    process = ctx.Process(target=_receiver_main, args=(port_out, child_control), daemon=True)
    process.start()
    try:
        yield port_in.recv(), control
    finally:
        control.send("stop")
        process.join(5)


# -- the service processes -------------------------------------------------------------------------
def _env(db: str, index: int, key: str, prefix: str) -> dict[str, str]:
    return {
        **os.environ,
        "WEBHOOKS_DATABASE_URL": f"{PG}/{db}",
        "WEBHOOKS_KAFKA_BOOTSTRAP": KAFKA,
        "WEBHOOKS_GRPC_PORT": str(GRPC_BASE + index),
        "WEBHOOKS_CREATE_DATABASE": "true",
        "WEBHOOKS_GROUP_PREFIX": prefix,
        "WEBHOOKS_SECRET_KEY": key,
        "WEBHOOKS_ALLOW_INSECURE_HTTP": "true",
        "WEBHOOKS_ALLOWED_CIDRS": "127.0.0.0/8",
        "WEBHOOKS_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"),
        "PYTHONUNBUFFERED": "1",
    }


def _healthy(port: int) -> bool:
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            r = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
            return bool(r.status == health_pb2.HealthCheckResponse.SERVING)
    except grpc.RpcError:
        return False


@contextlib.contextmanager
def dispatchers(count: int, db: str, key: str, prefix: str, logs: Path) -> Iterator[None]:
    procs = []
    for i in range(count):
        with (logs / f"webhooks-{i}.log").open("wb") as log:
            procs.append(
                subprocess.Popen(
                    [str(BIN / "fieldstone-webhooks")]
                    if not os.environ.get("BENCH_PROFILE")
                    else [
                        sys.executable,
                        "-m",
                        "cProfile",
                        "-o",
                        str(logs / f"webhooks-{i}.prof"),
                        str(BIN / "fieldstone-webhooks"),
                    ],
                    env=_env(db, i, key, prefix),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    try:
        deadline = time.monotonic() + 60
        for i, proc in enumerate(procs):
            while not _healthy(GRPC_BASE + i):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"webhooks process {i} did not start; see {logs}")
                time.sleep(0.2)
        yield
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextlib.asynccontextmanager
async def database(name: str) -> AsyncIterator[None]:
    # Created here: two processes creating it at once race inside Postgres.
    conn = await asyncpg.connect(f"{PG}/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield
    finally:
        conn = await asyncpg.connect(f"{PG}/postgres")
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


# -- the measurements ----------------------------------------------------------------------------------
async def _endpoints(pool: asyncpg.Pool, box: SecretBox, workspace: str, url: str, count: int) -> list[str]:
    ids = []
    for i in range(count):
        endpoint, _ = await handlers.create_endpoint(
            WebhooksUnitOfWork(pool),
            box,
            workspace_id=workspace,
            url=f"{url}/{i}",
            event_types=[],
            description="bench",
            created_by="sa_bench",
            policy=handlers.UrlPolicy(True, (ip_network("127.0.0.0/8"),)),
        )
        ids.append(endpoint.id)
    return ids


async def throughput(pool: asyncpg.Pool, box: SecretBox, url: str, events: int) -> float:
    """Deliveries per second for `events` events released at once."""
    workspace = f"ws_bench_{uuid.uuid4().hex[:8]}"
    endpoint_ids = await _endpoints(pool, box, workspace, url, 10)
    outcome = model.ExtractionOutcome(
        "ext_bench", workspace, "file_bench", "tpl_bench", "completed", "", datetime.now(UTC)
    )
    payload = model.extraction_payload("extraction.completed", outcome, "http://127.0.0.1:8000")
    rows = [
        (
            model.stable_event_id(f"bench-{workspace}-{i}", endpoint_ids[i % 10], datetime.now(UTC)),
            workspace,
            endpoint_ids[i % 10],
            "extraction.completed",
            payload,
        )
        for i in range(events)
    ]
    async with pool.acquire() as conn:
        await conn.executemany(
            """INSERT INTO webhook_events (id, workspace_id, endpoint_id, type, payload, next_attempt_at)
               VALUES ($1, $2, $3, $4, $5, 'infinity')""",
            rows,
        )
        started = time.perf_counter()
        async with conn.transaction():
            await conn.execute(
                "UPDATE webhook_events SET next_attempt_at = now() WHERE workspace_id = $1", workspace
            )
            await conn.execute("NOTIFY fieldstone_webhooks_due")
        while True:
            done = await conn.fetchval(
                "SELECT count(*) FROM webhook_events WHERE workspace_id = $1 AND status <> 'pending'",
                workspace,
            )
            if done >= events:
                break
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
        delivered = await conn.fetchval(
            "SELECT count(*) FROM webhook_events WHERE workspace_id = $1 AND status = 'delivered'", workspace
        )
    if delivered != events:
        raise RuntimeError(f"only {delivered} of {events} delivered")
    return events / elapsed


async def latency(
    pool: asyncpg.Pool, box: SecretBox, url: str, control: Connection, events: int, rate: float
) -> tuple[list[float], list[float]]:
    """Seconds from extraction.completed (occurred_at) to the first attempt's arrival, per event."""
    workspace = f"ws_bench_{uuid.uuid4().hex[:8]}"
    await _endpoints(pool, box, workspace, url, 1)
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, linger_ms=0)
    await producer.start()
    try:

        async def announce() -> float:
            extraction_id = f"ext_{uuid.uuid4().hex[:26].upper()}"
            now = datetime.now(UTC)
            occurred_at = to_timestamp(now)
            data = events_pb2.ExtractionStatusChanged(
                extraction_id=extraction_id,
                workspace_id=workspace,
                file_id="file_bench",
                template_id="tpl_bench",
                status="completed",
                occurred_at=occurred_at,
            ).SerializeToString()
            event = CloudEvent(
                id=f"msg_{uuid.uuid4().hex}",
                source="/fieldstone/extraction",
                type="fieldstone.extraction.completed.v1",
                subject=extraction_id,
                time=now,
                data=data,
            )
            await producer.send(
                Topics.EXTRACTIONS, data, key=extraction_id.encode(), headers=event.kafka_headers()
            )
            return now.timestamp()

        # Warm-up: the new consumer group first reads the topic's history; wait until it is live.
        await announce()
        while True:
            if await pool.fetchval(
                "SELECT count(*) FROM webhook_events WHERE workspace_id = $1 AND status = 'delivered'",
                workspace,
            ):
                break
            await asyncio.sleep(0.1)
        control.send("dump")
        control.recv()

        sent: list[float] = []
        started = time.perf_counter()
        for i in range(events):
            await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
            sent.append(await announce())
        deadline = time.monotonic() + 60
        while (
            await pool.fetchval(
                "SELECT count(*) FROM webhook_events WHERE workspace_id = $1 AND status = 'delivered'",
                workspace,
            )
            < events + 1
        ):
            if time.monotonic() > deadline:
                raise RuntimeError("latency events were not all delivered within 60 s")
            await asyncio.sleep(0.1)
    finally:
        await producer.stop()
    control.send("dump")
    arrivals: list[tuple[str, float]] = control.recv()
    firsts: dict[str, float] = {}
    for webhook_id, at in arrivals:
        firsts.setdefault(webhook_id, at)
    rows = await pool.fetch(
        """SELECT id, extract(epoch FROM (payload->>'timestamp')::timestamptz)::float8 AS occurred,
                  extract(epoch FROM created_at)::float8 AS created
           FROM webhook_events WHERE workspace_id = $1""",
        workspace,
    )
    occurred = {r["id"]: r["occurred"] for r in rows}
    created = {r["id"]: r["created"] for r in rows}
    consumed = sorted(created[i] - occurred[i] for i in firsts if i in occurred)
    total = sorted(firsts[i] - occurred[i] for i in firsts if i in occurred)
    return total, consumed


def _pct(values: list[float], p: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]
    )


async def run(args: argparse.Namespace) -> None:
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    box = SecretBox(base64.b64decode(key))
    logs = Path(args.logs)
    results: list[tuple[str, str]] = []
    with receiver() as (port, control):
        url = f"http://127.0.0.1:{port}/hooks"
        for processes in (1, 2):
            db = f"fsbench_webhooks_{uuid.uuid4().hex[:8]}"
            prefix = f"fsbench-{uuid.uuid4().hex[:8]}"
            async with database(db):
                with dispatchers(processes, db, key, prefix, logs):
                    pool = await create_pool(f"{PG}/{db}", max_size=4)
                    try:
                        for path, receiving in (("", "keep-alive"), ("/close", "a connection per delivery")):
                            rate = await throughput(pool, box, url + path, args.events)
                            results.append(
                                (
                                    f"deliveries/s, {processes} dispatcher process(es), {args.events} events, "
                                    f"receiver: {receiving}",
                                    f"{rate:,.0f}",
                                )
                            )
                        if processes == 1:
                            lat, consumed = await latency(
                                pool, box, url, control, args.latency_events, args.rate
                            )
                            results.append(
                                (
                                    f"extraction completed -> first attempt, {len(lat)} events at {args.rate:g}/s",
                                    f"p50 {_pct(lat, 50) * 1000:.0f} ms, p95 {_pct(lat, 95) * 1000:.0f} ms, "
                                    f"max {max(lat) * 1000:.0f} ms",
                                )
                            )
                            results.append(
                                (
                                    "  of which Kafka + consumer (event stored)",
                                    f"p50 {_pct(consumed, 50) * 1000:.0f} ms, p95 {_pct(consumed, 95) * 1000:.0f} ms",
                                )
                            )
                    finally:
                        await pool.close()
    width = max(len(name) for name, _ in results)
    lines = [f"\n{'measurement':<{width}} | result", f"{'-' * width}-|-{'-' * 40}"]
    lines += [f"{name:<{width}} | {value}" for name, value in results]
    lines.append(
        f"\n(cpus: {os.cpu_count()}; receiver, Postgres, Kafka and the dispatchers share them; logs in {logs})"
    )
    sys.stdout.write("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=5000, help="events for the throughput runs")
    parser.add_argument("--latency-events", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0, help="extractions per second in the latency run")
    parser.add_argument("--logs", default="/tmp/fieldstone-webhooks-bench")
    args = parser.parse_args()
    Path(args.logs).mkdir(parents=True, exist_ok=True)
    # The setup's own log lines (endpoints created...) go to stderr, warnings only: stdout is the table.
    configure_logging("webhooks-bench", "WARNING", stream=sys.stderr)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()

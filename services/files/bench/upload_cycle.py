"""How long the create → upload → verified cycle takes, through the public API.

    make up && .venv/bin/python services/files/bench/upload_cycle.py            # the dev stack (.stack/env)
    .venv/bin/python services/files/bench/upload_cycle.py --own-stack           # a private stack, then gone

Each round declares a PDF (`POST /v1/files`), PUTs it to the presigned URL, and polls `GET /v1/files/{id}`
every 10 ms until it is `uploaded`; a second series uploads the same PDF in one multipart request. Prints
median and p95 per phase. FIELDSTONE_URL / FIELDSTONE_API_KEY override .stack/env.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from fpdf import FPDF

ROOT = Path(__file__).resolve().parents[3]


def pdf_of_size(target_bytes: int) -> bytes:
    """A valid PDF of about `target_bytes` (uncompressed text pages)."""

    def build(pages: int) -> bytes:
        pdf = FPDF()
        pdf.set_compression(False)
        pdf.set_font("Helvetica", size=8)
        for page in range(pages):
            pdf.add_page()
            for i in range(60):
                pdf.cell(0, 4, f"Invoice {page:03d}-{i:02d}: consulting services, 1.00 h at 100.00 EUR" * 2)
                pdf.ln(4)
        return bytes(pdf.output())

    one, two = len(build(1)), len(build(2))
    return build(max(1, round((target_bytes - one) / (two - one)) + 1))


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")  # a command-line tool: the table is its output
    sys.stdout.flush()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def wait_uploaded(http: httpx.Client, file_id: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = str(http.get(f"/v1/files/{file_id}").json()["status"])
        if status != "pending_upload":
            return status
        time.sleep(0.01)
    raise TimeoutError(f"{file_id} still pending after {timeout} s")


def direct_round(http: httpx.Client, data: bytes) -> dict[str, float]:
    t0 = time.perf_counter()
    created = http.post(
        "/v1/files", json={"filename": "bench.pdf", "contentType": "application/pdf", "sizeBytes": len(data)}
    )
    created.raise_for_status()
    body = created.json()
    t1 = time.perf_counter()
    httpx.put(body["uploadUrl"], content=data, headers=body["uploadHeaders"], timeout=30).raise_for_status()
    t2 = time.perf_counter()
    status = wait_uploaded(http, body["fileId"])
    t3 = time.perf_counter()
    if status != "uploaded":
        raise RuntimeError(f"file ended {status}")
    return {"create": t1 - t0, "put": t2 - t1, "verified (after PUT)": t3 - t2, "total": t3 - t0}


def multipart_round(http: httpx.Client, data: bytes) -> dict[str, float]:
    t0 = time.perf_counter()
    r = http.post("/v1/files", files={"file": ("bench.pdf", data, "application/pdf")})
    r.raise_for_status()
    if r.json()["status"] != "uploaded":
        raise RuntimeError(f"file ended {r.json()['status']}")
    return {"multipart (one request)": time.perf_counter() - t0}


def read_env() -> tuple[str, str]:
    values = dict(os.environ)
    env_file = ROOT / ".stack" / "env"
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            name, _, value = line.partition("=")
            values.setdefault(name.strip(), value.strip())
    if not values.get("FIELDSTONE_URL") or not values.get("FIELDSTONE_API_KEY"):
        sys.exit("no FIELDSTONE_URL / FIELDSTONE_API_KEY: run `make up` first, or pass --own-stack")
    return values["FIELDSTONE_URL"], values["FIELDSTONE_API_KEY"]


@contextmanager
def own_stack() -> Iterator[tuple[str, str]]:
    """A private stack on spare ports with its own databases and bucket (like the e2e tests)."""
    import asyncio

    import asyncpg

    from fieldstone.devstack import Profile, Stack

    run = uuid.uuid4().hex[:6]
    profile = Profile.from_env(
        name=f"bench{run}",
        state_dir=Path(tempfile.mkdtemp(prefix="fs-bench-")),
        http_port=int(os.environ.get("FIELDSTONE_BENCH_HTTP_PORT", "28980")),
        grpc_base=int(os.environ.get("FIELDSTONE_BENCH_GRPC_BASE", "29100")),
        db_prefix=f"fsbench_{run}_",
    )
    stack = Stack(profile)
    try:
        stack.up(timeout=180)
        yield profile.url, stack.bootstrap_key(workspace=f"bench-{run}", plan="pro")["key"]
    finally:
        stack.down()

        async def drop() -> None:
            conn = await asyncpg.connect(f"{profile.pg_base}/postgres")
            try:
                for service in ("gateway", "auth", "files", "extraction", "webhooks", "usage"):
                    await conn.execute(f'DROP DATABASE IF EXISTS "{profile.db_prefix}{service}" WITH (FORCE)')
            finally:
                await conn.close()

        asyncio.run(drop())


def bench(url: str, key: str, rounds: int, size_kb: int, jitter: float) -> None:
    data = pdf_of_size(size_kb * 1024)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        for _ in range(3):  # warm-up: connections, consumer group assignment
            direct_round(http, data)
        samples: dict[str, list[float]] = {}
        for _ in range(rounds):
            # Rounds back to back would lock onto any periodic tick on the path (MinIO's queued
            # notifications are sent every 3 s); real uploads arrive at random moments.
            time.sleep(random.uniform(0, jitter))
            for phase, seconds in (direct_round(http, data) | multipart_round(http, data)).items():
                samples.setdefault(phase, []).append(seconds)
    out(f"\ncreate-upload-verify, {len(data) / 1024:.0f} KB PDF, {rounds} rounds, {url}\n")
    out(f"| {'phase':<26} | {'median ms':>9} | {'p95 ms':>8} | {'max ms':>8} |")
    out(f"|{'-' * 28}|{'-' * 11}|{'-' * 10}|{'-' * 10}|")
    for phase, values in samples.items():
        ms = [v * 1000 for v in values]
        out(
            f"| {phase:<26} | {statistics.median(ms):>9.0f} | {percentile(ms, 0.95):>8.0f} | {max(ms):>8.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--size-kb", type=int, default=200)
    parser.add_argument("--jitter", type=float, default=3.0, help="random pause before each round, seconds")
    parser.add_argument("--own-stack", action="store_true", help="start a private stack for the run")
    ns = parser.parse_args()
    if ns.own_stack:
        with own_stack() as (url, key):
            bench(url, key, ns.rounds, ns.size_kb, ns.jitter)
    else:
        bench(*read_env(), ns.rounds, ns.size_kb, ns.jitter)


if __name__ == "__main__":
    main()

"""Batch-run throughput with 1 and 2 extraction processes, on a stack of its own.

    eval "$(scripts/infra/infra.sh env)"
    .venv/bin/python services/extraction/bench/run_throughput.py --files 200 --workers 1 2

For each worker count it uploads `--files` one-page invoices (not timed), then times
`POST /v1/runs` until `GET /v1/runs/{id}` says completed, and prints a table. The stack runs every
service as a local process on the Postgres, Kafka and MinIO of `make up` (their own databases,
consumer groups and bucket), with extra extraction processes started between measurements.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import httpx
from fpdf import FPDF

from fieldstone.devstack import Profile, Stack

VARIABLES = [
    {"key": "invoice_number", "type": "string", "context": "Invoice or reference number", "required": True},
    {"key": "invoice_date", "type": "date", "context": "Date the invoice was issued"},
    {"key": "total_amount", "type": "number", "context": "Total amount due"},
]


def invoice(n: int) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for line in (
        "Acme Corp",
        f"Invoice Number: INV-{n:05d}",
        "Invoice Date: 15.11.2024",
        f"Total: {n},00 EUR",
    ):
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def upload(http: httpx.Client, n: int) -> str:
    r = http.post("/v1/files", files={"file": (f"inv-{n}.pdf", invoice(n), "application/pdf")})
    r.raise_for_status()
    assert r.json()["status"] == "uploaded", r.json()
    file_id: str = r.json()["id"]
    return file_id


def measure(http: httpx.Client, files: int, offset: int) -> tuple[float, dict[str, int]]:
    with ThreadPoolExecutor(8) as pool:
        file_ids = list(pool.map(lambda n: upload(http, n), range(offset, offset + files)))
    started = time.perf_counter()
    created = http.post("/v1/runs", json={"variables": VARIABLES, "fileIds": file_ids}, timeout=120)
    created.raise_for_status()
    run_id = created.json()["id"]
    while True:
        run = http.get(f"/v1/runs/{run_id}").json()
        if run["status"] == "completed":
            return time.perf_counter() - started, run["counts"]
        if time.perf_counter() - started > 900:
            raise SystemExit(f"run {run_id} did not complete in 15 minutes: {run['counts']}")
        time.sleep(0.1)


async def drop_databases(profile: Profile) -> None:
    conn = await asyncpg.connect(f"{profile.pg_base}/postgres")
    try:
        names = await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", f"{profile.db_prefix}%"
        )
        for row in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=200, help="documents per run (default 200)")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="extraction processes to measure"
    )
    parser.add_argument("--http-port", type=int, default=38080)
    parser.add_argument("--grpc-base", type=int, default=38100)
    ns = parser.parse_args(argv)

    run = uuid.uuid4().hex[:6]
    state = Path(tempfile.mkdtemp(prefix="fieldstone-bench-"))
    profile = Profile.from_env(
        name=f"bench{run}",
        state_dir=state,
        http_port=ns.http_port,
        grpc_base=ns.grpc_base,
        db_prefix=f"fsbench_{run}_",
        log_level="WARNING",
    )
    stack = Stack(profile)
    rows: list[tuple[int, float, dict[str, int]]] = []
    try:
        stack.up(timeout=180)
        key = stack.bootstrap_key(workspace=f"bench-{run}", plan="pro")["key"]
        http = httpx.Client(base_url=profile.url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
        for i, workers in enumerate(sorted(ns.workers)):
            for n in range(2, 10):
                name = f"extraction-{n}"
                if n <= workers:
                    stack.start(name)
                elif stack.pid(name):
                    stack.stop(name)
            stack.wait_healthy(("extraction", *(f"extraction-{n}" for n in range(2, workers + 1))))
            seconds, counts = measure(http, ns.files, offset=i * ns.files)
            rows.append((workers, seconds, counts))
            sys.stderr.write(f"[bench] {workers} process(es): {seconds:.1f} s\n")
    finally:
        stack.down()
        asyncio.run(drop_databases(profile))
        shutil.rmtree(state, ignore_errors=True)

    out = sys.stdout
    out.write(
        f"\nBatch run of {ns.files} one-page PDFs; {os.cpu_count()} CPUs shared by all six services\n\n"
    )
    out.write("| extraction processes | worker slots | wall time (s) | documents/s | completed | failed |\n")
    out.write("|---:|---:|---:|---:|---:|---:|\n")
    slots = int(os.environ.get("EXTRACTION_WORKER_CONCURRENCY", "2"))
    for workers, seconds, counts in rows:
        out.write(
            f"| {workers} | {workers * slots} | {seconds:.1f} | {ns.files / seconds:.1f} | "
            f"{counts['completed']} | {counts['failed']} |\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

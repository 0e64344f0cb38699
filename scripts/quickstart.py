"""The README's quick start as a script: upload, extract, poll, result, webhook, usage.

    .venv/bin/python scripts/quickstart.py [FILE.pdf]     (after `make up`; reads .stack/env)

Without a file it makes a small sample invoice. It registers a webhook receiver on
127.0.0.1 (the local stack allows loopback targets) and verifies the signed delivery.
"""

from __future__ import annotations

import http.server
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from fpdf import FPDF
from standardwebhooks.webhooks import Webhook

ROOT = Path(__file__).resolve().parents[1]


def sample_invoice() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    for line in (
        "Acme Corp",
        "Invoice Number: INV-2024-003",
        "Invoice Date: 15.11.2024",
        "",
        "Total: 4.750,00 EUR",
    ):
        pdf.cell(0, 9, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def main() -> int:
    env = dict(line.split("=", 1) for line in (ROOT / ".stack" / "env").read_text().split())
    api = httpx.Client(
        base_url=env["FIELDSTONE_URL"],
        headers={"Authorization": f"Bearer {env['FIELDSTONE_API_KEY']}"},
        timeout=30,
    )
    out = sys.stdout

    received: list[tuple[dict[str, str], bytes]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = api.post(
        "/v1/webhook-endpoints", json={"url": f"http://127.0.0.1:{server.server_address[1]}/hook"}
    )
    endpoint.raise_for_status()
    secret = endpoint.json()["secret"]

    data = Path(sys.argv[1]).read_bytes() if len(sys.argv) > 1 else sample_invoice()
    file = api.post(
        "/v1/files",
        json={"filename": "invoice.pdf", "contentType": "application/pdf", "sizeBytes": len(data)},
    ).json()
    httpx.put(file["uploadUrl"], content=data, headers=file["uploadHeaders"]).raise_for_status()
    out.write(f"uploaded {file['fileId']}\n")

    variables = [
        {"key": "invoice_number", "type": "string", "context": "Invoice number"},
        {"key": "invoice_date", "type": "date", "context": "Date the invoice was issued"},
        {"key": "total_amount", "type": "number", "context": "Total amount due"},
    ]
    started = api.post("/v1/extractions", json={"fileId": file["fileId"], "variables": variables})
    started.raise_for_status()
    ext = started.json()
    out.write(f"extraction {ext['id']} {ext['status']}\n")
    deadline = time.monotonic() + 60
    while ext["status"] in ("queued", "processing") and time.monotonic() < deadline:
        time.sleep(0.3)
        ext = api.get(f"/v1/extractions/{ext['id']}").json()
    out.write(f"extraction {ext['id']} {ext['status']}\n")
    out.write(json.dumps(api.get(f"/v1/extractions/{ext['id']}/result").json(), indent=2) + "\n")

    while not received and time.monotonic() < deadline:
        time.sleep(0.2)
    headers, body = received[0]
    out.write(f"webhook verified: {Webhook(secret).verify(body, headers)['type']}\n")
    out.write(json.dumps(api.get("/v1/usage").json()) + "\n")
    server.shutdown()
    return 0 if ext["status"] == "completed" else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Files end to end (issue #5): presigned uploads verified through MinIO's Kafka notifications,
rejections with their reasons, lost notifications made good, one-step multipart uploads, deletion."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import grpc
import httpx
import pytest
from fpdf import FPDF
from minio import Minio
from minio.credentials import StaticProvider
from minio.minioadmin import MinioAdmin
from minio.notificationconfig import NotificationConfig

from fieldstone.blob import BlobStore
from fieldstone.devstack import Stack
from fieldstone.proto.files.v1 import files_pb2, files_pb2_grpc
from tests.e2e.conftest import INVOICE_VARIABLES, Api, invoice_pdf

pytestmark = pytest.mark.e2e
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
HTML = b"<!doctype html><html><head><title>Invoice</title></head><body>not a pdf</body></html>"


def make_pdf(pages: int = 1, user_password: str | None = None) -> bytes:
    pdf = FPDF()
    if user_password:
        pdf.set_encryption(owner_password="owner", user_password=user_password)
    pdf.set_font("Helvetica", size=11)
    for i in range(pages):
        pdf.add_page()
        pdf.cell(0, 8, f"page {i + 1}")
    return bytes(pdf.output())


class Bucket:
    """The e2e stack's uploads bucket, seen with the operator's credentials."""

    def __init__(self, stack: Stack) -> None:
        env = stack.env("files")
        self.name = env["FILES_BUCKET"]
        self.arn = env["FILES_NOTIFY_QUEUE_ARN"]
        p = stack.p
        self.client = Minio(
            p.s3_endpoint, access_key=p.s3_access_key, secret_key=p.s3_secret_key, secure=False
        )
        self.store = BlobStore(p.s3_endpoint, p.s3_access_key, p.s3_secret_key)

    def notification_budget(self, stack: Stack) -> float:
        """2 s, plus MinIO's store replay tick when its Kafka target has a queue dir: queued events
        are only sent every 3 s (minio internal/store retryInterval); unqueued ones at once."""
        p = stack.p
        admin = MinioAdmin(
            endpoint=p.s3_endpoint,
            credentials=StaticProvider(p.s3_access_key, p.s3_secret_key),
            secure=False,
        )
        target = self.arn.split(":")[-2]
        queued = f"QUEUE_DIR_{target}=" in admin.config_get(f"notify_kafka:{target}")
        return 2.0 + (3.0 if queued else 0.0)

    def keys(self, prefix: str) -> list[str]:
        return [o.object_name for o in self.client.list_objects(self.name, prefix=prefix, recursive=True)]


@pytest.fixture
def bucket(stack: Stack) -> Bucket:
    return Bucket(stack)


@pytest.fixture
def files_grpc(stack: Stack) -> Iterator[Any]:
    with grpc.insecure_channel(stack.p.target("files")) as channel:
        yield files_pb2_grpc.FileServiceStub(channel)


def internal(files_grpc: Any, f: dict[str, Any]) -> Any:
    """The files service's own view (it says how the upload was verified)."""
    return files_grpc.GetFile(files_pb2.GetFileRequest(workspace_id=f["workspaceId"], file_id=f["id"])).file


def declare(
    api: Api, size: int, content_type: str = "application/pdf", name: str = "doc.pdf"
) -> dict[str, Any]:
    r = api.post("/v1/files", {"filename": name, "contentType": content_type, "sizeBytes": size})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def put(target: dict[str, Any], data: bytes, url: str | None = None) -> httpx.Response:
    return httpx.put(url or target["uploadUrl"], content=data, headers=target["uploadHeaders"], timeout=30)


def settled(f: dict[str, Any]) -> bool:
    return f["status"] != "pending_upload"


def test_a_presigned_upload_is_verified_through_its_notification(
    stack: Stack, api: Api, bucket: Bucket, files_grpc: Any
) -> None:
    # Warm-up: right after the stack starts, the consumer group may still be joining.
    warm = declare(api, len(first := make_pdf()))
    assert put(warm, first).status_code == 200
    api.poll(f"/v1/files/{warm['fileId']}", settled, timeout=30)

    data = invoice_pdf()
    target = declare(api, len(data))
    assert target["status"] == "pending_upload" and target["uploadMethod"] == "PUT"
    assert target["uploadHeaders"] == {"Content-Type": "application/pdf"} and target["expiresAt"]
    assert target["limits"]["maxPages"] > 0 and target["limits"]["maxFileBytes"] >= len(data)
    ws = target["workspaceId"]
    assert target["uploadUrl"].split("?")[0].endswith(f"/{bucket.name}/uploads/{ws}/{target['fileId']}")

    started = time.monotonic()
    assert put(target, data).status_code == 200
    done = api.poll(f"/v1/files/{target['fileId']}", settled, timeout=bucket.notification_budget(stack))
    elapsed = time.monotonic() - started
    assert done["status"] == "uploaded" and done["pageCount"] == 1 and done["uploadedAt"], done
    # Only a notification can have done it: GET does not verify, the sweep waits 30 s.
    seen = internal(files_grpc, done)
    assert seen.verified_by == "notification", (seen.verified_by, elapsed)
    assert bucket.keys(f"files/{ws}/{done['id']}") == [f"files/{ws}/{done['id']}"]
    assert bucket.keys(f"uploads/{ws}/{done['id']}") == []


def test_an_upload_url_writes_only_its_own_key(stack: Stack, api: Api, bucket: Bucket) -> None:
    other = Api(stack.p.url, stack.bootstrap_key(workspace="e2e-files-other", plan="pro")["key"])
    data = make_pdf()
    mine, theirs = declare(api, len(data)), declare(other, len(data))
    parts = urlsplit(mine["uploadUrl"])
    their_key = f"uploads/{theirs['workspaceId']}/{theirs['fileId']}"
    for key in (their_key, f"files/{theirs['workspaceId']}/{theirs['fileId']}"):
        forged = urlunsplit(parts._replace(path=f"/{bucket.name}/{key}"))
        refused = put(mine, data, forged)
        assert refused.status_code == 403 and "SignatureDoesNotMatch" in refused.text
    assert bucket.keys(their_key) == []
    # Objects of another workspace are not found, not forbidden.
    assert api.get(f"/v1/files/{theirs['fileId']}").status_code == 404


def test_each_bad_upload_is_rejected_with_its_reason_and_removed(api: Api, bucket: Bucket) -> None:
    pdf = make_pdf()
    max_pages = declare(api, 1)["limits"]["maxPages"]
    cases: dict[str, tuple[bytes, int, str, str]] = {
        # name: (bytes sent, size declared, content type declared, expected reason)
        "more bytes": (pdf + b"tail", len(pdf), "application/pdf", "SIZE_MISMATCH"),
        "fewer bytes": (pdf[:-10], len(pdf), "application/pdf", "SIZE_MISMATCH"),
        "png as pdf": (PNG, len(PNG), "application/pdf", "TYPE_MISMATCH"),
        "html renamed .pdf": (HTML, len(HTML), "application/pdf", "TYPE_MISMATCH"),
        "zero bytes": (b"", 100, "application/pdf", "EMPTY_FILE"),
        "encrypted": (make_pdf(user_password="secret"), 0, "application/pdf", "ENCRYPTED_PDF"),
        "truncated": (pdf[: len(pdf) * 9 // 10], 0, "application/pdf", "UNREADABLE_PDF"),
        "too many pages": (make_pdf(max_pages + 1), 0, "application/pdf", "TOO_MANY_PAGES"),
    }
    targets = {}
    for name, (data, size, content_type, _) in cases.items():
        targets[name] = declare(api, size or len(data), content_type)
        assert put(targets[name], data).status_code == 200, name
    messages = set()
    for name, (_, _, _, reason) in cases.items():
        f = api.poll(f"/v1/files/{targets[name]['fileId']}", settled, timeout=10)
        assert (f["status"], f["rejectionReason"]) == ("rejected", reason), (name, f)
        messages.add(f["rejectionMessage"])
        ws = f["workspaceId"]
        assert bucket.keys(f"uploads/{ws}/{f['id']}") == [] and bucket.keys(f"files/{ws}/{f['id']}") == [], (
            name
        )
    assert len(messages) == len(cases)  # each case says what was wrong with it

    refused = api.post(
        "/v1/extractions", {"fileId": targets["encrypted"]["fileId"], "variables": INVOICE_VARIABLES}
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "CONFLICT"
    assert "rejected (ENCRYPTED_PDF)" in refused.json()["error"]["message"]
    rejected = api.get("/v1/files", params={"status": "rejected"}).json()["data"]
    assert {f["id"] for f in rejected} == {t["fileId"] for t in targets.values()}


def test_a_lost_notification_is_made_good_when_an_extraction_asks(
    api: Api, bucket: Bucket, files_grpc: Any
) -> None:
    """Stopping the shared Kafka would disturb every other test, so the notification is lost at its
    source instead: the bucket's notification rule is removed while the file is uploaded."""
    import asyncio

    data = invoice_pdf(number="INV-LOST-1")
    target = declare(api, len(data))
    bucket.client.set_bucket_notification(bucket.name, NotificationConfig())
    try:
        assert put(target, data).status_code == 200
    finally:
        asyncio.run(bucket.store.notify_on_create(bucket.name, bucket.arn))
    assert api.get(f"/v1/files/{target['fileId']}").json()["status"] == "pending_upload"

    started = api.post("/v1/extractions", {"fileId": target["fileId"], "variables": INVOICE_VARIABLES})
    assert started.status_code == 202, started.text
    f = api.get(f"/v1/files/{target['fileId']}").json()
    assert f["status"] == "uploaded" and internal(files_grpc, f).verified_by == "read"
    done = api.poll(
        f"/v1/extractions/{started.json()['id']}", lambda e: e["status"] in ("completed", "failed")
    )
    assert done["status"] == "completed" and done["extractedData"]["invoice_number"] == "INV-LOST-1", done


def test_a_small_file_uploads_in_one_multipart_request(api: Api, files_grpc: Any) -> None:
    data = invoice_pdf(number="INV-MP-1")
    r = api.http.post("/v1/files", files={"file": ("invoice.pdf", data, "application/pdf")})
    assert r.status_code == 201, r.text
    f = r.json()
    assert (f["status"], f["filename"], f["sizeBytes"], f["pageCount"]) == (
        "uploaded",
        "invoice.pdf",
        len(data),
        1,
    )
    assert f["fileId"] == f["id"] and "uploadUrl" not in f
    # Verified before the answer: by the upload itself, or by the object store's notification when it
    # happened to arrive first (files.handlers.upload_inline takes either; both check the same bytes).
    assert internal(files_grpc, f).verified_by in ("inline", "notification")

    bad = api.http.post(
        "/v1/files", files={"file": ("scan.png", PNG, "image/png")}, data={"contentType": "application/pdf"}
    )
    assert bad.status_code == 201 and (bad.json()["status"], bad.json()["rejectionReason"]) == (
        "rejected",
        "TYPE_MISMATCH",
    )
    too_big = api.http.post(
        "/v1/files", files={"file": ("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024), "application/pdf")}
    )
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    no_file = api.http.post(
        "/v1/files", data={"filename": "a.pdf"}, files={"other": ("a", b"x", "text/plain")}
    )
    assert no_file.status_code == 400 and no_file.json()["error"]["code"] == "VALIDATION_ERROR"
    unsupported = api.http.post(
        "/v1/files", files={"file": ("a.exe", b"MZ\x90\x00", "application/x-msdownload")}
    )
    assert unsupported.status_code == 415


def test_declarations_are_validated(api: Api) -> None:
    for name in ("../../etc/passwd", "a/b.pdf", "..", "x" * 256):
        r = api.post("/v1/files", {"filename": name, "contentType": "application/pdf", "sizeBytes": 10})
        assert r.status_code == 400 and r.json()["error"]["code"] == "VALIDATION_ERROR", name
    big = api.post("/v1/files", {"filename": "a.pdf", "contentType": "application/pdf", "sizeBytes": 10**12})
    assert big.status_code == 413 and big.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    html = api.post("/v1/files", {"filename": "a.html", "contentType": "text/html", "sizeBytes": 10})
    assert html.status_code == 415 and html.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    junk = api.http.post("/v1/files", content=b"{not json", headers={"content-type": "application/json"})
    assert junk.status_code == 400
    unknown = api.post(
        "/v1/files", {"filename": "a.pdf", "contentType": "application/pdf", "sizeBytes": 1, "x": 1}
    )
    assert unknown.status_code == 400


def test_list_filter_page_and_delete(api: Api, bucket: Bucket) -> None:
    data = make_pdf()
    uploaded = api.http.post("/v1/files", files={"file": ("a.pdf", data, "application/pdf")}).json()
    pending = [declare(api, len(data))["fileId"] for _ in range(3)]
    first = api.get("/v1/files", params={"limit": 2}).json()
    assert len(first["data"]) == 2 and first["hasMore"] and first["nextCursor"]
    rest = api.get("/v1/files", params={"limit": 2, "cursor": first["nextCursor"]}).json()
    assert not rest["hasMore"] and rest["nextCursor"] is None
    listed = [f["id"] for f in first["data"] + rest["data"]]
    assert listed == sorted([*pending, uploaded["id"]], reverse=True)  # newest first
    only = api.get("/v1/files", params={"status": "uploaded"}).json()["data"]
    assert [f["id"] for f in only] == [uploaded["id"]]
    assert api.get("/v1/files", params={"status": "deleted"}).status_code == 400

    ws = uploaded["workspaceId"]
    assert bucket.keys(f"files/{ws}/{uploaded['id']}")
    gone = api.http.delete(f"/v1/files/{uploaded['id']}")
    assert gone.status_code == 200 and gone.json()["status"] == "deleted" and gone.json()["deletedAt"]
    assert bucket.keys(f"files/{ws}/{uploaded['id']}") == []
    assert api.get(f"/v1/files/{uploaded['id']}").status_code == 404
    assert api.http.delete(f"/v1/files/{uploaded['id']}").status_code == 404
    assert uploaded["id"] not in [f["id"] for f in api.get("/v1/files", params={"limit": 100}).json()["data"]]
    refused = api.post("/v1/extractions", {"fileId": uploaded["id"], "variables": INVOICE_VARIABLES})
    assert refused.status_code == 409 and "deleted" in refused.json()["error"]["message"]

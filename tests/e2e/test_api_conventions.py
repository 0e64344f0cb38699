"""The public API's conventions (issue #4): keys, scopes, tenancy, idempotency, rate limits, errors."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from fieldstone.devstack import Stack
from tests.e2e.conftest import INVOICE_VARIABLES, Api, invoice_pdf

pytestmark = pytest.mark.e2e


def _new_key(api: Api, scopes: list[str], **extra: Any) -> tuple[Api, dict[str, Any]]:
    sa = api.post("/v1/service-accounts", {"name": f"sa-{uuid.uuid4().hex[:6]}"})
    assert sa.status_code == 201, sa.text
    created = api.post(
        f"/v1/service-accounts/{sa.json()['id']}/keys", {"name": "k", "scopes": scopes, **extra}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    return Api(api.url, body["key"]), body


def test_keys_are_shown_once_and_rotation_and_revocation_work(api: Api) -> None:
    limited, created = _new_key(api, ["usage:read"])
    assert created["prefix"] == created["key"][:16] and created["revoked"] is False
    assert limited.get("/v1/usage").status_code == 200
    listed = api.get("/v1/api-keys").json()
    assert created["id"] in [k["id"] for k in listed["data"]]
    assert created["key"] not in str(listed) and "key" not in listed["data"][0]
    assert "key" not in api.get(f"/v1/api-keys/{created['id']}").json()

    rotated = api.post(f"/v1/api-keys/{created['id']}/rotate", {"overlapSeconds": 3600})
    assert rotated.status_code == 201, rotated.text
    new = Api(api.url, rotated.json()["key"])
    assert rotated.json()["rotatedFrom"] == created["id"]
    assert new.get("/v1/usage").status_code == 200
    assert limited.get("/v1/usage").status_code == 200  # both work during the overlap

    revoked = api.http.delete(f"/v1/api-keys/{created['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    deadline = time.monotonic() + 1.0
    status = 200
    while time.monotonic() < deadline and status != 401:
        status = limited.get("/v1/usage").status_code
    assert status == 401, "a revoked key must be refused within 1 s"
    assert new.get("/v1/usage").status_code == 200


def test_expired_malformed_and_missing_keys_are_unauthorized(api: Api) -> None:
    expiring, _ = _new_key(api, ["usage:read"], expiresAt=_in_seconds(2))
    assert expiring.get("/v1/usage").status_code == 200
    deadline = time.monotonic() + 10
    while expiring.get("/v1/usage").status_code != 401:
        assert time.monotonic() < deadline, "an expired key kept working"
        time.sleep(0.2)
    for header in ({}, {"Authorization": "Bearer fsk_live_nope"}, {"Authorization": "Basic abc"}):
        r = httpx.get(f"{api.url}/v1/usage", headers=header)
        assert r.status_code == 401 and r.json()["error"]["code"] == "UNAUTHORIZED"


def _in_seconds(s: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) + timedelta(seconds=s)).isoformat()


def test_a_key_cannot_grant_scopes_it_lacks(api: Api) -> None:
    keys_only, _ = _new_key(api, ["keys:read", "keys:write"])
    sa = keys_only.post("/v1/service-accounts", {"name": "x"}).json()
    r = keys_only.post(f"/v1/service-accounts/{sa['id']}/keys", {"scopes": ["files:write"]})
    assert r.status_code == 403 and "files:write" in r.json()["error"]["message"]


ROUTES: list[tuple[str, str, str, Any]] = [
    # (method, path template, scope, body)
    ("GET", "/v1/service-accounts", "keys:read", None),
    ("POST", "/v1/service-accounts", "keys:write", {"name": "x"}),
    ("GET", "/v1/service-accounts/{sa}", "keys:read", None),
    ("PATCH", "/v1/service-accounts/{sa}", "keys:write", {"name": "y"}),
    ("POST", "/v1/service-accounts/{sa}/keys", "keys:write", {"scopes": ["usage:read"]}),
    ("GET", "/v1/api-keys", "keys:read", None),
    ("GET", "/v1/api-keys/{key}", "keys:read", None),
    ("POST", "/v1/api-keys/{key}/rotate", "keys:write", {}),
    ("DELETE", "/v1/api-keys/{key}", "keys:write", None),
    ("DELETE", "/v1/service-accounts/{sa}", "keys:write", None),
    (
        "POST",
        "/v1/files",
        "files:write",
        {"filename": "a.pdf", "contentType": "application/pdf", "sizeBytes": 10},
    ),
    ("GET", "/v1/files", "files:read", None),
    ("GET", "/v1/files/{file}", "files:read", None),
    ("POST", "/v1/extractions", "extractions:write", {"fileId": "{file}", "variables": INVOICE_VARIABLES}),
    ("GET", "/v1/extractions", "extractions:read", None),
    ("GET", "/v1/extractions/{ext}", "extractions:read", None),
    ("GET", "/v1/extractions/{ext}/result", "extractions:read", None),
    ("POST", "/v1/extractions/{ext}/cancel", "extractions:write", None),
    ("GET", "/v1/webhook-endpoints", "webhooks:read", None),
    ("POST", "/v1/webhook-endpoints", "webhooks:write", {"url": "https://example.com/hook"}),
    ("GET", "/v1/webhook-events", "webhooks:read", None),
    ("GET", "/v1/usage", "usage:read", None),
]
OBJECT_ROUTES = [r for r in ROUTES if "{" in r[1]]


def _objects(api: Api) -> dict[str, str]:
    sa = api.post("/v1/service-accounts", {"name": "victim"}).json()["id"]
    key = api.post(f"/v1/service-accounts/{sa}/keys", {"scopes": ["usage:read"]}).json()["id"]
    data = invoice_pdf()
    file = api.upload(data)["fileId"]
    ext = api.post("/v1/extractions", {"fileId": file, "variables": INVOICE_VARIABLES}).json()["id"]
    return {"sa": sa, "key": key, "file": file, "ext": ext}


def _call(client: Api, method: str, path: str, body: Any, ids: dict[str, str]) -> httpx.Response:
    url = path.format(**ids)
    if isinstance(body, dict):
        body = {k: (v.format(**ids) if isinstance(v, str) else v) for k, v in body.items()}
    return client.http.request(method, url, json=body)


def test_every_route_enforces_its_scope_and_the_tenant_boundary(stack: Stack, api: Api) -> None:
    ids = _objects(api)
    # A key holding every scope but the one a route needs gets 403 naming that scope.
    for method, path, scope, body in ROUTES:
        resource = scope.split(":")[0]
        others = [
            s for s in _ALL_SCOPES if s != scope and not (s.startswith(resource) and scope.endswith("read"))
        ]
        holder, _ = _new_key(api, others)
        r = _call(holder, method, path, body, ids)
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        assert r.json()["error"]["code"] == "FORBIDDEN" and scope in r.json()["error"]["message"]
    # Another workspace's key with every scope sees none of these objects.
    stranger = Api(
        stack.p.url, stack.bootstrap_key(workspace=f"other-{uuid.uuid4().hex[:6]}", plan="pro")["key"]
    )
    for method, path, _scope, body in OBJECT_ROUTES:
        r = _call(stranger, method, path, body, ids)
        assert r.status_code == 404, (method, path, r.status_code, r.text)
        assert r.json()["error"]["code"] == "NOT_FOUND"
    r = _call(stranger, "POST", "/v1/extractions", {"fileId": "{file}", "variables": INVOICE_VARIABLES}, ids)
    assert r.status_code == 404


_ALL_SCOPES = [
    f"{r}:{a}"
    for r in ("files", "templates", "extractions", "webhooks", "usage", "keys")
    for a in ("read", "write")
]


def test_idempotency_key_creates_one_extraction_under_concurrency(api: Api) -> None:
    file = api.upload(invoice_pdf())["fileId"]
    body = {"fileId": file, "variables": INVOICE_VARIABLES}
    key = f"create-{uuid.uuid4().hex}"

    def create(_: int) -> httpx.Response:
        return api.http.post("/v1/extractions", json=body, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(create, range(20)))
    ok = [r for r in replies if r.status_code == 202]
    assert ok and all(r.status_code in (202, 409) for r in replies), [r.status_code for r in replies]
    assert len({r.json()["id"] for r in ok}) == 1
    assert all(r.json()["error"]["code"] == "IDEMPOTENCY_KEY_IN_USE" for r in replies if r.status_code == 409)
    again = api.http.post("/v1/extractions", json=body, headers={"Idempotency-Key": f'"{key}"'})
    assert again.status_code == 202 and again.json() == ok[0].json()
    assert again.headers["idempotent-replayed"] == "true"
    other = api.http.post("/v1/extractions", json={**body, "pages": "1"}, headers={"Idempotency-Key": key})
    assert other.status_code == 422 and other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    listed = api.get("/v1/extractions", params={"limit": 100}).json()["data"]
    assert sum(1 for e in listed if e["fileId"] == file) == 1


def test_rate_limit_headers_and_429(stack: Stack) -> None:
    free = Api(stack.p.url, stack.bootstrap_key(workspace=f"free-{uuid.uuid4().hex[:6]}", plan="free")["key"])
    first = free.get("/v1/usage")
    assert first.headers["ratelimit-policy"] == '"default";q=40;w=60'
    assert first.headers["ratelimit"].startswith('"default";r=')
    # 2 x limit + a few: even a burst that straddles a window boundary overflows one window.
    statuses = [free.get("/v1/usage") for _ in range(90)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, "a burst over the limit must be refused"
    assert limited[0].json()["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(limited[0].headers["retry-after"]) <= 60
    assert ";r=0;" in limited[0].headers["ratelimit"]


def test_framework_errors_use_the_envelope(api: Api) -> None:
    bad_json = api.http.post("/v1/files", content=b"{nope", headers={"content-type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["error"]["code"] == "VALIDATION_ERROR"
    wrong_method = api.http.put("/v1/usage")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    unknown = api.http.get("/v1/nothing-here")
    assert (
        unknown.status_code == 404 and unknown.json()["error"]["requestId"] == unknown.headers["x-request-id"]
    )
    unknown_field = api.post(
        "/v1/files", {"filename": "a.pdf", "contentType": "application/pdf", "sizeBytes": 1, "x": 1}
    )
    assert unknown_field.status_code == 400
    too_big = api.http.post(
        "/v1/webhook-endpoints",
        content=b"{" + b" " * (11 * 1024 * 1024) + b"}",
        headers={"content-type": "application/json"},
    )
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    bad_limit = api.get("/v1/extractions", params={"limit": 500})
    assert bad_limit.status_code == 400 and bad_limit.json()["error"]["code"] == "VALIDATION_ERROR"

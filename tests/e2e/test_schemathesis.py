"""Property-based testing of the live gateway from its own OpenAPI document (schemathesis).

Stateless phases (examples, coverage, fuzzing) and the stateful phase run a few hundred
cases; any 5xx or any response that violates the document fails the test.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from fieldstone.devstack import Stack
from tests.e2e.conftest import Api

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(420)
def test_the_gateway_honours_its_openapi_document(stack: Stack, api: Api, tmp_path: Path) -> None:
    # A key without keys:write, so generated calls cannot revoke or rotate the key they use.
    sa = api.post("/v1/service-accounts", {"name": f"fuzz-{uuid.uuid4().hex[:6]}"}).json()
    scopes = [
        f"{r}:{a}"
        for r in ("files", "templates", "extractions", "webhooks", "usage", "keys")
        for a in ("read", "write")
    ]
    key = api.post(
        f"/v1/service-accounts/{sa['id']}/keys", {"scopes": [s for s in scopes if s != "keys:write"]}
    )
    assert key.status_code == 201, key.text
    schemathesis = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{stack.p.url}/openapi.json",
            "--header",
            f"Authorization: Bearer {key.json()['key']}",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
            "response_headers_conformance,ignored_auth",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            "5",
            "--seed",
            "20261123",
            "--workers",
            "2",
            "--max-time",
            "100",
            "--request-timeout",
            "20",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=400,
    )
    output = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, output
    generated = [line for line in result.stdout.splitlines() if " generated, " in line]
    assert generated, output
    assert int(generated[-1].split()[0]) >= 300, generated[-1]  # a few hundred cases at least

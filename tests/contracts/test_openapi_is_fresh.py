"""The committed docs/openapi.json must be what the gateway serves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_committed_openapi_document_is_fresh() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "export_openapi.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_every_operation_documents_errors_and_headers() -> None:
    import json

    doc = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert doc["openapi"].startswith("3.1")
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "patch", "delete"):
                continue
            assert {"400", "401", "403", "404", "429", "500"} <= set(op["responses"]), (method, path)
            for response in op["responses"].values():
                assert "RateLimit" in response.get("headers", {}), (method, path)
            if path.startswith("/v1/") and method == "post":
                assert any(p["name"] == "Idempotency-Key" for p in op.get("parameters", [])), path

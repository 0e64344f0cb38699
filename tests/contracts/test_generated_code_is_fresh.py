"""The committed protobuf code must be what `make protos` produces from protos/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_protobuf_code_is_fresh() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_protos.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_every_grpc_service_has_a_generated_stub() -> None:
    from fieldstone.proto.auth.v1 import auth_pb2_grpc
    from fieldstone.proto.extraction.v1 import extraction_pb2_grpc
    from fieldstone.proto.files.v1 import files_pb2_grpc
    from fieldstone.proto.usage.v1 import usage_pb2_grpc
    from fieldstone.proto.webhooks.v1 import webhooks_pb2_grpc

    for module, name in [
        (auth_pb2_grpc, "AuthServiceStub"),
        (files_pb2_grpc, "FileServiceStub"),
        (extraction_pb2_grpc, "ExtractionServiceStub"),
        (webhooks_pb2_grpc, "WebhookServiceStub"),
        (usage_pb2_grpc, "UsageServiceStub"),
    ]:
        assert hasattr(module, name)

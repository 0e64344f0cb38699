"""The gateway's gRPC stubs: it reaches every other service only through these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc

from fieldstone.gateway.config import GatewaySettings
from fieldstone.grpc import insecure_channel
from fieldstone.proto.auth.v1 import auth_pb2_grpc
from fieldstone.proto.extraction.v1 import extraction_pb2_grpc
from fieldstone.proto.files.v1 import files_pb2_grpc
from fieldstone.proto.usage.v1 import usage_pb2_grpc
from fieldstone.proto.webhooks.v1 import webhooks_pb2_grpc


@dataclass
class Clients:
    auth: Any
    files: Any
    extraction: Any
    templates: Any
    webhooks: Any
    usage: Any
    channels: list[grpc.aio.Channel]

    @classmethod
    def connect(cls, s: GatewaySettings) -> Clients:
        targets = [
            s.auth_grpc_target,
            s.files_grpc_target,
            s.extraction_grpc_target,
            s.webhooks_grpc_target,
            s.usage_grpc_target,
        ]
        ch = [insecure_channel(t) for t in targets]
        return cls(
            auth=auth_pb2_grpc.AuthServiceStub(ch[0]),
            files=files_pb2_grpc.FileServiceStub(ch[1]),
            extraction=extraction_pb2_grpc.ExtractionServiceStub(ch[2]),
            templates=extraction_pb2_grpc.TemplateServiceStub(ch[2]),
            webhooks=webhooks_pb2_grpc.WebhookServiceStub(ch[3]),
            usage=usage_pb2_grpc.UsageServiceStub(ch[4]),
            channels=ch,
        )

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()

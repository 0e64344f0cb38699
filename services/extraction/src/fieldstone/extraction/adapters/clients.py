"""Clients of the other services (gRPC only: no service reads another's database)."""

from __future__ import annotations

import grpc

from fieldstone.extraction.domain.model import FileInfo, PlanLimits
from fieldstone.grpc import call, insecure_channel
from fieldstone.proto.files.v1 import files_pb2, files_pb2_grpc
from fieldstone.proto.usage.v1 import usage_pb2, usage_pb2_grpc

_FILE_STATUS = {
    files_pb2.FILE_STATUS_PENDING_UPLOAD: "pending_upload",
    files_pb2.FILE_STATUS_UPLOADED: "uploaded",
    files_pb2.FILE_STATUS_REJECTED: "rejected",
    files_pb2.FILE_STATUS_DELETED: "deleted",
}


class FilesClient:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = files_pb2_grpc.FileServiceStub(channel)

    async def get(self, workspace_id: str, file_id: str) -> FileInfo:
        # verify: a pending file's object is checked now, so a lost bucket notification cannot
        # leave this extraction waiting; include_deleted: a deleted file is refused by name, not 404.
        response = await call(
            self._stub.GetFile,
            files_pb2.GetFileRequest(
                workspace_id=workspace_id, file_id=file_id, verify=True, include_deleted=True
            ),
        )
        f = response.file
        return FileInfo(
            id=f.id,
            filename=f.filename,
            status=_FILE_STATUS.get(f.status, "pending_upload"),
            bucket=f.bucket,
            object_key=f.object_key,
            rejection_reason=f.rejection_reason or None,
        )


class QuotaClient:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = usage_pb2_grpc.UsageServiceStub(channel)

    async def reserve(self, workspace_id: str, reservation_id: str) -> None:
        await call(
            self._stub.Reserve,
            usage_pb2.ReserveRequest(workspace_id=workspace_id, reservation_id=reservation_id),
        )

    async def release(self, workspace_id: str, reservation_id: str) -> None:
        await call(
            self._stub.Release,
            usage_pb2.ReleaseRequest(workspace_id=workspace_id, reservation_id=reservation_id),
        )

    async def plan_limits(self, workspace_id: str) -> PlanLimits:
        # Asked on every create, never cached: a plan change applies to the next extraction.
        r = await call(self._stub.GetPlanLimits, usage_pb2.GetPlanLimitsRequest(workspace_id=workspace_id))
        return PlanLimits(plan=r.plan, max_pages=int(r.max_pages), batch_size=int(r.batch_size))


def channel(target: str) -> grpc.aio.Channel:
    return insecure_channel(target)

"""gRPC FileService."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fieldstone.files.domain.model import FileRecord
from fieldstone.files.service_layer import handlers
from fieldstone.files.service_layer.unit_of_work import FilesUnitOfWork
from fieldstone.grpc.convert import page_of, to_timestamp
from fieldstone.proto.files.v1 import files_pb2, files_pb2_grpc

_STATUS = {
    "pending_upload": files_pb2.FILE_STATUS_PENDING_UPLOAD,
    "uploaded": files_pb2.FILE_STATUS_UPLOADED,
    "rejected": files_pb2.FILE_STATUS_REJECTED,
}


def file_message(record: FileRecord) -> files_pb2.File:
    return files_pb2.File(
        id=record.id,
        workspace_id=record.workspace_id,
        filename=record.filename,
        content_type=record.content_type,
        size_bytes=record.size_bytes,
        status=_STATUS[record.status],
        rejection_reason=record.rejection_reason or "",
        rejection_message=record.rejection_message or "",
        bucket=record.bucket,
        object_key=record.object_key,
        created_at=to_timestamp(record.created_at),
        uploaded_at=to_timestamp(record.uploaded_at),
    )


class FileServicer(files_pb2_grpc.FileServiceServicer):  # type: ignore[misc]
    def __init__(
        self,
        uow_factory: Callable[[], FilesUnitOfWork],
        blobs: handlers.Blobs,
        *,
        bucket: str,
        ttl: timedelta,
        default_max_size: int,
    ) -> None:
        self._uow = uow_factory
        self._blobs = blobs
        self._bucket = bucket
        self._ttl = ttl
        self._default_max = default_max_size

    async def CreateUpload(self, request: Any, context: Any) -> files_pb2.CreateUploadResponse:
        target = await handlers.create_upload(
            self._uow(),
            self._blobs,
            workspace_id=request.workspace_id,
            filename=request.filename,
            content_type=request.content_type,
            size_bytes=request.size_bytes,
            max_size_bytes=request.max_size_bytes or self._default_max,
            bucket=self._bucket,
            ttl=self._ttl,
        )
        return files_pb2.CreateUploadResponse(
            file=file_message(target.file),
            upload_url=target.url,
            upload_method="PUT",
            upload_headers=target.headers,
            expires_at=to_timestamp(target.expires_at),
        )

    async def GetFile(self, request: Any, context: Any) -> files_pb2.GetFileResponse:
        record = await handlers.get_file(self._uow(), request.workspace_id, request.file_id)
        return files_pb2.GetFileResponse(file=file_message(record))

    async def ListFiles(self, request: Any, context: Any) -> files_pb2.ListFilesResponse:
        limit = request.limit or 20
        records = await handlers.list_files(
            self._uow(), request.workspace_id, limit + 1, request.cursor or None
        )
        page, next_cursor = page_of(records, limit)
        return files_pb2.ListFilesResponse(files=[file_message(r) for r in page], next_cursor=next_cursor)

"""gRPC FileService."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from fieldstone.common.errors import GRPC_CODE_KEY, FieldstoneError, ValidationFailed
from fieldstone.common.logging import get_logger
from fieldstone.files.domain import model
from fieldstone.files.service_layer import handlers
from fieldstone.files.service_layer.ports import UowFactory, Uploads
from fieldstone.grpc.convert import page_of, to_timestamp
from fieldstone.proto.files.v1 import files_pb2, files_pb2_grpc

_STATUS = {
    model.PENDING_UPLOAD: files_pb2.FILE_STATUS_PENDING_UPLOAD,
    model.UPLOADED: files_pb2.FILE_STATUS_UPLOADED,
    model.REJECTED: files_pb2.FILE_STATUS_REJECTED,
    model.DELETED: files_pb2.FILE_STATUS_DELETED,
}
_STATUS_NAME = {v: k for k, v in _STATUS.items()}
log = get_logger(__name__)


def file_message(record: model.FileRecord) -> files_pb2.File:
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
        page_count=record.page_count or 0,
        verified_by=record.verified_by or "",
        upload_expires_at=to_timestamp(record.upload_expires_at),
        deleted_at=to_timestamp(record.deleted_at),
    )


def limits_message(limits: model.Limits) -> files_pb2.FileLimits:
    return files_pb2.FileLimits(max_file_bytes=limits.max_file_bytes, max_pages=limits.max_pages)


class FileServicer(files_pb2_grpc.FileServiceServicer):  # type: ignore[misc]
    def __init__(self, uow_factory: UowFactory, uploads: Uploads) -> None:
        self._uow = uow_factory
        self._up = uploads

    async def CreateUpload(self, request: Any, context: Any) -> files_pb2.CreateUploadResponse:
        target = await handlers.create_upload(
            self._uow(),
            self._up,
            workspace_id=request.workspace_id,
            filename=request.filename,
            content_type=request.content_type,
            size_bytes=request.size_bytes,
            max_size_bytes=request.max_size_bytes,
        )
        return files_pb2.CreateUploadResponse(
            file=file_message(target.file),
            upload_url=target.url,
            upload_method="PUT",
            upload_headers=target.headers,
            expires_at=to_timestamp(target.expires_at),
            limits=limits_message(target.limits),
        )

    async def UploadFile(self, request_iterator: Any, context: Any) -> files_pb2.UploadFileResponse:
        # The shared error interceptor only wraps unary calls, so this one maps its errors itself.
        try:
            first = await anext(aiter(request_iterator), None)
            if first is None or first.WhichOneof("part") != "header":
                raise ValidationFailed("UploadFile starts with a header message")
            h = first.header

            async def chunks() -> AsyncIterator[bytes]:
                async for message in request_iterator:
                    yield bytes(message.chunk)

            record, limits = await handlers.upload_inline(
                self._uow,
                self._up,
                workspace_id=h.workspace_id,
                filename=h.filename,
                content_type=h.content_type,
                size_bytes=h.size_bytes,
                max_size_bytes=h.max_size_bytes,
                chunks=chunks(),
            )
        except FieldstoneError as exc:
            context.set_trailing_metadata(((GRPC_CODE_KEY, exc.code),))
            await context.abort(exc.kind.grpc_status, exc.message)
        except Exception:
            log.exception("grpc call failed", method="UploadFile")
            context.set_trailing_metadata(((GRPC_CODE_KEY, "INTERNAL_ERROR"),))
            await context.abort(grpc.StatusCode.INTERNAL, "internal error")
        return files_pb2.UploadFileResponse(file=file_message(record), limits=limits_message(limits))

    async def GetFile(self, request: Any, context: Any) -> files_pb2.GetFileResponse:
        record = await handlers.get_file(
            self._uow,
            self._up,
            request.workspace_id,
            request.file_id,
            verify=request.verify,
            include_deleted=request.include_deleted,
        )
        return files_pb2.GetFileResponse(file=file_message(record))

    async def ListFiles(self, request: Any, context: Any) -> files_pb2.ListFilesResponse:
        limit = request.limit or 20
        status = _STATUS_NAME.get(request.status)
        records = await handlers.list_files(
            self._uow(), request.workspace_id, limit + 1, request.cursor or None, status
        )
        page, next_cursor = page_of(records, limit)
        return files_pb2.ListFilesResponse(files=[file_message(r) for r in page], next_cursor=next_cursor)

    async def DeleteFile(self, request: Any, context: Any) -> files_pb2.DeleteFileResponse:
        record = await handlers.delete_file(self._uow(), self._up, request.workspace_id, request.file_id)
        return files_pb2.DeleteFileResponse(file=file_message(record))

    async def GetDownloadUrl(self, request: Any, context: Any) -> files_pb2.GetDownloadUrlResponse:
        record, url, expires_at = await handlers.download_url(
            self._uow(), self._up, request.workspace_id, request.file_id
        )
        return files_pb2.GetDownloadUrlResponse(
            file=file_message(record), url=url, expires_at=to_timestamp(expires_at)
        )

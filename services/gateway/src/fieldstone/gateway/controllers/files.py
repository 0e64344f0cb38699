"""/v1/files: direct-upload targets, one-step small uploads, file status, deletion.

`POST /v1/files` takes either a JSON declaration (→ a presigned PUT target; the client sends the bytes
to the object store) or a multipart form with the file itself (≤ GATEWAY_MAX_UPLOAD_BYTES, in the
app's state as `max_upload_bytes`; the app's body limit is set from it in app.py). The
multipart bytes go to the files service over gRPC (`UploadFile`, streamed in chunks), which stores
and verifies them before answering, so the response already carries `uploaded` or `rejected`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.datastructures import UploadFile
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.params import Parameter

from fieldstone.common.errors import PayloadTooLarge, ValidationFailed
from fieldstone.common.time import iso
from fieldstone.gateway.clients import Clients
from fieldstone.gateway.presenters import file_limits, file_object, page
from fieldstone.gateway.schemas import CreateFileBody, FileStatusFilter
from fieldstone.gateway.security import Principal
from fieldstone.grpc import call
from fieldstone.grpc.convert import from_timestamp
from fieldstone.proto.files.v1 import files_pb2

Limit = Annotated[int, Parameter(ge=1, le=100, description="page size (1-100)")]
_CHUNK = 1024 * 1024


def _string(description: str, **kw: Any) -> Schema:
    return Schema(type=OpenAPIType.STRING, description=description, **kw)


@dataclass
class _CreateFileOperation(Operation):
    """The handler reads the body itself (JSON or multipart), so its OpenAPI body is declared here."""

    def __post_init__(self) -> None:
        declaration = Schema(
            type=OpenAPIType.OBJECT,
            required=["filename", "contentType", "sizeBytes"],
            properties={
                "filename": _string("the document's name (metadata only)", max_length=255),
                "contentType": _string(
                    "application/pdf, image/png, image/jpeg, image/tiff or image/webp", max_length=127
                ),
                "sizeBytes": Schema(
                    type=OpenAPIType.INTEGER, minimum=1, maximum=2**53, description="exact size of the upload"
                ),
            },
        )
        form = Schema(
            type=OpenAPIType.OBJECT,
            required=["file"],
            properties={
                "file": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY),
                "filename": _string("overrides the part's filename"),
                "contentType": _string("overrides the part's content type"),
            },
        )
        self.request_body = RequestBody(
            required=True,
            description=(
                "JSON declares a direct upload; multipart uploads a file of up to the gateway's "
                "GATEWAY_MAX_UPLOAD_BYTES (10 MiB unless configured otherwise)"
            ),
            content={
                "application/json": OpenAPIMediaType(schema=declaration),
                "multipart/form-data": OpenAPIMediaType(schema=form),
            },
        )


def _limits(response: Any) -> dict[str, Any]:
    return file_limits(response.limits) if response.HasField("limits") else {}


async def _declaration(request: Request[Any, Any, Any]) -> CreateFileBody:
    try:
        return msgspec.json.decode(await request.body(), type=CreateFileBody)
    except msgspec.ValidationError as exc:
        raise ValidationFailed(str(exc)) from None
    except msgspec.DecodeError:
        raise ValidationFailed(
            "the body must be JSON {filename, contentType, sizeBytes} or a multipart form"
        ) from None


async def _form_upload(request: Request[Any, Any, Any]) -> tuple[str, str, bytes]:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ValidationFailed("a multipart upload needs the file in a part named `file`")
    limit: int = request.app.state.max_upload_bytes
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"multipart uploads are limited to {limit} bytes; use a direct upload")
    filename, content_type = form.get("filename"), form.get("contentType")
    return (
        filename if isinstance(filename, str) and filename else upload.filename or "",
        content_type if isinstance(content_type, str) and content_type else upload.content_type or "",
        data,
    )


class FilesController(Controller):
    path = "/v1/files"
    tags = ["files"]

    @post(
        "/",
        status_code=201,
        summary="Create a direct upload target, or upload a small file in one step (multipart)",
        operation_class=_CreateFileOperation,
    )
    async def create_file(
        self, request: Request[Any, Any, Any], principal: Principal, clients: Clients
    ) -> dict[str, Any]:
        principal.require("files:write")
        if request.content_type[0] == "multipart/form-data":
            return await self._upload(request, principal, clients)
        data = await _declaration(request)
        response = await call(
            clients.files.CreateUpload,
            files_pb2.CreateUploadRequest(
                workspace_id=principal.workspace_id,
                filename=data.filename,
                content_type=data.content_type,
                size_bytes=data.size_bytes,
            ),
        )
        return {
            "fileId": response.file.id,
            "uploadUrl": response.upload_url,
            "uploadMethod": response.upload_method,
            "uploadHeaders": dict(response.upload_headers),
            "expiresAt": iso(from_timestamp(response, "expires_at")),
            **file_object(response.file),
            **_limits(response),
        }

    async def _upload(
        self, request: Request[Any, Any, Any], principal: Principal, clients: Clients
    ) -> dict[str, Any]:
        filename, content_type, data = await _form_upload(request)
        header = files_pb2.UploadFileHeader(
            workspace_id=principal.workspace_id,
            filename=filename,
            content_type=content_type,
            size_bytes=len(data),
        )

        async def parts() -> AsyncIterator[files_pb2.UploadFileRequest]:
            yield files_pb2.UploadFileRequest(header=header)
            for start in range(0, len(data), _CHUNK):
                yield files_pb2.UploadFileRequest(chunk=data[start : start + _CHUNK])

        response = await call(clients.files.UploadFile, parts(), deadline_seconds=60)
        return {"fileId": response.file.id, **file_object(response.file), **_limits(response)}

    @get("/{file_id:str}", summary="Get a file")
    async def get_file(self, file_id: str, principal: Principal, clients: Clients) -> dict[str, Any]:
        principal.require("files:read")
        response = await call(
            clients.files.GetFile,
            files_pb2.GetFileRequest(workspace_id=principal.workspace_id, file_id=file_id),
        )
        return file_object(response.file)

    @get("/", summary="List files, newest first")
    async def list_files(
        self,
        principal: Principal,
        clients: Clients,
        limit: Limit = 20,
        cursor: str | None = None,
        status: Annotated[FileStatusFilter | None, Parameter(description="only files in this status")] = None,
    ) -> dict[str, Any]:
        principal.require("files:read")
        response = await call(
            clients.files.ListFiles,
            files_pb2.ListFilesRequest(
                workspace_id=principal.workspace_id,
                limit=limit,
                cursor=cursor or "",
                status=f"FILE_STATUS_{(status or 'unspecified').upper()}",
            ),
        )
        return page([file_object(f) for f in response.files], response.next_cursor)

    @delete("/{file_id:str}", status_code=200, summary="Delete a file: its content is removed at once")
    async def delete_file(self, file_id: str, principal: Principal, clients: Clients) -> dict[str, Any]:
        principal.require("files:write")
        response = await call(
            clients.files.DeleteFile,
            files_pb2.DeleteFileRequest(workspace_id=principal.workspace_id, file_id=file_id),
        )
        return file_object(response.file)

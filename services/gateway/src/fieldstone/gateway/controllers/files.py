"""/v1/files: direct-upload targets and file status."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.params import Parameter

from fieldstone.common.time import iso
from fieldstone.gateway.clients import Clients
from fieldstone.gateway.presenters import file_object, page
from fieldstone.gateway.schemas import CreateFileBody
from fieldstone.gateway.security import Principal
from fieldstone.grpc import call
from fieldstone.grpc.convert import from_timestamp
from fieldstone.proto.files.v1 import files_pb2

Limit = Annotated[int, Parameter(ge=1, le=100, description="page size (1-100)")]


class FilesController(Controller):
    path = "/v1/files"
    tags = ["files"]

    @post("/", status_code=201, summary="Create a direct upload target")
    async def create_file(
        self, data: CreateFileBody, principal: Principal, clients: Clients
    ) -> dict[str, Any]:
        principal.require("files:write")
        response = await call(
            clients.files.CreateUpload,
            files_pb2.CreateUploadRequest(
                workspace_id=principal.workspace_id,
                filename=data.filename,
                content_type=data.content_type,
                size_bytes=data.size_bytes,
            ),
        )
        body = file_object(response.file)
        return {
            "fileId": response.file.id,
            "uploadUrl": response.upload_url,
            "uploadMethod": response.upload_method,
            "uploadHeaders": dict(response.upload_headers),
            "expiresAt": iso(from_timestamp(response, "expires_at")),
            **body,
        }

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
        self, principal: Principal, clients: Clients, limit: Limit = 20, cursor: str | None = None
    ) -> dict[str, Any]:
        principal.require("files:read")
        response = await call(
            clients.files.ListFiles,
            files_pb2.ListFilesRequest(workspace_id=principal.workspace_id, limit=limit, cursor=cursor or ""),
        )
        return page([file_object(f) for f in response.files], response.next_cursor)

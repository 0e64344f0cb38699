"""/v1/runs: one template, many files — an extraction per file, counted by status."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, get, post

from fieldstone.gateway.clients import Clients
from fieldstone.gateway.controllers.extractions import variable_message
from fieldstone.gateway.presenters import run_object
from fieldstone.gateway.schemas import CreateRunBody
from fieldstone.gateway.security import Principal
from fieldstone.grpc import call
from fieldstone.grpc.convert import to_struct
from fieldstone.proto.extraction.v1 import extraction_pb2

# Creating a run checks every file and reserves a unit per file: allow it more than one call's time.
_CREATE_DEADLINE_SECONDS = 60.0


class RunsController(Controller):
    path = "/v1/runs"
    tags = ["runs"]

    @post("/", status_code=202, summary="Start a batch run: one extraction per file, all or none")
    async def create_run(self, data: CreateRunBody, principal: Principal, clients: Clients) -> dict[str, Any]:
        """Every file is checked and one unit of quota is reserved per file before anything starts;
        one refusal refuses the whole run. More files than the plan's `batchSize` → 400."""
        principal.require("extractions:write")
        response = await call(
            clients.extraction.CreateRun,
            extraction_pb2.CreateRunRequest(
                workspace_id=principal.workspace_id,
                file_ids=data.file_ids,
                template_id=data.template_id or "",
                variables=[variable_message(v) for v in data.variables or []],
                pages=data.pages or "",
                metadata=to_struct(msgspec.to_builtins(data.metadata)) if data.metadata is not None else None,
                created_by=principal.service_account_id,
            ),
            deadline_seconds=_CREATE_DEADLINE_SECONDS,
        )
        return {
            **run_object(response.run),
            "extractions": [{"id": i.extraction_id, "fileId": i.file_id} for i in response.items],
        }

    @get("/{run_id:str}", summary="Read a run: its status and its extractions counted by status")
    async def get_run(self, run_id: str, principal: Principal, clients: Clients) -> dict[str, Any]:
        principal.require("extractions:read")
        response = await call(
            clients.extraction.GetRun,
            extraction_pb2.GetRunRequest(workspace_id=principal.workspace_id, run_id=run_id),
        )
        return run_object(response.run)

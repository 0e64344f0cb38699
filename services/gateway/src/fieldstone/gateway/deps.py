"""Dependencies injected into route handlers."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request
from litestar.datastructures import State

from fieldstone.gateway.clients import Clients
from fieldstone.gateway.security import Authenticator, Principal


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    authenticator: Authenticator = request.app.state.authenticator
    principal = await authenticator.authenticate(request.headers.get("authorization"))
    # Every later log line of this request names the workspace (unbound when the request ends).
    structlog.contextvars.bind_contextvars(workspace_id=principal.workspace_id)
    return principal


def provide_clients(state: State) -> Clients:
    clients: Clients = state.clients
    return clients

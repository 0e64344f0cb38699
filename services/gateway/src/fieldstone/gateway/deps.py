"""Dependencies injected into route handlers."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State

from fieldstone.gateway.clients import Clients
from fieldstone.gateway.security import Authenticator, Principal


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.authenticate(request.headers.get("authorization"))


def provide_clients(state: State) -> Clients:
    clients: Clients = state.clients
    return clients

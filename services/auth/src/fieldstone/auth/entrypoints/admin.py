"""`fieldstone-auth-admin`: what an operator runs with `kubectl exec` against the auth database.

fieldstone-auth-admin bootstrap --workspace NAME --plan PLAN [--scopes all]   -> prints JSON with the key
fieldstone-auth-admin list-keys --workspace-id ws_...
fieldstone-auth-admin revoke-key --workspace-id ws_... --key-id key_...
"""

from __future__ import annotations

import argparse
from typing import Any

from fieldstone.auth.bootstrap import MIGRATIONS
from fieldstone.auth.config import AuthSettings
from fieldstone.auth.domain.model import PLANS, SCOPES
from fieldstone.auth.service_layer import handlers
from fieldstone.auth.service_layer.unit_of_work import AuthUnitOfWork
from fieldstone.common.settings import load_settings
from fieldstone.common.time import iso
from fieldstone.service.admin import migrated_pool, run_json_command


async def _run(ns: argparse.Namespace) -> dict[str, Any]:
    settings = load_settings(AuthSettings)
    async with migrated_pool(
        settings.database_url, MIGRATIONS, create_database=settings.create_database
    ) as pool:

        def uow() -> AuthUnitOfWork:
            return AuthUnitOfWork(pool)

        if ns.command == "bootstrap":
            ws = await handlers.create_workspace(uow(), ns.workspace, ns.plan)
            sa = await handlers.create_service_account(uow(), ws["id"], "bootstrap")
            scopes = sorted(SCOPES) if ns.scopes == "all" else ns.scopes.split(",")
            record, key = await handlers.create_api_key(
                uow(),
                workspace_id=ws["id"],
                service_account_id=sa["id"],
                name="bootstrap",
                scopes=scopes,
                expires_at=None,
            )
            return {"workspaceId": ws["id"], "serviceAccountId": sa["id"], "apiKeyId": record.id, "key": key}
        if ns.command == "list-keys":
            records = await handlers.list_api_keys(uow(), ns.workspace_id, include_revoked=True)
            return {
                "data": [
                    {
                        "id": r.id,
                        "name": r.name,
                        "prefix": r.prefix,
                        "scopes": r.scopes,
                        "revokedAt": iso(r.revoked_at),
                        "lastUsedAt": iso(r.last_used_at),
                    }
                    for r in records
                ]
            }
        record = await handlers.revoke_api_key(uow(), ns.workspace_id, ns.key_id)
        return {"id": record.id, "revokedAt": iso(record.revoked_at)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fieldstone-auth-admin",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    boot = sub.add_parser("bootstrap", help="create a workspace, a service account and a key")
    boot.add_argument("--workspace", required=True)
    boot.add_argument("--plan", default="free", choices=PLANS)
    boot.add_argument("--scopes", default="all", help="'all' or a comma-separated list")
    lst = sub.add_parser("list-keys")
    lst.add_argument("--workspace-id", required=True)
    rev = sub.add_parser("revoke-key")
    rev.add_argument("--workspace-id", required=True)
    rev.add_argument("--key-id", required=True)
    ns = parser.parse_args(argv)
    return run_json_command(_run(ns), service="auth")

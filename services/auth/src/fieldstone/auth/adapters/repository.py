"""SQL for the auth tables; every query is scoped by workspace where the caller has one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fieldstone.auth.domain.model import ApiKeyRecord

_KEY_COLUMNS = "id, workspace_id, service_account_id, name, prefix, scopes, expires_at, last_used_at, revoked_at, created_at, rotated_from"


def _key(row: Any) -> ApiKeyRecord:
    data: dict[str, Any] = dict(row)
    data["scopes"] = list(data["scopes"])
    return ApiKeyRecord(**data)


class AuthRepository:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def add_workspace(self, workspace_id: str, name: str, plan: str) -> Any:
        return await self.conn.fetchrow(
            "INSERT INTO workspaces (id, name, plan) VALUES ($1, $2, $3) RETURNING *",
            workspace_id,
            name,
            plan,
        )

    async def get_workspace(self, workspace_id: str) -> Any:
        return await self.conn.fetchrow("SELECT * FROM workspaces WHERE id = $1", workspace_id)

    async def find_workspace_by_name(self, name: str) -> Any:
        return await self.conn.fetchrow("SELECT * FROM workspaces WHERE name = $1 ORDER BY id LIMIT 1", name)

    async def add_service_account(
        self, sa_id: str, workspace_id: str, name: str, description: str = ""
    ) -> Any:
        return await self.conn.fetchrow(
            "INSERT INTO service_accounts (id, workspace_id, name, description) VALUES ($1, $2, $3, $4) RETURNING *",
            sa_id,
            workspace_id,
            name,
            description,
        )

    async def list_service_accounts(self, workspace_id: str, limit: int, before: str | None) -> list[Any]:
        rows: list[Any] = await self.conn.fetch(
            """SELECT * FROM service_accounts WHERE workspace_id = $1 AND deleted_at IS NULL
               AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3""",
            workspace_id,
            before,
            limit,
        )
        return rows

    async def update_service_account(
        self, sa_id: str, name: str | None, description: str | None, at: datetime
    ) -> Any:
        return await self.conn.fetchrow(
            """UPDATE service_accounts SET name = COALESCE($2, name), description = COALESCE($3, description),
                      updated_at = $4 WHERE id = $1 RETURNING *""",
            sa_id,
            name,
            description,
            at,
        )

    async def delete_service_account(self, sa_id: str, at: datetime) -> None:
        await self.conn.execute("UPDATE service_accounts SET deleted_at = $2 WHERE id = $1", sa_id, at)

    async def active_keys_of(self, sa_id: str) -> list[ApiKeyRecord]:
        rows = await self.conn.fetch(
            f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE service_account_id = $1 AND revoked_at IS NULL", sa_id
        )
        return [_key(r) for r in rows]

    async def get_service_account(self, workspace_id: str, sa_id: str) -> Any:
        return await self.conn.fetchrow(
            "SELECT * FROM service_accounts WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL",
            workspace_id,
            sa_id,
        )

    async def add_api_key(
        self,
        *,
        key_id: str,
        workspace_id: str,
        service_account_id: str,
        name: str,
        prefix: str,
        key_hash: str,
        scopes: list[str],
        expires_at: datetime | None,
        rotated_from: str | None = None,
    ) -> ApiKeyRecord:
        row = await self.conn.fetchrow(
            f"""INSERT INTO api_keys (id, workspace_id, service_account_id, name, prefix, key_hash, scopes, expires_at,
                                      rotated_from)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {_KEY_COLUMNS}""",
            key_id,
            workspace_id,
            service_account_id,
            name,
            prefix,
            key_hash,
            scopes,
            expires_at,
            rotated_from,
        )
        return _key(row)

    async def key_by_hash(self, key_hash: str) -> tuple[ApiKeyRecord, str] | None:
        row = await self.conn.fetchrow(
            f"""SELECT {", ".join("k." + c.strip() for c in _KEY_COLUMNS.split(","))}, w.plan
                FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id WHERE k.key_hash = $1""",
            key_hash,
        )
        if row is None:
            return None
        data = dict(row)
        plan = data.pop("plan")
        return _key(data), plan

    async def get_api_key(self, workspace_id: str, key_id: str) -> ApiKeyRecord | None:
        row = await self.conn.fetchrow(
            f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE workspace_id = $1 AND id = $2", workspace_id, key_id
        )
        return _key(row) if row else None

    async def list_api_keys(
        self,
        workspace_id: str,
        *,
        limit: int = 1000,
        before: str | None = None,
        service_account_id: str | None = None,
        include_revoked: bool = True,
    ) -> list[ApiKeyRecord]:
        rows = await self.conn.fetch(
            f"""SELECT {_KEY_COLUMNS} FROM api_keys WHERE workspace_id = $1 AND ($2::text IS NULL OR id < $2)
                AND ($3::text IS NULL OR service_account_id = $3) AND ($4 OR revoked_at IS NULL OR revoked_at > now())
                ORDER BY id DESC LIMIT $5""",
            workspace_id,
            before,
            service_account_id,
            include_revoked,
            limit,
        )
        return [_key(r) for r in rows]

    async def key_hash_of(self, key_id: str) -> str:
        value: str = await self.conn.fetchval("SELECT key_hash FROM api_keys WHERE id = $1", key_id)
        return value

    async def revoke_api_key(self, key_id: str, at: datetime) -> ApiKeyRecord:
        """Revoke at `at` (now, or later for a rotation overlap); an earlier revocation wins."""
        row = await self.conn.fetchrow(
            f"""UPDATE api_keys SET revoked_at = LEAST(COALESCE(revoked_at, $2), $2) WHERE id = $1
                RETURNING {_KEY_COLUMNS}""",
            key_id,
            at,
        )
        return _key(row)

    async def touch_api_key(self, key_id: str, at: datetime) -> None:
        await self.conn.execute("UPDATE api_keys SET last_used_at = $2 WHERE id = $1", key_id, at)

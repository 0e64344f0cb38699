"""SQL for templates and their versions (every saved version is kept)."""

from __future__ import annotations

from typing import Any

from fieldstone.extraction.domain.templates import Template

_COLUMNS = (
    "id, workspace_id, name, description, variables, version, created_by, created_at, updated_at, deleted_at"
)


def _template(row: Any) -> Template:
    return Template(**dict(row))


class TemplateRepository:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def add(self, t: Template) -> None:
        await self.conn.execute(
            f"INSERT INTO templates ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            t.id,
            t.workspace_id,
            t.name,
            t.description,
            t.variables,
            t.version,
            t.created_by,
            t.created_at,
            t.updated_at,
            t.deleted_at,
        )
        await self._add_version(t)

    async def _add_version(self, t: Template) -> None:
        await self.conn.execute(
            """INSERT INTO template_versions (template_id, version, name, description, variables, created_at)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            t.id,
            t.version,
            t.name,
            t.description,
            t.variables,
            t.updated_at,
        )

    async def get(self, workspace_id: str, template_id: str, *, lock: bool = False) -> Template | None:
        """The live (not deleted) template; locked for a change when `lock`."""
        row = await self.conn.fetchrow(
            f"""SELECT * FROM templates WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL
                {"FOR UPDATE" if lock else ""}""",
            workspace_id,
            template_id,
        )
        return _template(row) if row else None

    async def get_version(self, workspace_id: str, template_id: str, version: int) -> Template | None:
        row = await self.conn.fetchrow(
            """SELECT t.id, t.workspace_id, v.name, v.description, v.variables, v.version, t.created_by,
                      t.created_at, v.created_at AS updated_at, t.deleted_at
               FROM templates t JOIN template_versions v ON v.template_id = t.id
               WHERE t.workspace_id = $1 AND t.id = $2 AND v.version = $3 AND t.deleted_at IS NULL""",
            workspace_id,
            template_id,
            version,
        )
        return _template(row) if row else None

    async def page(self, workspace_id: str, limit: int, before: str | None) -> list[Template]:
        rows = await self.conn.fetch(
            """SELECT * FROM templates WHERE workspace_id = $1 AND deleted_at IS NULL
                 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3""",
            workspace_id,
            before,
            limit,
        )
        return [_template(r) for r in rows]

    async def save(self, t: Template) -> None:
        """Store a change: the current row and, for a new version, its history row."""
        previous = await self.conn.fetchval("SELECT version FROM templates WHERE id = $1", t.id)
        await self.conn.execute(
            """UPDATE templates SET name = $2, description = $3, variables = $4, version = $5, updated_at = $6,
                   deleted_at = $7 WHERE id = $1""",
            t.id,
            t.name,
            t.description,
            t.variables,
            t.version,
            t.updated_at,
            t.deleted_at,
        )
        if t.version != previous:
            await self._add_version(t)

"""SQL for the files table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fieldstone.files.domain.model import FileRecord


def _file(row: Any) -> FileRecord:
    return FileRecord(**dict(row))


class FileRepository:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def add(self, record: FileRecord) -> None:
        await self.conn.execute(
            """INSERT INTO files (id, workspace_id, filename, content_type, size_bytes, status, bucket, object_key, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            record.id,
            record.workspace_id,
            record.filename,
            record.content_type,
            record.size_bytes,
            record.status,
            record.bucket,
            record.object_key,
            record.created_at,
        )

    async def get(self, workspace_id: str, file_id: str) -> FileRecord | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM files WHERE workspace_id = $1 AND id = $2", workspace_id, file_id
        )
        return _file(row) if row else None

    async def lock_by_object(self, bucket: str, object_key: str) -> FileRecord | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM files WHERE bucket = $1 AND object_key = $2 FOR UPDATE", bucket, object_key
        )
        return _file(row) if row else None

    async def page(self, workspace_id: str, limit: int, before: str | None) -> list[FileRecord]:
        rows = await self.conn.fetch(
            """SELECT * FROM files WHERE workspace_id = $1 AND ($2::text IS NULL OR id < $2)
               ORDER BY id DESC LIMIT $3""",
            workspace_id,
            before,
            limit,
        )
        return [_file(r) for r in rows]

    async def mark(
        self, file_id: str, status: str, at: datetime, reason: str | None = None, message: str | None = None
    ) -> FileRecord:
        row = await self.conn.fetchrow(
            """UPDATE files SET status = $2::text, uploaded_at = CASE WHEN $2::text = 'uploaded' THEN $3::timestamptz END,
                      rejection_reason = $4, rejection_message = $5
               WHERE id = $1 RETURNING *""",
            file_id,
            status,
            at,
            reason,
            message,
        )
        return _file(row)

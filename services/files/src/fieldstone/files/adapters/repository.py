"""SQL for the files table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fieldstone.files.domain.model import DELETED, PENDING_UPLOAD, FileRecord


def _file(row: Any) -> FileRecord:
    return FileRecord(**dict(row))


class FileRepository:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def add(self, record: FileRecord) -> None:
        await self.conn.execute(
            """INSERT INTO files (id, workspace_id, filename, content_type, size_bytes, status, bucket, object_key,
                                  created_at, upload_key, upload_expires_at, max_pages)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
            record.id,
            record.workspace_id,
            record.filename,
            record.content_type,
            record.size_bytes,
            record.status,
            record.bucket,
            record.object_key,
            record.created_at,
            record.upload_key,
            record.upload_expires_at,
            record.max_pages,
        )

    async def get(self, workspace_id: str, file_id: str, *, for_update: bool = False) -> FileRecord | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT * FROM files WHERE workspace_id = $1 AND id = $2{lock}", workspace_id, file_id
        )
        return _file(row) if row else None

    async def lock_by_upload_key(self, bucket: str, upload_key: str) -> FileRecord | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM files WHERE bucket = $1 AND upload_key = $2 FOR UPDATE", bucket, upload_key
        )
        return _file(row) if row else None

    async def lock_pending(self, file_id: str) -> FileRecord | None:
        """The file if it is still pending and no one else holds it (the sweeper skips busy rows)."""
        row = await self.conn.fetchrow(
            "SELECT * FROM files WHERE id = $1 AND status = $2 FOR UPDATE SKIP LOCKED",
            file_id,
            PENDING_UPLOAD,
        )
        return _file(row) if row else None

    async def page(
        self, workspace_id: str, limit: int, before: str | None, status: str | None = None
    ) -> list[FileRecord]:
        rows = await self.conn.fetch(
            """SELECT * FROM files
               WHERE workspace_id = $1 AND ($2::text IS NULL OR id < $2)
                 AND (CASE WHEN $4::text IS NULL THEN status <> $5 ELSE status = $4 END)
               ORDER BY id DESC LIMIT $3""",
            workspace_id,
            before,
            limit,
            status,
            DELETED,
        )
        return [_file(r) for r in rows]

    async def pending_due(self, created_before: datetime, limit: int) -> list[str]:
        """Pending files old enough that their notification should have arrived, least recently checked first."""
        rows = await self.conn.fetch(
            """SELECT id FROM files WHERE status = $1 AND created_at < $2
               ORDER BY checked_at NULLS FIRST, created_at LIMIT $3""",
            PENDING_UPLOAD,
            created_before,
            limit,
        )
        return [r["id"] for r in rows]

    async def checked(self, file_id: str, at: datetime) -> None:
        await self.conn.execute("UPDATE files SET checked_at = $2 WHERE id = $1", file_id, at)

    async def mark_uploaded(
        self, file_id: str, at: datetime, *, etag: str, page_count: int | None, via: str
    ) -> FileRecord:
        row = await self.conn.fetchrow(
            """UPDATE files SET status = 'uploaded', uploaded_at = $2, etag = $3, page_count = $4,
                      verified_by = $5, checked_at = $2
               WHERE id = $1 RETURNING *""",
            file_id,
            at,
            etag,
            page_count,
            via,
        )
        return _file(row)

    async def mark_rejected(
        self, file_id: str, at: datetime, *, reason: str, message: str, via: str
    ) -> FileRecord:
        row = await self.conn.fetchrow(
            """UPDATE files SET status = 'rejected', rejection_reason = $3, rejection_message = $4,
                      verified_by = $5, checked_at = $2
               WHERE id = $1 RETURNING *""",
            file_id,
            at,
            reason,
            message,
            via,
        )
        return _file(row)

    async def mark_deleted(self, file_id: str, at: datetime) -> FileRecord:
        row = await self.conn.fetchrow(
            "UPDATE files SET status = 'deleted', deleted_at = $2 WHERE id = $1 RETURNING *", file_id, at
        )
        return _file(row)

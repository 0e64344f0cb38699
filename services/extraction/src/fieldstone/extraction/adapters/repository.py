"""SQL for the extractions table. Status changes are conditional updates, so a
redelivered job or a racing cancel can never move an extraction twice."""

from __future__ import annotations

from typing import Any

from fieldstone.extraction.domain.model import ExtractionRecord


def _record(row: Any) -> ExtractionRecord:
    return ExtractionRecord(**dict(row))


class ExtractionRepository:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def add(self, r: ExtractionRecord) -> None:
        await self.conn.execute(
            """INSERT INTO extractions (id, workspace_id, file_id, file_name, template_id, template_name, status,
                   variables, pages, metadata, waiting_for_file, bucket, object_key, created_at, created_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)""",
            r.id,
            r.workspace_id,
            r.file_id,
            r.file_name,
            r.template_id,
            r.template_name,
            r.status,
            r.variables,
            r.pages,
            r.metadata,
            r.waiting_for_file,
            r.bucket,
            r.object_key,
            r.created_at,
            r.created_by,
        )

    async def get(self, workspace_id: str, extraction_id: str) -> ExtractionRecord | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM extractions WHERE workspace_id = $1 AND id = $2", workspace_id, extraction_id
        )
        return _record(row) if row else None

    async def lock(self, extraction_id: str) -> ExtractionRecord | None:
        row = await self.conn.fetchrow("SELECT * FROM extractions WHERE id = $1 FOR UPDATE", extraction_id)
        return _record(row) if row else None

    async def page(self, workspace_id: str, limit: int, before: str | None) -> list[ExtractionRecord]:
        rows = await self.conn.fetch(
            """SELECT * FROM extractions WHERE workspace_id = $1 AND ($2::text IS NULL OR id < $2)
               ORDER BY id DESC LIMIT $3""",
            workspace_id,
            before,
            limit,
        )
        return [_record(r) for r in rows]

    async def waiting_for(self, file_id: str) -> list[ExtractionRecord]:
        rows = await self.conn.fetch(
            "SELECT * FROM extractions WHERE file_id = $1 AND waiting_for_file FOR UPDATE", file_id
        )
        return [_record(r) for r in rows]

    async def save(self, r: ExtractionRecord) -> None:
        await self.conn.execute(
            """UPDATE extractions SET status = $2, extracted_data = $3, fields = $4, error = $5, error_code = $6,
                   page_count = $7, processing_time_ms = $8, waiting_for_file = $9, bucket = $10, object_key = $11,
                   attempts = $12, started_at = $13, completed_at = $14
               WHERE id = $1""",
            r.id,
            r.status,
            r.extracted_data,
            r.fields,
            r.error,
            r.error_code,
            r.page_count,
            r.processing_time_ms,
            r.waiting_for_file,
            r.bucket,
            r.object_key,
            r.attempts,
            r.started_at,
            r.completed_at,
        )

"""SQL for the extractions table. Status changes happen on rows locked `FOR UPDATE` and are
decided by the domain model, so a redelivered job or a racing cancel can never move an
extraction twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fieldstone.extraction.domain.model import ExtractionRecord

_INSERT_COLUMNS = (
    "id, workspace_id, file_id, file_name, template_id, template_name, template_version, status, variables, "
    "pages, metadata, waiting_for_file, bucket, object_key, run_id, max_pages, created_at, created_by"
)
_INSERT = f"INSERT INTO extractions ({_INSERT_COLUMNS}) VALUES ({', '.join(f'${i}' for i in range(1, 19))})"


def _record(row: Any) -> ExtractionRecord:
    return ExtractionRecord(**dict(row))


def _insert_args(r: ExtractionRecord) -> tuple[Any, ...]:
    return (
        r.id,
        r.workspace_id,
        r.file_id,
        r.file_name,
        r.template_id,
        r.template_name,
        r.template_version,
        r.status,
        r.variables,
        r.pages,
        r.metadata,
        r.waiting_for_file,
        r.bucket,
        r.object_key,
        r.run_id,
        r.max_pages,
        r.created_at,
        r.created_by,
    )


@dataclass(frozen=True)
class ExtractionQuery:
    """Filters of a list; None means any."""

    status: str | None = None
    template_id: str | None = None
    run_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


class ExtractionRepository:
    def __init__(self, conn: Any) -> None:
        self.conn = conn
        # Records loaded or added in this unit of work, whose events it publishes at commit.
        self.seen: list[ExtractionRecord] = []

    def _track(self, record: ExtractionRecord | None) -> ExtractionRecord | None:
        if record is not None:
            self.seen.append(record)
        return record

    async def add(self, r: ExtractionRecord) -> None:
        await self.conn.execute(_INSERT, *_insert_args(r))
        self._track(r)

    async def add_many(self, records: list[ExtractionRecord]) -> None:
        await self.conn.executemany(_INSERT, [_insert_args(r) for r in records])
        self.seen.extend(records)

    async def get(self, workspace_id: str, extraction_id: str) -> ExtractionRecord | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM extractions WHERE workspace_id = $1 AND id = $2", workspace_id, extraction_id
        )
        return _record(row) if row else None

    async def lock(self, extraction_id: str, workspace_id: str | None = None) -> ExtractionRecord | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM extractions WHERE id = $1 AND ($2::text IS NULL OR workspace_id = $2) FOR UPDATE",
            extraction_id,
            workspace_id,
        )
        return self._track(_record(row)) if row else None

    async def page(
        self, workspace_id: str, limit: int, before: str | None, query: ExtractionQuery | None = None
    ) -> list[ExtractionRecord]:
        q = query or ExtractionQuery()
        rows = await self.conn.fetch(
            """SELECT * FROM extractions WHERE workspace_id = $1
                 AND ($2::text IS NULL OR id < $2)
                 AND ($3::text IS NULL OR status = $3)
                 AND ($4::text IS NULL OR template_id = $4)
                 AND ($5::text IS NULL OR run_id = $5)
                 AND ($6::timestamptz IS NULL OR created_at >= $6)
                 AND ($7::timestamptz IS NULL OR created_at < $7)
               ORDER BY id DESC LIMIT $8""",
            workspace_id,
            before,
            q.status,
            q.template_id,
            q.run_id,
            q.created_after,
            q.created_before,
            limit,
        )
        return [_record(r) for r in rows]

    async def waiting_for(self, file_id: str) -> list[ExtractionRecord]:
        rows = await self.conn.fetch(
            "SELECT * FROM extractions WHERE file_id = $1 AND waiting_for_file ORDER BY id FOR UPDATE",
            file_id,
        )
        return [r for r in (self._track(_record(row)) for row in rows) if r is not None]

    async def save(self, r: ExtractionRecord) -> None:
        await self.conn.execute(
            """UPDATE extractions SET status = $2, extracted_data = $3, fields = $4, error = $5, error_code = $6,
                   page_count = $7, processing_time_ms = $8, waiting_for_file = $9, attempts = $10,
                   started_at = $11, completed_at = $12, lease_owner = $13, lease_expires_at = $14
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
            r.attempts,
            r.started_at,
            r.completed_at,
            r.lease_owner,
            r.lease_expires_at,
        )

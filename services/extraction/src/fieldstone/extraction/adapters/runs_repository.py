"""SQL for batch runs. The counts by status are read from the extractions of the run."""

from __future__ import annotations

from typing import Any

from fieldstone.extraction.domain.runs import Run


def _run(row: Any) -> Run:
    return Run(**dict(row))


class RunRepository:
    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.seen: list[Run] = []

    async def add(self, r: Run) -> None:
        await self.conn.execute(
            """INSERT INTO runs (id, workspace_id, template_id, template_version, template_name, variables, total,
                   status, metadata, created_by, created_at, completed_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
            r.id,
            r.workspace_id,
            r.template_id,
            r.template_version,
            r.template_name,
            r.variables,
            r.total,
            r.status,
            r.metadata,
            r.created_by,
            r.created_at,
            r.completed_at,
        )
        self.seen.append(r)

    async def get(self, workspace_id: str, run_id: str) -> Run | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM runs WHERE workspace_id = $1 AND id = $2", workspace_id, run_id
        )
        if row is None:
            return None
        run = _run(row)
        run.counts = await self.counts(run.id)
        return run

    async def lock(self, run_id: str) -> Run | None:
        """Lock the run before counting: concurrent endings of its extractions then take turns,
        and the last one sees every other's committed status."""
        row = await self.conn.fetchrow("SELECT * FROM runs WHERE id = $1 FOR UPDATE", run_id)
        if row is None:
            return None
        run = _run(row)
        self.seen.append(run)
        return run

    async def counts(self, run_id: str) -> dict[str, int]:
        rows = await self.conn.fetch(
            "SELECT status, count(*) AS n FROM extractions WHERE run_id = $1 GROUP BY status", run_id
        )
        return {r["status"]: int(r["n"]) for r in rows}

    async def save(self, r: Run) -> None:
        await self.conn.execute(
            "UPDATE runs SET status = $2, completed_at = $3 WHERE id = $1", r.id, r.status, r.completed_at
        )

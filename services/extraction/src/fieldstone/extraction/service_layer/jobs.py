"""The worker's use case: run one extraction job to exactly one outcome.

1. Claim: under the row lock, take a lease (queued → processing, attempts counted) and commit,
   so a worker that dies leaves a visible `processing` row whose lease runs out. A redelivered
   job that finds a live lease waits; one that finds an expired lease takes over.
2. Work: read the document and run the engine outside any transaction. Every checkpoint
   (a third of the lease) renews the lease; when that fails — the extraction was canceled, or
   another worker took over — the engine is stopped and the job ends without an outcome.
3. Finish: under the row lock, record the outcome only if this worker still holds the lease,
   with its event, in one commit.

An engine that dies on a document is retried here, attempts counted, until the domain gives up
with EXTRACTION_CRASHED. A process that is stopping gives the job back uncounted and raises, so
the offset is not committed and the job is delivered again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from fieldstone.common.logging import get_logger
from fieldstone.common.metrics import EXTRACTION_JOB_DURATION, EXTRACTION_JOBS
from fieldstone.common.time import utcnow
from fieldstone.extraction.domain.model import (
    Claim,
    DocumentUnavailable,
    EngineCrashed,
    EngineOutcome,
    ExtractionRecord,
)
from fieldstone.extraction.service_layer.ports import Documents, Engine
from fieldstone.extraction.service_layer.run_progress import settle_run
from fieldstone.extraction.service_layer.unit_of_work import ExtractionUnitOfWork

log = get_logger(__name__)
# Test-only: with JobPolicy.honour_test_delay, metadata.testOnlyDelaySeconds makes the worker
# wait that long (at most a minute) before the engine, so tests can act on a running job.
TEST_DELAY_KEY = "testOnlyDelaySeconds"


class JobInterrupted(Exception):
    """The worker process is stopping; the job was given back and will be delivered again."""


@dataclass(frozen=True)
class JobPolicy:
    max_attempts: int = 3
    lease_seconds: float = 10.0
    max_pages: int = 500  # the service's own ceiling; a plan's lower limit wins
    honour_test_delay: bool = False


class JobRunner:
    def __init__(
        self,
        uow_factory: Callable[[], ExtractionUnitOfWork],
        documents: Documents,
        engine: Engine,
        policy: JobPolicy,
        worker: str,
        stop: asyncio.Event | None = None,
    ) -> None:
        self._uow = uow_factory
        self._documents = documents
        self._engine = engine
        self._policy = policy
        self._lease = timedelta(seconds=policy.lease_seconds)
        self._checkpoint = policy.lease_seconds / 3
        self.worker = worker
        self._stop = stop or asyncio.Event()

    async def run(self, extraction_id: str) -> str | None:
        """Process one job; the status it ended in, or None when there was nothing to do."""
        while True:
            claim, record = await self._claim_when_free(extraction_id)
            if claim is Claim.ABANDONED:
                log.warning("extraction abandoned after repeated crashes", extraction_id=extraction_id)
                return record.status if record else None
            if claim is not Claim.RUN or record is None:
                return None
            try:
                return await self._attempt(record)
            except EngineCrashed as exc:
                log.warning("engine crashed; trying again", extraction_id=extraction_id, error=str(exc))
                await self._release(extraction_id, count_attempt=True)
                if await self._stopping(0.5):
                    raise JobInterrupted(f"stopping after {extraction_id} crashed its engine") from exc

    async def _claim_when_free(self, extraction_id: str) -> tuple[Claim, ExtractionRecord | None]:
        while True:
            async with self._uow() as uow:
                record = await uow.extractions.lock(extraction_id)
                if record is None:
                    return Claim.NOTHING, None
                now = utcnow()
                claim = record.claim(
                    self.worker, now=now, lease=self._lease, max_attempts=self._policy.max_attempts
                )
                if claim in (Claim.RUN, Claim.ABANDONED):
                    await uow.extractions.save(record)
                    await settle_run(uow, record, now)
                    await uow.commit()
            if claim is Claim.RUN and record is not None:
                log.info(
                    "job claimed", extraction_id=extraction_id, attempt=record.attempts, worker=self.worker
                )
            if claim is not Claim.BUSY:
                return claim, record
            # Another live worker runs it (this is a redelivery): wait until it ends or dies.
            if await self._stopping(self._checkpoint):
                raise JobInterrupted(f"stopping while {extraction_id} runs elsewhere")

    async def _attempt(self, record: ExtractionRecord) -> str | None:
        started = time.monotonic()
        work = asyncio.create_task(self._work(record))
        try:
            outcome = await self._watch(work, record.id)
        finally:
            if not work.done():
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await work
        if outcome is None:
            return None
        return await self._finish(record.id, outcome, int((time.monotonic() - started) * 1000))

    async def _watch(self, work: asyncio.Task[EngineOutcome], extraction_id: str) -> EngineOutcome | None:
        """Wait for the work, holding the lease; None when it must stop (canceled or taken over)."""
        stopping = asyncio.create_task(self._stop.wait())
        try:
            while True:
                done, _ = await asyncio.wait(
                    {work, stopping}, timeout=self._checkpoint, return_when=asyncio.FIRST_COMPLETED
                )
                if work in done:
                    return work.result()
                if stopping in done:
                    await self._release(extraction_id, count_attempt=False)
                    raise JobInterrupted(f"stopping while running {extraction_id}")
                if not await self._renew(extraction_id):
                    log.info(
                        "extraction ended elsewhere while running; engine stopped",
                        extraction_id=extraction_id,
                    )
                    return None
        finally:
            stopping.cancel()

    async def _work(self, record: ExtractionRecord) -> EngineOutcome:
        if self._policy.honour_test_delay and record.metadata and TEST_DELAY_KEY in record.metadata:
            await asyncio.sleep(min(float(record.metadata[TEST_DELAY_KEY]), 60.0))
        if not record.bucket or not record.object_key:
            return EngineOutcome(None, [], None, "FILE_MISSING", "the document has no stored content")
        try:
            data = await self._documents.read(record.bucket, record.object_key)
        except DocumentUnavailable as exc:
            return EngineOutcome(None, [], None, exc.code, exc.message)
        by_plan = record.max_pages is not None and record.max_pages <= self._policy.max_pages
        outcome = await self._engine(
            data,
            record.variables,
            pages=record.pages,
            filename=record.file_name,
            max_pages=record.max_pages if by_plan and record.max_pages else self._policy.max_pages,
        )
        if outcome.error_code == "TOO_MANY_PAGES" and by_plan:
            return EngineOutcome(
                None,
                [],
                outcome.page_count,
                outcome.error_code,
                f"{outcome.error} (the workspace plan's limit)",
            )
        return outcome

    async def _renew(self, extraction_id: str) -> bool:
        async with self._uow() as uow:
            record = await uow.extractions.lock(extraction_id)
            if record is None or not record.renew_lease(self.worker, now=utcnow(), lease=self._lease):
                return False
            await uow.extractions.save(record)
            await uow.commit()
        return True

    async def _release(self, extraction_id: str, *, count_attempt: bool) -> None:
        async with self._uow() as uow:
            record = await uow.extractions.lock(extraction_id)
            if record is not None and record.holds_lease(self.worker):
                record.release_lease(self.worker, count_attempt=count_attempt)
                await uow.extractions.save(record)
                await uow.commit()

    async def _finish(self, extraction_id: str, outcome: EngineOutcome, elapsed_ms: int) -> str | None:
        async with self._uow() as uow:
            current = await uow.extractions.lock(extraction_id)
            if current is None or not current.holds_lease(self.worker):
                return None  # canceled meanwhile, or taken over after this worker stalled
            now = utcnow()
            current.complete(outcome, elapsed_ms, now)
            await uow.extractions.save(current)
            await settle_run(uow, current, now)
            await uow.commit()
        EXTRACTION_JOBS.labels(current.status).inc()
        EXTRACTION_JOB_DURATION.labels(current.status).observe(elapsed_ms / 1000)
        log.info("extraction finished", extraction_id=extraction_id, status=current.status, ms=elapsed_ms)
        return current.status

    async def _stopping(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stop.wait()
        return self._stop.is_set()

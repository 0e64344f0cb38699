"""One transaction over the extraction service's repositories.

At commit, every event the touched aggregates recorded is written to the outbox first, in the
same transaction: a status change without its event (or the reverse) cannot be committed.
"""

from __future__ import annotations

from fieldstone.extraction.adapters import outbox
from fieldstone.extraction.adapters.repository import ExtractionRepository
from fieldstone.extraction.adapters.runs_repository import RunRepository
from fieldstone.extraction.adapters.templates_repository import TemplateRepository
from fieldstone.pg import UnitOfWork


class ExtractionUnitOfWork(UnitOfWork):
    extractions: ExtractionRepository
    templates: TemplateRepository
    runs: RunRepository

    def _started(self) -> None:
        self.extractions = ExtractionRepository(self.conn)
        self.templates = TemplateRepository(self.conn)
        self.runs = RunRepository(self.conn)

    async def commit(self) -> None:
        events = [e for r in self.extractions.seen for e in r.pop_events()]
        events += [e for run in self.runs.seen for e in run.pop_events()]
        for event in events:
            await outbox.write(self.conn, event)
        await super().commit()

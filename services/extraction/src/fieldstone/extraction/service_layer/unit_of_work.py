from __future__ import annotations

from fieldstone.extraction.adapters.repository import ExtractionRepository
from fieldstone.pg import UnitOfWork


class ExtractionUnitOfWork(UnitOfWork):
    extractions: ExtractionRepository

    def _started(self) -> None:
        self.extractions = ExtractionRepository(self.conn)

from __future__ import annotations

from fieldstone.files.adapters.repository import FileRepository
from fieldstone.pg import UnitOfWork


class FilesUnitOfWork(UnitOfWork):
    files: FileRepository

    def _started(self) -> None:
        self.files = FileRepository(self.conn)

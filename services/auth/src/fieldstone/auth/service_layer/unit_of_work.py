from __future__ import annotations

from fieldstone.auth.adapters.repository import AuthRepository
from fieldstone.pg import UnitOfWork


class AuthUnitOfWork(UnitOfWork):
    repo: AuthRepository

    def _started(self) -> None:
        self.repo = AuthRepository(self.conn)

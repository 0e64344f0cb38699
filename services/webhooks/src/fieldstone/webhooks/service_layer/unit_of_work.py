from __future__ import annotations

from fieldstone.pg import UnitOfWork
from fieldstone.webhooks.adapters.repository import WebhooksRepository


class WebhooksUnitOfWork(UnitOfWork):
    repo: WebhooksRepository

    def _started(self) -> None:
        self.repo = WebhooksRepository(self.conn)

"""The periodic reconciliation: pending files whose notification never arrived, and expired uploads."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from fieldstone.common.logging import get_logger
from fieldstone.files.service_layer import verification
from fieldstone.files.service_layer.ports import UowFactory, Uploads

log = get_logger(__name__)


def sweeper(
    uow_factory: UowFactory, uploads: Uploads, *, interval: float, older_than: float
) -> Callable[[asyncio.Event], Coroutine[Any, Any, None]]:
    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                settled = await verification.sweep_pending(
                    uow_factory, uploads, older_than=timedelta(seconds=older_than)
                )
                if settled:
                    log.info("sweep settled pending files", count=settled)
            except Exception:
                log.exception("sweep failed; will retry")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await stop.wait()

    return run

"""Consumes the object store's bucket notifications (S3 event JSON, not CloudEvents)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from urllib.parse import unquote_plus

from fieldstone.common.logging import get_logger
from fieldstone.files.service_layer import verification
from fieldstone.files.service_layer.ports import UowFactory, Uploads
from fieldstone.messaging import InboundMessage

log = get_logger(__name__)


def storage_handler(uow_factory: UowFactory, uploads: Uploads) -> Callable[[InboundMessage], Awaitable[None]]:
    async def handle(message: InboundMessage) -> None:
        try:
            body = json.loads(message.value or b"{}")
        except ValueError:
            log.warning("unreadable storage notification skipped", offset=message.offset)
            return
        for record in body.get("Records") or []:
            s3 = record.get("s3") or {}
            name = (s3.get("bucket") or {}).get("name")
            obj = s3.get("object") or {}
            if name != uploads.bucket or "key" not in obj:
                continue  # another bucket (or another stack sharing the broker)
            # The notification only says "something was written"; the object itself is checked.
            await verification.object_created(
                uow_factory(), uploads, bucket=name, key=unquote_plus(obj["key"])
            )

    return handle

"""What one attempt's result means for its event and its endpoint (no I/O)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fieldstone.webhooks.domain import retries
from fieldstone.webhooks.domain.model import DELIVERED, FAILED, PENDING, SUCCEEDED, is_success

GONE_STATUS = 410


@dataclass(frozen=True)
class AttemptResult:
    """What happened on the wire; never a secret, never more than the truncated answer."""

    status_code: int | None
    duration_ms: int
    response_body: str
    error: str | None
    retry_after: str | None = None


@dataclass(frozen=True)
class Decision:
    outcome: str  # of the attempt: succeeded | failed
    event_status: str  # pending (retry in `retry_in` seconds) | delivered | failed
    retry_in: float | None
    # The receiver said the endpoint is gone for good (410): stop sending it anything.
    disable_endpoint: bool = False


def decide(
    result: AttemptResult,
    position: int,
    schedule: Sequence[float],
    now: datetime,
    rng: random.Random | None = None,
) -> Decision:
    """`position`: attempts made in this round before this one."""
    if is_success(result.status_code):
        return Decision(SUCCEEDED, DELIVERED, None)
    if result.status_code == GONE_STATUS:
        return Decision(FAILED, FAILED, None, disable_endpoint=True)
    retry_after = retries.parse_retry_after(result.retry_after, now)
    retry_in = retries.retry_delay(position + 1, schedule, retry_after=retry_after, rng=rng)
    return Decision(FAILED, PENDING if retry_in is not None else FAILED, retry_in)

"""When a failed delivery is tried again (no I/O)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime

# Delay before attempt 1, 2, ...: 0 s, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; then the delivery fails.
DEFAULT_SCHEDULE = (0.0, 5.0, 300.0, 1_800.0, 7_200.0, 18_000.0, 36_000.0, 36_000.0)
JITTER = 0.2
# A receiver may ask for more time, but cannot park a delivery for longer than this.
MAX_RETRY_AFTER_SECONDS = 86_400.0


def retry_delay(
    attempts_made: int,
    schedule: Sequence[float],
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds until the next attempt after `attempts_made` failed ones, or None when none is left.

    The scheduled delay gets ±20 % jitter so retries of many deliveries spread out; a longer
    `Retry-After` from the receiver wins.
    """
    if attempts_made >= len(schedule):
        return None
    delay = schedule[attempts_made] * (rng or random).uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    return delay


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """A `Retry-After` header (delta-seconds or an HTTP date) in seconds from `now`."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - now).total_seconds())

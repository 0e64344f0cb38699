"""Billing periods: the UTC calendar month, named `YYYY-MM` (no I/O)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from fieldstone.common.time import period_key


@dataclass(frozen=True)
class BillingPeriod:
    key: str
    starts_at: datetime
    ends_at: datetime  # exclusive: the first instant of the next period

    @classmethod
    def of_key(cls, key: str) -> BillingPeriod:
        year, month = (int(part) for part in key.split("-"))
        starts = datetime(year, month, 1, tzinfo=UTC)
        ends = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        return cls(key, starts, ends)

    @classmethod
    def containing(cls, moment: datetime) -> BillingPeriod:
        return cls.of_key(period_key(moment))

    def seconds_left(self, now: datetime) -> int:
        """Whole seconds until the period ends, at least 1 (what a `Retry-After` should say)."""
        return max(1, math.ceil((self.ends_at - now).total_seconds()))

"""UTC clock helpers (one place to read the time, so tests can reason about it)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def period_key(moment: datetime) -> str:
    """The billing period of a moment: `YYYY-MM` in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with milliseconds and a `Z`, as the public API shows times."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from fieldstone.webhooks.domain.retries import (
    DEFAULT_SCHEDULE,
    MAX_RETRY_AFTER_SECONDS,
    parse_retry_after,
    retry_delay,
)

NOW = datetime(2025, 1, 1, tzinfo=UTC)


class FixedRandom(random.Random):
    """uniform() always answers one end of its range."""

    def __init__(self, end: str) -> None:
        super().__init__(0)
        self.end = end

    def uniform(self, a: float, b: float) -> float:
        return a if self.end == "low" else b


def test_default_schedule_is_the_documented_one() -> None:
    assert DEFAULT_SCHEDULE == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)


@pytest.mark.parametrize(
    ("attempts_made", "base"), [(1, 5), (2, 300), (3, 1800), (4, 7200), (5, 18000), (6, 36000), (7, 36000)]
)
def test_delay_follows_the_schedule_within_twenty_percent(attempts_made: int, base: float) -> None:
    assert retry_delay(attempts_made, DEFAULT_SCHEDULE, rng=FixedRandom("low")) == pytest.approx(base * 0.8)
    assert retry_delay(attempts_made, DEFAULT_SCHEDULE, rng=FixedRandom("high")) == pytest.approx(base * 1.2)
    rng = random.Random(42)
    for _ in range(200):
        delay = retry_delay(attempts_made, DEFAULT_SCHEDULE, rng=rng)
        assert delay is not None
        assert base * 0.8 <= delay <= base * 1.2


def test_jitter_spreads_retries() -> None:
    rng = random.Random(7)
    delays = {retry_delay(2, DEFAULT_SCHEDULE, rng=rng) for _ in range(20)}
    assert len(delays) > 1


def test_no_retry_after_the_last_attempt() -> None:
    assert retry_delay(len(DEFAULT_SCHEDULE), DEFAULT_SCHEDULE) is None
    assert retry_delay(2, (0.0, 0.1)) is None


def test_longer_retry_after_wins() -> None:
    assert retry_delay(1, DEFAULT_SCHEDULE, retry_after=120, rng=FixedRandom("high")) == 120


def test_shorter_retry_after_does_not_shorten_the_schedule() -> None:
    assert retry_delay(2, DEFAULT_SCHEDULE, retry_after=1, rng=FixedRandom("low")) == pytest.approx(240)


def test_retry_after_is_capped() -> None:
    assert retry_delay(1, DEFAULT_SCHEDULE, retry_after=10**9) == MAX_RETRY_AFTER_SECONDS


def test_retry_after_does_not_extend_a_finished_schedule() -> None:
    assert retry_delay(8, DEFAULT_SCHEDULE, retry_after=60) is None


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 30 ", 30.0),
        (format_datetime(NOW + timedelta(minutes=2), usegmt=True), 120.0),
        (format_datetime(NOW - timedelta(minutes=2), usegmt=True), 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, NOW) == seconds

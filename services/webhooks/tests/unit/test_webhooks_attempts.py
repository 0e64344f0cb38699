import random
from datetime import UTC, datetime

import pytest

from fieldstone.webhooks.domain.attempts import AttemptResult, decide

NOW = datetime(2025, 1, 1, tzinfo=UTC)
SCHEDULE = (0.0, 5.0, 300.0)


class Middle(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2


def _result(status: int | None, retry_after: str | None = None) -> AttemptResult:
    return AttemptResult(status, 12, "", None if status else "ConnectError: refused", retry_after)


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_2xx_delivers(status: int) -> None:
    decision = decide(_result(status), 0, SCHEDULE, NOW)
    assert (decision.outcome, decision.event_status, decision.retry_in) == ("succeeded", "delivered", None)


@pytest.mark.parametrize("status", [None, 301, 400, 404, 429, 500, 503])
def test_anything_else_is_retried_on_the_schedule(status: int | None) -> None:
    decision = decide(_result(status), 0, SCHEDULE, NOW, Middle())
    assert (decision.outcome, decision.event_status, decision.retry_in) == ("failed", "pending", 5.0)
    assert decision.disable_endpoint is False
    assert decide(_result(status), 1, SCHEDULE, NOW, Middle()).retry_in == 300.0


def test_last_attempt_of_the_schedule_fails_the_event() -> None:
    decision = decide(_result(500), 2, SCHEDULE, NOW)
    assert (decision.event_status, decision.retry_in) == ("failed", None)


def test_retry_after_is_honoured() -> None:
    assert decide(_result(429, "120"), 0, SCHEDULE, NOW, Middle()).retry_in == 120.0


def test_410_fails_the_event_and_disables_the_endpoint() -> None:
    decision = decide(_result(410), 0, SCHEDULE, NOW)
    assert (decision.event_status, decision.retry_in, decision.disable_endpoint) == ("failed", None, True)

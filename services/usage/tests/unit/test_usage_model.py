"""Domain rules: limits, periods and reservation states, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from fieldstone.common.errors import QuotaExceeded
from fieldstone.common.time import period_key
from fieldstone.usage.domain.model import (
    DEFAULT_PLAN_LIMITS,
    Outcome,
    PeriodUsage,
    PlanCatalog,
    PlanLimits,
    Reservation,
    ReservationStatus,
)

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


def test_period_key_is_the_utc_month() -> None:
    assert period_key(NOW) == "2025-03"
    # 23:30 on 31 January in UTC-2 is already February in UTC.
    assert period_key(datetime(2025, 1, 31, 23, 30, tzinfo=timezone(timedelta(hours=-2)))) == "2025-02"
    assert period_key(datetime(2025, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))) == "2025-02"


def test_default_limits_per_plan() -> None:
    assert {p: limits.extractions_per_period for p, limits in DEFAULT_PLAN_LIMITS.items()} == {
        "free": 50,
        "starter": 500,
        "core": 2000,
        "pro": 10000,
    }


def test_reserve_counts_reserved_units_against_the_limit() -> None:
    usage = PeriodUsage("ws_1", "2025-03", used=1)
    usage.reserve(limit=3)
    assert (usage.used, usage.reserved, usage.counted) == (1, 1, 2)
    usage.reserve(limit=3)
    with pytest.raises(QuotaExceeded) as exc:
        usage.reserve(limit=3)
    assert exc.value.code == "QUOTA_EXCEEDED"
    assert exc.value.details == {"limit": 3, "usage": 3, "periodKey": "2025-03"}
    assert usage.counted == 3


def test_zero_limit_refuses_the_first_unit() -> None:
    with pytest.raises(QuotaExceeded):
        PeriodUsage("ws_1", "2025-03").reserve(limit=0)


def test_a_lowered_limit_refuses_new_reservations() -> None:
    usage = PeriodUsage("ws_1", "2025-03", used=10)
    assert not usage.has_room(5)


def test_settle_consumed_moves_a_unit_from_reserved_to_used() -> None:
    usage = PeriodUsage("ws_1", "2025-03", used=2, reserved=1)
    usage.settle(Outcome.CONSUMED)
    assert (usage.used, usage.reserved) == (3, 0)


def test_settle_released_frees_the_unit() -> None:
    usage = PeriodUsage("ws_1", "2025-03", used=2, reserved=1)
    usage.settle(Outcome.RELEASED)
    assert (usage.used, usage.reserved) == (2, 0)


def test_settle_without_reserved_unit_is_a_bug() -> None:
    with pytest.raises(ValueError):
        PeriodUsage("ws_1", "2025-03").settle(Outcome.CONSUMED)


@pytest.mark.parametrize(
    ("outcome", "status"),
    [(Outcome.CONSUMED, ReservationStatus.CONSUMED), (Outcome.RELEASED, ReservationStatus.RELEASED)],
)
def test_only_a_reserved_reservation_moves(outcome: Outcome, status: ReservationStatus) -> None:
    reservation = Reservation("ext_1", "ws_1", "2025-03")
    assert reservation.is_open
    reservation.settle(outcome, NOW)
    assert (reservation.status, reservation.settled_at, reservation.is_open) == (status, NOW, False)
    with pytest.raises(ValueError):
        reservation.settle(Outcome.RELEASED, NOW)
    assert reservation.status is status


def test_catalog_falls_back_to_the_default_plan() -> None:
    plans = PlanCatalog(DEFAULT_PLAN_LIMITS, default_plan="starter")
    assert plans.resolve(None) == "starter"
    assert plans.resolve("enterprise") == "starter"
    assert plans.resolve("pro") == "pro"
    assert plans.extraction_limit(None) == 500
    assert plans.extraction_limit("core") == 2000


def test_catalog_needs_limits_for_its_default_plan() -> None:
    with pytest.raises(ValueError):
        PlanCatalog({"free": DEFAULT_PLAN_LIMITS["free"]}, default_plan="pro")


def test_limits_are_never_negative() -> None:
    with pytest.raises(ValueError):
        PlanLimits(extractions_per_period=-1, max_file_bytes=1, max_pages=1, requests_per_minute=1)

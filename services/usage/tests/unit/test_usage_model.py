"""Domain rules: limits, periods and reservation states, without I/O."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest

from fieldstone.common.errors import QuotaExceeded
from fieldstone.common.time import period_key
from fieldstone.usage.domain.model import (
    Outcome,
    PeriodUsage,
    PlanChange,
    Reservation,
    ReservationStatus,
    UsageSummary,
)
from fieldstone.usage.domain.periods import BillingPeriod
from fieldstone.usage.domain.plans import DEFAULT_PLAN_LIMITS, PlanCatalog, PlanLimits

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
    # Every limit grows with the plan.
    ordered = [DEFAULT_PLAN_LIMITS[p] for p in ("free", "starter", "core", "pro")]
    for smaller, larger in itertools.pairwise(ordered):
        assert all(getattr(smaller, f) < getattr(larger, f) for f in vars(smaller))


def test_billing_periods_are_utc_months() -> None:
    march = BillingPeriod.containing(NOW)
    assert (march.key, march.starts_at, march.ends_at) == (
        "2025-03",
        datetime(2025, 3, 1, tzinfo=UTC),
        datetime(2025, 4, 1, tzinfo=UTC),
    )
    assert BillingPeriod.of_key("2024-12").ends_at == datetime(2025, 1, 1, tzinfo=UTC)
    assert BillingPeriod.of_key("2024-02").ends_at == datetime(2024, 3, 1, tzinfo=UTC)


def test_seconds_left_rounds_up_and_is_never_zero() -> None:
    march = BillingPeriod.of_key("2025-03")
    assert march.seconds_left(datetime(2025, 3, 31, 23, 59, 0, tzinfo=UTC)) == 60
    assert march.seconds_left(datetime(2025, 3, 31, 23, 59, 59, 500_000, tzinfo=UTC)) == 1
    assert march.seconds_left(march.ends_at) == 1


def _reserve(usage: PeriodUsage, limit: int) -> None:
    usage.reserve(limit, plan="free", now=NOW)


def test_reserve_counts_reserved_units_against_the_limit() -> None:
    usage = PeriodUsage("ws_1", "2025-03", used=1)
    _reserve(usage, 3)
    assert (usage.used, usage.reserved, usage.counted) == (1, 1, 2)
    _reserve(usage, 3)
    with pytest.raises(QuotaExceeded) as exc:
        _reserve(usage, 3)
    assert usage.counted == 3
    assert exc.value.code == "QUOTA_EXCEEDED"
    # The message names the limit; retry_after points at the period's end (1 April, 00:00 UTC).
    assert "the free plan allows 3 extractions per billing period" in exc.value.message
    assert "2025-04-01T00:00:00.000Z" in exc.value.message
    assert exc.value.details == {
        "retry_after": int((datetime(2025, 4, 1, tzinfo=UTC) - NOW).total_seconds()),
        "limit": 3,
        "usage": 3,
        "periodKey": "2025-03",
        "resetsAt": "2025-04-01T00:00:00.000Z",
    }


def test_zero_limit_refuses_the_first_unit() -> None:
    with pytest.raises(QuotaExceeded):
        _reserve(PeriodUsage("ws_1", "2025-03"), 0)


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


@pytest.mark.parametrize(
    ("used", "limit", "reached"),
    [
        (0, 10, ()),
        (7, 10, ()),
        (8, 10, (80,)),
        (9, 10, (80,)),
        (10, 10, (80, 100)),
        (12, 10, (80, 100)),
        (39, 50, ()),
        (40, 50, (80,)),
        (0, 0, ()),
        (5, 0, ()),
    ],
)
def test_thresholds_reached_by_consumed_units(used: int, limit: int, reached: tuple[int, ...]) -> None:
    # Reserved units do not count: a threshold is about what was really used.
    assert PeriodUsage("ws_1", "2025-03", used=used, reserved=3).thresholds_reached(limit) == reached


def test_summary_says_what_remains_and_when_it_resets() -> None:
    summary = UsageSummary.of("free", PeriodUsage("ws_1", "2025-12", used=3, reserved=2), limit=10)
    assert (summary.counted, summary.remaining) == (5, 5)
    assert summary.resets_at == datetime(2026, 1, 1, tzinfo=UTC)
    # After a downgrade below the current usage nothing remains, never a negative number.
    assert UsageSummary.of("free", PeriodUsage("ws_1", "2025-12", used=30), limit=10).remaining == 0


def test_plan_change_knows_whether_it_changed_anything() -> None:
    assert PlanChange("ws_1", "core", "free").changed
    assert not PlanChange("ws_1", "free", "free").changed


def test_catalog_falls_back_to_the_default_plan() -> None:
    plans = PlanCatalog(DEFAULT_PLAN_LIMITS, default_plan="starter")
    assert plans.resolve(None) == "starter"
    assert plans.resolve("enterprise") == "starter"
    assert plans.resolve("pro") == "pro"
    assert plans.extraction_limit(None) == 500
    assert plans.extraction_limit("core") == 2000
    assert plans.limits_of("enterprise") == DEFAULT_PLAN_LIMITS["starter"]


def test_catalog_needs_limits_for_its_default_plan() -> None:
    with pytest.raises(ValueError):
        PlanCatalog({"free": DEFAULT_PLAN_LIMITS["free"]}, default_plan="pro")


def test_limits_are_never_negative() -> None:
    with pytest.raises(ValueError):
        PlanLimits(
            extractions_per_period=-1, max_file_bytes=1, max_pages=1, requests_per_minute=1, batch_size=1
        )

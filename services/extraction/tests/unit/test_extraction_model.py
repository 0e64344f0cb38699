"""The lifecycle rules of the domain model: transitions, their events, leases, runs, templates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fieldstone.common.errors import ValidationFailed
from fieldstone.extraction.domain import model
from fieldstone.extraction.domain.events import JobRequested, RunCompleted, StatusChanged
from fieldstone.extraction.domain.model import Claim, EngineOutcome, ExtractionRecord, InvalidTransition
from fieldstone.extraction.domain.runs import Run, check_file_ids
from fieldstone.extraction.domain.templates import Template

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=10)
VARIABLES = [{"key": "total", "type": "number", "context": "Total"}]


def record(status: str = model.QUEUED, waiting: bool = False, run_id: str | None = None) -> ExtractionRecord:
    return ExtractionRecord(
        "ext_1", "ws_1", "file_1", "a.pdf", None, None, status, VARIABLES, None, None,
        waiting_for_file=waiting, bucket="b", object_key="k", run_id=run_id,
    )  # fmt: skip


def statuses(r: ExtractionRecord) -> list[str]:
    return [e.status for e in r.pop_events() if isinstance(e, StatusChanged)]


def test_every_allowed_transition_records_its_event_and_nothing_else_is_allowed() -> None:
    for source, targets in model.TRANSITIONS.items():
        for target in model.STATUSES:
            r = record(source)
            if target in targets:
                r._move(target)
                assert statuses(r) == [target]
            else:
                with pytest.raises(InvalidTransition):
                    r._move(target)
                assert r.status == source and not r.events


def test_a_new_extraction_is_queued_and_its_job_requested_unless_it_waits_for_the_file() -> None:
    ready, waiting = record(), record(waiting=True)
    ready.announce_queued()
    waiting.announce_queued()
    assert [type(e) for e in ready.events] == [StatusChanged, JobRequested]
    assert [type(e) for e in waiting.events] == [StatusChanged]
    waiting.pop_events()
    waiting.file_uploaded()
    assert [type(e) for e in waiting.events] == [JobRequested]
    waiting.pop_events()
    waiting.file_uploaded()  # a second file.uploaded event changes nothing
    assert not waiting.events


def test_a_rejected_or_deleted_file_fails_the_waiting_extraction() -> None:
    rejected, deleted = record(waiting=True), record(waiting=True)
    rejected.file_unavailable(False, "TYPE_MISMATCH", NOW)
    deleted.file_unavailable(True, None, NOW)
    assert (rejected.status, rejected.error_code) == ("failed", "FILE_REJECTED")
    assert "TYPE_MISMATCH" in (rejected.error or "")
    assert (deleted.status, deleted.error_code) == ("failed", "FILE_DELETED")


def test_claim_takes_a_lease_and_starts_processing_once() -> None:
    r = record()
    assert r.claim("w1", now=NOW, lease=LEASE, max_attempts=3) is Claim.RUN
    assert (r.status, r.attempts, r.lease_owner, r.started_at) == ("processing", 1, "w1", NOW)
    assert statuses(r) == ["processing"]
    # The same worker again (a retry of its own): no second processing event.
    assert r.claim("w1", now=NOW, lease=LEASE, max_attempts=3) is Claim.RUN
    assert r.attempts == 2 and not r.events


def test_a_live_lease_makes_a_redelivery_wait_and_an_expired_one_is_taken_over() -> None:
    r = record()
    r.claim("w1", now=NOW, lease=LEASE, max_attempts=3)
    assert r.claim("w2", now=NOW + timedelta(seconds=5), lease=LEASE, max_attempts=3) is Claim.BUSY
    assert r.attempts == 1 and r.lease_owner == "w1"
    later = NOW + timedelta(seconds=11)
    assert r.claim("w2", now=later, lease=LEASE, max_attempts=3) is Claim.RUN
    assert (r.lease_owner, r.attempts, r.lease_expires_at) == ("w2", 2, later + LEASE)
    assert not r.renew_lease("w1", now=later, lease=LEASE)  # the old worker must stop


def test_a_job_that_keeps_killing_its_worker_is_abandoned() -> None:
    r = record()
    for attempt in range(3):
        assert r.claim(f"w{attempt}", now=NOW + attempt * 2 * LEASE, lease=LEASE, max_attempts=3) is Claim.RUN
    assert r.claim("w9", now=NOW + 7 * LEASE, lease=LEASE, max_attempts=3) is Claim.ABANDONED
    assert (r.status, r.error_code, r.attempts) == ("failed", "EXTRACTION_CRASHED", 3)
    assert r.lease_owner is None


def test_a_released_lease_is_claimable_at_once_and_a_graceful_release_does_not_count() -> None:
    r = record()
    r.claim("w1", now=NOW, lease=LEASE, max_attempts=3)
    r.release_lease("w1", count_attempt=False)
    assert r.attempts == 0 and r.lease_owner is None
    assert r.claim("w2", now=NOW, lease=LEASE, max_attempts=3) is Claim.RUN
    r.release_lease("w2", count_attempt=True)
    assert r.attempts == 1


def test_nothing_to_claim_once_ended_or_while_waiting_for_the_file() -> None:
    for r in (record(model.COMPLETED), record(model.CANCELED), record(waiting=True)):
        assert r.claim("w1", now=NOW, lease=LEASE, max_attempts=3) is Claim.NOTHING


def test_outcomes_and_cancel() -> None:
    done = record()
    done.claim("w1", now=NOW, lease=LEASE, max_attempts=3)
    done.complete(EngineOutcome({"total": 5}, [{"path": "total"}], 1), 12, NOW)
    assert (done.status, done.extracted_data, done.page_count, done.lease_owner) == (
        "completed",
        {"total": 5},
        1,
        None,
    )
    unreadable = record(model.PROCESSING)
    unreadable.complete(EngineOutcome(None, [], None, "UNREADABLE_PDF", "truncated"), 3, NOW)
    assert (unreadable.status, unreadable.error_code, unreadable.error) == (
        "failed",
        "UNREADABLE_PDF",
        "truncated",
    )
    for status in (model.QUEUED, model.PROCESSING):
        r = record(status)
        r.cancel(NOW)
        assert statuses(r) == ["canceled"] and r.completed_at == NOW
    with pytest.raises(InvalidTransition, match="is completed and can no longer be canceled"):
        done.cancel(NOW)


def test_a_run_completes_when_every_extraction_has_ended() -> None:
    run = Run("run_1", "ws_1", "tpl_1", 2, "Invoice", VARIABLES, total=3, status="running", created_at=NOW)
    run.observe({"completed": 1, "processing": 2}, NOW)
    assert run.status == "running" and not run.events
    run.observe({"completed": 1, "failed": 1, "canceled": 1}, NOW)
    assert run.status == "completed" and run.completed_at == NOW
    assert run.pop_events() == [RunCompleted("run_1", "ws_1", "tpl_1", 3, 1, 1, 1)]
    run.observe({"completed": 1, "failed": 1, "canceled": 1}, NOW)
    assert not run.events  # completes once


@pytest.mark.parametrize(
    ("file_ids", "message"),
    [
        ([], "fileIds: give at least one file id"),
        (["f1", "f2", "f1"], "fileIds[2]: f1 is listed twice"),
        ([f"f{i}" for i in range(1001)], "fileIds: 1001 files; at most 1000 per run"),
        ([f"f{i}" for i in range(11)], "fileIds: 11 files; the free plan allows at most 10 per run"),
    ],
)
def test_run_file_lists_are_checked(file_ids: list[str], message: str) -> None:
    with pytest.raises(ValidationFailed, match=message.replace("[", r"\[").replace("]", r"\]")):
        check_file_ids(file_ids, 10, "free")


def test_every_template_change_is_a_new_version() -> None:
    t = Template.new("tpl_1", "ws_1", " Invoice ", "", VARIABLES, NOW)
    assert (t.name, t.version) == ("Invoice", 1)
    assert not t.change(name="Invoice", description=None, variables=VARIABLES, now=NOW)
    assert t.version == 1
    later = NOW + timedelta(minutes=1)
    assert t.change(name=None, description="all invoices", variables=None, now=later)
    assert (t.version, t.updated_at, t.description) == (2, later, "all invoices")
    with pytest.raises(ValidationFailed, match="name: must not be empty"):
        t.change(name=" ", description=None, variables=None, now=later)
    with pytest.raises(ValidationFailed, match=r"variables\[0\].type"):
        t.change(name=None, description=None, variables=[{"key": "a", "type": "x"}], now=later)
    assert t.version == 2

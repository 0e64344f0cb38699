from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fieldstone.auth.domain.model import ApiKeyRecord, invalid_scopes

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _key(**kw: object) -> ApiKeyRecord:
    base: dict[str, object] = {
        "id": "key_1",
        "workspace_id": "ws_1",
        "service_account_id": "sa_1",
        "name": "k",
        "prefix": "fsk_live_abcdefg",
        "scopes": ["files:read"],
        "expires_at": None,
        "last_used_at": None,
        "revoked_at": None,
        "created_at": NOW,
    }
    base.update(kw)
    return ApiKeyRecord(**base)  # type: ignore[arg-type]


def test_revoked_and_expired_keys_are_unusable() -> None:
    assert _key().usable_at(NOW)
    assert not _key(revoked_at=NOW - timedelta(seconds=1)).usable_at(NOW)
    # A revocation scheduled in the future (rotation overlap) still lets the key work until then.
    assert _key(revoked_at=NOW + timedelta(hours=1)).usable_at(NOW)
    assert not _key(expires_at=NOW).usable_at(NOW)


def test_last_used_is_written_at_most_once_a_minute() -> None:
    assert _key().needs_last_used_update(NOW)
    assert not _key(last_used_at=NOW - timedelta(seconds=30)).needs_last_used_update(NOW)
    assert _key(last_used_at=NOW - timedelta(seconds=61)).needs_last_used_update(NOW)


def test_scopes_are_checked() -> None:
    assert invalid_scopes(["files:read", "usage:read"]) == []
    assert invalid_scopes(["files:delete", "x"]) == ["files:delete", "x"]

from __future__ import annotations

import pytest

from fieldstone.auth.bootstrap import MIGRATIONS
from fieldstone.auth.domain.model import SCOPES
from fieldstone.auth.service_layer import handlers
from fieldstone.auth.service_layer.unit_of_work import AuthUnitOfWork
from fieldstone.common.errors import NotFound, Unauthorized, ValidationFailed
from fieldstone.messaging import MIGRATIONS as MESSAGING_MIGRATIONS
from fieldstone.pg import create_pool, migrate

pytestmark = pytest.mark.integration


async def test_keys_verify_until_revoked_and_events_are_written(database_url: str) -> None:
    pool = await create_pool(database_url)
    await migrate(pool, MESSAGING_MIGRATIONS, MIGRATIONS)

    def uow() -> AuthUnitOfWork:
        return AuthUnitOfWork(pool)

    ws = await handlers.create_workspace(uow(), "acme", "starter")
    sa = await handlers.create_service_account(uow(), ws["id"], "ci")
    record, key = await handlers.create_api_key(
        uow(),
        workspace_id=ws["id"],
        service_account_id=sa["id"],
        name="ci",
        scopes=sorted(SCOPES),
        expires_at=None,
    )
    assert key.startswith("fsk_live_") and record.prefix == key[:16]
    stored = await pool.fetchval("SELECT key_hash FROM api_keys WHERE id = $1", record.id)
    assert key not in str(stored)

    principal = await handlers.verify_api_key(uow(), key)
    assert principal.workspace_id == ws["id"] and principal.plan == "starter"
    assert await pool.fetchval("SELECT last_used_at FROM api_keys WHERE id = $1", record.id) is not None

    with pytest.raises(Unauthorized):
        await handlers.verify_api_key(uow(), key[:-1] + ("A" if key[-1] != "A" else "B"))
    with pytest.raises(ValidationFailed):
        await handlers.create_api_key(
            uow(),
            workspace_id=ws["id"],
            service_account_id=sa["id"],
            name="x",
            scopes=["root"],
            expires_at=None,
        )
    with pytest.raises(NotFound):  # another workspace's key is invisible
        await handlers.revoke_api_key(uow(), "ws_other", record.id)

    await handlers.revoke_api_key(uow(), ws["id"], record.id)
    with pytest.raises(Unauthorized):
        await handlers.verify_api_key(uow(), key)
    types = [r["ce_type"] for r in await pool.fetch("SELECT ce_type FROM outbox ORDER BY seq")]
    assert types == [
        "fieldstone.workspace.created.v1",
        "fieldstone.api_key.created.v1",
        "fieldstone.api_key.revoked.v1",
    ]
    await pool.close()

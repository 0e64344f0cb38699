"""Use cases of the auth service. Each runs in one unit of work; events go to the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fieldstone.auth.domain import model
from fieldstone.auth.service_layer.unit_of_work import AuthUnitOfWork
from fieldstone.common.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from fieldstone.common.ids import new_id
from fieldstone.common.time import utcnow
from fieldstone.grpc.convert import to_timestamp
from fieldstone.messaging import Topics, publish
from fieldstone.proto.events.v1 import events_pb2

SOURCE = "/fieldstone/auth"


async def create_workspace(uow: AuthUnitOfWork, name: str, plan: str) -> Any:
    if not name.strip():
        raise ValidationFailed("workspace name must not be empty")
    if plan not in model.PLANS:
        raise ValidationFailed(f"unknown plan {plan!r}; expected one of {', '.join(model.PLANS)}")
    async with uow:
        row = await uow.repo.add_workspace(new_id("ws"), name.strip(), plan)
        await publish(
            uow.conn,
            topic=Topics.AUTH,
            key=row["id"],
            ce_type="fieldstone.workspace.created.v1",
            source=SOURCE,
            subject=row["id"],
            message=events_pb2.WorkspaceCreated(
                workspace_id=row["id"], name=row["name"], plan=row["plan"], occurred_at=to_timestamp(utcnow())
            ),
        )
        await uow.commit()
    return row


def _check_name(name: str, what: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed(f"{what} name must be 1-200 characters")
    return name


async def create_service_account(
    uow: AuthUnitOfWork, workspace_id: str, name: str, description: str = ""
) -> Any:
    name = _check_name(name, "service account")
    async with uow:
        if await uow.repo.get_workspace(workspace_id) is None:
            raise NotFound(f"workspace {workspace_id} not found")
        row = await uow.repo.add_service_account(new_id("sa"), workspace_id, name, description.strip()[:1000])
        await uow.commit()
    return row


async def list_service_accounts(
    uow: AuthUnitOfWork, workspace_id: str, limit: int, cursor: str | None
) -> list[Any]:
    async with uow:
        return await uow.repo.list_service_accounts(workspace_id, limit, cursor)


async def get_service_account(uow: AuthUnitOfWork, workspace_id: str, sa_id: str) -> Any:
    async with uow:
        row = await uow.repo.get_service_account(workspace_id, sa_id)
    if row is None:
        raise NotFound(f"service account {sa_id} not found")
    return row


async def update_service_account(
    uow: AuthUnitOfWork, workspace_id: str, sa_id: str, name: str | None, description: str | None
) -> Any:
    if name is not None:
        name = _check_name(name, "service account")
    async with uow:
        if await uow.repo.get_service_account(workspace_id, sa_id) is None:
            raise NotFound(f"service account {sa_id} not found")
        row = await uow.repo.update_service_account(
            sa_id, name, description.strip()[:1000] if description is not None else None, utcnow()
        )
        await uow.commit()
    return row


async def delete_service_account(uow: AuthUnitOfWork, workspace_id: str, sa_id: str) -> None:
    """Delete the account and revoke every key it still has, announcing each revocation."""
    now = utcnow()
    async with uow:
        if await uow.repo.get_service_account(workspace_id, sa_id) is None:
            raise NotFound(f"service account {sa_id} not found")
        for key in await uow.repo.active_keys_of(sa_id):
            revoked = await uow.repo.revoke_api_key(key.id, now)
            await _publish_key_event(
                uow, revoked, "fieldstone.api_key.revoked.v1", await uow.repo.key_hash_of(key.id)
            )
        await uow.repo.delete_service_account(sa_id, now)
        await uow.commit()


async def create_api_key(
    uow: AuthUnitOfWork,
    *,
    workspace_id: str,
    service_account_id: str,
    name: str,
    scopes: list[str],
    expires_at: datetime | None,
) -> tuple[model.ApiKeyRecord, str]:
    """Create a key; returns the record and the full key, which is never stored."""
    bad = model.invalid_scopes(scopes)
    if bad or not scopes:
        raise ValidationFailed(f"invalid scopes: {', '.join(bad) or '(none given)'}")
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationFailed("expiresAt must be in the future")
    key = model.generate_key()
    async with uow:
        if await uow.repo.get_service_account(workspace_id, service_account_id) is None:
            raise NotFound(f"service account {service_account_id} not found")
        record = await uow.repo.add_api_key(
            key_id=new_id("key"),
            workspace_id=workspace_id,
            service_account_id=service_account_id,
            name=name.strip() or "default",
            prefix=model.key_prefix(key),
            key_hash=model.hash_key(key),
            scopes=sorted(set(scopes)),
            expires_at=expires_at,
        )
        await _publish_key_event(uow, record, "fieldstone.api_key.created.v1", model.hash_key(key))
        await uow.commit()
    return record, key


async def _publish_key_event(
    uow: AuthUnitOfWork, record: model.ApiKeyRecord, ce_type: str, key_hash: str
) -> None:
    await publish(
        uow.conn,
        topic=Topics.AUTH,
        key=record.id,
        ce_type=ce_type,
        source=SOURCE,
        subject=record.id,
        message=events_pb2.ApiKeyChanged(
            api_key_id=record.id,
            workspace_id=record.workspace_id,
            service_account_id=record.service_account_id,
            key_hash=key_hash,
            occurred_at=to_timestamp(utcnow()),
        ),
    )


async def revoke_api_key(uow: AuthUnitOfWork, workspace_id: str, key_id: str) -> model.ApiKeyRecord:
    async with uow:
        record = await uow.repo.get_api_key(workspace_id, key_id)
        if record is None:
            raise NotFound(f"API key {key_id} not found")
        now = utcnow()
        if record.revoked_at is None or record.revoked_at > now:
            record = await uow.repo.revoke_api_key(key_id, now)
            key_hash = await uow.repo.key_hash_of(key_id)
            await _publish_key_event(uow, record, "fieldstone.api_key.revoked.v1", key_hash)
        await uow.commit()
    return record


async def list_api_keys(
    uow: AuthUnitOfWork,
    workspace_id: str,
    *,
    limit: int = 1000,
    cursor: str | None = None,
    service_account_id: str | None = None,
    include_revoked: bool = True,
) -> list[model.ApiKeyRecord]:
    async with uow:
        return await uow.repo.list_api_keys(
            workspace_id,
            limit=limit,
            before=cursor,
            service_account_id=service_account_id,
            include_revoked=include_revoked,
        )


async def get_api_key(uow: AuthUnitOfWork, workspace_id: str, key_id: str) -> model.ApiKeyRecord:
    async with uow:
        record = await uow.repo.get_api_key(workspace_id, key_id)
    if record is None:
        raise NotFound(f"API key {key_id} not found")
    return record


async def rotate_api_key(
    uow: AuthUnitOfWork, workspace_id: str, key_id: str, overlap: timedelta
) -> tuple[model.ApiKeyRecord, str, model.ApiKeyRecord]:
    """Issue a replacement with the same name, scopes and expiry; the old key keeps working
    for `overlap`, then stops. Returns (new record, new full key, old record)."""
    if overlap < timedelta(0) or overlap > timedelta(days=30):
        raise ValidationFailed("the rotation overlap must be between 0 seconds and 30 days")
    now = utcnow()
    key = model.generate_key()
    async with uow:
        old = await uow.repo.get_api_key(workspace_id, key_id)
        if old is None:
            raise NotFound(f"API key {key_id} not found")
        if not old.usable_at(now):
            raise Conflict(f"API key {key_id} is revoked or expired and cannot be rotated")
        new = await uow.repo.add_api_key(
            key_id=new_id("key"),
            workspace_id=workspace_id,
            service_account_id=old.service_account_id,
            name=old.name,
            prefix=model.key_prefix(key),
            key_hash=model.hash_key(key),
            scopes=old.scopes,
            expires_at=old.expires_at,
            rotated_from=old.id,
        )
        old = await uow.repo.revoke_api_key(old.id, now + overlap)
        await _publish_key_event(uow, new, "fieldstone.api_key.created.v1", model.hash_key(key))
        if overlap == timedelta(0):
            await _publish_key_event(
                uow, old, "fieldstone.api_key.revoked.v1", await uow.repo.key_hash_of(old.id)
            )
        await uow.commit()
    return new, key, old


async def verify_api_key(uow: AuthUnitOfWork, key: str) -> model.Principal:
    if not model.is_well_formed(key):
        raise Unauthorized("malformed API key")
    now = utcnow()
    async with uow:
        found = await uow.repo.key_by_hash(model.hash_key(key))
        if found is None:
            raise Unauthorized("unknown API key")
        record, plan = found
        if not record.usable_at(now):
            raise Unauthorized("API key is revoked or expired")
        if record.needs_last_used_update(now):
            await uow.repo.touch_api_key(record.id, now)
        await uow.commit()
    return model.Principal(
        workspace_id=record.workspace_id,
        service_account_id=record.service_account_id,
        api_key_id=record.id,
        scopes=record.scopes,
        plan=plan,
        valid_until=record.valid_until(),
    )

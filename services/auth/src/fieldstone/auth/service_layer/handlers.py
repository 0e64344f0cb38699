"""Use cases of the auth service. Each runs in one unit of work; events go to the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from fieldstone.auth.domain import model
from fieldstone.auth.service_layer.unit_of_work import AuthUnitOfWork
from fieldstone.common.errors import NotFound, Unauthorized, ValidationFailed
from fieldstone.common.ids import new_id
from fieldstone.common.time import utcnow
from fieldstone.messaging import Topics, publish
from fieldstone.proto.events.v1 import events_pb2

SOURCE = "/fieldstone/auth"


def _now_ts() -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(utcnow())
    return ts


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
                workspace_id=row["id"], name=row["name"], plan=row["plan"], occurred_at=_now_ts()
            ),
        )
        await uow.commit()
    return row


async def create_service_account(uow: AuthUnitOfWork, workspace_id: str, name: str) -> Any:
    if not name.strip():
        raise ValidationFailed("service account name must not be empty")
    async with uow:
        if await uow.repo.get_workspace(workspace_id) is None:
            raise NotFound(f"workspace {workspace_id} not found")
        row = await uow.repo.add_service_account(new_id("sa"), workspace_id, name.strip())
        await uow.commit()
    return row


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
            occurred_at=_now_ts(),
        ),
    )


async def revoke_api_key(uow: AuthUnitOfWork, workspace_id: str, key_id: str) -> model.ApiKeyRecord:
    async with uow:
        record = await uow.repo.get_api_key(workspace_id, key_id)
        if record is None:
            raise NotFound(f"API key {key_id} not found")
        if record.revoked_at is None:
            record = await uow.repo.revoke_api_key(key_id, utcnow())
            key_hash = await uow.repo.key_hash_of(key_id)
            await _publish_key_event(uow, record, "fieldstone.api_key.revoked.v1", key_hash)
        await uow.commit()
    return record


async def list_api_keys(uow: AuthUnitOfWork, workspace_id: str) -> list[model.ApiKeyRecord]:
    async with uow:
        return await uow.repo.list_api_keys(workspace_id)


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
    )

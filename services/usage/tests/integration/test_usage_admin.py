"""`fieldstone-usage-admin`, run as the installed console script against a real database."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from fieldstone.proto.events.v1 import events_pb2

pytestmark = pytest.mark.integration

ADMIN = Path(sys.executable).parent / "fieldstone-usage-admin"


async def _admin(database_url: str, *args: str) -> tuple[int, Any]:
    env = {
        **os.environ,
        "USAGE_DATABASE_URL": database_url,
        "USAGE_KAFKA_BOOTSTRAP": "127.0.0.1:1",  # not used by the CLI
        "USAGE_GRPC_PORT": "0",
        "USAGE_PLAN_LIMITS": '{"core": {"extractions_per_period": 1234}}',
    }
    env.pop("USAGE_DEFAULT_PLAN", None)
    proc = await asyncio.create_subprocess_exec(
        str(ADMIN), *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    text = (out if proc.returncode == 0 else err).decode().strip().splitlines()
    return proc.returncode, json.loads(text[-1]) if text and text[-1].startswith("{") else text


async def test_set_plan_and_show(database_url: str) -> None:
    code, changed = await _admin(database_url, "set-plan", "--workspace-id", "ws_1", "--plan", "core")
    assert code == 0, changed
    assert (changed["plan"], changed["previousPlan"], changed["changed"]) == ("core", "free", True)
    # Limits come from USAGE_PLAN_LIMITS, as in the service.
    assert changed["limits"]["extractionsPerPeriod"] == 1234

    code, shown = await _admin(database_url, "show", "--workspace-id", "ws_1")
    assert code == 0, shown
    assert (shown["plan"], shown["usage"], shown["reserved"], shown["limit"], shown["remaining"]) == (
        "core",
        0,
        0,
        1234,
        1234,
    )
    assert shown["limits"] == {
        "extractionsPerPeriod": 1234,
        "maxFileBytes": 50 * 1024 * 1024,
        "maxPages": 300,
        "requestsPerMinute": 1200,
        "batchSize": 200,
    }
    assert shown["resetsAt"].endswith("-01T00:00:00.000Z") and len(shown["periodKey"]) == 7

    conn = await asyncpg.connect(database_url)
    try:
        [row] = await conn.fetch("SELECT ce_type, key, payload FROM outbox")
    finally:
        await conn.close()
    assert (row["ce_type"], row["key"]) == ("fieldstone.workspace_plan.changed.v1", "ws_1")
    assert events_pb2.WorkspacePlanChanged.FromString(row["payload"]).plan == "core"

"""`fieldstone-usage-admin`: what an operator runs (e.g. `kubectl exec`) against the usage database.

fieldstone-usage-admin set-plan --workspace-id ws_... --plan core   -> prints JSON of the change
fieldstone-usage-admin show --workspace-id ws_...                   -> prints JSON of plan, limits, usage

It reads the same USAGE_* environment as the service (database, plan limits). A plan change
commits with its `workspace_plan.changed` event in the outbox; the running service publishes it.
"""

from __future__ import annotations

import argparse
from typing import Any

from fieldstone.common.settings import load_settings
from fieldstone.common.time import iso
from fieldstone.service.admin import migrated_pool, run_json_command
from fieldstone.usage.bootstrap import MIGRATIONS
from fieldstone.usage.config import UsageSettings
from fieldstone.usage.domain.plans import PLANS, PlanLimits
from fieldstone.usage.service_layer import handlers, plans
from fieldstone.usage.service_layer.unit_of_work import UsageUnitOfWork


def _limits(limits: PlanLimits) -> dict[str, int]:
    return {
        "extractionsPerPeriod": limits.extractions_per_period,
        "maxFileBytes": limits.max_file_bytes,
        "maxPages": limits.max_pages,
        "requestsPerMinute": limits.requests_per_minute,
        "batchSize": limits.batch_size,
    }


async def _run(ns: argparse.Namespace) -> dict[str, Any]:
    settings = load_settings(UsageSettings)
    catalog = settings.plan_catalog()
    async with migrated_pool(
        settings.database_url, MIGRATIONS, create_database=settings.create_database
    ) as pool:

        def uow() -> UsageUnitOfWork:
            return UsageUnitOfWork(pool)

        if ns.command == "set-plan":
            change = await plans.change_plan(uow(), catalog, workspace_id=ns.workspace_id, plan=ns.plan)
            return {
                "workspaceId": change.workspace_id,
                "plan": change.plan,
                "previousPlan": change.previous_plan,
                "changed": change.changed,
                "limits": _limits(catalog.limits_of(change.plan)),
            }
        plan, limits = await plans.get_plan_limits(uow(), catalog, ns.workspace_id)
        summary = await handlers.get_usage(uow(), catalog, ns.workspace_id)
        return {
            "workspaceId": ns.workspace_id,
            "plan": plan,
            "usage": summary.used,
            "reserved": summary.reserved,
            "limit": summary.limit,
            "remaining": summary.remaining,
            "periodKey": summary.period_key,
            "resetsAt": iso(summary.resets_at),
            "limits": _limits(limits),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fieldstone-usage-admin",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    set_plan = sub.add_parser("set-plan", help="move a workspace to a plan, in effect at once")
    set_plan.add_argument("--workspace-id", required=True)
    set_plan.add_argument("--plan", required=True, choices=PLANS)
    show = sub.add_parser("show", help="a workspace's plan, its limits and this period's usage")
    show.add_argument("--workspace-id", required=True)
    ns = parser.parse_args(argv)
    return run_json_command(_run(ns), service="usage")

"""Template use cases: create, read (any version), list, change (a new version), delete."""

from __future__ import annotations

from typing import Any

from fieldstone.common.errors import NotFound
from fieldstone.common.ids import new_id
from fieldstone.common.time import utcnow
from fieldstone.extraction.domain.templates import Template
from fieldstone.extraction.service_layer.unit_of_work import ExtractionUnitOfWork


def _missing(template_id: str, version: int | None = None) -> NotFound:
    what = f"template {template_id}" + (f" version {version}" if version else "")
    return NotFound(f"{what} not found")


async def create_template(
    uow: ExtractionUnitOfWork,
    *,
    workspace_id: str,
    name: str,
    description: str,
    variables: Any,
    created_by: str | None = None,
) -> Template:
    template = Template.new(new_id("tpl"), workspace_id, name, description, variables, utcnow(), created_by)
    async with uow:
        await uow.templates.add(template)
        await uow.commit()
    return template


async def get_template(
    uow: ExtractionUnitOfWork, workspace_id: str, template_id: str, version: int | None = None
) -> Template:
    async with uow:
        if version:
            template = await uow.templates.get_version(workspace_id, template_id, version)
        else:
            template = await uow.templates.get(workspace_id, template_id)
    if template is None:
        raise _missing(template_id, version)
    return template


async def list_templates(
    uow: ExtractionUnitOfWork, workspace_id: str, limit: int, cursor: str | None
) -> list[Template]:
    async with uow:
        return await uow.templates.page(workspace_id, limit, cursor)


async def update_template(
    uow: ExtractionUnitOfWork,
    workspace_id: str,
    template_id: str,
    *,
    name: str | None = None,
    description: str | None = None,
    variables: Any | None = None,
) -> Template:
    async with uow:
        template = await uow.templates.get(workspace_id, template_id, lock=True)
        if template is None:
            raise _missing(template_id)
        if template.change(name=name, description=description, variables=variables, now=utcnow()):
            await uow.templates.save(template)
            await uow.commit()
    return template


async def delete_template(uow: ExtractionUnitOfWork, workspace_id: str, template_id: str) -> None:
    """Hide the template from now on; extractions that used it keep their copy of the variables."""
    async with uow:
        template = await uow.templates.get(workspace_id, template_id, lock=True)
        if template is None:
            raise _missing(template_id)
        template.delete(utcnow())
        await uow.templates.save(template)
        await uow.commit()

"""Templates: a name and typed variables, versioned (no I/O).

Every change makes a new version and the old ones stay readable, so an extraction can say
exactly which definition it used. Deleting hides the template; extractions keep their copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fieldstone.common.errors import ValidationFailed
from fieldstone.extraction.domain.variables import check_variables

MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 2000


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationFailed("name: must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed(f"name: {len(name)} characters; at most {MAX_NAME_LENGTH}")
    return name


def check_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise ValidationFailed(
            f"description: {len(description)} characters; at most {MAX_DESCRIPTION_LENGTH}"
        )
    return description


@dataclass
class Template:
    id: str
    workspace_id: str
    name: str
    description: str
    variables: list[dict[str, Any]]
    version: int
    created_at: datetime
    updated_at: datetime
    created_by: str | None = None
    deleted_at: datetime | None = None

    @classmethod
    def new(
        cls,
        id: str,
        workspace_id: str,
        name: str,
        description: str,
        variables: Any,
        now: datetime,
        created_by: str | None = None,
    ) -> Template:
        return cls(
            id=id,
            workspace_id=workspace_id,
            name=check_name(name),
            description=check_description(description),
            variables=check_variables(variables),
            version=1,
            created_at=now,
            updated_at=now,
            created_by=created_by,
        )

    def change(
        self, *, name: str | None, description: str | None, variables: Any | None, now: datetime
    ) -> bool:
        """Apply the given changes; a real change makes a new version. False if nothing changed."""
        new_name = self.name if name is None else check_name(name)
        new_description = self.description if description is None else check_description(description)
        new_variables = self.variables if variables is None else check_variables(variables)
        if (new_name, new_description, new_variables) == (self.name, self.description, self.variables):
            return False
        self.name, self.description, self.variables = new_name, new_description, new_variables
        self.version += 1
        self.updated_at = now
        return True

    def delete(self, now: datetime) -> None:
        self.deleted_at = now

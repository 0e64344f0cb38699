"""Running a Fieldstone service process: shared settings and the runtime that wires infrastructure."""

from fieldstone.service.runtime import Runtime, run
from fieldstone.service.settings import BaseServiceSettings

__all__ = ["BaseServiceSettings", "Runtime", "run"]

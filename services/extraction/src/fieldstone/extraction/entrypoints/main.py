"""`fieldstone-extraction`: the extraction service process (API and workers)."""

from __future__ import annotations

from fieldstone.common.settings import load_settings
from fieldstone.extraction.bootstrap import MIGRATIONS, build
from fieldstone.extraction.config import ExtractionSettings
from fieldstone.service import run


def main() -> None:
    run("extraction", load_settings(ExtractionSettings), MIGRATIONS, build)

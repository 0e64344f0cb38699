"""`fieldstone-files`: the files service process."""

from __future__ import annotations

from fieldstone.common.settings import load_settings
from fieldstone.files.bootstrap import MIGRATIONS, build
from fieldstone.files.config import FilesSettings
from fieldstone.service import run


def main() -> None:
    run("files", load_settings(FilesSettings), MIGRATIONS, build)
